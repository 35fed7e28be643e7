"""Is the log's database there? An answer within a deadline, whatever the database does.

The probe reads the log's head on a connection of its own, not one of the pool's: the pool
waits for a connection, and the library's reads retry, for a minute and more before they give
up, and a readiness check must not. It runs in a thread of its own and is waited for no longer
than the deadline; a check still running when the next probe comes (a server that accepts the
connection and then says nothing) is waited for again rather than doubled, so a hung database
never holds more than one thread. Each check is bounded by itself as well: the connection by
connect_timeout, the query by statement_timeout (PostgreSQL), the busy wait (SQLite).
"""

from __future__ import annotations

import math
import sqlite3
import threading
from collections.abc import Callable
from typing import Any
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from urllib.parse import quote

import psycopg

from eventstore.facts import Unavailable
from eventstore.urls import PostgresTarget

DEADLINE = 1.5  # seconds: /ready must answer within 2


class Probe:
    def __init__(self, check: Callable[[float], int], deadline: float = DEADLINE) -> None:
        self._check = check
        self.deadline = deadline
        self._lock = threading.Lock()
        self._running: Future[int] | None = None
        self._executor: ThreadPoolExecutor | None = None

    def head(self) -> int:
        """The log's head, or Unavailable within the deadline."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="impress-probe")
            if self._running is None or self._running.done():
                self._running = self._executor.submit(self._check, self.deadline)
            running = self._running
        try:
            return running.result(timeout=self.deadline)
        except FutureTimeout:
            raise Unavailable(f"the database did not answer within {self.deadline:g} s") from None
        except (psycopg.Error, sqlite3.Error) as e:
            raise Unavailable(f"the database does not answer: {e}") from e

    def close(self) -> None:
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = None


def postgres_check(target: PostgresTarget, statement: str) -> Callable[[float], int]:
    def check(deadline: float) -> int:
        # libpq waits at least 2 s for a connection however little is asked; the deadline
        # above still holds, and this bounds how long the thread is kept.
        kwargs: dict[str, Any] = target.kwargs() | {
            "connect_timeout": str(max(2, math.ceil(deadline))),
            "options": f"-c statement_timeout={int(deadline * 1000)}"}
        with psycopg.connect(autocommit=True, **kwargs) as conn:
            row = conn.execute(statement).fetchone()
        return int(row[0] or 0) if row else 0

    return check


def sqlite_check(db_name: str, events_table: str) -> Callable[[float], int]:
    # mode=rw: a missing file is an error, not a new empty database.
    uri = db_name if db_name.startswith("file:") else f"file:{quote(db_name)}?mode=rw"

    def check(deadline: float) -> int:
        conn = sqlite3.connect(uri, uri=True, timeout=deadline)
        try:
            row = conn.execute(f"SELECT max(rowid) FROM {events_table}").fetchone()
        finally:
            conn.close()
        return int(row[0] or 0) if row else 0

    return check
