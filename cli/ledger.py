"""Commands for finance officers and auditors: timelines, statements, the worklist and upcoming
coverage ends, every one answered from the read models (cli.readmodels).

Dates and moments are parsed here, not by the CLI library, so a malformed one ends in one line
on stderr like every other bad input. A moment without a UTC offset is read as Oslo time.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
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
from domain import errors as err
from projections.rows import IntervalRow
from reports import export
from reports.readmodels import ReadModelSources
from reports.statements import Period, Scope
from reports.statements_company import company_statement
from reports.statements_public import By, public_cost
from reports.statements_restate import StatementKind, restate
from reports.worklist import upcoming as upcoming_statement
from reports.worklist import worklist as worklist_statement

FromOption = Annotated[str, typer.Option("--from", help="First day of the period (YYYY-MM-DD).")]
ToOption = Annotated[str, typer.Option("--to", help="Last day of the period, inclusive.")]
CompanyOption = Annotated[
    str | None, typer.Option("--company", help="Only what this company (partner) may see.")
]
RhfOption = Annotated[
    str | None, typer.Option("--rhf", help="Only what this RHF may see: its region's patients, "
                             "on the dates they were treated there.")
]
FormatOption = Annotated[
    str, typer.Option("--format", help="table (people), json, csv or xlsx (finance officers).")
]
OutputOption = Annotated[
    Path | None, typer.Option("--output", help="Write to this file (xlsx needs one; csv with "
                              "several sheets writes one file per sheet beside it).")
]
ByOption = Annotated[str, typer.Option("--by", help="Rows per month or per quarter.")]

statement_app = typer.Typer(help="Statements for a period, as known at any moment.",
                            no_args_is_help=True)
app.add_typer(statement_app, name="statement")


# --- parsing ----------------------------------------------------------------------------------


def period_of(start: str, end: str) -> Period:
    return Period(day(start, "--from"), day(end, "--to"))


def scope_of(company: str | None, rhf: str | None) -> Scope:
    if company is not None and rhf is not None:
        raise ValueError("give --company or --rhf, not both")
    if company is not None:
        return Scope.company(company)
    return Scope.rhf(rhf) if rhf is not None else Scope.everything()


def choice(value: str, allowed: tuple[str, ...], option: str) -> str:
    if value not in allowed:
        raise ValueError(f"{option}: '{value}' is not one of {', '.join(allowed)}")
    return value


# --- output -----------------------------------------------------------------------------------


def publish(statement: Any, fmt: str, output: Path | None) -> None:
    for path in export.publish(statement, fmt, output, sys.stdout):
        typer.echo(f"wrote {path}", err=True)


def _console() -> Console:
    console: Console = export.console_for(sys.stdout)
    return console


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
            raise err.UnknownPatient(patient_id)
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
def company(start: FromOption, end: ToOption, known_at: MomentOption = None,
            position: PositionOption = None, company: CompanyOption = None,
            rhf: RhfOption = None, fmt: FormatOption = "table", output: OutputOption = None,
            database: DatabaseOption = None, view: ViewOption = None,
            as_json: JsonOption = False) -> None:
    """Company obligations: slots, coverage, packs at the company's cost, grants."""
    period, scope, fmt = period_of(start, end), scope_of(company, rhf), _fmt(fmt, as_json)
    with statements(database, view) as (ledger, sources):
        source = sources.at(position_of(ledger, known_at, position))
        publish(company_statement(source, period, scope), fmt, output)


@statement_app.command("public-cost")
@one_line_errors
def public_cost_command(start: FromOption, end: ToOption, by: ByOption = "quarter",
                        known_at: MomentOption = None, position: PositionOption = None,
                        company: CompanyOption = None, rhf: RhfOption = None,
                        fmt: FormatOption = "table", output: OutputOption = None,
                        database: DatabaseOption = None, view: ViewOption = None,
                        as_json: JsonOption = False) -> None:
    """Public cost per RHF and HF, per month or quarter: patients taken over, dispensations."""
    period, scope, fmt = period_of(start, end), scope_of(company, rhf), _fmt(fmt, as_json)
    grain = By(choice(by, tuple(b.value for b in By), "--by"))
    with statements(database, view) as (ledger, sources):
        source = sources.at(position_of(ledger, known_at, position))
        publish(public_cost(source, period, scope, grain), fmt, output)


@statement_app.command("restatement")
@one_line_errors
def restatement(
    kind: Annotated[str, typer.Argument(help="Which statement: company or public-cost.")],
    start: FromOption, end: ToOption,
    issued_at: Annotated[str | None, typer.Option(
        "--issued-at", help="When the statement was issued (a moment).")] = None,
    issued_position: Annotated[int | None, typer.Option(
        "--issued-position", help="The log position printed on the issued statement.")] = None,
    known_at: MomentOption = None, position: PositionOption = None, by: ByOption = "quarter",
    company: CompanyOption = None, rhf: RhfOption = None, fmt: FormatOption = "table",
    output: OutputOption = None, database: DatabaseOption = None, view: ViewOption = None,
    as_json: JsonOption = False,
) -> None:
    """What changed in a statement since it was issued, and the facts that changed it."""
    which = StatementKind(choice(kind, tuple(k.value for k in StatementKind), "KIND"))
    period, scope, fmt = period_of(start, end), scope_of(company, rhf), _fmt(fmt, as_json)
    grain = By(choice(by, tuple(b.value for b in By), "--by"))
    if issued_at is None and issued_position is None:
        raise ValueError("say when the statement was issued: --issued-at or --issued-position")
    with statements(database, view) as (ledger, sources):
        issued = position_of(ledger, issued_at, issued_position,
                             ("--issued-at", "--issued-position"))
        now = position_of(ledger, known_at, position)
        publish(restate(sources, which, period, scope, issued=issued, now=now, by=grain),
                fmt, output)


@app.command()
@one_line_errors
def worklist(start: Annotated[str | None, typer.Option("--from", help="First day (default: "
                                                       "the first enrolment).")] = None,
             end: Annotated[str | None, typer.Option("--to", help="Last day (default: today)."
                                                     )] = None,
             known_at: MomentOption = None, position: PositionOption = None,
             company: CompanyOption = None, rhf: RhfOption = None, fmt: FormatOption = "table",
             output: OutputOption = None, database: DatabaseOption = None,
             view: ViewOption = None, as_json: JsonOption = False) -> None:
    """Financing gaps: who carries a cost nobody has decided on, since when, and what resolves it."""
    scope, fmt = scope_of(company, rhf), _fmt(fmt, as_json)
    with statements(database, view) as (ledger, sources):
        source = sources.at(position_of(ledger, known_at, position))
        last = day(end, "--to") if end else ledger.clock()
        first = day(start, "--from") if start else min(
            [d for d in (source.first_enrolment(),) if d is not None] + [last])
        publish(worklist_statement(source, Period(first, last), scope), fmt, output)


@app.command()
@one_line_errors
def upcoming(days: Annotated[int, typer.Option("--days", help="How many days ahead.")] = 90,
             on: Annotated[str | None, typer.Option("--on", help="Count from this day "
                                                    "(default: today).")] = None,
             known_at: MomentOption = None, position: PositionOption = None,
             company: CompanyOption = None, rhf: RhfOption = None, fmt: FormatOption = "table",
             output: OutputOption = None, database: DatabaseOption = None,
             view: ViewOption = None, as_json: JsonOption = False) -> None:
    """Company coverage ending in the next N days, per RHF, and who pays next."""
    if days < 0:
        raise ValueError(f"--days must be 0 or more, got {days}")
    scope, fmt = scope_of(company, rhf), _fmt(fmt, as_json)
    with statements(database, view) as (ledger, sources):
        source = sources.at(position_of(ledger, known_at, position))
        first = day(on, "--on") if on else ledger.clock()
        period = Period(first, date.fromordinal(first.toordinal() + days))
        publish(upcoming_statement(source, period, scope), fmt, output)


@contextmanager
def statements(database: str | None, view: str | None) -> Iterator[tuple[Any, ReadModelSources]]:
    """The ledger (for positions and moments) and the read models, caught up."""
    with open_ledger(database) as ledger, read_models(ledger, view) as models:
        yield ledger, ReadModelSources(models, ledger.log)


def _fmt(fmt: str, as_json: bool) -> str:
    return "json" if as_json else choice(fmt, export.FORMATS, "--format")
