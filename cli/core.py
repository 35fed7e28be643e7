"""Core commands: set up a ledger, load the demo history, tick, ask who pays."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

import typer

from cli.main import app
from api.settings import Settings
from application.ledger import OSLO, Ledger
from domain.errors import Refused
from eventstore import (DATABASE_UNAVAILABLE, ConcurrentModification, LogInconsistent, NotOwner,
                        StorageError)
from projections.view import ViewBehind
from domain.values import Actor

F = TypeVar("F", bound=Callable[..., Any])

DatabaseOption = Annotated[
    str | None, typer.Option("--database", envvar="IMPRESS_DATABASE_URL", help="Ledger URL.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
MomentOption = Annotated[
    str | None,
    typer.Option("--known-at", help="As the ledger knew it at this moment (ISO 8601; "
                 "no offset: Oslo time)."),
]
PositionOption = Annotated[
    int | None, typer.Option("--position", help="As known at this log position (instead of "
                             "--known-at; every statement prints the position it was built at).")
]


def day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{option}: '{value}' is not a date; write it as YYYY-MM-DD") from None


def moment(value: str, option: str = "--known-at") -> datetime:
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(
            f"{option}: '{value}' is not a moment; write it as YYYY-MM-DDTHH:MM[:SS][+01:00]"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=OSLO)


def position_of(ledger: Ledger, known: str | None, position: int | None,
                names: tuple[str, str] = ("--known-at", "--position")) -> int:
    if known is not None and position is not None:
        raise ValueError(f"give {names[0]} or {names[1]}, not both")
    if position is not None and position < 0:
        raise ValueError(f"{names[1]} must be 0 or more, got {position}")
    return ledger.position(moment(known, names[0]) if known else None, position)


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"impress-ledger: {message}", err=True)
    raise typer.Exit(code)


UNREACHABLE: tuple[type[Exception], ...] = (StorageError, OSError, *DATABASE_UNAVAILABLE)


def one_line_errors(fn: F) -> F:
    """Refusals and bad input end in one line on stderr and a non-zero exit, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Refused as exc:
            fail(f"refused ({exc.code}): {exc.message}")
        except BrokenPipeError:
            sys.stderr.close()  # the reader went away (e.g. `| head`): nothing left to say
            raise typer.Exit(0) from None
        except ViewBehind as exc:
            fail(f"{exc}; try again", 75)
        except ConcurrentModification:
            fail("someone else changed the same records at the same time; nothing was recorded, "
                 "try again", 75)
        except LogInconsistent as exc:
            fail(f"the ledger's log needs an operator: {exc}", 70)
        except NotOwner as exc:
            fail(str(exc), 77)
        except UNREACHABLE as exc:
            fail(f"cannot reach the ledger: {exc}", 69)
        except ValueError as exc:
            fail(str(exc))

    return wrapper  # type: ignore[return-value]


def ledger_url(database: str | None = None) -> str:
    return database or Settings().database_url


@contextmanager
def open_ledger(database: str | None = None, *, create: bool = False) -> Iterator[Ledger]:
    """The ledger at `database` (default: IMPRESS_DATABASE_URL, else data/ledger.db here).
    Only `init` creates one (`create`): every other command refuses a ledger that is not
    there, naming where it looked, instead of answering from an empty one."""
    settings = Settings() if database is None else Settings(database_url=database)
    url = settings.database_url
    if not create:
        missing(url)
    ledger = Ledger.open(url, create_tables=create or settings.create_tables,
                         cache_streams=settings.cache_streams)
    try:
        yield ledger
    finally:
        ledger.close()


def missing(url: str) -> None:
    """Refuse a SQLite ledger file that does not exist (opening it would create it). A
    PostgreSQL database must be created by its administrator: a mistyped one is unreachable."""
    from pathlib import Path
    from urllib.parse import unquote

    if url.startswith("sqlite:///"):
        path = unquote(url.removeprefix("sqlite:///").partition("?")[0])
        if path != ":memory:" and not Path(path).is_file():
            raise ValueError(f"no ledger at {path}: run `impress-ledger init` first (or give "
                             "--database / IMPRESS_DATABASE_URL; the default is data/ledger.db "
                             "in the folder you run from)")


def cli_actor(role: str = "trial_office") -> Actor:
    """The actor of a command typed at a terminal: the operating-system user, in a role."""
    import getpass

    return Actor(subject=f"cli:{getpass.getuser()}", role=role, organisation="local")


def emit(payload: Any, as_json: bool, table: Callable[[], None]) -> None:
    if as_json:
        json.dump(payload, sys.stdout, indent=2, default=str, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        table()


AdminOption = Annotated[
    str | None, typer.Option(
        "--admin-url", envvar="IMPRESS_ADMIN_DATABASE_URL",
        help="PostgreSQL: create the tables as this URL's role, which owns them; the role of "
             "--database (IMPRESS_DATABASE_URL) may then only read and append (docs/adr/0018).")
]


@app.command()
@one_line_errors
def init(database: DatabaseOption = None, admin_url: AdminOption = None) -> None:
    """Create the ledger's tables and register the 17 health trusts (idempotent). The only
    command that creates a ledger."""
    if admin_url:
        runtime_url = ledger_url(database)
        owner, runtime = _set_up_roles(admin_url, runtime_url)
        if owner == runtime:
            typer.echo(f"warning: {owner!r} both owns the log's tables and runs the ledger, so "
                       "the ledger could switch their protection off (docs/adr/0018)", err=True)
        else:
            typer.echo(f"the log's tables belong to {owner!r}; {runtime!r} may read and append "
                       "only")
    with open_ledger(database, create=True) as ledger:
        receipt = ledger.install_reference(cli_actor("system"), ledger.clock())
        typer.echo(f"ledger ready; {len(receipt.facts)} facts recorded; log head {receipt.position}")


def _set_up_roles(admin_url: str, runtime_url: str) -> tuple[str, str]:
    from eventstore import EventLog
    from eventstore.urls import parse_postgres_url

    if admin_url.startswith("sqlite:") or runtime_url.startswith("sqlite:"):
        raise ValueError("--admin-url is for PostgreSQL: a SQLite ledger has no roles")
    owner, runtime = parse_postgres_url(admin_url), parse_postgres_url(runtime_url)
    if (owner.dbname, owner.schema) != (runtime.dbname, runtime.schema):
        raise ValueError(f"--admin-url names database {owner.dbname!r} (schema {owner.schema!r}) "
                         f"but the ledger's URL {runtime.dbname!r} (schema {runtime.schema!r})")
    with EventLog(admin_url, create_tables=True) as log:
        if runtime.user != owner.user:
            log.grant_runtime(runtime.user)
    return owner.user, runtime.user


@app.command()
@one_line_errors
def tick(
    database: DatabaseOption = None,
    today: Annotated[
        datetime | None, typer.Option(help="Treat this date as today (default: today in Oslo).")
    ] = None,
) -> None:
    """Record what the passage of time has made true (company coverage ended, takeovers). Idempotent."""
    from cli.readmodels import read_models
    from projections.due import DueIndex

    with open_ledger(database) as ledger, read_models(ledger) as models:
        # only the patients with something due (the read models' due-date index)
        receipt = ledger.tick(today.date() if today else None, due=DueIndex(ledger, models))
        typer.echo(f"{len(receipt.facts)} facts recorded; log head {receipt.position}")


@app.command("who-pays")
@one_line_errors
def who_pays(
    patient_id: Annotated[str, typer.Argument(help="Study ID, e.g. IMP-0042.")],
    on: Annotated[str, typer.Option("--on", help="The date asked about (YYYY-MM-DD).")],
    known_at: MomentOption = None,
    position: PositionOption = None,
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Who pays for a patient's drug on a date, with the facts the answer rests on."""
    from cli.readmodels import read_models
    from domain import checks
    from domain.known import patient_not_known

    asked = day(on, "--on")
    checks.study_id(patient_id)
    with open_ledger(database) as ledger, read_models(ledger) as models:
        at = position_of(ledger, known_at, position)
        patient = models.patient(patient_id, at)
        if patient is None:
            now = models.patient(patient_id, None)
            raise patient_not_known(patient_id, position=at, moment=known_at,
                                    enrolled_at=now.enrolled_at if now else None)
        interval = models.payer_on(patient_id, asked, known_at_position=at)
        p = interval.payer if interval is not None else patient.before_start
        payload = {
            "patient_id": patient_id,
            "on": asked.isoformat(),
            "known_at_position": at,
            "payer": p.kind.value,
            "party": p.party,
            "treating_hf": p.hf_id,
            "reason": p.reason,
            "basis": list(p.basis),
        }

        def table() -> None:
            typer.echo(f"{patient_id} on {asked}: {p.kind.value} {p.party or ''}".rstrip())
            typer.echo(f"  {p.reason}")
            typer.echo(f"  rests on: {', '.join(p.basis)}")

        emit(payload, as_json, table)


@app.command()
@one_line_errors
def demo(
    database: DatabaseOption = None,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Load only into an empty ledger; else do nothing.")
    ] = False,
) -> None:
    """Load the demo history (fictional prices) into the ledger."""
    from application.demo import is_empty, load_demo

    with open_ledger(database) as ledger:
        if not is_empty(ledger):
            if if_empty:
                typer.echo(f"ledger already holds {ledger.log.head()} facts; demo not loaded")
                return
            fail("the ledger is not empty: the demo history loads only into an empty ledger")
        count = load_demo(ledger)
        typer.echo(f"demo history loaded: {count} facts; log head {ledger.log.head()}")
