"""An EventLog's configuration from its URL, and the checks every appended batch passes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode
from uuid import UUID, uuid4

from eventsourcing.application import Application
from eventsourcing.utils import Environment

from domain.state import misplaced
from eventstore.facts import FACT_TYPES, NewEvent
from eventstore.postgres_store import LIBPQ_SETTING, PostgresFactsFactory
from eventstore.sqlite_store import SQLiteFactsFactory
from eventstore.urls import LIBRARY_OPTIONS, parse_postgres_url


class FactStore(Application[UUID]):
    name = "impress"  # PostgreSQL table prefix: impress_events

    def construct_env(self, name: str, env: Any = None) -> Environment:
        # Configured by the URL alone (the library would also read os.environ).
        return Environment(name, dict(env or {}))


def _topic(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def environment(url: str, create_tables: bool) -> dict[str, str]:
    env = {"CREATE_TABLE": "y" if create_tables else "n"}
    if url.startswith("sqlite:///"):
        path, _, query = url[len("sqlite:///"):].partition("?")
        if query:
            raise ValueError(f"no options are supported for SQLite: {url!r}")
        if path == ":memory:":
            # One private in-memory database per EventLog, shared by its connections.
            dbname = f"file:impress-{uuid4().hex}?mode=memory&cache=shared"
        elif path:
            dbname = unquote(path)
            Path(dbname).parent.mkdir(parents=True, exist_ok=True)
        else:
            raise ValueError(f"SQLite URL without a path: {url!r}")
        topic = _topic(SQLiteFactsFactory)
        return env | {"PERSISTENCE_MODULE": topic, "SQLITE_DBNAME": dbname}
    target = parse_postgres_url(url)
    env |= {
        "PERSISTENCE_MODULE": _topic(PostgresFactsFactory),
        "POSTGRES_DBNAME": target.dbname,
        # Comma-separated lists: libpq tries each host in turn (multi-host URLs).
        "POSTGRES_HOST": ",".join(target.hosts),
        "POSTGRES_PORT": ",".join(target.ports),
        "POSTGRES_USER": target.user,
        "POSTGRES_PASSWORD": target.password,
        # How long a request waits for a connection from the pool: as long as one attempt.
        "POSTGRES_CONNECT_TIMEOUT": str(target.connect_timeout),
        "POSTGRES_POOL_SIZE": "2",
        "POSTGRES_MAX_OVERFLOW": "8",
        LIBPQ_SETTING: urlencode(target.libpq),
    }
    return env | {LIBRARY_OPTIONS[k]: v for k, v in target.library.items()}


def _check_json(value: Any, where: str) -> None:
    """Only what comes back from the store exactly as it went in."""
    kind = type(value)
    if value is None or kind in (str, int, bool):
        return
    if kind is float:
        if not math.isfinite(value):
            raise ValueError(f"{where}: {value} is not JSON")
    elif kind is list:
        for i, item in enumerate(value):
            _check_json(item, f"{where}[{i}]")
    elif kind is dict:
        if set(value) == {"_type_", "_data_"}:
            raise ValueError(f"{where}: keys _type_/_data_ are reserved by the transcoder")
        for key, item in value.items():
            if type(key) is not str:
                raise TypeError(f"{where}: key {key!r} is not a str")
            _check_json(item, f"{where}.{key}")
    else:
        raise TypeError(f"{where}: {kind.__name__} is not JSON-ready (dates as ISO strings, "
                        "tuples as lists, enums as their values)")


def check_batch(events: Sequence[NewEvent]) -> None:
    last: dict[str, int] = {}
    for e in events:
        if not isinstance(e.stream, str) or not e.stream:
            raise ValueError(f"stream must be a non-empty str: {e.stream!r}")
        if type(e.version) is not int or e.version < 1:
            raise ValueError(f"{e.stream}: version must be an int >= 1: {e.version!r}")
        if e.stream in last and e.version != last[e.stream] + 1:
            raise ValueError(f"{e.stream}: versions in a batch must be contiguous, "
                             f"{e.version} follows {last[e.stream]}")
        last[e.stream] = e.version
        if type(e.schema) is not int or e.schema < 1:
            raise ValueError(f"{e.stream}: schema must be an int >= 1: {e.schema!r}")
        if e.valid_on is not None and type(e.valid_on) is not date:
            raise TypeError(f"{e.stream}: valid_on must be a date or None: {e.valid_on!r}")
        if type(e.data) is not dict or type(e.actor) is not dict:
            raise TypeError(f"{e.stream}: data and actor must be dicts")
        _check_json(e.data, f"{e.stream} v{e.version} data")
        _check_json(e.actor, f"{e.stream} v{e.version} actor")
        FACT_TYPES.envelope(e.type)  # checks the type name
        if (wrong := misplaced(e.type, e.stream)) is not None:  # a rebuild's parts rest on it
            raise ValueError(wrong)
