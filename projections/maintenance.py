"""Rebuild every read model from scratch, and verify them against a replay.

Rebuild is blue/green: the log is replayed into a fresh table set (committing batch by batch,
so on SQLite the ledger's writers are never locked out for long), then one short transaction
catches it up to the log's head, puts the fresh tables in the live ones' place, and bumps the
tracking row's generation so any other projector drops what it holds. (On PostgreSQL that
transaction drops the live tables and builds the indexes; on SQLite, where it holds the write
lock the log's appends wait for, the indexes are built before it and the old tables renamed in
it and dropped after it: ADR 0037.)
Readers see the old model until that commit and the new one after it; never a half-built one.
One rebuild or verify runs at a time, and each first removes what a killed one left behind
(projections.scratch).

Verify replays the log, up to the position the live model has reached, into a scratch table
set, and compares every row of every table, field by field. The replay reads every fact, also
those a projector skips as unable to change a row (folds.SKIPPED_TYPES), so it also checks
that classification.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from application.ledger import Ledger
from projections import bulk, partitioned
from projections import rows as r
from projections import scratch
from projections import tables as tb
from projections.partitioned import Usage, Workers
from projections.projector import Projector, create_tables, replay
from projections.scratch import Leftovers, maintenance
from projections.store import TRACKING, Cursor, Database, read_tracking

log = logging.getLogger(__name__)


def fresh_tables(kind: str) -> tb.TableSet:
    """A new scratch copy of every read model's tables: readmodels~<kind>~<token>."""
    return scratch.scratch_set(r.LIVE, kind)


def drop(db: Database, tables: tb.TableSet) -> None:
    db.run_ddl(tables.drop_ddl())
    with db.writing() as cur:
        _forget(cur, tables)


def rebuild(ledger: Ledger, view_url: str,
            progress: Callable[[int, int], None] | None = None, *, batch_size: int = 2000,
            cleaned: Callable[[Leftovers], None] | None = None, jobs: int | None = None,
            usage: list[Usage] | None = None) -> int:
    """Replay the whole log into a fresh table set and swap it in for the live one.
    `progress(position, head)` is called after each batch; `cleaned` with what killed jobs
    had left, if anything (removed first). `jobs`: processes sharing the replay, the patients
    partitioned (ADR 0035; None: partitioned.default_jobs); `usage` is given each worker's
    peak memory and CPU time. Returns the live position. Raises scratch.MaintenanceRunning if
    another rebuild or verify is running, partitioned.WorkerFailed if a worker fails."""
    db = Database(view_url)
    fresh = fresh_tables("next")
    try:
        with maintenance(db, r.LIVE) as removed:
            if removed and cleaned is not None:
                cleaned(removed)
            try:
                create_tables(db, r.LIVE)
                create_tables(db, fresh, indexes=False)
                if jobs is None:
                    jobs = partitioned.default_jobs(ledger.log.head())
                if jobs > 1:
                    with Workers(ledger.log.url, view_url, fresh, jobs,
                                 batch_size=batch_size) as workers:
                        workers.replay(progress)
                        position, old = _swap(db, fresh,
                                              _handed_over(ledger, db, fresh, workers), progress)
                    if usage is not None:
                        usage.extend(workers.usage)
                else:
                    projector = Projector(ledger.log, db, fresh, batch_size=batch_size,
                                          let_rows_go=False)  # no indexes yet
                    replay(projector, progress=progress)
                    with projector.lock:
                        position, old = _swap(db, fresh, _computed_here(projector), progress)
                if old is not None:  # the workers are gone: their memory is not held meanwhile
                    _drop_after_swap(db, old)
                return position
            finally:
                drop(db, fresh)  # gone already if the swap committed
    finally:
        db.close()


def clean(view_url: str) -> Leftovers:
    """Remove what killed rebuilds and verifies left; rebuild nothing."""
    return scratch.clean(view_url, r.LIVE)


Last = Callable[[Cursor], int]
"""Writes the facts a rebuild has not written yet into its tables, in the swap's transaction
(the live model's lock held); returns the position the new model then has."""


def _computed_here(projector: Projector) -> Last:
    def last(cur: Cursor) -> int:
        while True:
            facts, to = projector.next_facts(projector.position)
            if to <= projector.position:
                return projector.position
            projector.write_in(cur, projector.compute(facts, to))
    return last


def _handed_over(ledger: Ledger, db: Database, fresh: tb.TableSet, workers: Workers) -> Last:
    codecs = tb.codecs(db, fresh)

    def last(cur: Cursor) -> int:
        head = ledger.log.head()  # read under the lock: the live model is not beyond it
        for batch in workers.last(head):
            bulk.write(cur, db, fresh, batch, codecs)
        return head
    return last


def _swap(db: Database, fresh: tb.TableSet, last: Last,
          progress: Callable[[int, int], None] | None) -> tuple[int, tb.TableSet | None]:
    """Swap the fresh set in for the live one, in one transaction under the live model's lock.
    On SQLite that transaction holds the database's one write lock, which the log's appends
    wait for (5 s at most, then they fail): the fresh set's indexes are built before it, one
    transaction each, and the old tables are only renamed in it, to a scratch set's names
    (which a killed job's successor removes); that set is returned, for the caller to drop
    with `_drop_after_swap`. At M a writer waited up to 14 s for the lock; now at most about
    the longest single step, 1.3 s (ADR 0037). On PostgreSQL the log does not wait for the
    read models: the old tables are dropped and the indexes built in the swap, under their
    live names."""
    live = r.LIVE
    old = None if db.postgres else scratch.scratch_set(live, "old")
    if old is not None:
        for statement in fresh.index_ddl():
            _one_step(db, statement)
    with db.writing() as cur:
        _, generation = read_tracking(cur, live.name, lock=True, postgres=db.postgres)
        # The last facts, under the lock: the new model is never behind the old one.
        position = last(cur)
        swap = ((live.rename_ddl(old, db) + fresh.rename_ddl(live, db)) if old is not None else
                (live.drop_ddl() + fresh.rename_ddl(live, db) + live.index_ddl()))
        for statement in swap:
            cur.run(statement)
        cur.run(f"UPDATE {TRACKING} SET position = ?, generation = ? WHERE name = ?",
                (position, generation + 1, live.name))
        _forget(cur, fresh)
    if progress is not None:
        progress(position, position)
    return position, old


def _drop_after_swap(db: Database, old: tb.TableSet) -> None:
    """The old tables, after the swap committed: the new model is live whatever happens here,
    so a failure (the write lock not had in time, say) is logged, and the tables are left for
    the next rebuild, verify or `rebuild --clean`, which remove them as leftovers."""
    try:
        _drop_piecewise(db, old)
    except Exception:  # noqa: BLE001 - the rebuild has succeeded; leftovers are removable
        log.warning("the old read-model tables %s_* were not all dropped; the next rebuild, "
                    "verify or `rebuild --clean` removes them", old.prefix, exc_info=True)


def _drop_piecewise(db: Database, tables: tb.TableSet) -> None:
    """Drop a SQLite table set an index or a table per transaction (`_one_step`): each holds
    the write lock for under a second at M, where the largest table with its indexes took
    1.8 s."""
    for table in (tables.of(t) for t in tables.tables):
        with db.reading() as cur:
            names = [name for (name,) in cur.rows(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                "AND sql IS NOT NULL", (table,))]
        for name in names:
            _one_step(db, f"DROP INDEX IF EXISTS {tb.quoted(name)}")
        _one_step(db, f"DROP TABLE IF EXISTS {table}")


_GAP = 0.1
"""Seconds between two such steps: SQLite's lock is not a queue, and a writer kept waiting
retries every 0.1 s at most, so back-to-back transactions could keep it waiting through
several (3.6 s at M, against the log's 5 s limit); with the gap it waits for one step at most."""


def _one_step(db: Database, statement: str) -> None:
    """One statement in a transaction of its own, then, if it held the lock long enough to
    keep a writer waiting (over 10 ms), a gap in which that writer gets the lock."""
    started = time.monotonic()
    db.run_ddl([statement])
    if time.monotonic() - started > 0.01:
        time.sleep(_GAP)


def _forget(cur: Cursor, tables: tb.TableSet) -> None:
    """The tracking rows of a scratch set and of its workers (projections.partitioned)."""
    cur.run(f"DELETE FROM {TRACKING} WHERE name = ? OR name LIKE ?",
            (tables.name, f"{tables.name}~%"))


# --- verify -----------------------------------------------------------------------------------


def verify(ledger: Ledger, view_url: str, *, batch_size: int = 2000,
           progress: Callable[[int, int], None] | None = None) -> list[r.Difference]:
    """Every difference between the live read models and a replay of the log into a scratch
    copy, at the position the live models have reached. An empty list: they are identical.
    Raises scratch.MaintenanceRunning if another rebuild or verify is running."""
    db = Database(view_url)
    copy = fresh_tables("verify")
    try:
        with maintenance(db, r.LIVE):
            try:
                create_tables(db, r.LIVE)
                position, live = snapshot(db, r.LIVE)
                create_tables(db, copy, indexes=False)
                # Every fact, not only the types a projector reads: an auditor's check must
                # not rest on the classification (folds.SKIPPED_TYPES) it would then fail to
                # catch.
                replay(Projector(ledger.log, db, copy, batch_size=batch_size, skip=frozenset(),
                                  let_rows_go=False),  # no indexes: see rebuild
                        until=position, progress=progress)
                _, replayed = snapshot(db, copy)
                return compare(live, replayed)
            finally:
                drop(db, copy)
    finally:
        db.close()


Snapshot = dict[str, dict[tuple[Any, ...], Any]]  # table -> (key, known_from) -> row


def snapshot(db: Database, tables: tb.TableSet) -> tuple[int, Snapshot]:
    """The tracking position and every row of every table, read in one transaction."""
    out: Snapshot = {}
    with db.reading() as cur:
        position, _ = read_tracking(cur, tables.name)
        for t in tables.tables:
            codec, key = tb.Codec(db, t), t.key_of()
            rows = [codec.from_db(x) for x in cur.rows(tb.select(tables, t))]
            out[t.base] = {(*key(x), x.known_from) if t.bitemporal else key(x): x for x in rows}
    return position, out


def compare(live: Snapshot, replayed: Snapshot) -> list[r.Difference]:
    out = []
    for t in r.TABLES:
        mine, theirs = live.get(t.base, {}), replayed.get(t.base, {})
        owner = t.fields.index(t.owner)
        for key in sorted(mine.keys() | theirs.keys(), key=repr):
            a, b = mine.get(key), theirs.get(key)
            row = a if a is not None else b
            label = ", ".join(map(str, key))
            if a is None or b is None:
                out.append(r.Difference(t.base, _values(row)[owner], label, "row", a, b))
                continue
            for name, x, y in zip(t.fields, _values(a), _values(b)):
                if x != y:
                    out.append(r.Difference(t.base, _values(row)[owner], label, name, x, y))
    return out


def _values(row: Any) -> tuple[Any, ...]:
    return tuple(getattr(row, f) for f in row.__slots__)
