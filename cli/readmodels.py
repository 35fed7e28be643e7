"""`impress-ledger rebuild` and `verify`: the who-pays read model's maintenance (rebuild it from
the log, compare it with a replay, remove what killed rebuilds left behind)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console

from cli.core import DatabaseOption, JsonOption, emit, fail, ledger_url, one_line_errors, open_ledger
from cli.ledger import _console
from cli.main import app
from reports import export

ViewOption = Annotated[
    str | None, typer.Option("--view", envvar="IMPRESS_VIEW_URL",
                             help="The read model's database URL (default: the ledger's).")
]


@app.command()
@one_line_errors
def rebuild(database: DatabaseOption = None, view: ViewOption = None,
            clean: Annotated[bool, typer.Option(
                "--clean", help="Only remove the tables and tracking rows that killed rebuilds "
                                "or verifies left behind (a rebuild removes them first anyway)."
            )] = False) -> None:
    """Rebuild the who-pays read model from the whole log, then swap it in (readers never see
    a half-built model)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from projections import whopays  # the read model loads on demand

    if clean:
        with _one_at_a_time():
            removed = whopays.clean(view or ledger_url(database))
        typer.echo(f"removed what killed rebuilds left: {removed}" if removed
                   else "nothing left behind by killed rebuilds")
        return
    with open_ledger(database) as ledger, _one_at_a_time(), Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), console=Console(stderr=True), transient=False,
    ) as bar:
        task = bar.add_task("replaying the log", total=ledger.log.head() or 1)

        def progress(position: int, head: int) -> None:
            bar.update(task, completed=position, total=max(head, 1))

        def cleaned(removed: Any) -> None:
            typer.echo(f"removed what killed rebuilds left: {removed}", err=True)

        position = whopays.rebuild(ledger, view or ledger.log.url, progress, cleaned=cleaned)
    typer.echo(f"who-pays read model rebuilt up to log position {position}")


@contextmanager
def _one_at_a_time() -> Iterator[None]:
    from projections.whopays import MaintenanceRunning

    try:
        yield
    except MaintenanceRunning as busy:
        fail(str(busy), 75)


@app.command()
@one_line_errors
def verify(database: DatabaseOption = None, view: ViewOption = None,
           as_json: JsonOption = False) -> None:
    """Replay the log into a scratch copy and compare it with the live read model, listing
    every difference; exit 1 if there is any."""
    from projections.whopays import verify as verify_view

    with open_ledger(database) as ledger, _one_at_a_time():
        differences = verify_view(ledger, view or ledger.log.url)
    payload = {"differences": [_difference_dict(d) for d in differences]}

    def table() -> None:
        if not differences:
            typer.echo("the who-pays read model equals a replay of the log: no differences")
            return
        columns = tuple(export.Column(t) for t in
                        ("Table", "Patient", "Row", "Field", "Live", "Replayed"))
        rows = tuple(tuple(_difference_dict(d).values()) for d in differences)
        export.render(export.Sheet("Differences", columns, rows), _console())

    emit(payload, as_json, table)
    if differences:
        fail(f"{len(differences)} difference(s) between the read model and the log", 1)


def _difference_dict(d: Any) -> dict[str, Any]:
    return {"table": d.table, "patient_id": d.patient_id, "row": d.row, "field": d.field,
            "live": None if d.live is None else str(d.live),
            "replayed": None if d.replayed is None else str(d.replayed)}
