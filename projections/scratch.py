"""The table sets a rebuild or a verify makes beside the live read models, and what a killed one
leaves behind. For any live table set (projections.tables.TableSet), not one in particular.

The live set `L` (tracking row `L.name`, tables `<L.prefix>_<base>`) is kept by the projector.
A rebuild replays the log into a fresh set, tracking row `<L.name>~next~<token>` and tables
`<L.prefix>_next_<token>_<base>`, and swaps it in; a verify replays into
`<L.name>~verify~<token>` and drops it. A job killed midway (kill -9, a lost machine) leaves
its set and its tracking row behind.

Only one maintenance job (rebuild or verify) runs per live set at a time, under a lock that
dies with its process: on PostgreSQL a session-level advisory lock on a connection of the job's
own, on SQLite an flock on a file beside the database. Whoever holds the lock therefore knows
that every scratch set of `L` it finds belongs to a job that is gone, and removes it:
`maintenance(db, L)` does so when it starts, `clean(url, L)` does only that
(`impress-ledger rebuild --clean`).

    with maintenance(db, LIVE) as removed:          # lock taken, leftovers gone
        fresh = scratch_set(LIVE, "next")
        ... replay into fresh, then swap it in ...
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from uuid import uuid4

import psycopg

from projections.store import TRACKING, Database, check_name
from projections.tables import TableSet

_KIND = re.compile(r"^[a-z]+$")
_TOKEN = r"[0-9a-f]{10}"
_LOCK_KEY = 0x1A9E57  # advisory lock class of read-model maintenance (the set's hash is the other)
_LOCK_WAIT = "2s"  # how long to wait for a killed job's server session to end before saying busy


class MaintenanceRunning(Exception):
    """Another rebuild or verify of the same read models holds their lock."""

    def __init__(self, model: str) -> None:
        self.model = model
        super().__init__("another rebuild or verify of the read models is running; "
                         "try again when it has finished")


@dataclass(frozen=True)
class Leftovers:
    """What killed maintenance jobs left: scratch tables and tracking rows."""

    tables: list[str] = field(default_factory=list)
    tracking: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.tables or self.tracking)

    def __str__(self) -> str:
        return (f"{len(self.tables)} table(s) ({', '.join(self.tables) or 'none'}) and "
                f"{len(self.tracking)} tracking row(s)")


def scratch_set(live: TableSet, kind: str) -> TableSet:
    """A new scratch copy of `live`'s tables (not created yet)."""
    if not _KIND.match(kind):
        raise ValueError(f"a scratch set's kind is lower-case letters, not {kind!r}")
    token = uuid4().hex[:10]
    return TableSet(f"{live.name}~{kind}~{token}", f"{live.prefix}_{kind}_{token}", live.tables)


@contextmanager
def maintenance(db: Database, live: TableSet) -> Iterator[Leftovers]:
    """Hold `live`'s maintenance lock, after removing what killed jobs left (yielded)."""
    with _lock(db, check_name(live.name)):
        yield _remove(db, live)


def clean(url: str, live: TableSet) -> Leftovers:
    """Remove what killed rebuilds and verifies of `live` left, and nothing else."""
    db = Database(url)
    try:
        with maintenance(db, live) as removed:
            return removed
    finally:
        db.close()


def leftovers(db: Database, live: TableSet) -> Leftovers:
    """Scratch tables and tracking rows of `live` (left by killed jobs, if no job runs). A table
    is found by its name, also one whose job died before it wrote its tracking row."""
    like = f"{live.prefix}\\_%"
    scratch = re.compile(rf"^{re.escape(live.prefix)}_[a-z]+_{_TOKEN}_[a-z0-9_]+$")
    with db.reading() as cur:
        if db.postgres:
            tables = cur.rows("SELECT table_name FROM information_schema.tables WHERE "
                              "table_schema = ? AND table_name LIKE ? ESCAPE '\\'",
                              (db.schema, like))
        else:
            tables = cur.rows("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                              "name LIKE ? ESCAPE '\\'", (like,))
        rows = (cur.rows(f"SELECT name FROM {TRACKING} WHERE name LIKE ?", (f"{live.name}~%~%",))
                if db.table_exists(cur, TRACKING) else [])
    return Leftovers(sorted(t for (t,) in tables if scratch.match(t)),
                     sorted(r for (r,) in rows))


def _remove(db: Database, live: TableSet) -> Leftovers:
    found = leftovers(db, live)
    if found:
        db.run_ddl([f"DROP TABLE IF EXISTS {check_name(t)}" for t in found.tables])
        with db.writing() as cur:
            for name in found.tracking:
                cur.run(f"DELETE FROM {TRACKING} WHERE name = ?", (name,))
    return found


@contextmanager
def _lock(db: Database, name: str) -> Iterator[None]:
    if db.postgres:
        with psycopg.connect(db.conninfo, autocommit=True) as conn:
            try:
                conn.execute(f"SET lock_timeout = '{_LOCK_WAIT}'")
                conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (_LOCK_KEY, name))
            except psycopg.errors.LockNotAvailable:
                raise MaintenanceRunning(name) from None
            yield  # the lock ends with the session: also when the process is killed
        return
    fd = os.open(f"{db.path}.{name}.maintenance.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise MaintenanceRunning(name) from None
        yield  # released by the kernel when the file is closed, or the process dies
    finally:
        os.close(fd)
