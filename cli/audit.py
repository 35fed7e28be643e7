"""`impress-ledger audit`: the auditor's toolkit (docs/auditing.md, docs/adr/0010).

    audit digest  [--position N] [--output FILE]     save it outside the system
    audit verify  [--digest FILE|JSON|-] [--json]     exit 0: whole; 1: history differs; 2: bad input
    audit history patient|cohort|agreement ID [--format jsonl|csv] [--output FILE]
    audit replay  --known-at K | --position P [--on D] [--statement company|public-cost --from --to]

A database that cannot be reached ends with 69, as every other command (cli.core).
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from cli.main import app
from cli.core import (
    DatabaseOption, JsonOption, MomentOption, PositionOption, day, emit, moment, one_line_errors,
    open_ledger,
)
from cli.ledger import ByOption, period_of
from audit import verify as audit
from audit import history as audit_history
from reports import export
from audit.replay import Replay, replay
from domain.statements.public import By
from reports.statements_restate import StatementKind


class HistoryFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"

PROGRESS_FROM = 20_000
"""Show a progress bar when verifying more positions than this (about a second's work)."""

audit_app = typer.Typer(help="Digests, verification, history and replay, for auditors.",
                        no_args_is_help=True)
app.add_typer(audit_app, name="audit")

OutputFile = Annotated[Path | None, typer.Option("--output", help="Write to this file.")]


@audit_app.command("digest")
@one_line_errors
def digest_command(
    position: Annotated[int | None, typer.Option(
        "--position", help="The digest of an earlier position (default: the head).")] = None,
    output: OutputFile = None, database: DatabaseOption = None,
) -> None:
    """Print (position, head hash, recorded time) as JSON: keep it outside the system."""
    with open_ledger(database) as ledger:
        found = audit.digest(ledger.log, position)
    text = json.dumps(found.to_dict(), indent=2) + "\n"
    if output is not None:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)
    else:
        sys.stdout.write(text)


@audit_app.command("verify")
@one_line_errors
def verify_command(
    digest: Annotated[str | None, typer.Option(
        "--digest", help="Saved digest(s): a file, '-' for standard input, or the JSON itself "
                         "(an object, an array of them, or JSON lines).")] = None,
    database: DatabaseOption = None, as_json: JsonOption = False,
) -> None:
    """Recompute the hash chain from position 1; name the first position where history differs.

    Exit status: 0 the chain is whole (and matches every digest), 1 it differs, 2 bad input."""
    digests = audit.parse_digests(_digest_text(digest)) if digest is not None else []
    with open_ledger(database) as ledger:
        result = _verify_with_progress(ledger.log, digests)
    emit(result.to_dict(), as_json, lambda: _verification_text(result))
    if not result.ok:
        raise typer.Exit(1)


def _digest_text(value: str) -> str:
    if value == "-":
        return sys.stdin.read()
    if value.lstrip()[:1] in ("{", "["):
        return value
    path = Path(value)
    if not path.is_file():
        raise ValueError(f"--digest: no such file {value!r} (give a file, '-', or the JSON)")
    return path.read_text(encoding="utf-8")


def _verify_with_progress(log: Any, digests: list[audit.Digest]) -> audit.Verification:
    _, highest = log.extent()
    if highest < PROGRESS_FROM:
        return audit.verify(log, digests)
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn,
                               TimeRemainingColumn)

    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TaskProgressColumn(), TimeRemainingColumn(), console=Console(stderr=True),
                  transient=True) as bar:
        task = bar.add_task("recomputing the chain", total=highest)
        return audit.verify(log, digests, progress=lambda done, total: bar.update(
            task, completed=done, total=total))


def _verification_text(v: audit.Verification) -> None:
    head = v.head
    if v.ok:
        typer.echo(f"the chain is whole: positions 1..{v.checked} verified in {v.seconds:.2f} s")
        typer.echo(f"  h({head.position}) = {head.chain_hash}")
        typer.echo(f"  Merkle tree root of {v.checked} facts = {v.tree_root}")
    else:
        d = v.first_difference
        assert d is not None
        where = f"positions {d.since}..{d.position}" if d.since else f"position {d.position}"
        typer.echo(f"HISTORY DIFFERS at {where} ({d.kind.value}): {d.detail}")
        typer.echo(f"  the chain is whole up to position {v.checked} of {v.last_position}")
    for check in v.digests:
        state = {True: "matches", False: "DIFFERS", None: "not reached"}[check.matches]
        typer.echo(f"  digest at position {check.digest.position}: {state}")


@audit_app.command("history")
@one_line_errors
def history_command(
    subject: Annotated[audit_history.Subject, typer.Argument(help="patient, cohort or agreement")],
    identifier: Annotated[str, typer.Argument(help="e.g. IMP-0042, olaparib-brca")],
    fmt: Annotated[HistoryFormat, typer.Option("--format", help="jsonl or csv")] = (
        HistoryFormat.JSONL),
    output: OutputFile = None, database: DatabaseOption = None,
) -> None:
    """Every fact about a patient, cohort or agreement, with recorded time, actor and links.

    Links: corrects / corrected_by, retracts / retracted_by, basis."""
    with open_ledger(database) as ledger:
        rows = audit_history.history(ledger.log, subject, identifier)
    if output is None:
        audit_history.write(rows, HistoryFormat(fmt).value, sys.stdout)
        return
    with output.open("w", encoding="utf-8", newline="") as out:
        audit_history.write(rows, HistoryFormat(fmt).value, out)
    typer.echo(f"wrote {len(rows)} facts to {output}", err=True)


@audit_app.command("replay")
@one_line_errors
def replay_command(
    known_at: MomentOption = None, position: PositionOption = None,
    on: Annotated[str | None, typer.Option("--on", help="Who paid on this date (default: "
                                           "every patient's timeline).")] = None,
    statement: Annotated[list[StatementKind] | None, typer.Option(
        "--statement", help="Also a statement as of then: company or public-cost "
                            "(repeatable).")] = None,
    start: Annotated[str | None, typer.Option("--from", help="The statement's first day.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="The statement's last day.")] = None,
    by: ByOption = By.QUARTER, database: DatabaseOption = None, as_json: JsonOption = False,
) -> None:
    """Who paid, and the statements, exactly as the ledger answered at moment K.

    K is the last fact recorded by then; the output names the chain's digest at K."""
    if (known_at is None) == (position is None):
        raise ValueError("say as of when: --known-at MOMENT or --position N")
    kinds = list(statement or [])
    if (start is None) != (end is None):
        raise ValueError("a statement's period needs both --from and --to")
    period = period_of(start, end) if start is not None and end is not None else None
    grain = by
    asked = moment(known_at) if known_at else None
    with open_ledger(database) as ledger:
        at = ledger.position(asked, position)
        result = replay(ledger, at, moment=asked, on=day(on, "--on") if on else None,
                        statements=kinds, period=period, by=grain)
    emit(result.to_dict(), as_json, lambda: _replay_text(result))


def _replay_text(r: Replay) -> None:
    console = export.console_for(sys.stdout)
    asked = f" (the last fact recorded by {r.moment.isoformat()})" if r.moment else ""
    console.print(f"[bold]As of log position {r.at.position}{asked}[/bold]", highlight=False)
    console.print(f"h({r.at.position}) = {r.at.chain_hash}", highlight=False)
    if r.on is not None:
        rows: tuple[tuple[Any, ...], ...] = tuple(
            (pid, p.kind.value, p.party, p.hf_id, p.reason, ", ".join(p.basis))
            for pid, p in r.payers)
        titles = ("Patient", "Payer", "Party", "Treating HF", "Why", "Rests on")
        export.render(export.Sheet(f"Who paid on {r.on}", tuple(export.Column(t) for t in titles),
                                   rows), console)
    else:
        rows = tuple((pid, i.start, i.end, i.payer.kind.value, i.payer.party, i.payer.hf_id)
                     for pid, intervals in r.timelines for i in intervals)
        columns = tuple(export.Column(t, k) for t, k in (
            ("Patient", export.Kind.TEXT), ("From", export.Kind.DATE), ("To", export.Kind.DATE),
            ("Payer", export.Kind.TEXT), ("Party", export.Kind.TEXT),
            ("Treating HF", export.Kind.TEXT)))
        export.render(export.Sheet("Timelines", columns, rows), console)
    for s in r.statements:
        console.print()
        export.write_text(s, "table", sys.stdout)

