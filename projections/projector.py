"""Keeps one set of who-pays tables in step with the log, exactly once.

For every fact, in log order, the projector folds it (projections.folds), works out which
patients it can reach, recomputes each one's timeline with `domain.financing.timeline` on the
case as known at that position, and compares it with the rows currently in force: rows no
longer in the answer are closed (known_to = position), new ones inserted (known_from =
position). Facts of types that cannot change a row (folds.SKIPPED_TYPES) are not even read;
the tracking position still passes over them, to the log's head. A batch of facts becomes one
transaction that also moves the tracking row, and only if the tracking row is still where the
batch started (position and generation): a batch is never applied twice, and a projector that
finds another writer ahead starts over from the tracking row.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import islice

from domain import events as ev
from domain.financing import Case, timeline
from eventstore import EventLog, StoredFact
from projections import bulk
from projections import rows as r
from projections.folds import SKIPPED_TYPES, Folds, PatientIndex, kind_of, reaches, types_read
from projections.store import (TRACKING, Conflict, Cursor, Database, ensure_tracking,
                               read_tracking, tracking_ddl)


@dataclass
class Batch:
    """The changes a run of facts makes, to be written in one transaction."""

    after: int  # the tracking position the batch starts from
    generation: int
    to: int = 0  # the position of its last fact
    inserts: dict[tuple[str, int, object], r.IntervalRow] = field(default_factory=dict)
    closes: dict[tuple[str, int, object], int] = field(default_factory=dict)
    patients: dict[str, r.PatientRow] = field(default_factory=dict)

    def close(self, row: r.IntervalRow, at: int) -> None:
        key = (row.patient_id, row.known_from, row.start)
        if key in self.inserts:  # inserted earlier in this batch: insert it closed
            self.inserts[key] = replace(self.inserts[key], known_to=at)
        else:
            self.closes[key] = at

    def insert(self, row: r.IntervalRow) -> None:
        self.inserts[(row.patient_id, row.known_from, row.start)] = row


def interval_rows(case: Case, at: int) -> list[r.IntervalRow]:
    pid = case.patient.patient_id
    return [r.IntervalRow(pid, *content, at, None) for content in interval_contents(case)]


def interval_contents(case: Case) -> list[tuple[object, ...]]:
    """What each interval row of the case's timeline says (IntervalRow.content())."""
    trusts = case.registry.trusts
    out = []
    for i in timeline(case):
        p, trust = i.payer, trusts.get(i.payer.hf_id or "")
        out.append((i.start, i.end, p.kind, p.party, p.hf_id, trust.rhf_id if trust else None,
                    p.basis, p.reason))
    return out


def patient_row(case: Case, at: int) -> r.PatientRow:
    p = case.patient
    trust = case.registry.trusts.get(p.hf_id)
    return r.PatientRow(
        p.patient_id, p.cohort_id, p.agreement_id, case.agreement.company_id, p.drug_id, p.stage,
        p.hf_id, trust.rhf_id if trust else None, p.enrolled_on,
        p.started.since if p.started else None, p.ended.ended_on if p.ended else None,
        p.assessment.outcome.value if p.assessment else None,
        p.assessment.assessed_on if p.assessment else None, at)


class Projector:
    """Projects the log into one table set. Not shared between threads without its lock:
    `catch_up` takes it. `skip`: the fact types not read (none: read every fact, as `verify`
    does, so that its replay does not rest on the classification it checks)."""

    def __init__(self, log: EventLog, db: Database, tables: r.Tables = r.LIVE, *,
                 batch_size: int = 500, skip: frozenset[str] = SKIPPED_TYPES) -> None:
        self.log, self.db, self.tables, self.batch_size = log, db, tables, batch_size
        self.types = types_read(skip)
        self.lock = threading.RLock()
        self._reset(0, 0)
        self.position = -1  # nothing held yet: the first sync resets

    # --- tables -----------------------------------------------------------------------------

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
                if progress is not None:
                    if head < to:  # the log grew past what we knew
                        head = until if until is not None else self.log.head()
                    progress(to, head)

    def next_facts(self, position: int, until: int | None = None
                   ) -> tuple[list[StoredFact], int]:
        """The next batch of facts of the types read after `position`, and the position the
        batch reaches: its last fact's, or, when it reads the log to its end (or to `until`),
        the log's head: skipped facts there count as read, so that `wait_for` the position of
        a dispensation returns. The head is read first: every fact up to it is committed
        (positions are given out in commit order), so none is passed over."""
        end = self.log.head() if until is None else min(until, self.log.head())
        if end <= position:
            return [], position
        facts = list(islice(self.log.read(after=position, up_to=end, types=self.types,
                                          batch=self.batch_size), self.batch_size))
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
        self.index = PatientIndex(loaded=fresh)
        self.current: dict[str, dict[tuple[object, ...], r.IntervalRow]] = {}  # by content
        self.patients: dict[str, r.PatientRow | None] = {}
        self.position, self.generation = position, generation

    # --- computing a batch ------------------------------------------------------------------

    def compute(self, facts: list[StoredFact], to: int) -> Batch:
        """The changes the facts make, from what this projector holds, up to position `to`
        (the facts between not read: skipped); advances what it holds (a failed write must be
        followed by a sync, which `catch_up` does)."""
        batch = Batch(after=self.position, generation=self.generation)
        try:
            for fact in facts:
                self._apply(fact, batch)
            self.folds.advance(to)
        except BaseException:
            self.position = -1
            raise
        batch.to = self.position = to
        return batch

    def _apply(self, fact: StoredFact, batch: Batch) -> None:
        folded = self.folds.apply(fact)
        if folded is None:
            return
        before, after, event = folded
        kind, identifier = kind_of(fact.stream)
        if isinstance(event, ev.PatientEnrolled):
            self.index.add(event.patient_id, event.cohort_id, event.agreement_id)
        patients = reaches(kind, identifier, before, after, self.index)
        if patients is None:
            self._load_index()
            patients = reaches(kind, identifier, before, after, self.index)
            assert patients is not None
        for patient_id in sorted(patients):
            self._recompute(patient_id, fact.position, batch)

    def _recompute(self, patient_id: str, at: int, batch: Batch) -> None:
        case = self.folds.case(patient_id)
        if case is None:
            return
        held = self._current(patient_id)
        wanted = interval_contents(case)
        if len(wanted) == len(held) and all(w in held for w in wanted):
            current = held  # the answer did not change (rows are only made for what did)
        else:
            current = {}
            for content in wanted:
                row = held.get(content)
                if row is None:
                    row = r.IntervalRow(patient_id, *content, at, None)  # type: ignore[arg-type]
                    batch.insert(row)
                current[content] = row
            for content, row in held.items():
                if content not in current:
                    batch.close(row, at)
        self.current[patient_id] = current
        self._update_patient(case, at, batch)

    def _update_patient(self, case: Case, at: int, batch: Batch) -> None:
        pid = case.patient.patient_id
        held = self._held_patient(pid)
        row = patient_row(case, at)
        if held is None or row.content() != held.content():
            self.patients[pid] = batch.patients[pid] = row

    # --- what the tables hold, loaded when first needed -------------------------------------

    def _current(self, patient_id: str) -> dict[tuple[object, ...], r.IntervalRow]:
        if patient_id not in self.current:
            found: list[r.IntervalRow] = []
            if not self.folds.complete:
                sql = (r.select_intervals(self.tables)
                       + " WHERE patient_id = ? AND known_to IS NULL ORDER BY start_on")
                with self.db.reading() as cur:
                    found = [r.interval_from(self.db, x) for x in cur.rows(sql, (patient_id,))]
            self.current[patient_id] = {row.content(): row for row in found}
        return self.current[patient_id]

    def _held_patient(self, patient_id: str) -> r.PatientRow | None:
        if patient_id not in self.patients:
            found = None
            if not self.folds.complete:
                sql = r.select_patients(self.tables) + " WHERE patient_id = ?"
                with self.db.reading() as cur:
                    row = cur.one(sql, (patient_id,))
                found = r.patient_from(self.db, row) if row else None
            self.patients[patient_id] = found
        return self.patients[patient_id]

    def _load_index(self) -> None:
        sql = f"SELECT patient_id, cohort_id, agreement_id FROM {self.tables.patients}"
        with self.db.reading() as cur:
            self.index.load((a, b, c) for a, b, c in cur.rows(sql))

    # --- writing a batch --------------------------------------------------------------------

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
        t, db = self.tables, self.db
        ensure_tracking(cur, t.name)
        found = read_tracking(cur, t.name, lock=True, postgres=db.postgres)
        if found != (batch.after, batch.generation):
            raise Conflict(f"{t.name}: batch {batch.after}..{batch.to} (generation "
                           f"{batch.generation}) but the tracking row is at {found}")
        closes = [(at, pid, known_from, db.date_in(start))
                  for (pid, known_from, start), at in batch.closes.items()]
        if db.postgres:
            bulk.write(cur, t, closes, list(batch.inserts.values()),
                       list(batch.patients.values()))
        else:
            cur.many(r.close_interval(t), closes)
            cur.many(r.insert_interval(t),
                     [r.interval_params(db, x) for x in batch.inserts.values()])
            cur.many(r.upsert_patient(t),
                     [r.patient_params(db, x) for x in batch.patients.values()])
        cur.run(f"UPDATE {TRACKING} SET position = ? WHERE name = ?", (batch.to, t.name))

def create_tables(db: Database, tables: r.Tables, *, indexes: bool = True) -> None:
    ddl = tracking_ddl() + tables.create_ddl(db) + (tables.index_ddl() if indexes else [])
    db.run_ddl(ddl)
    with db.writing() as cur:
        ensure_tracking(cur, tables.name)
