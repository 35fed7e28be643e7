"""Commands for finance officers and auditors: timelines, statements, restatements, the worklist
and upcoming coverage ends, every one answered from the read models (cli.readmodels).

Dates and moments are parsed here, not by the CLI library, so a malformed one ends in one line
on stderr like every other bad input. A moment without a UTC offset is read as Oslo time. Fixed
choices (formats, grains, statement kinds) are choices, so `--help` and completion list them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from cli.core import (
    DatabaseOption, JsonOption, MomentOption, PositionOption, day, emit, one_line_errors,
    open_ledger, position_of,
)
from cli.main import app
from cli.readmodels import ViewOption, read_models
from domain import checks
from domain.books import StatementKind
from domain.known import patient_not_known
from domain.periods import StatementPeriod
from projections.rows import IntervalRow
from reports import export, files
from reports.books import Books
from domain.statements.periods import period_statement
from reports.readmodels import ReadModelSources
from reports.statements import Period, Scope
from domain.statements.company import company_statement
from domain.statements.public import By, public_cost
from reports.statements_restate import restate
from reports.worklist import upcoming as upcoming_statement
from reports.worklist import worklist as worklist_statement


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"


FromOption = Annotated[str | None, typer.Option(
    "--from", help="First day of the period (YYYY-MM-DD); or give --period.")]
ToOption = Annotated[str | None, typer.Option("--to", help="Last day of the period, inclusive.")]
PeriodOption = Annotated[str | None, typer.Option(
    "--period", help="A month (2024M03), quarter (2024Q1) or half-year (2024H1): the period's "
    "statement as the books keep it (closed: as booked; the first open one: with adjustments).")]
CompanyOption = Annotated[
    str | None, typer.Option("--company", help="Only what this company (partner) may see.")
]
RhfOption = Annotated[
    str | None, typer.Option("--rhf", help="Only what this RHF may see: its region's patients, "
                             "on the dates they were treated there.")
]
HfOption = Annotated[
    str | None, typer.Option("--hf", help="Only this health trust's patients, on the dates "
                             "they were treated there (public cost).")
]
FormatOption = Annotated[Format, typer.Option(
    "--format", help="table (people), json, csv or xlsx (finance officers).")]
OutputOption = Annotated[
    Path | None, typer.Option("--output", help="Write to this file (xlsx needs one; csv writes "
                              "one file per table beside it).")
]
TableOption = Annotated[str | None, typer.Option(
    "--table", help="csv: the one table to write (patients, dispensations, ...).")]
CsvOption = Annotated[export.CsvVariant | None, typer.Option(
    "--csv", help="csv: excel-nb (semicolons, decimal comma, UTF-8 with BOM) or rfc4180 "
    "(commas, decimal point); default: excel-nb when LANG is Norwegian.")]
ByOption = Annotated[By, typer.Option("--by", help="Rows per month or per quarter.")]

statement_app = typer.Typer(help="Statements for a period, as known at any moment; issuing, "
                            "closing and reopening periods.", no_args_is_help=True)
app.add_typer(statement_app, name="statement")


# --- parsing ----------------------------------------------------------------------------------


def period_of(start: str | None, end: str | None, label: str | None = None) -> Period:
    if label is not None and (start is not None or end is not None):
        raise ValueError("give --period, or --from and --to, not both")
    if start is None or end is None:
        raise ValueError("give the period: --period (e.g. 2024Q1), or --from and --to")
    return Period(day(start, "--from"), day(end, "--to"))


def scope_of(books: Books | None, company: str | None = None, rhf: str | None = None,
             hf: str | None = None) -> Scope:
    given = [x for x in (company, rhf, hf) if x is not None]
    if len(given) > 1:
        raise ValueError("give one of --company, --rhf or --hf")
    if company is not None:
        return Scope.company(company)
    if hf is not None:
        region = books.regions().get(hf) if books is not None else None
        if region is None:
            raise ValueError(f"--hf: no health trust '{hf}' is recorded in the ledger")
        return Scope.hf(hf, region)
    return Scope.rhf(rhf) if rhf is not None else Scope.everything()


def language() -> str:
    return os.environ.get("LC_ALL") or os.environ.get("LANG") or ""


# --- output -----------------------------------------------------------------------------------


def publish(statement: Any, fmt: Format, output: Path | None, *, table: str | None = None,
            variant: export.CsvVariant | None = None) -> None:
    chosen = variant or files.variant_for(language())
    written = files.publish(statement, fmt.value, output, sys.stdout, variant=chosen,
                            table=table, locale=files.locale_for(language()))
    for path in written:
        typer.echo(f"wrote {path}", err=True)


def _console() -> Console:
    console: Console = export.console_for(sys.stdout)
    return console


def _fmt(fmt: Format, as_json: bool) -> Format:
    return Format.JSON if as_json else fmt


# --- commands ---------------------------------------------------------------------------------


@app.command()
@one_line_errors
def timeline(
    patient_id: Annotated[str, typer.Argument(help="Study ID, e.g. IMP-0042.")],
    known_at: MomentOption = None,
    position: PositionOption = None,
    database: DatabaseOption = None,
    view: ViewOption = None,
    as_json: JsonOption = False,
) -> None:
    """A patient's payers as intervals, with the facts each rests on."""
    checks.study_id(patient_id)
    with open_ledger(database) as ledger, read_models(ledger, view) as models:
        at = position_of(ledger, known_at, position)
        if models.patient(patient_id, at) is None:
            now = models.patient(patient_id, None)
            raise patient_not_known(patient_id, position=at, moment=known_at,
                                    enrolled_at=now.enrolled_at if now else None)
        intervals = models.timeline(patient_id, known_at_position=at)
        payload = {"patient_id": patient_id, "known_at_position": at,
                   "intervals": [interval_dict(i) for i in intervals]}
        emit(payload, as_json, lambda: _timeline_table(patient_id, at, intervals))


def interval_dict(i: IntervalRow) -> dict[str, Any]:
    p = i.payer
    return {"from": i.start.isoformat(), "to": i.end.isoformat() if i.end else None,
            "payer": p.kind.value, "party": p.party, "treating_hf": p.hf_id,
            "reason": p.reason, "basis": list(p.basis)}


def _timeline_table(patient_id: str, at: int, intervals: list[IntervalRow]) -> None:
    rows = tuple((i.start, i.end, i.kind.value, i.party, i.hf_id, i.reason, ", ".join(i.basis))
                 for i in intervals)
    columns = tuple(export.Column(t, k) for t, k in (
        ("From", export.Kind.DATE), ("To", export.Kind.DATE), ("Payer", export.Kind.TEXT),
        ("Party", export.Kind.TEXT), ("Treating HF", export.Kind.TEXT),
        ("Why", export.Kind.TEXT), ("Rests on", export.Kind.TEXT)))
    export.render(export.Sheet("Timeline", columns, rows), _console(),
                  title=f"{patient_id} as known at log position {at}")


@statement_app.command("company")
@one_line_errors
def company(start: FromOption = None, end: ToOption = None, period: PeriodOption = None,
            known_at: MomentOption = None, position: PositionOption = None,
            company: CompanyOption = None, rhf: RhfOption = None, fmt: FormatOption = Format.TABLE,
            output: OutputOption = None, table: TableOption = None, csv: CsvOption = None,
            database: DatabaseOption = None, view: ViewOption = None,
            as_json: JsonOption = False) -> None:
    """Company obligations: slots, coverage, packs at the company's cost, grants."""
    with statements(database, view) as (ledger, sources):
        at = position_of(ledger, known_at, position)
        books = Books(ledger)
        scope = scope_of(books, company, rhf)
        span = period_of(start, end, period) if period is None or start or end else None
        if span is None:
            found: Any = period_statement(sources, books, StatementKind.COMPANY, scope,
                                          StatementPeriod.parse(period or ""), at)
        else:
            found = company_statement(sources.at(at), span, scope)
        publish(found, _fmt(fmt, as_json), output, table=table, variant=csv)


@statement_app.command("public-cost")
@one_line_errors
def public_cost_command(start: FromOption = None, end: ToOption = None,
                        period: PeriodOption = None, by: ByOption = By.QUARTER,
                        known_at: MomentOption = None, position: PositionOption = None,
                        company: CompanyOption = None, rhf: RhfOption = None,
                        hf: HfOption = None,
                        patient: Annotated[str | None, typer.Option(
                            "--patient", help="Only this patient's share.")] = None,
                        fmt: FormatOption = Format.TABLE, output: OutputOption = None,
                        table: TableOption = None, csv: CsvOption = None,
                        database: DatabaseOption = None, view: ViewOption = None,
                        as_json: JsonOption = False) -> None:
    """Public cost per RHF and HF, per month or quarter: patients taken over, dispensations."""
    if patient is not None:
        checks.study_id(patient)
    with statements(database, view) as (ledger, sources):
        at = position_of(ledger, known_at, position)
        books = Books(ledger)
        scope = scope_of(books, company, rhf, hf)
        span = period_of(start, end, period) if period is None or start or end else None
        if span is None:
            if patient is not None:
                raise ValueError("--patient narrows a statement of --from and --to; a "
                                 "period's statement is kept whole")
            found: Any = period_statement(sources, books, StatementKind.PUBLIC_COST, scope,
                                          StatementPeriod.parse(period or ""), at)
        else:
            found = public_cost(sources.at(at), span, scope, by, patient)
        publish(found, _fmt(fmt, as_json), output, table=table, variant=csv)


@statement_app.command("restatement")
@one_line_errors
def restatement(
    kind: Annotated[StatementKind | None, typer.Argument(
        help="Which statement (not with --since).")] = None,
    since: Annotated[str | None, typer.Option(
        "--since", help="An issued statement's number, e.g. PC-helse-vest-2024Q1-1: what "
        "changed in it since it was issued.")] = None,
    start: FromOption = None, end: ToOption = None,
    issued_at: Annotated[str | None, typer.Option(
        "--issued-at", help="When the statement was issued (a moment).")] = None,
    issued_position: Annotated[int | None, typer.Option(
        "--issued-position", help="The log position printed on the issued statement.")] = None,
    known_at: MomentOption = None, position: PositionOption = None, by: ByOption = By.QUARTER,
    company: CompanyOption = None, rhf: RhfOption = None, hf: HfOption = None,
    fmt: FormatOption = Format.TABLE, output: OutputOption = None, table: TableOption = None,
    csv: CsvOption = None, database: DatabaseOption = None, view: ViewOption = None,
    as_json: JsonOption = False,
) -> None:
    """What changed in a statement since it was issued, and the facts that changed it."""
    from reports import bookkeeping

    with statements(database, view) as (ledger, sources):
        now = position_of(ledger, known_at, position)
        books = Books(ledger)
        if since is not None:
            if kind is not None or issued_at is not None or issued_position is not None:
                raise ValueError("--since names the statement: give no KIND, --issued-at or "
                                 "--issued-position with it")
            found = bookkeeping.since(sources, books, since, now)
        else:
            if kind is None or (issued_at is None and issued_position is None):
                raise ValueError("say which statement: --since NUMBER, or KIND with "
                                 "--issued-at or --issued-position")
            issued = position_of(ledger, issued_at, issued_position,
                                 ("--issued-at", "--issued-position"))
            found = restate(sources, kind, period_of(start, end),
                            scope_of(books, company, rhf, hf), issued=issued, now=now, by=by)
        publish(found, _fmt(fmt, as_json), output, table=table, variant=csv)


@app.command()
@one_line_errors
def worklist(start: Annotated[str | None, typer.Option("--from", help="First day (default: "
                                                       "the first enrolment).")] = None,
             end: Annotated[str | None, typer.Option("--to", help="Last day (default: today)."
                                                     )] = None,
             known_at: MomentOption = None, position: PositionOption = None,
             company: CompanyOption = None, rhf: RhfOption = None,
             fmt: FormatOption = Format.TABLE, output: OutputOption = None,
             csv: CsvOption = None, database: DatabaseOption = None,
             view: ViewOption = None, as_json: JsonOption = False,
             dispensations: Annotated[bool, typer.Option(
                 "--dispensations", help="List each item's dispensations at stake (JSON).")
             ] = False) -> None:
    """Financing gaps: who carries a cost nobody has decided on, since when, and what resolves it."""
    scope = scope_of(None, company, rhf)
    with statements(database, view) as (ledger, sources):
        source = sources.at(position_of(ledger, known_at, position))
        last = day(end, "--to") if end else ledger.clock()
        first = day(start, "--from") if start else min(
            [d for d in (source.first_enrolment(),) if d is not None] + [last])
        publish(worklist_statement(source, Period(first, last), scope,
                                   dispensations=dispensations), _fmt(fmt, as_json),
                output, variant=csv)


@app.command()
@one_line_errors
def upcoming(days: Annotated[int, typer.Option("--days", help="How many days ahead.")] = 90,
             on: Annotated[str | None, typer.Option("--on", help="Count from this day "
                                                    "(default: today).")] = None,
             known_at: MomentOption = None, position: PositionOption = None,
             company: CompanyOption = None, rhf: RhfOption = None,
             fmt: FormatOption = Format.TABLE, output: OutputOption = None,
             csv: CsvOption = None, database: DatabaseOption = None,
             view: ViewOption = None, as_json: JsonOption = False) -> None:
    """Company coverage ending in the next N days, per RHF, and who pays next."""
    if days < 0:
        raise ValueError(f"--days must be 0 or more, got {days}")
    scope = scope_of(None, company, rhf)
    with statements(database, view) as (ledger, sources):
        source = sources.at(position_of(ledger, known_at, position))
        first = day(on, "--on") if on else ledger.clock()
        period = Period(first, date.fromordinal(first.toordinal() + days))
        publish(upcoming_statement(source, period, scope), _fmt(fmt, as_json), output,
                variant=csv)


@contextmanager
def statements(database: str | None, view: str | None) -> Iterator[tuple[Any, ReadModelSources]]:
    """The ledger (for positions and moments) and the read models, caught up."""
    with open_ledger(database) as ledger, read_models(ledger, view) as models:
        yield ledger, ReadModelSources(models, ledger.log)
