"""`impress-ledger statement bundle`: a statement as the bundle its party would download (ADR 0023,
docs/proofs.md section 8), for an operator to send or an auditor to check.

    statement bundle NUMBER [--restatement] [--archived N ...] [--earlier K] [--output FILE]
    statement bundle --statement company --company C (--period P | --from D --to D) [...]

The bundle is made for the party whose statement it is (the partner of a company's obligations,
the finance officer of an RHF's or health trust's public cost), with that party's tenancy: the
facts it may not see are named as withheld. Partners check it offline with `impress-verify
bundle`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from application.access import PARTNER, RHF_FINANCE, View
from audit import bundles
from cli.core import DatabaseOption, PositionOption, one_line_errors
from cli.ledger import (ByOption, CompanyOption, FromOption, HfOption, OutputOption,
                        PeriodOption, RhfOption, ToOption, period_of, scope_of, statement_app,
                        statements)
from cli.readmodels import ViewOption
from domain.books import StatementKind
from domain.statements.public import By
from domain.statements.scope import Scope, ScopeKind
from domain.values import Actor
from reports.books import Books

NumberArgument = Annotated[str | None, typer.Argument(
    help="An issued statement's number (PC-helse-vest-2024Q1-1); or give --statement.")]
KindOption = Annotated[StatementKind | None, typer.Option(
    "--statement", help="company or public-cost: a period's (--period) or a span's (--from, "
    "--to) statement, instead of an issued one.")]
ArchivedOption = Annotated[list[int] | None, typer.Option(
    "--archived", help="The size of a head the party archived (repeatable): the bundle carries "
    "a consistency proof from it.")]
EarlierOption = Annotated[int | None, typer.Option(
    "--earlier", min=1, help="The known_at of a bundle the party verified and kept (a signed "
    "head's size): the bundle (impress-bundle-v3) leaves out the agreement streams' facts up to "
    "it, which the party's verifier has in its store (impress-verify bundle --store).")]


def reader(scope: Scope) -> Actor:
    """The party a scope's statement belongs to, as the reader its bundle is made for."""
    if scope.kind is ScopeKind.COMPANY:
        return Actor(subject="cli:bundle", role=PARTNER, organisation=scope.party or "")
    if scope.kind is ScopeKind.RHF:
        return Actor(subject="cli:bundle", role=RHF_FINANCE, organisation=scope.party or "")
    if scope.kind is ScopeKind.HF:
        return Actor(subject="cli:bundle", role=RHF_FINANCE, organisation=scope.region or "")
    raise ValueError("a bundle is made for one party: give --company, --rhf or --hf")


@statement_app.command("bundle")
@one_line_errors
def bundle(number: NumberArgument = None,
           restatement: Annotated[bool, typer.Option(
               "--restatement", help="What changed since NUMBER was issued, as a bundle.")] = False,
           kind: KindOption = None, period: PeriodOption = None, start: FromOption = None,
           end: ToOption = None, by: ByOption = By.QUARTER, company: CompanyOption = None,
           rhf: RhfOption = None, hf: HfOption = None, position: PositionOption = None,
           archived: ArchivedOption = None, earlier: EarlierOption = None,
           output: OutputOption = None,
           database: DatabaseOption = None, view: ViewOption = None) -> None:
    """A statement as a bundle its party verifies offline: the lines, the facts they rest on,
    one multiproof of them all to the latest signed head (impress-verify bundle)."""
    if (number is None) == (kind is None):
        raise ValueError("give an issued statement's NUMBER, or --statement with its period")
    with statements(database, view) as (ledger, sources):
        books = Books(ledger)
        issued_at = None
        if number is not None:
            spec, issued_at = bundles.issued_spec(ledger, books, number, restated=restatement,
                                                  at=position)
        else:
            assert kind is not None
            dates = None if period is not None else period_of(start, end)
            spec = bundles.asked_spec(ledger, kind, scope_of(books, company, rhf, hf),
                                      label=period, period=dates,
                                      by=By.MONTH if period else by, at=position)
        found = bundles.make(ledger, View(reader(spec.scope), ledger.workspace()), spec, sources,
                             books, issued_at=issued_at, archived=archived or (),
                             earlier=earlier)
    text = found.to_json() + "\n"
    if output is None:
        sys.stdout.write(text)
        return
    Path(output).write_text(text, encoding="utf-8")
    typer.echo(f"wrote {output}: {len(found.lines)} lines, {len(found.facts)} facts proved "
               f"against the head of {found.head.head.tree_size} facts", err=True)
