"""The table sets a rebuild or a verify makes beside a read model's live tables, and what a
killed one leaves behind. For every read model, not one in particular.

A read model `M` keeps its live tables under its own names. A rebuild replays the log into
fresh tables named `M_next_<token>_...` and swaps them in; a verify replays into
`M_verify_<token>_...` and drops them. Each set also has a tracking row `M~<kind>~<token>`.
A rebuild killed midway (kill -9, a lost machine) leaves its set and its row behind.

Only one maintenance job (rebuild or verify) runs per read model at a time, under a lock that
dies with its process: on PostgreSQL a session-level advisory lock on a connection of the job's
own, on SQLite an flock on a file beside the database. Whoever holds the lock therefore knows
that every scratch set of `M` it finds belongs to a job that is gone, and removes it:
`maintenance(db, M)` does so when it starts, `clean(url, M)` does only that
(`impress-ledger rebuild --clean`).

A read model uses it as:

    with maintenance(db, "mymodel") as removed:     # lock taken, leftovers gone
        tracking, prefix = scratch_name("mymodel", "next")
        ... replay into tables named prefix + "_...", then swap them in ...
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from uuid import uuid4

import psycopg

from projections.store import TRACKING, Database, check_name

KINDS = ("next", "verify")
_LOCK_KEY = 0x1A9E57  # advisory lock class of read-model maintenance (the model's hash is the other)
_LOCK_WAIT = "2s"  # how long to wait for a killed job's server session to end before saying busy


class MaintenanceRunning(Exception):
    """Another rebuild or verify of the same read model holds its lock."""

    def __init__(self, model: str) -> None:
        super().__init__(f"another rebuild or verify of the {model} read model is running; "
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


def scratch_name(model: str, kind: str) -> tuple[str, str]:
    """(tracking row name, table prefix) of a new scratch table set of `model`."""
    if kind not in KINDS:
        raise ValueError(f"scratch table sets are {KINDS}, not {kind!r}")
    token = uuid4().hex[:10]
    return f"{check_name(model)}~{kind}~{token}", f"{model}_{kind}_{token}"


@contextmanager
def maintenance(db: Database, model: str) -> Iterator[Leftovers]:
    """Hold `model`'s maintenance lock, after removing what killed jobs left (yielded)."""
    with _lock(db, check_name(model)):
        yield _remove(db, model)


def clean(url: str, model: str) -> Leftovers:
    """Remove what killed rebuilds and verifies of `model` left, and nothing else."""
    db = Database(url)
    try:
        with maintenance(db, model) as removed:
            return removed
    finally:
        db.close()


def leftovers(db: Database, model: str) -> Leftovers:
    """Scratch tables and tracking rows of `model` (left by killed jobs, if no job runs)."""
    like = [f"{model}\\_{kind}\\_%" for kind in KINDS]
    with db.reading() as cur:
        if db.postgres:
            tables = cur.rows("SELECT table_name FROM information_schema.tables WHERE "
                              "table_schema = ? AND (table_name LIKE ? ESCAPE '\\' OR "
                              "table_name LIKE ? ESCAPE '\\')", (db.schema, *like))
        else:
            tables = cur.rows("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                              "(name LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\')", like)
        rows = (cur.rows(f"SELECT name FROM {TRACKING} WHERE name LIKE ?", (f"{model}~%~%",))
                if db.table_exists(cur, TRACKING) else [])
    return Leftovers(sorted(t for (t,) in tables), sorted(r for (r,) in rows))


def _remove(db: Database, model: str) -> Leftovers:
    found = leftovers(db, model)
    if found:
        db.run_ddl([f"DROP TABLE IF EXISTS {check_name(t)}" for t in found.tables])
        with db.writing() as cur:
            for name in found.tracking:
                cur.run(f"DELETE FROM {TRACKING} WHERE name = ?", (name,))
    return found


@contextmanager
def _lock(db: Database, model: str) -> Iterator[None]:
    if db.postgres:
        with psycopg.connect(db.conninfo, autocommit=True) as conn:
            try:
                conn.execute(f"SET lock_timeout = '{_LOCK_WAIT}'")
                conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (_LOCK_KEY, model))
            except psycopg.errors.LockNotAvailable:
                raise MaintenanceRunning(model) from None
            yield  # the lock ends with the session: also when the process is killed
        return
    fd = os.open(f"{db.path}.{model}.maintenance.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise MaintenanceRunning(model) from None
        yield  # released by the kernel when the file is closed, or the process dies
    finally:
        os.close(fd)
