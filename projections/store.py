"""The read models' own access to the ledger's database: SQLite (sqlite3) or PostgreSQL (psycopg).

A read model lives in the same database as the event log (same URL), in tables of its own, and
records how far it has read in `projection_tracking` (name, position, generation) in the same
transaction as its rows. SQL here is written once with `?` placeholders; on PostgreSQL they
become `%s`. Dates are ISO text on SQLite and `date` on PostgreSQL; JSON is text on SQLite and
`jsonb` on PostgreSQL: `Database.date_in/out` and `json_in/out` hide the difference.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg.types.json import Jsonb
from psycopg.types.string import TextLoader
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from eventstore.postgres_store import RECONNECT_SECONDS
from eventstore.urls import parse_postgres_url

TRACKING = "projection_tracking"
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,50}$")
_DDL_LOCK = 0x1A9E56  # PostgreSQL advisory lock key for the read models' DDL
_BUSY_TIMEOUT_MS = 30_000  # SQLite: how long a writer waits for the database's one write lock
_to_json = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps, without a new encoder per call


class Conflict(Exception):
    """The tracking row is not where the batch expected: another writer got there first, the
    batch was already applied, or the model was rebuilt. Nothing of the batch was written."""


class Cursor:
    """A thin cursor over either driver: `?` placeholders, rows as tuples."""

    def __init__(self, raw: Any, postgres: bool) -> None:
        self._raw = raw
        self._postgres = postgres

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self._postgres else sql

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._raw.execute(self._sql(sql), params)

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._raw.executemany(self._sql(sql), rows)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._raw.execute(self._sql(sql), params)
        return [tuple(r) for r in self._raw.fetchall()]

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        self._raw.execute(self._sql(sql), params)
        row = self._raw.fetchone()
        return tuple(row) if row is not None else None


def _sqlite_path(url: str) -> str:
    path, _, query = url[len("sqlite:///"):].partition("?")
    if query:
        raise ValueError(f"no options are supported for SQLite: {url!r}")
    if not path or path == ":memory:":
        # An in-memory EventLog is private to its own connections: nothing else can read it.
        raise ValueError("a read model needs a database file it can share with the event log: "
                         f"{url!r} (use sqlite:///path/to/ledger.db)")
    return unquote(path)


def _postgres_conninfo(url: str) -> tuple[str, str, int]:
    """The libpq conninfo (every host, the URL's libpq options; not the EventLog's own options),
    the schema to use, and how long to wait for a connection."""
    target = parse_postgres_url(url)
    return target.conninfo(), target.schema, target.connect_timeout


def _json_as_text(conn: psycopg.BaseConnection[Any]) -> None:
    """JSON columns arrive as their text, decoded by the read models' codecs as SQLite's are.
    psycopg's own JSON loader costs ten times as much per value (0.53 s against 0.04 s for
    100 000 rows of two short lists), and a worklist or a statement reads tens of thousands."""
    for name in ("json", "jsonb"):
        conn.adapters.register_loader(name, TextLoader)


async def _json_as_text_async(conn: psycopg.AsyncConnection[Any]) -> None:
    _json_as_text(conn)


class _Own:
    """A thread's own SQLite connection. Only the thread's local storage holds it strongly, so
    it is closed when its thread ends: a server's worker threads come and go, and each used to
    leave an open connection (two files, a page cache) behind for good."""

    __slots__ = ("conn", "__weakref__")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn


class Database:
    """Connections to one database. Thread-safe: SQLite gets a connection per thread (closed
    when the thread ends), PostgreSQL a small pool."""

    def __init__(self, url: str, *, pool_size: int = 4) -> None:
        self.url = url
        self.postgres = not url.startswith("sqlite:///")
        self._local = threading.local()
        self._opened: weakref.WeakSet[_Own] = weakref.WeakSet()  # to close them all at close()
        self._lock = threading.Lock()
        self._pool: ConnectionPool[Any] | None = None
        self._apool: AsyncConnectionPool[Any] | None = None  # open_async: a server's event loop
        self._pool_size = pool_size
        if self.postgres:
            if urlsplit(url).scheme not in ("postgresql", "postgres"):
                raise ValueError(f"unsupported database URL (sqlite:/// or postgresql://): {url!r}")
            conninfo, self.schema, wait = _postgres_conninfo(url)
            if not _NAME.match(self.schema):
                raise ValueError(f"schema name not supported by the read models: {self.schema!r}")
            self.conninfo, self._wait = conninfo, wait
            self._connect = {"options": f"-c search_path={self.schema}", "autocommit": True}
            self._pool = ConnectionPool(
                conninfo, min_size=1, max_size=pool_size, open=True, timeout=wait,
                reconnect_timeout=RECONNECT_SECONDS, configure=_json_as_text,
                kwargs=self._connect)
        else:
            self.path = _sqlite_path(url)

    # --- connections ------------------------------------------------------------------------

    def _sqlite(self) -> sqlite3.Connection:
        own: _Own | None = getattr(self._local, "own", None)
        if own is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                   timeout=_BUSY_TIMEOUT_MS / 1000)
            conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            own = self._local.own = _Own(conn)
            with self._lock:
                self._opened.add(own)
        return own.conn

    @contextmanager
    def _transaction(self, begin_sqlite: str, begin_postgres: str) -> Iterator[Cursor]:
        if self._pool is None:
            conn = self._sqlite()
            conn.execute(begin_sqlite)
            try:
                yield Cursor(conn.cursor(), postgres=False)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return
        pconn = self._begun(begin_postgres)
        try:
            with pconn.cursor() as raw:
                try:
                    yield Cursor(raw, postgres=True)
                except BaseException:
                    pconn.execute("ROLLBACK")
                    raise
                raw.execute("COMMIT")
        finally:
            self._pool.putconn(pconn)

    def _begun(self, begin: str) -> Any:
        """A pooled connection with its transaction begun. A connection the server closed
        while it waited in the pool (a restart, a failover) fails at once at its BEGIN: it is
        dropped and another taken, so the first read after the database is back answers."""
        assert self._pool is not None
        for attempt in range(3):
            pconn = self._pool.getconn()
            try:
                pconn.execute(begin)
                return pconn
            except psycopg.OperationalError:
                broken = pconn.broken
                self._pool.putconn(pconn)  # a broken one is discarded by the pool
                if not broken or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def reading(self) -> Any:
        """A read-only transaction: one consistent snapshot for every query in it."""
        return self._transaction("BEGIN", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of one read statement, without a transaction around it: a single
        statement reads one consistent snapshot on both databases, and on PostgreSQL this saves
        the BEGIN's and the COMMIT's round trips (a who-pays read is one statement). A pooled
        connection the server closed meanwhile (a restart, a failover) is replaced and the
        statement asked again: it only reads."""
        if self._pool is None:
            return Cursor(self._sqlite().cursor(), postgres=False).one(sql, params)
        for attempt in range(3):
            pconn = self._pool.getconn()
            try:
                with pconn.cursor() as raw:
                    return Cursor(raw, postgres=True).one(sql, params)
            except psycopg.OperationalError:
                if not pconn.broken or attempt == 2:
                    raise
            finally:
                self._pool.putconn(pconn)  # a broken one is discarded by the pool
        raise AssertionError("unreachable")

    # --- reads in an event loop (PostgreSQL) -------------------------------------------------

    async def open_async(self) -> None:
        """PostgreSQL: a pool of async connections for `one_async`, bound to the running event
        loop (a server worker's, opened and closed by its lifespan). A query awaited in the loop
        needs no thread: handing each read to the thread pool cost PostgreSQL's who-pays its
        tail (p99 0.1-0.5 s under 8 clients, the loop and the pool's threads taking the GIL in
        turn; 6 ms in the loop; ADR 0029)."""
        if self._pool is None or self._apool is not None:
            return
        self._apool = AsyncConnectionPool(
            self.conninfo, min_size=1, max_size=self._pool_size, open=False, timeout=self._wait,
            reconnect_timeout=RECONNECT_SECONDS, configure=_json_as_text_async,
            kwargs=self._connect)
        await self._apool.open(wait=False)

    async def close_async(self) -> None:
        if self._apool is not None:
            await self._apool.close()
            self._apool = None

    @property
    def reads_async(self) -> bool:
        """Whether `one_async` can be awaited (open_async was, in this event loop)."""
        return self._apool is not None

    async def one_async(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """`one`, awaited on the async pool (open_async first)."""
        assert self._apool is not None, "open_async first"
        for attempt in range(3):
            conn = await self._apool.getconn()
            try:
                async with conn.cursor() as raw:
                    await raw.execute(sql.replace("?", "%s"), params)
                    row = await raw.fetchone()
                    return tuple(row) if row is not None else None
            except psycopg.OperationalError:
                if not conn.broken or attempt == 2:
                    raise
            finally:
                await self._apool.putconn(conn)  # a broken one is discarded by the pool
        raise AssertionError("unreachable")

    def writing(self) -> Any:
        """A write transaction. On SQLite it takes the database's write lock at once, so two
        writers never deadlock upgrading from a read."""
        return self._transaction("BEGIN IMMEDIATE", "BEGIN")

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        with self._lock:
            for own in list(self._opened):
                own.conn.close()
            self._opened.clear()

    # --- values -----------------------------------------------------------------------------

    def date_in(self, value: date | None) -> Any:
        if value is None or self.postgres:
            return value
        return value.isoformat()

    def date_out(self, value: Any) -> date | None:
        if value is None or isinstance(value, date):
            return value
        return date.fromisoformat(value)

    def json_in(self, value: Any) -> Any:
        return Jsonb(value) if self.postgres else _to_json(value)

    def json_out(self, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    # --- DDL --------------------------------------------------------------------------------

    @property
    def date_type(self) -> str:
        return "date" if self.postgres else "TEXT"

    @property
    def json_type(self) -> str:
        return "jsonb" if self.postgres else "TEXT"

    def run_ddl(self, statements: Sequence[str]) -> None:
        """DDL in one transaction; on PostgreSQL serialised across processes by an advisory
        lock, so two views opening the same database at once don't race."""
        with self.ddl() as cur:
            for statement in statements:
                cur.run(statement)

    @contextmanager
    def ddl(self) -> Iterator[Cursor]:
        """A write transaction for DDL (see run_ddl)."""
        with self.writing() as cur:
            if self.postgres:
                cur.run("SELECT pg_advisory_xact_lock(?)", (_DDL_LOCK,))
                # Only if missing: the ledger's role may create tables in its schema, not
                # schemas in the database (docs/adr/0018).
                if cur.one("SELECT 1 FROM pg_namespace WHERE nspname = ?", (self.schema,)) is None:
                    cur.run(f'CREATE SCHEMA "{self.schema}"')
            yield cur

    def table_exists(self, cur: Cursor, table: str) -> bool:
        if self.postgres:
            sql = ("SELECT 1 FROM information_schema.tables WHERE table_schema = ? "
                   "AND table_name = ?")
            return cur.one(sql, (self.schema, table)) is not None
        return cur.one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                       (table,)) is not None


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"not a safe SQL identifier: {name!r}")
    return name


# --- tracking -------------------------------------------------------------------------------


def tracking_ddl() -> list[str]:
    return [f"CREATE TABLE IF NOT EXISTS {TRACKING} (name TEXT PRIMARY KEY, "
            "position BIGINT NOT NULL, generation BIGINT NOT NULL)"]


def ensure_tracking(cur: Cursor, name: str) -> None:
    cur.run(f"INSERT INTO {TRACKING} (name, position, generation) VALUES (?, 0, 0) "
            "ON CONFLICT (name) DO NOTHING", (name,))


def read_tracking(cur: Cursor, name: str, *, lock: bool = False, postgres: bool = False
                  ) -> tuple[int, int]:
    """(position, generation) of a projection; (0, 0) if it never ran."""
    sql = f"SELECT position, generation FROM {TRACKING} WHERE name = ?"
    row = cur.one(sql + (" FOR UPDATE" if lock and postgres else ""), (name,))
    return (int(row[0]), int(row[1])) if row else (0, 0)
