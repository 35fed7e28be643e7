"""Issuing statements, closing and reopening periods, and reading issued statements back
(ADR 0022): `impress-ledger statement issue | close | reopen | show | books`.

A command typed here is recorded for the role that keeps the scope's books (an RHF's finance
officer for its public cost, hospital procurement for the companies'), attributed to the
operating-system user: whoever may run the CLI against the database may write to it anyway.
"""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer

from application.access import PROCUREMENT, RHF_FINANCE
from application.writer import Writer
from cli.core import DatabaseOption, JsonOption, MomentOption, PositionOption, emit, \
    one_line_errors, position_of
from cli.ledger import (CompanyOption, CsvOption, Format, FormatOption, HfOption, OutputOption,
                        RhfOption, TableOption, _fmt, publish, scope_of, statement_app,
                        statements)  # the statements' own options and output
from cli.readmodels import ViewOption
from domain.books import BookKey, PartyKind, StatementKind
from domain.periods import StatementPeriod
from domain.values import Actor
from reports import bookkeeping
from reports import export
from reports.books import Books, book_key
from reports.readmodels import ReadModelSources
from projections.whopays import catch_up

Kind = Annotated[StatementKind, typer.Argument(help="public-cost (an RHF's or a health "
                                               "trust's) or company (a company's).")]
Period = Annotated[str, typer.Option("--period", help="2024Q1, 2024M03 or 2024H1.")]


def key_of(books: Books, kind: StatementKind, company: str | None, rhf: str | None,
           hf: str | None) -> BookKey:
    key = book_key(kind, scope_of(books, company, rhf, hf))
    if key is None:
        need = "--company" if kind is StatementKind.COMPANY else "--rhf or --hf"
        raise ValueError(f"a {kind.value} statement is kept for one party: give {need}")
    return key


def keeper(books: Books, key: BookKey) -> Actor:
    """The actor a command typed here is recorded as: the role that keeps these books."""
    if key.party_kind is PartyKind.COMPANY:
        role, organisation = PROCUREMENT, "sykehusinnkjop"
    else:
        role = RHF_FINANCE
        organisation = key.party if key.party_kind is PartyKind.RHF else \
            books.regions().get(key.party, key.party)
    return Actor(subject=f"cli:{getpass.getuser()}", role=role, organisation=organisation)


@statement_app.command("issue")
@one_line_errors
def issue(kind: Kind, period: Period, company: CompanyOption = None, rhf: RhfOption = None,
          hf: HfOption = None, database: DatabaseOption = None, view: ViewOption = None,
          as_json: JsonOption = False) -> None:
    """Issue the period's statement as known now: numbered, its lines hashed, recorded."""
    with statements(database, view) as (ledger, sources):
        books = Books(ledger)
        key = key_of(books, kind, company, rhf, hf)

        def current() -> ReadModelSources:  # caught up with the log's head, again on a retry
            catch_up(ledger, sources.models)
            return ReadModelSources(sources.models, ledger.log)

        issued = bookkeeping.issue(Writer(ledger), current, books, keeper(books, key), key,
                                   StatementPeriod.parse(period))
    f = issued.fact
    payload = {"number": f.number, "period": f.period, "position": f.position,
               "lines_hash": f.lines_hash, "line_count": f.line_count,
               "supersedes": f.supersedes, "recorded_at_position": issued.receipt.position}
    emit(payload, as_json, lambda: typer.echo(
        f"issued {f.number}: {f.period}, {f.line_count} lines as known at log position "
        f"{f.position}, sha256 {f.lines_hash}"
        + (f"; supersedes {f.supersedes}" if f.supersedes else "")))


@statement_app.command("close")
@one_line_errors
def close(kind: Kind, period: Period, company: CompanyOption = None, rhf: RhfOption = None,
          hf: HfOption = None, database: DatabaseOption = None, view: ViewOption = None) -> None:
    """Close the period on its latest issued statement: its figures stay as issued; later
    changes show as adjustments in the next period's statement."""
    with statements(database, view) as (ledger, _):
        books = Books(ledger)
        key = key_of(books, kind, company, rhf, hf)
        receipt = bookkeeping.close(Writer(ledger), keeper(books, key), key,
                                    StatementPeriod.parse(period))
        closure = books.at(key, receipt.position).closure(StatementPeriod.parse(period).label)
    assert closure is not None
    typer.echo(f"closed {closure.period} on {closure.booked} (as known at log position "
               f"{closure.booked_position}); log head {receipt.position}")


@statement_app.command("reopen")
@one_line_errors
def reopen(kind: Kind, period: Period,
           reason: Annotated[str, typer.Option("--reason", help="Why it opens again.")],
           company: CompanyOption = None, rhf: RhfOption = None, hf: HfOption = None,
           database: DatabaseOption = None, view: ViewOption = None) -> None:
    """Reopen the last closed period, saying why."""
    with statements(database, view) as (ledger, _):
        books = Books(ledger)
        key = key_of(books, kind, company, rhf, hf)
        receipt = bookkeeping.reopen(Writer(ledger), keeper(books, key), key,
                                     StatementPeriod.parse(period), reason)
    typer.echo(f"reopened {StatementPeriod.parse(period).label}; log head {receipt.position}")


@statement_app.command("show")
@one_line_errors
def show(number: Annotated[str, typer.Argument(help="e.g. PC-helse-vest-2024Q1-1")],
         fmt: FormatOption = Format.TABLE, output: OutputOption = None,
         table: TableOption = None, csv: CsvOption = None,
         lines: Annotated[bool, typer.Option(
             "--lines", help="Print the canonical lines its hash covers (docs/statements.md)."
         )] = False,
         database: DatabaseOption = None, view: ViewOption = None,
         as_json: JsonOption = False) -> None:
    """An issued statement, produced again as it was issued (its hash checked)."""
    from domain.statement_lines import document

    with statements(database, view) as (ledger, sources):
        found = bookkeeping.reproduce(sources, Books(ledger), number)
    assert found.issued is not None
    if found.lines_hash() != found.issued.lines_hash:
        raise ValueError(f"{number} no longer reproduces: its hash was {found.issued.lines_hash},"
                         f" the lines built again hash to {found.lines_hash()}")
    if lines:
        sys.stdout.buffer.write(document(found.canonical_lines()))
        return
    publish(found, _fmt(fmt, as_json), output, table=table, variant=csv)


@statement_app.command("books")
@one_line_errors
def books_command(kind: Kind, company: CompanyOption = None, rhf: RhfOption = None,
                  hf: HfOption = None, known_at: MomentOption = None,
                  position: PositionOption = None, database: DatabaseOption = None,
                  view: ViewOption = None, as_json: JsonOption = False) -> None:
    """A scope's issued statements, closed periods and reopenings."""
    with statements(database, view) as (ledger, _):
        books = Books(ledger)
        key = key_of(books, kind, company, rhf, hf)
        book = books.at(key, position_of(ledger, known_at, position))
    payload = bookkeeping.book_dict(book, key)

    def table() -> None:
        closed = {c.period: c for c in book.closures}
        rows = tuple((i.number, i.period, i.position, i.issued_on, i.supersedes or "",
                      "closed on this" if closed.get(i.period) and
                      closed[i.period].booked == i.number else "") for i in book.issued)
        columns = tuple(export.Column(t, k) for t, k in (
            ("Number", export.Kind.TEXT), ("Period", export.Kind.TEXT),
            ("Position", export.Kind.INT), ("Issued on", export.Kind.DATE),
            ("Supersedes", export.Kind.TEXT), ("Closed", export.Kind.TEXT)))
        export.render(export.Sheet("Issued", columns, rows), export.console_for(sys.stdout),
                      title=f"Statements of {key}")
        for r in book.reopenings:
            typer.echo(f"reopened {r.period} on {r.reopened_on}: {r.reason}")

    emit(payload, as_json, table)
