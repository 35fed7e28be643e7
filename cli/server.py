"""`impress-ledger serve`, `token` and `import`: the HTTP server, development tokens, bulk import."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from enum import StrEnum

from application.access import MIGRATION, PARTNER, RHF_FINANCE, ROLES
from cli.main import app
from cli.core import DatabaseOption, cli_actor, missing, one_line_errors, open_ledger
from api.serving import default_workers, uvicorn_options
from api.settings import Settings

Role = StrEnum("Role", {r.upper(): r for r in ROLES})  # type: ignore[misc]
"""The roles as a choice, so --help and completion list them."""


def _settings(database: str | None = None, **overrides: object) -> Settings:
    values = {"database_url": database} if database else {}
    return Settings(**values, **overrides)  # type: ignore[arg-type]


@app.command()
@one_line_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int | None, typer.Option(
        min=1, max=64, help="Worker processes (default: one per core, 2 to 4; --dev: 1).")] = None,
    dev: Annotated[bool, typer.Option("--dev", help="Trust only tokens from "
                                      "`impress-ledger token` (IMPRESS_AUTH_MODE=dev).")] = False,
    database: DatabaseOption = None,
) -> None:
    """Serve the web pages and the HTTP API (OpenAPI at /docs); --dev: sign in as any role."""
    import uvicorn

    from application.ledger import Ledger

    if database:
        os.environ["IMPRESS_DATABASE_URL"] = database
    if dev:
        os.environ["IMPRESS_AUTH_MODE"] = "dev"
    from web.app import create_app
    from web.settings import WebSettings

    settings = WebSettings()
    missing(settings.database_url)  # only `init` creates a ledger
    # Set up once in this process, so the workers never race on DDL.
    ledger = Ledger.open(settings.database_url, create_tables=True)
    try:
        ledger.install_reference(cli_actor("system"), ledger.clock())
        checked = create_app(settings.model_copy(update={"follow_log": False}), ledger,
                             configure_logging=False)  # checks the configuration
        checked.state.service.close()
    finally:
        ledger.close()
    os.environ["IMPRESS_CREATE_TABLES"] = "false"
    typer.echo(f"the ledger in the browser: http://{host}:{port}/   (API documentation: "
               f"http://{host}:{port}/docs)", err=True)
    if settings.auth_mode == "dev":
        typer.echo(f"development mode: sign in on the web page as any role, or get an API token "
                   f"with\n  TOKEN=$({invoked_as()} token --role trial_office --org impress)\n"
                   f"and send it as 'Authorization: Bearer $TOKEN' to http://{host}:{port}/v1/...",
                   err=True)
    count = workers or (1 if dev else default_workers())
    # With several workers, this process (uvicorn's supervisor, which serves nothing) keeps
    # the read models up to date: it takes the leader lock before any worker starts, and the
    # workers' runners stand by (projections.leader, ADR 0021).
    follower = _follow(settings) if count > 1 and settings.follow_log else None
    try:
        uvicorn.run("web.app:app_from_environment", factory=True, host=host, port=port,
                    **uvicorn_options(count))
    finally:
        if follower is not None:
            follower()


def _follow(settings: Settings) -> Callable[[], None]:
    """Start a read-model runner in this process; returns what stops it."""
    from application.ledger import Ledger
    from projections.runner import ViewRunner

    ledger = Ledger.open(settings.database_url, create_tables=False)
    poll = settings.follow_poll_seconds or (0.1 if ledger.log.url.startswith("sqlite") else 1.0)
    runner = ViewRunner(ledger, ledger.log.url, poll_interval=poll, leader=True,
                        patients=settings.cache_streams).start()

    def stop() -> None:
        runner.stop()
        ledger.close()

    return stop


def invoked_as() -> str:
    """How the user ran this program (`.venv/bin/impress-ledger` from the checkout, as `make
    run` does), so a command it prints can be pasted as it is."""
    from pathlib import Path

    typed = sys.argv[0] if sys.argv and sys.argv[0] else "impress-ledger"
    program = Path(typed)
    if not program.is_absolute():
        return typed if "/" in typed else program.name
    try:
        relative = str(program.relative_to(Path.cwd()))
    except ValueError:
        return typed
    return relative if "/" in relative else f"./{relative}"


@app.command()
@one_line_errors
def token(
    role: Annotated[Role, typer.Option(help="The role the token carries.")],
    org: Annotated[str | None, typer.Option(help="Organisation: the company id for a partner, "
                                            "the RHF id for rhf_finance.")] = None,
    subject: Annotated[str | None, typer.Option(help="Who (default: your user name).")] = None,
    hours: Annotated[float, typer.Option(min=0.01, max=24 * 30, help="Valid for.")] = 8,
    database: DatabaseOption = None,
) -> None:
    """Print a development token (local key in the data dir); only `serve --dev` trusts it.
    A partner's or an RHF officer's organisation must be one the ledger knows."""
    import getpass

    from api.auth import issue_dev_token

    name = Role(role).value
    if name in (PARTNER, RHF_FINANCE):
        if not org:
            raise ValueError(f"--org is needed for {name}: "
                             f"{'a company id' if name == PARTNER else 'an RHF id such as helse-vest'}")
        known_organisation(name, org, database)
    settings = _settings()
    typer.echo(issue_dev_token(settings, role=name, organisation=org or "impress",
                               subject=subject or f"dev:{getpass.getuser()}",
                               ttl_seconds=int(hours * 3600)))


def known_organisation(role: str, org: str, database: str | None) -> None:
    """A token for a company or region the ledger does not know would see nothing and say
    nothing: refuse it, listing the ones it knows."""
    with open_ledger(database) as ledger:
        ws = ledger.workspace()
        if role == PARTNER:
            known = sorted(s.partition("/")[2] for s in ledger.log.streams("company/"))
        else:
            known = sorted({t.rhf_id for t in ws.registry().trusts.values()})
    if org not in known:
        what = "company" if role == PARTNER else "regional health authority"
        raise ValueError(f"--org: no {what} '{org}' is recorded in the ledger; known: "
                         f"{', '.join(known) or 'none yet'}")


@app.command("import")
@one_line_errors
def import_file(
    file: Annotated[Path, typer.Argument(help="JSON lines of commands (docs/import-format.md); "
                                         "- reads standard input.")],
    database: DatabaseOption = None,
) -> None:
    """Import history from JSON lines of commands: all or nothing, bad lines by number."""
    from api import imports
    from api.served import Served
    from application.ledger import Ledger
    from cli.readmodels import progress_bar

    text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
    settings = _settings(database, follow_log=False)
    missing(settings.database_url)  # only `init` creates a ledger
    ledger = Ledger.open(settings.database_url, create_tables=settings.create_tables)
    served = Served(ledger, settings)
    try:
        ledger.install_reference(cli_actor("system"), ledger.clock())
        # a bar on a terminal only: a log or a pipe gets the one line of the outcome
        bar = progress_bar(len(imports.lines_of(text)), "checking the commands") \
            if sys.stderr.isatty() else nullcontext(None)
        with bar as progress:
            receipt, lines = imports.run(served, text, cli_actor(MIGRATION), progress=progress)
    except imports.ImportFailed as failed:
        for e in failed.listed:
            typer.echo(f"{file}:{e.line}: {e.command or '-'}: {e.slug}: {e.detail}", err=True)
        listed = f" (the first {len(failed.listed)} listed)" if failed.listed != failed.errors else ""
        typer.echo(f"impress-ledger: {len(failed.errors)} bad lines of {failed.lines}{listed}; "
                   "nothing was recorded", err=True)
        raise typer.Exit(1) from None
    except imports.AlreadyImported as landed:
        typer.echo(f"impress-ledger: {file}: {landed}", err=True)
        raise typer.Exit(1) from None
    finally:
        served.close()
        ledger.close()
    typer.echo(f"{lines} commands imported; {len(receipt.facts)} facts recorded; "
               f"log head {receipt.position}")
