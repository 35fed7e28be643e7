"""Keeps one set of read-model tables in step with the log, exactly once (ADR 0015).

One projector serves every read model: it reads the log once, in order, folds each fact
(projections.folds), and lets projections.models work out which rows the fact changes: a row
no longer in the answer is closed (known_to = the fact's position), a new one inserted
(known_from = the position). Facts of types that cannot change a row (folds.SKIPPED_TYPES) are
not even read; the tracking position still passes over them, to the log's head. A batch of
facts becomes one transaction that also moves the tracking row, and only if the tracking row is
still where the batch started (position and generation): a batch is never applied twice, and a
projector that finds another writer ahead starts over from the tracking row.
"""

from __future__ import annotations

import gc
import threading
from uuid import uuid4
from collections.abc import Callable
from dataclasses import dataclass
from hashlib import sha256
from itertools import islice

from eventstore import EventLog, StoredFact, StreamPart, part_of
from projections import bulk
from projections import rows as r
from projections import tables as tb
from projections.bulk import Batch
from projections.folds import (EVERYWHERE, PATIENT_TYPES, SKIPPED_TYPES, Folds, PatientIndex,
                               types_read)
from projections.held import Held
from projections.models import Models
from projections.store import (TRACKING, Conflict, Cursor, Database, ensure_tracking,
                               read_tracking, tracking_ddl)


PATIENTS = 30_000
"""Patients whose folded states and rows' hashes a projector holds at most (about 6 KB each;
a server's runner holds IMPRESS_CACHE_STREAMS); others are read again from the log and the
tables when a fact reaches them. A national log has 100 000 patients, most of whom have long
finished treatment: the limit bounds a rebuild's memory at any size."""


@dataclass(frozen=True)
class Part:
    """One of `count` parts of the patients (a rebuild shared among processes, ADR 0035): a
    patient's facts belong to the part its stream falls in (eventstore.part_of, worked out
    by the log's query, ADR 0036); every other stream's facts (cohorts, agreements, the
    registry, drugs, companies) to every part, since they reach its patients. The rows owned
    by no patient (parties, slots) are part 0's."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"part {self.index} of {self.count}")

    def holds(self, fact: StoredFact) -> bool:
        """Whether the fact is this part's; raises Misplaced for a patient's fact on another
        kind of stream, which the log's query gives to one part only."""
        stream = fact.stream
        if stream.startswith("patient/"):
            return part_of(stream, self.count) == self.index
        if fact.type in PATIENT_TYPES:
            raise Misplaced(f"a {fact.type} fact on {stream} (position {fact.position}): a "
                            "patient's fact on another stream; rebuild in one process "
                            "(--jobs 1)")
        return True

    def of_log(self) -> StreamPart | None:
        """The facts of this part, as the log's query chooses them: the patients' facts of
        its streams, every other fact (None: the whole log)."""
        if self.count == 1:
            return None
        return StreamPart(self.index, self.count, EVERYWHERE)


class Misplaced(ValueError):
    """A fact on a kind of stream its type does not belong to: the parts cannot be told."""


WHOLE = Part(0, 1)


class Projector:
    """Projects the log into one table set. Not shared between threads without its lock:
    `catch_up` takes it. `skip`: the fact types not read (none: read every fact, as `verify`
    does, so that its replay does not rest on the classification it checks)."""

    def __init__(self, log: EventLog, db: Database, tables: tb.TableSet = r.LIVE, *,
                 batch_size: int = 500, skip: frozenset[str] = SKIPPED_TYPES,
                 patients: int = PATIENTS, let_rows_go: bool = True,
                 part: Part = WHOLE) -> None:
        """`let_rows_go`: what is held of the rows of a patient let go is loaded back from the
        tables when needed, by the patient (False for tables without their indexes yet, where
        that would scan them: a rebuild's, which then holds about 1.8 KB per patient).
        `part`: project only the facts of that part of the patients (a rebuild's worker)."""
        self.log, self.db, self.tables, self.batch_size = log, db, tables, batch_size
        self.patients, self.let_rows_go, self.part = patients, let_rows_go, part
        self.types = types_read(skip)
        self.lock = threading.RLock()
        self._reset(0, 0)
        self.position = -1  # nothing held yet: the first sync resets

    def create_tables(self, *, indexes: bool = True) -> None:
        create_tables(self.db, self.tables, indexes=indexes)

    # --- following the log ------------------------------------------------------------------

    def catch_up(self, until: int | None = None,
                 progress: Callable[[int, int], None] | None = None) -> int:
        """Apply every fact after the tracking position (up to `until`), a batch per
        transaction; returns the position reached. `progress(position, head)` after each."""
        with self.lock:
            head = 0
            while True:
                position = self.sync()
                if until is not None and position >= until:
                    return position
                facts, to = self.next_facts(position, until)
                if to <= position:
                    return position
                try:
                    self.write(self.compute(facts, to))
                except Conflict:
                    self.position = -1  # someone else moved the tracking row: start over
                    continue
                if self.let_rows_go:  # the tables are indexed: they answer for what is written
                    self.models.written()
                self.models.let_go(self.patients, rows=self.let_rows_go)
                if progress is not None:
                    if head < to:  # the log grew past what we knew
                        head = until if until is not None else self.log.head()
                    progress(to, head)

    def next_facts(self, position: int, until: int | None = None
                   ) -> tuple[list[StoredFact], int]:
        """The next batch of facts of the types read after `position`, and the position the
        batch reaches: its last fact's, or, when it reads the log to its end (or to `until`),
        the log's head: skipped facts there count as read, so that `wait_for` the position of
        a skipped fact returns. The head is read first: every fact up to it is committed
        (positions are given out in commit order), so none is passed over."""
        end = self.log.head() if until is None else min(until, self.log.head())
        if end <= position:
            return [], position
        facts = list(islice(self.log.read(after=position, up_to=end, types=self.types,
                                          batch=self.batch_size, part=self.part.of_log()),
                            self.batch_size))
        return facts, (facts[-1].position if len(facts) == self.batch_size else end)

    def sync(self) -> int:
        """Read the tracking row; drop what is held if it is not where this projector left it."""
        with self.db.reading() as cur:
            position, generation = read_tracking(cur, self.tables.name)
        if (position, generation) != (self.position, self.generation):
            self._reset(position, generation)
        return position

    def _reset(self, position: int, generation: int) -> None:
        fresh = position == 0  # nothing projected yet: hold every stream from the start
        self.folds = Folds(self.log, position, complete=fresh)
        self.held = Held(self.db, self.tables, complete=fresh)
        self.models = Models(self.folds, PatientIndex(loaded=fresh), self.held,
                             shared=self.part.index == 0)
        self.position, self.generation = position, generation

    # --- computing and writing a batch ------------------------------------------------------

    def compute(self, facts: list[StoredFact], to: int) -> Batch:
        """The changes the facts make, from what this projector holds, up to position `to`
        (the facts between not read: skipped); advances what it holds (a failed write must be
        followed by a sync, which `catch_up` does)."""
        batch = Batch(after=self.position, generation=self.generation)
        apply, holds = self.models.apply, (None if self.part is WHOLE else self.part.holds)
        try:
            for fact in facts:
                if holds is None or holds(fact):
                    apply(fact, batch)
            self.folds.advance(to)
        except BaseException:
            self.position = -1
            raise
        batch.to = self.position = to
        return batch

    def write(self, batch: Batch) -> None:
        """Apply a batch and move the tracking row in one transaction; raises Conflict (and
        writes nothing) unless the tracking row is exactly where the batch started."""
        try:
            with self.db.writing() as cur:
                self.write_in(cur, batch)
        except BaseException:
            self.position = -1  # what this projector holds is ahead of the tables: sync
            raise

    def write_in(self, cur: Cursor, batch: Batch) -> None:
        name = self.tables.name
        ensure_tracking(cur, name)
        found = read_tracking(cur, name, lock=True, postgres=self.db.postgres)
        if found != (batch.after, batch.generation):
            raise Conflict(f"{name}: batch {batch.after}..{batch.to} (generation "
                           f"{batch.generation}) but the tracking row is at {found}")
        bulk.write(cur, self.db, self.tables, batch, self.held.codecs)
        cur.run(f"UPDATE {TRACKING} SET position = ? WHERE name = ?", (batch.to, name))


def replay(projector: Projector, *, until: int | None = None,
           progress: Callable[[int, int], None] | None = None) -> None:
    """Catch up from the start, taking what each batch leaves held out of the cyclic garbage
    collector's scans. A replay holds every stream's state and every open row (millions of
    objects at national scale) until it ends, and each full collection rescans them all: at
    1.6 million facts that was a third of the rebuild. Frozen objects are still freed by
    reference counting when let go (states and rows hold no cycles); `gc.unfreeze` hands them
    back to the collector when the replay ends."""
    def after_batch(position: int, head: int) -> None:
        gc.freeze()
        if progress is not None:
            progress(position, head)

    try:
        projector.catch_up(until, progress=after_batch)
    finally:
        gc.unfreeze()


LEGACY = ("whopays_intervals", "whopays_patients")  # the who-pays model before ADR 0015
SCHEMA = "projection_schema"


def create_tables(db: Database, tables: tb.TableSet, *, indexes: bool = True) -> None:
    if tables.name == r.LIVE.name:
        _renew(db, tables)
    ddl = tracking_ddl() + tables.create_ddl(db) + (missing_indexes(db, tables) if indexes else [])
    db.run_ddl(ddl)
    with db.writing() as cur:
        ensure_tracking(cur, tables.name)


def missing_indexes(db: Database, tables: tb.TableSet) -> list[str]:
    """The DDL of the set's indexes its tables lack. On SQLite an index on the same columns
    under another name counts (a plain one: not partial): a rebuild's indexes keep the name
    of the set that built them (SQLite cannot rename an index; projections.maintenance). A
    name another table's index holds (the old tables of a rebuild killed after its swap keep
    theirs) is not reused: `IF NOT EXISTS` would then create nothing."""
    if db.postgres:
        return tables.index_ddl()
    with db.reading() as cur:
        taken = dict(cur.rows("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'"))
        found = set()
        for table in {table for _, table, _ in tables.indexes()}:
            for (index,) in cur.rows("SELECT name FROM pragma_index_list(?) WHERE partial = 0 "
                                     "AND origin = 'c'", (table,)):
                found.add((table, tuple(column for (column,) in cur.rows(
                    "SELECT name FROM pragma_index_info(?) ORDER BY seqno", (index,)))))
    out = []
    for name, table, columns in tables.indexes():
        if (table, columns) in found:
            continue
        if taken.get(name, table) != table:
            name = f"{name}_{uuid4().hex[:10]}"
        out.append(tb.index_ddl(name, table, columns))
    return out


def _renew(db: Database, tables: tb.TableSet) -> None:
    """Tables made by another version of the read models (another schema) are dropped, and
    their tracking row with them: the models are rebuilt from the log by the next catch-up."""
    digest = sha256("\n".join(tables.create_ddl(db) + tables.index_ddl()).encode()).hexdigest()
    with db.ddl() as cur:
        cur.run(f"CREATE TABLE IF NOT EXISTS {SCHEMA} (name TEXT PRIMARY KEY, digest TEXT NOT NULL)")
        found = cur.one(f"SELECT digest FROM {SCHEMA} WHERE name = ?", (tables.name,))
        if found is not None and found[0] == digest:
            return
        for statement in tracking_ddl() + tables.drop_ddl():
            cur.run(statement)
        for table in LEGACY:
            cur.run(f"DROP TABLE IF EXISTS {table}")
        cur.run(f"DELETE FROM {TRACKING} WHERE name IN (?, 'whopays')", (tables.name,))
        cur.run(f"DELETE FROM {SCHEMA} WHERE name = ?", (tables.name,))
        cur.run(f"INSERT INTO {SCHEMA} (name, digest) VALUES (?, ?)", (tables.name, digest))
