"""The event store: the one module of `domain` that knows eventsourcing and psycopg.

It stores JSON-ready facts and knows nothing of domain classes. Each fact is saved by an
eventsourcing `Application` as a `DomainEvent` envelope whose originator is the stream
(uuid5 of its name) and whose topic names the fact's type, so the database can filter by
type. In the same transaction as the events the recorder writes, for every position, the
moment the store recorded it (never earlier than the previous one), and the name of every
new stream. The database refuses UPDATE, DELETE and TRUNCATE on all three tables.

Tables: PostgreSQL `impress_events` (the library's), `impress_recorded`, `impress_streams`
in the URL's schema; SQLite `stored_events` (the library's) and the same two side tables.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NamedTuple, cast
from urllib.parse import parse_qsl, unquote, urlsplit
from uuid import UUID, uuid4, uuid5

from eventsourcing.application import Application
from eventsourcing.domain import DomainEvent, MetaDomainEvent
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    PersistenceError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresFactory
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteFactory
from eventsourcing.utils import Environment, register_topic, retry
from psycopg.sql import SQL, Composed, Identifier

__all__ = ["ConcurrentModification", "EventLog", "NewEvent", "StorageError", "StoredFact"]


@dataclass(frozen=True)
class NewEvent:
    stream: str
    version: int
    type: str
    schema: int
    data: dict[str, Any]
    valid_on: date | None
    actor: dict[str, Any]


@dataclass(frozen=True)
class StoredFact:
    position: int
    stream: str
    version: int
    type: str
    schema: int
    data: dict[str, Any]
    valid_on: date | None
    actor: dict[str, Any]
    recorded_at: datetime


class ConcurrentModification(Exception):
    """A (stream, version) in the batch was already taken; nothing of the batch was written."""

    def __init__(self, streams: Sequence[str]) -> None:
        self.streams = tuple(dict.fromkeys(streams))
        super().__init__(f"concurrent modification of {', '.join(self.streams)}")


class StorageError(Exception):
    """The store failed or refused for a reason other than a version conflict."""


# Stored forever: changing either orphans every stored fact.
STREAM_NAMESPACE = UUID("6d1c2a36-5f0e-4b8e-9a53-3c0f2e7b9d41")
TOPIC_MODULE = "impress.fact"


def stream_id(stream: str) -> UUID:
    return uuid5(STREAM_NAMESPACE, stream)


@dataclass(frozen=True)
class Fact(DomainEvent):
    """The envelope of every stored fact. One subclass per fact type gives each its topic."""

    stream: str
    schema: int
    data: dict[str, Any]
    valid_on: str | None
    actor: dict[str, Any]


class _FactTypes:
    """Resolves topics "impress.fact:<Type>" to envelope classes, made on first use, so a
    process can read types it has never written (registered as the topic module)."""

    def __init__(self) -> None:
        self._classes: dict[str, type[Fact]] = {}
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> type[Fact]:
        try:
            return self.envelope(name)
        except ValueError:
            raise AttributeError(name) from None

    def envelope(self, name: str) -> type[Fact]:
        if not (name.isidentifier() and name.isascii() and not name.startswith("_")):
            raise ValueError(f"fact type must be an ASCII identifier: {name!r}")
        with self._lock:
            cls = self._classes.get(name)
            if cls is None:
                namespace = {"TOPIC": f"{TOPIC_MODULE}:{name}", "__module__": __name__,
                             "__qualname__": f"Fact.{name}"}
                cls = cast("type[Fact]", MetaDomainEvent(name, (Fact,), namespace))
                self._classes[name] = cls
            return cls


FACT_TYPES = _FactTypes()
register_topic(TOPIC_MODULE, FACT_TYPES)  # type: ignore[arg-type]


def topic_of(fact_type: str) -> str:
    return f"{TOPIC_MODULE}:{fact_type}"


# ---------------------------------------------------------------------------------------
# Recorders: the events, then (same transaction, writers serialised) the side tables.


class _LogRow(NamedTuple):
    position: int
    recorded_at: datetime


@dataclass
class _Append:
    """Passed through Application.save(**kwargs) down to the recorder: in, the stream name
    of each event; out, the moment the store recorded them."""

    streams: Sequence[str]
    recorded_at: datetime | None = None


class _LogWriter:
    """Writes the side rows for an insert, inside the events transaction, after the insert
    (so after the writers' lock). A hash chain over the log rows belongs in write_log()."""

    def write_log(self, c: Any, stored: Sequence[StoredEvent], positions: Sequence[int],
                  kwargs: dict[str, Any]) -> None:
        append = kwargs.get("impress_append")
        if not isinstance(append, _Append) or len(append.streams) != len(stored):
            raise StorageError("facts must be appended through EventLog.append()")
        previous = self._last_log_row(c)
        first = previous.position + 1 if previous else 1
        if list(positions) != list(range(first, first + len(positions))):
            raise StorageError(f"positions {list(positions)} do not follow {first - 1}")
        self._check_no_version_gap(c, stored, append.streams)
        now = self._store_now(c)
        recorded_at = max(now, previous.recorded_at) if previous else now
        self._insert_log_rows(c, [_LogRow(p, recorded_at) for p in positions])
        self._insert_streams(c, [
            (name, position)
            for name, position, s in zip(append.streams, positions, stored, strict=True)
            if s.originator_version == 1
        ])
        append.recorded_at = recorded_at

    def _check_no_version_gap(self, c: Any, stored: Sequence[StoredEvent],
                              streams: Sequence[str]) -> None:
        firsts: dict[str, StoredEvent] = {}
        for name, s in zip(streams, stored, strict=True):
            firsts.setdefault(name, s)
        for name, s in firsts.items():
            version = s.originator_version
            if version > 1 and not self._has_version(c, s.originator_id, version - 1):
                raise ValueError(f"{name}: version {version} would leave a gap "
                                 f"(version {version - 1} is not stored)")

    # Per database:
    def _last_log_row(self, c: Any) -> _LogRow | None:
        raise NotImplementedError

    def _store_now(self, c: Any) -> datetime:
        raise NotImplementedError

    def _has_version(self, c: Any, originator_id: UUID | str, version: int) -> bool:
        raise NotImplementedError

    def _insert_log_rows(self, c: Any, rows: list[_LogRow]) -> None:
        raise NotImplementedError

    def _insert_streams(self, c: Any, rows: list[tuple[str, int]]) -> None:
        raise NotImplementedError


class _FactRow(NamedTuple):
    event: StoredEvent
    position: int
    recorded_at: datetime


_RECORDED, _STREAMS = "impress_recorded", "impress_streams"


def _prefix_bound(prefix: str) -> str | None:
    """The least string above every string starting with prefix (code point order)."""
    while prefix:
        nxt = ord(prefix[-1]) + 1
        if nxt <= 0x10FFFF:
            return prefix[:-1] + chr(0xE000 if 0xD800 <= nxt <= 0xDFFF else nxt)
        prefix = prefix[:-1]
    return None


def _sqlite_time(moment: datetime) -> str:
    # Fixed width, UTC, microseconds: text order is time order.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _SQLiteRecorder(_LogWriter, SQLiteApplicationRecorder):
    def construct_create_table_statements(self) -> list[str]:
        refuse = "BEGIN SELECT RAISE(ABORT, 'impress: the ledger is append-only'); END"
        statements = [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {_RECORDED} (position INTEGER PRIMARY KEY, "
            "recorded_at TEXT NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {_RECORDED}_at ON {_RECORDED} (recorded_at, position)",
            f"CREATE TABLE IF NOT EXISTS {_STREAMS} (stream TEXT PRIMARY KEY, "
            "first_position INTEGER NOT NULL)",
        ]
        for table in (self.events_table_name, _RECORDED, _STREAMS):
            for op in ("UPDATE", "DELETE"):
                statements.append(f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} "
                                  f"BEFORE {op} ON {table} {refuse}")
        return statements

    def _insert_events(self, c: Any, stored_events: Sequence[StoredEvent],
                       **kwargs: Any) -> Sequence[int] | None:
        positions = super()._insert_events(c, stored_events, **kwargs)
        assert positions is not None
        self.write_log(c, stored_events, positions, kwargs)
        return positions

    def _last_log_row(self, c: Any) -> _LogRow | None:
        c.execute(f"SELECT position, recorded_at FROM {_RECORDED} ORDER BY position DESC LIMIT 1")
        row = c.fetchone()
        return _LogRow(row[0], datetime.fromisoformat(row[1])) if row else None

    def _store_now(self, c: Any) -> datetime:
        # SQLite is embedded: the store's clock is this process's, read under the write lock.
        return datetime.now(UTC)

    def _has_version(self, c: Any, originator_id: UUID | str, version: int) -> bool:
        key = originator_id.hex if isinstance(originator_id, UUID) else originator_id
        c.execute(f"SELECT 1 FROM {self.events_table_name} WHERE originator_id=? "
                  "AND originator_version=?", (key, version))
        return c.fetchone() is not None

    def _insert_log_rows(self, c: Any, rows: list[_LogRow]) -> None:
        c.executemany(f"INSERT INTO {_RECORDED} (position, recorded_at) VALUES (?, ?)",
                      [(r.position, _sqlite_time(r.recorded_at)) for r in rows])

    def _insert_streams(self, c: Any, rows: list[tuple[str, int]]) -> None:
        c.executemany(f"INSERT INTO {_STREAMS} (stream, first_position) VALUES (?, ?)", rows)

    # Reads
    def select_facts(self, *, originator_id: UUID | None = None, after: int = 0,
                     up_to: int | None = None, topics: Sequence[str] = (),
                     limit: int | None = None) -> list[_FactRow]:
        sql = (f"SELECT e.rowid AS position, e.originator_id, e.originator_version, e.topic, "
               f"e.state, r.recorded_at FROM {self.events_table_name} e "
               f"JOIN {_RECORDED} r ON r.position = e.rowid WHERE e.rowid > ?")
        params: list[Any] = [after]
        if originator_id is not None:
            sql += " AND e.originator_id = ?"
            params.append(originator_id.hex)
        if up_to is not None:
            sql += " AND e.rowid <= ?"
            params.append(up_to)
        if topics:
            sql += f" AND e.topic IN ({','.join('?' * len(topics))})"
            params.extend(topics)
        sql += " ORDER BY " + ("e.originator_version" if originator_id is not None else "e.rowid")
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self.datastore.transaction(commit=False) as c:
            c.execute(sql, params)
            return [_FactRow(StoredEvent(UUID(row["originator_id"]), row["originator_version"],
                                         row["topic"], row["state"]),
                             row["position"], datetime.fromisoformat(row["recorded_at"]))
                    for row in c.fetchall()]

    def position_at(self, moment: datetime) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT position FROM {_RECORDED} WHERE recorded_at <= ? "
                      "ORDER BY recorded_at DESC, position DESC LIMIT 1", (_sqlite_time(moment),))
            row = c.fetchone()
            return row[0] if row else 0

    def stream_names(self, prefix: str) -> list[str]:
        sql, params = f"SELECT stream FROM {_STREAMS} WHERE stream >= ?", [prefix]
        if (bound := _prefix_bound(prefix)) is not None:
            sql += " AND stream < ?"
            params.append(bound)
        with self.datastore.transaction(commit=False) as c:
            c.execute(sql + " ORDER BY stream", params)
            return [row[0] for row in c.fetchall()]


class _SQLiteFactsFactory(SQLiteFactory):
    application_recorder_class = _SQLiteRecorder


_DDL_LOCK = 0x1A9E55  # advisory lock key: one EventLog at a time runs the DDL


class _PostgresRecorder(_LogWriter, PostgresApplicationRecorder):
    def __init__(self, datastore: Any, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        if self.datastore.enable_db_functions:
            raise StorageError("POSTGRES_ENABLE_DB_FUNCTIONS skips the side tables: leave it off")
        schema = self.datastore.schema
        self._events = Identifier(schema, events_table_name)
        self._recorded = Identifier(schema, _RECORDED)
        self._streams = Identifier(schema, _STREAMS)
        # The library's insert function would bypass the side tables: don't create it.
        del self.sql_create_statements[self.create_insert_function_statement_index]
        # Positions are max + n under the table lock, not from the sequence: a sequence leaves
        # a gap behind every rolled-back insert (a version conflict, for one).
        self.insert_events_statement = SQL(
            "INSERT INTO {events} "
            "(originator_id, originator_version, topic, state, notification_id) "
            "SELECT e.originator_id, e.originator_version, e.topic, e.state, "
            "(SELECT COALESCE(MAX(notification_id), 0) FROM {events}) + e.n "
            "FROM unnest(%s::{schema}.{type}[]) WITH ORDINALITY "
            "AS e(originator_id, originator_version, topic, state, n) "
            "ORDER BY e.n RETURNING notification_id"
        ).format(events=self._events, schema=Identifier(schema),
                 type=Identifier(self.stored_event_type_name))
        refuse = Identifier(schema, "impress_refuse_change")
        self.sql_create_statements += [
            SQL("CREATE TABLE IF NOT EXISTS {} (position bigint PRIMARY KEY, "
                "recorded_at timestamptz NOT NULL)").format(self._recorded),
            SQL("CREATE INDEX IF NOT EXISTS {} ON {} (recorded_at, position)").format(
                Identifier(f"{_RECORDED}_at"), self._recorded),
            SQL('CREATE TABLE IF NOT EXISTS {} (stream text COLLATE "C" PRIMARY KEY, '
                "first_position bigint NOT NULL)").format(self._streams),
            SQL("CREATE OR REPLACE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION 'impress: % on %.% refused: the ledger is append-only', "
                "TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME; END $$").format(refuse),
        ]
        for table in (self._events, self._recorded, self._streams):
            self.sql_create_statements += [
                SQL("CREATE OR REPLACE TRIGGER impress_append_only BEFORE UPDATE OR DELETE ON {} "
                    "FOR EACH ROW EXECUTE FUNCTION {}()").format(table, refuse),
                SQL("CREATE OR REPLACE TRIGGER impress_no_truncate BEFORE TRUNCATE ON {} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION {}()").format(table, refuse),
            ]

    def create_table(self) -> None:
        # All DDL in one transaction, serialised by an advisory lock: no races between
        # EventLogs opening the same database. CREATE TYPE has no IF NOT EXISTS.
        types = [s for s in self.sql_create_statements if "CREATE TYPE" in s.as_string()]
        others = [s for s in self.sql_create_statements if "CREATE TYPE" not in s.as_string()]
        with self.datastore.transaction(commit=True) as curs:
            curs.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
            curs.execute(SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                Identifier(self.datastore.schema)))
            # Lock the events table first, as appends do, so DDL and appends can't deadlock.
            curs.execute("SELECT 1 WHERE to_regclass(%s) IS NOT NULL", (self._events.as_string(),))
            if curs.fetchone():
                curs.execute(SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(self._events))
            for statement in types:
                curs.execute(SQL("DO $$ BEGIN {}; EXCEPTION WHEN duplicate_object THEN NULL; "
                                 "END $$").format(statement), prepare=False)
            for statement in others:
                curs.execute(statement, prepare=False)
        self.datastore.register_type_adapters()

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent],
                      **kwargs: Any) -> Sequence[int] | None:
        # Not the library's insert_events: it catches errors raised in its hooks and then
        # leaves its transaction block normally, i.e. COMMITs. Here any error rolls back.
        with self.datastore.transaction(commit=True) as curs:
            self._insert_stored_events(curs, stored_events, **kwargs)  # lock, notify, insert
            positions = self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
            assert positions is not None
            self.write_log(curs, stored_events, positions, kwargs)
        return positions

    def _last_log_row(self, c: Any) -> _LogRow | None:
        c.execute(SQL("SELECT position, recorded_at FROM {} ORDER BY position DESC LIMIT 1")
                  .format(self._recorded))
        row = c.fetchone()
        return _LogRow(row["position"], row["recorded_at"]) if row else None

    def _store_now(self, c: Any) -> datetime:
        c.execute("SELECT clock_timestamp() AS now")
        now: datetime = c.fetchone()["now"]
        return now

    def _has_version(self, c: Any, originator_id: UUID | str, version: int) -> bool:
        c.execute(SQL("SELECT 1 FROM {} WHERE originator_id = %s AND originator_version = %s")
                  .format(self._events), (originator_id, version))
        return c.fetchone() is not None

    def _insert_log_rows(self, c: Any, rows: list[_LogRow]) -> None:
        c.execute(SQL("INSERT INTO {} (position, recorded_at) SELECT * FROM "
                      "unnest(%s::bigint[], %s::timestamptz[])").format(self._recorded),
                  ([r.position for r in rows], [r.recorded_at for r in rows]))

    def _insert_streams(self, c: Any, rows: list[tuple[str, int]]) -> None:
        if rows:
            c.execute(SQL("INSERT INTO {} (stream, first_position) SELECT * FROM "
                          "unnest(%s::text[], %s::bigint[])").format(self._streams),
                      ([s for s, _ in rows], [p for _, p in rows]))

    # Reads
    def select_facts(self, *, originator_id: UUID | None = None, after: int = 0,
                     up_to: int | None = None, topics: Sequence[str] = (),
                     limit: int | None = None) -> list[_FactRow]:
        sql: Composed = SQL(
            "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state, "
            "r.recorded_at FROM {} e JOIN {} r ON r.position = e.notification_id "
            "WHERE e.notification_id > %s").format(self._events, self._recorded)
        params: list[Any] = [after]
        if originator_id is not None:
            sql += SQL(" AND e.originator_id = %s")
            params.append(originator_id)
        if up_to is not None:
            sql += SQL(" AND e.notification_id <= %s")
            params.append(up_to)
        if topics:
            sql += SQL(" AND e.topic = ANY(%s)")
            params.append(list(topics))
        sql += SQL(" ORDER BY e.originator_version" if originator_id is not None
                   else " ORDER BY e.notification_id")
        if limit is not None:
            sql += SQL(" LIMIT %s")
            params.append(limit)
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(sql, params)
            return [_FactRow(StoredEvent(row["originator_id"], row["originator_version"],
                                         row["topic"], bytes(row["state"])),
                             row["notification_id"], row["recorded_at"])
                    for row in curs.fetchall()]

    def position_at(self, moment: datetime) -> int:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(SQL("SELECT position FROM {} WHERE recorded_at <= %s "
                             "ORDER BY recorded_at DESC, position DESC LIMIT 1")
                         .format(self._recorded), (moment,))
            row = curs.fetchone()
            return row["position"] if row else 0

    def stream_names(self, prefix: str) -> list[str]:
        sql = SQL("SELECT stream FROM {} WHERE stream >= %s").format(self._streams)
        params = [prefix]
        if (bound := _prefix_bound(prefix)) is not None:
            sql += SQL(" AND stream < %s")
            params.append(bound)
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(sql + SQL(" ORDER BY stream"), params)
            return [row["stream"] for row in curs.fetchall()]


class _PostgresFactsFactory(PostgresFactory):
    application_recorder_class = _PostgresRecorder


# ---------------------------------------------------------------------------------------
# Configuration from a URL, and the EventLog.


class _FactStore(Application[UUID]):
    name = "impress"  # PostgreSQL table prefix: impress_events

    def construct_env(self, name: str, env: Any = None) -> Environment:
        # Configured by the URL alone (the library would also read os.environ).
        return Environment(name, dict(env or {}))


_POSTGRES_OPTIONS = {  # URL query parameter -> library setting
    "schema": "POSTGRES_SCHEMA", "pool_size": "POSTGRES_POOL_SIZE",
    "max_overflow": "POSTGRES_MAX_OVERFLOW", "lock_timeout": "POSTGRES_LOCK_TIMEOUT",
    "connect_timeout": "POSTGRES_CONNECT_TIMEOUT", "pre_ping": "POSTGRES_PRE_PING",
}


def _environment(url: str, create_tables: bool) -> dict[str, str]:
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
        topic = f"{__name__}:{_SQLiteFactsFactory.__qualname__}"
        return env | {"PERSISTENCE_MODULE": topic, "SQLITE_DBNAME": dbname}
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError(f"unsupported database URL (sqlite:/// or postgresql://): {url!r}")
    options = dict(parse_qsl(parts.query))
    host = options.pop("host", None) or parts.hostname
    unknown = set(options) - set(_POSTGRES_OPTIONS)
    if unknown or not host or not parts.path.strip("/"):
        raise ValueError(f"bad PostgreSQL URL {url!r} (unknown options: {sorted(unknown)})")
    env |= {
        "PERSISTENCE_MODULE": f"{__name__}:{_PostgresFactsFactory.__qualname__}",
        "POSTGRES_DBNAME": unquote(parts.path.strip("/")),
        "POSTGRES_HOST": host,
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or ""),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_CONNECT_TIMEOUT": "10",
        "POSTGRES_POOL_SIZE": "2",
        "POSTGRES_MAX_OVERFLOW": "8",
    }
    return env | {_POSTGRES_OPTIONS[k]: v for k, v in options.items()}


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


def _check_batch(events: Sequence[NewEvent]) -> None:
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


class EventLog:
    """The append-only log of facts, on SQLite or PostgreSQL (see module docstring)."""

    def __init__(self, url: str, *, create_tables: bool = True) -> None:
        self.url = url
        try:
            self.application = _FactStore(env=_environment(url, create_tables))
        except PersistenceError as e:
            raise StorageError(f"cannot open the event log: {e}") from e
        recorder = self.application.recorder
        assert isinstance(recorder, (_SQLiteRecorder, _PostgresRecorder))
        self._recorder = recorder

    def append(self, events: Sequence[NewEvent]) -> list[StoredFact]:
        """Stores the batch in one transaction: all of it or, on any error, nothing."""
        if not events:
            return []
        _check_batch(events)
        timestamp = Fact.create_timestamp()
        envelopes = [
            FACT_TYPES.envelope(e.type)(
                originator_id=stream_id(e.stream), originator_version=e.version,
                timestamp=timestamp, stream=e.stream, schema=e.schema, data=e.data,
                valid_on=e.valid_on.isoformat() if e.valid_on else None, actor=e.actor)
            for e in events
        ]
        append = _Append(streams=[e.stream for e in events])
        try:
            recordings = self.application.save(*envelopes, impress_append=append)
        except IntegrityError as e:
            raise ConcurrentModification([ev.stream for ev in events]) from e
        except PersistenceError as e:
            raise StorageError(str(e)) from e
        assert append.recorded_at is not None
        return [self._fact(r.notification, r.notification.id, append.recorded_at)
                for r in recordings]

    def stream(self, stream: str, *, up_to: int | None = None) -> list[StoredFact]:
        return self._select(originator_id=stream_id(stream), up_to=up_to)

    def read(self, *, after: int = 0, up_to: int | None = None, types: Sequence[str] = (),
             batch: int = 1000) -> Iterator[StoredFact]:
        topics = [topic_of(t) for t in types]
        while True:
            facts = self._select(after=after, up_to=up_to, topics=topics, limit=batch)
            yield from facts
            if len(facts) < batch:
                return
            after = facts[-1].position

    def head(self) -> int:
        try:
            return self._recorder.max_notification_id() or 0
        except PersistenceError as e:
            raise StorageError(str(e)) from e

    def position_at(self, moment: datetime) -> int:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"moment must be timezone-aware: {moment!r}")
        try:
            return self._recorder.position_at(moment)
        except PersistenceError as e:
            raise StorageError(str(e)) from e

    def streams(self, prefix: str) -> list[str]:
        try:
            return [s for s in self._recorder.stream_names(prefix) if s.startswith(prefix)]
        except PersistenceError as e:
            raise StorageError(str(e)) from e

    def close(self) -> None:
        self.application.close()

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _select(self, **query: Any) -> list[StoredFact]:
        try:
            rows = self._recorder.select_facts(**query)
        except PersistenceError as e:
            raise StorageError(str(e)) from e
        return [self._fact(r.event, r.position, r.recorded_at) for r in rows]

    def _fact(self, stored: StoredEvent, position: int, recorded_at: datetime) -> StoredFact:
        envelope = self.application.mapper.to_domain_event(stored)
        assert isinstance(envelope, Fact)
        return StoredFact(
            position=position, stream=envelope.stream, version=envelope.originator_version,
            type=stored.topic.partition(":")[2], schema=envelope.schema, data=envelope.data,
            valid_on=date.fromisoformat(envelope.valid_on) if envelope.valid_on else None,
            actor=envelope.actor, recorded_at=recorded_at.astimezone(UTC))
