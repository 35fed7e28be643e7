"""The read models from the command line: every query command answers from them (brought up to
the log's head first: the CLI has no runner following the log), `payers` pages through who pays
on a date, and `rebuild` / `verify` maintain every read model at once (one at a time; `rebuild
--clean` removes what killed rebuilds left behind)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console

from application.ledger import Ledger
from cli.core import (DatabaseOption, JsonOption, MomentOption, PositionOption, day, emit, fail,
                      ledger_url, one_line_errors, open_ledger, position_of)
from cli.main import app
from projections.whopays import WhoPaysView, catch_up
from reports import export

ViewOption = Annotated[
    str | None, typer.Option("--view", envvar="IMPRESS_VIEW_URL",
                             help="The read models' database URL (default: the ledger's).")
]


@contextmanager
def read_models(ledger: Ledger, view: str | None = None) -> Iterator[WhoPaysView]:
    """The read models, caught up with everything the log holds."""
    models = WhoPaysView(view or ledger.log.url)
    try:
        catch_up(ledger, models)
        yield models
    finally:
        models.close()


@contextmanager
def progress_bar(total: int, label: str) -> Iterator[Callable[[int, int], None]]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeRemainingColumn(), console=Console(stderr=True),
                  transient=False) as bar:
        task = bar.add_task(label, total=total or 1)

        def progress(position: int, head: int) -> None:
            bar.update(task, completed=position, total=max(head, 1))

        yield progress


@app.command()
@one_line_errors
def payers(
    on: Annotated[str, typer.Option("--on", help="The date asked about (YYYY-MM-DD).")],
    company: Annotated[str | None, typer.Option("--company", help="Only this company's "
                                                "patients.")] = None,
    rhf: Annotated[str | None, typer.Option("--rhf", help="Only patients treated in this "
                                            "region at some time.")] = None,
    after: Annotated[str | None, typer.Option("--after", help="The last patient of the previous "
                                              "page.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Patients per page.")] = 500,
    known_at: MomentOption = None, position: PositionOption = None,
    database: DatabaseOption = None, view: ViewOption = None, as_json: JsonOption = False,
) -> None:
    """Who pays on a date for each patient, a page at a time (by patient id)."""
    from projections.payers import Tenancy, payers_on

    asked = day(on, "--on")
    with open_ledger(database) as ledger, read_models(ledger, view) as models:
        at = position_of(ledger, known_at, position)
        page = payers_on(models, asked, tenancy=Tenancy(company=company, region=rhf),
                         after=after, limit=limit, known_at_position=at)
    rows = [{"patient_id": x.patient_id, "payer": x.kind.value, "party": x.party,
             "treating_hf": x.hf_id, "reason": x.reason} for x in page.rows]
    payload = {"on": asked.isoformat(), "known_at_position": page.position, "patients": rows,
               "next_after": page.after}

    def table() -> None:
        columns = tuple(export.Column(t) for t in ("Patient", "Payer", "Party", "Treating HF",
                                                   "Why"))
        export.render(export.Sheet("Payers", columns, tuple(tuple(x.values()) for x in rows)),
                      export.console_for(sys.stdout),
                      title=f"Payers on {asked}, as known at log position {page.position}")
        if page.after:
            typer.echo(f"next page: --after {page.after}")

    emit(payload, as_json, table)


@app.command()
@one_line_errors
def rebuild(database: DatabaseOption = None, view: ViewOption = None,
            clean: Annotated[bool, typer.Option(
                "--clean", help="Only remove the tables and tracking rows that killed rebuilds "
                                "or verifies left behind (a rebuild removes them first anyway)."
            )] = False,
            jobs: Annotated[int | None, typer.Option(
                "--jobs", min=1, max=64,  # projections.partitioned.MAX_JOBS
                help="Processes sharing the replay, the patients split among them (default: "
                     "one per core, one for a log under 50 000 facts).")] = None) -> None:
    """Rebuild every read model from the whole log, then swap them in (readers never see a
    half-built model)."""
    from projections import maintenance  # loads on demand

    if clean:
        with _one_at_a_time():
            removed = maintenance.clean(view or ledger_url(database))
        typer.echo(f"removed what killed rebuilds left: {removed}" if removed
                   else "nothing left behind by killed rebuilds")
        return

    def cleaned(removed: Any) -> None:
        typer.echo(f"removed what killed rebuilds left: {removed}", err=True)

    with open_ledger(database) as ledger, _one_at_a_time(), _worker_failed(), \
            progress_bar(ledger.log.head(), "replaying the log") as progress:
        position = maintenance.rebuild(ledger, view or ledger.log.url, progress, cleaned=cleaned,
                                       jobs=jobs)
    typer.echo(f"read models rebuilt up to log position {position}")


@contextmanager
def _worker_failed() -> Iterator[None]:
    from projections.partitioned import WorkerFailed

    try:
        yield
    except WorkerFailed as failed:
        fail(f"the rebuild failed and the read models are as they were: {failed}", 70)


@contextmanager
def _one_at_a_time() -> Iterator[None]:
    from projections.scratch import MaintenanceRunning

    try:
        yield
    except MaintenanceRunning as busy:
        fail(str(busy), 75)


@app.command()
@one_line_errors
def verify(database: DatabaseOption = None, view: ViewOption = None,
           as_json: JsonOption = False) -> None:
    """Replay the log into a scratch copy of every read model and compare it with the live
    ones, listing every difference; exit 1 if there is any."""
    from projections.maintenance import verify as verify_models

    with open_ledger(database) as ledger, _one_at_a_time(), \
            progress_bar(ledger.log.head(), "replaying the log") as progress:
        differences = verify_models(ledger, view or ledger.log.url, progress=progress)
    payload = {"differences": [_difference_dict(d) for d in differences]}

    def table() -> None:
        if not differences:
            typer.echo("the read models equal a replay of the log: no differences")
            return
        columns = tuple(export.Column(t) for t in
                        ("Table", "Owner", "Row", "Field", "Live", "Replayed"))
        rows = tuple(tuple(_difference_dict(d).values()) for d in differences)
        export.render(export.Sheet("Differences", columns, rows),
                      export.console_for(sys.stdout))

    emit(payload, as_json, table)
    if differences:
        fail(f"{len(differences)} difference(s) between the read models and the log", 1)


def _difference_dict(d: Any) -> dict[str, Any]:
    return {"table": d.table, "patient_id": d.patient_id, "row": d.row, "field": d.field,
            "live": None if d.live is None else str(d.live),
            "replayed": None if d.replayed is None else str(d.replayed)}
