"""Keeps one set of who-pays tables in step with the log, exactly once.

For every fact, in log order, the projector folds it (projections.folds), works out which
patients it can reach, recomputes each one's timeline with `domain.financing.timeline` on the
case as known at that position, and compares it with the rows currently in force: rows no
longer in the answer are closed (known_to = position), new ones inserted (known_from =
position). A batch of facts becomes one transaction that also moves the tracking row, and
only if the tracking row is still where the batch started (position and generation): a batch
is never applied twice, and a projector that finds another writer ahead starts over from the
tracking row.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import islice

from domain import events as ev
from domain.financing import Case, timeline
from domain.persistence import EventLog, StoredFact
from projections import rows as r
from projections.folds import Folds, PatientIndex, kind_of, reaches
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
    out = []
    for i in timeline(case):
        trust = case.registry.trusts.get(i.payer.hf_id or "")
        out.append(r.IntervalRow(pid, i.start, i.end, i.payer.kind, i.payer.party, i.payer.hf_id,
                                 trust.rhf_id if trust else None, i.payer.basis, i.payer.reason,
                                 at, None))
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
    `catch_up` takes it."""

    def __init__(self, log: EventLog, db: Database, tables: r.Tables = r.LIVE, *,
                 batch_size: int = 500) -> None:
        self.log, self.db, self.tables, self.batch_size = log, db, tables, batch_size
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
                facts = self.next_facts(position, until)
                if not facts:
                    return position
                try:
                    self.write(self.compute(facts))
                except Conflict:
                    self.position = -1  # someone else moved the tracking row: start over
                    continue
                if progress is not None:
                    if head < facts[-1].position:  # the log grew past what we knew
                        head = until if until is not None else self.log.head()
                    progress(facts[-1].position, head)

    def next_facts(self, position: int, until: int | None = None) -> list[StoredFact]:
        return list(islice(self.log.read(after=position, up_to=until, batch=self.batch_size),
                           self.batch_size))

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
        self.current: dict[str, list[r.IntervalRow]] = {}
        self.patients: dict[str, r.PatientRow | None] = {}
        self.position, self.generation = position, generation

    # --- computing a batch ------------------------------------------------------------------

    def compute(self, facts: list[StoredFact]) -> Batch:
        """The changes the facts make, from what this projector holds; advances what it holds
        (a failed write must be followed by a sync, which `catch_up` does)."""
        batch = Batch(after=self.position, generation=self.generation)
        try:
            for fact in facts:
                self._apply(fact, batch)
        except BaseException:
            self.position = -1
            raise
        batch.to = self.position = facts[-1].position
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
        current = self._current(patient_id)
        wanted = interval_rows(case, at)
        wanted_contents = {w.content() for w in wanted}
        held_contents = {c.content() for c in current}
        kept = []
        for row in current:
            if row.content() in wanted_contents:
                kept.append(row)
            else:
                batch.close(row, at)
        new = [w for w in wanted if w.content() not in held_contents]
        for row in new:
            batch.insert(row)
        self.current[patient_id] = sorted(kept + new, key=lambda x: x.start)
        self._update_patient(case, at, batch)

    def _update_patient(self, case: Case, at: int, batch: Batch) -> None:
        pid = case.patient.patient_id
        held = self._held_patient(pid)
        row = patient_row(case, at)
        if held is None or replace(row, changed_at=held.changed_at) != held:
            self.patients[pid] = batch.patients[pid] = row

    # --- what the tables hold, loaded when first needed -------------------------------------

    def _current(self, patient_id: str) -> list[r.IntervalRow]:
        if patient_id not in self.current:
            found: list[r.IntervalRow] = []
            if not self.folds.complete:
                sql = (r.select_intervals(self.tables)
                       + " WHERE patient_id = ? AND known_to IS NULL ORDER BY start_on")
                with self.db.reading() as cur:
                    found = [r.interval_from(self.db, x) for x in cur.rows(sql, (patient_id,))]
            self.current[patient_id] = found
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
        cur.many(r.close_interval(t), closes)
        cur.many(r.insert_interval(t), [r.interval_params(db, x) for x in batch.inserts.values()])
        cur.many(r.upsert_patient(t), [r.patient_params(db, x) for x in batch.patients.values()])
        cur.run(f"UPDATE {TRACKING} SET position = ? WHERE name = ?", (batch.to, t.name))

def create_tables(db: Database, tables: r.Tables, *, indexes: bool = True) -> None:
    ddl = tracking_ddl() + tables.create_ddl(db) + (tables.index_ddl() if indexes else [])
    db.run_ddl(ddl)
    with db.writing() as cur:
        ensure_tracking(cur, tables.name)
