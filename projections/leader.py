"""One projector per database among the processes that serve it: the leader.

Every worker of `impress-ledger serve` runs a runner thread (projections.runner), but only the
one holding the leader lock projects; the others wait for the lock and read the read models
the leader keeps. Projecting is exactly once whoever does it (the tracking row), so the lock
is not for correctness: two projectors on one database keep discarding what the other has
folded (a batch by one moves the tracking row under the other, which starts over), which costs
CPU the server needs for answering (ADR 0021).

PostgreSQL: a session advisory lock, held by a connection of its own; it is released when the
connection closes, so a killed leader frees it. SQLite: an exclusive `flock` on a file beside
the database, released by the kernel when the process ends.
"""

from __future__ import annotations

import fcntl
import os
from typing import IO, Any

import psycopg

from projections.store import Database

LOCK_CLASS = 0x1A9E58  # advisory lock class of the projector's leader (the schema is the other)


class Leadership:
    """`holds()`: whether this process is (or has just become) the leader. Cheap to call."""

    def __init__(self, db: Database) -> None:
        self.postgres = db.postgres
        self.conninfo = db.conninfo if db.postgres else ""
        self.schema = db.schema if db.postgres else ""  # one leader per ledger, not per database
        self.path = None if db.postgres else f"{os.path.abspath(db.path)}.projector.lock"
        self._file: IO[str] | None = None
        self._conn: psycopg.Connection[Any] | None = None

    @property
    def held(self) -> bool:
        """Whether this process holds the lock now (without trying to take it)."""
        return self._file is not None or self._conn is not None

    def holds(self) -> bool:
        if self.held and self._still_held():
            return True
        return self._take()  # never held, or lost with its connection: take it again

    def _take(self) -> bool:
        if self.postgres:
            conn = psycopg.connect(self.conninfo, autocommit=True)
            row = conn.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))",
                               (LOCK_CLASS, self.schema)).fetchone()
            if row and row[0]:
                self._conn = conn
                return True
            conn.close()
            return False
        assert self.path is not None
        handle = open(self.path, "a")  # noqa: SIM115 (held open while leading)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    def _still_held(self) -> bool:
        if self._conn is None:
            return True  # a flock lasts as long as the file is open
        try:
            self._conn.execute("SELECT 1")
            return True
        except psycopg.Error:  # the connection (and with it the lock) is gone
            self.release()
            return False

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None
