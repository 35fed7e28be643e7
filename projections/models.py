"""What one fact changes in the read models, worked out from the folded states.

- A fact that changes a patient's Case beyond bookkeeping (folds.case_changed: an enrolment, a
  start, an assessment, a transfer, an end, a correction of one), or a cohort, agreement or
  registry fact that reaches the patient (folds.reaches), recomputes all of the patient's rows:
  timeline, patient, regions, cost lines, grant, due date. Of the cost lines, after a fact on
  the patient's own stream that left the dispensations alone, only those whose costing
  changed (compute.changed_lines: each dispensation costed on the timelines before and after).
- A dispensation (or its correction) recomputes its one cost line, its payer read from the
  patient's timeline as last recomputed (kept per patient held); a grant fact the grant rows;
  a fact the ledger derived the patient's due date.
- A price recomputes the cost lines of that drug dated on or after the price's first day, for
  the patients who have any (the drug index).
- An agreement fact its slots, a registry or company fact the parties.
Rows are compared with what is held (projections.held) and only differences are written.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from domain import events as ev
from domain.derive import follows
from domain.financing import Case, Interval, timeline
from domain.values import ref
from eventstore import StoredFact
from domain.statements import compute as cp
from domain.statements import worklist as wl
from projections import rows as r
from projections.bulk import Batch
from projections.folds import Folds, PatientIndex, case_changed, kind_of, reaches
from projections.held import Held


class Models:
    def __init__(self, folds: Folds, index: PatientIndex, held: Held, *,
                 shared: bool = True) -> None:
        """`shared`: keep the rows no patient owns (parties, slots); a rebuild's worker that
        projects only a part of the patients leaves them to part 0."""
        self.folds, self.index, self.held, self.shared = folds, index, held, shared
        # drug -> patient -> the latest dispensing date of its cost lines of the drug: of every
        # line while `drugs_held` (a rebuild), else of the lines not yet written (the cost
        # lines table answers for the others)
        self.drugs: dict[str, dict[str, date]] = {}
        self.drugs_held = held.complete
        # patient -> the derived facts that follow from its case (domain.derive.follows): only
        # a change of the case changes them, so a derived fact recorded needs no timeline
        self.wanted: dict[str, list[ev.Event]] = {}
        # patient -> its timeline as of its last recomputation (`patient`), which every fact
        # that can change it causes: a dispensation's line, and the work items after it, read
        # their payers from it instead of working them out again
        self.timelines: dict[str, tuple[Interval, ...]] = {}

    def apply(self, fact: StoredFact, batch: Batch) -> None:
        folded = self.folds.apply(fact)
        if folded is None:
            return
        before, after, event = folded
        kind, identifier = kind_of(fact.stream)
        at = fact.position
        if isinstance(event, ev.PatientEnrolled):
            self.index.add(event.patient_id, event.cohort_id, event.agreement_id, at)
        if kind == "patient" and fact.version == 1:
            self.held.new_patient(identifier)
        if kind == "patient":
            self._patient_fact(identifier, before, after, event, ref(fact.stream, fact.version),
                               at, batch)
        elif kind == "drug":
            self._prices(identifier, before, after, at, batch)
        elif kind == "company":
            if self.shared:
                owner = f"company/{identifier}"
                self.held.sync(r.PARTIES, owner, cp.company_rows(after, at), at, batch)
        else:
            for patient_id in sorted(self._reached(kind, identifier, before, after)):
                self.patient(patient_id, at, batch)
            if not self.shared:
                return
            if kind == "agreement":
                self.held.sync(r.SLOTS, identifier, cp.slot_rows(after, at), at, batch)
            elif kind == "registry":
                for row in cp.trust_rows(after, at):
                    self.held.sync(r.PARTIES, row.party, [row], at, batch)

    def _reached(self, kind: str, identifier: str, before: Any, after: Any) -> set[str]:
        patients = reaches(kind, identifier, before, after, self.index)
        if patients is None:
            patients = self.index.of(kind, identifier) | self._enrolled(kind, identifier)
        return patients

    def _patient_fact(self, patient_id: str, before: Any, after: Any, event: ev.Event,
                      fact_ref: str, at: int, batch: Batch) -> None:
        if case_changed("patient", before, after):
            self.patient(patient_id, at, batch, before)
            return
        if before.dispensations != after.dispensations:
            changed = event.corrects if isinstance(event, ev.DispensationCorrected) else fact_ref
            self._lines(patient_id, at, batch, lambda d: d.ref == changed, {(changed,)},
                        fresh=changed == fact_ref)
        if before.grant != after.grant:
            case = self._case(patient_id)
            grants, moves = cp.grant_rows(case, at)
            self.held.sync(r.GRANTS, patient_id, grants, at, batch)
            self.held.sync(r.MOVEMENTS, patient_id, moves, at, batch)
        if before.derived != after.derived:  # what follows is as it was: only what is held
            case = self._case(patient_id)
            intervals = self.timelines.get(patient_id)
            wanted = self.wanted.get(patient_id)
            if wanted is None:
                wanted = self.wanted[patient_id] = follows(case, intervals)
            self.held.sync(r.DUE, patient_id, cp.due_rows(case, intervals, wanted), at, batch)

    # --- one patient, everything ------------------------------------------------------------

    def patient(self, patient_id: str, at: int, batch: Batch, before: Any = None) -> None:
        """Recompute the patient's rows. `before`: the patient's state before a fact on its
        own stream (rows that read only what the fact left alone are not recomputed); None:
        a cohort, agreement or registry fact, after which everything is."""
        case = self.folds.case(patient_id)
        if case is None:
            return
        p, sync = case.patient, self.held.sync
        earlier = self.timelines.get(patient_id)
        intervals = self.timelines[patient_id] = timeline(case)
        spans = cp.interval_rows(case, at, intervals)
        sync(r.INTERVALS, patient_id, spans, at, batch)
        row = cp.patient_row(case, self._enrolled_at(patient_id, at), at)
        sync(r.PATIENTS, patient_id, [row], at, batch)
        if before is None or before.hf_periods is not p.hf_periods:
            sync(r.REGIONS, patient_id, cp.region_rows(case), at, batch)
        lines: list[r.CostLine] = []  # those a work item may read (at stake), or every one
        if (before is not None and earlier is not None and p.dispensations
                and before.dispensations is p.dispensations):
            # a fact that changed no dispensation: only lines costed otherwise change
            was = Case(before, case.cohort, case.agreement, case.registry)
            changed, lines = cp.changed_lines(case, was, self.folds.drug, at, intervals, earlier,
                                              wl.costed_at_stake)
            sync(r.COST_LINES, patient_id, changed, at, batch,
                 only={(x.ref,) for x in changed}.__contains__)
            self._note(changed)
        elif before is None or p.dispensations or before.dispensations:
            lines = cp.cost_lines(case, self.folds.drug, at, intervals)
            sync(r.COST_LINES, patient_id, lines, at, batch)
            self._note(lines)
        sync(r.WORK_ITEMS, patient_id, wl.work_item_rows(row, spans, lines, at), at, batch)
        if before is None or before.grant is not p.grant:
            grants, moves = cp.grant_rows(case, at)
            sync(r.GRANTS, patient_id, grants, at, batch)
            sync(r.MOVEMENTS, patient_id, moves, at, batch)
        wanted = self.wanted[patient_id] = follows(case, intervals)
        sync(r.DUE, patient_id, cp.due_rows(case, intervals, wanted), at, batch)

    def _case(self, patient_id: str) -> Case:
        case = self.folds.case(patient_id)
        assert case is not None, f"a fact on {patient_id}, who was never enrolled"
        return case

    def _enrolled_at(self, patient_id: str, at: int) -> int:
        found = self.index.enrolled_at.get(patient_id)
        if found is None:  # enrolled before this projector started: its row says when
            sql = (f"SELECT enrolled_at FROM {self.held.ts.of(r.PATIENTS)} "
                   "WHERE patient_id = ? AND known_to IS NULL")
            with self.held.db.reading() as cur:
                row = cur.one(sql, (patient_id,))
            found = self.index.enrolled_at[patient_id] = int(row[0]) if row else at
        return found

    # --- cost lines -------------------------------------------------------------------------

    def _lines(self, patient_id: str, at: int, batch: Batch, chosen: Any,
               refs: set[tuple[str]] | None = None, fresh: bool = False) -> None:
        """Recompute the patient's cost lines of the dispensations `chosen` accepts (`refs`:
        their keys, if known; `fresh`: a new dispensation's), and its work items if they
        change."""
        case = self._case(patient_id)
        if refs is None:
            refs = {(d.ref,) for d in case.patient.dispensations if chosen(d)}
        intervals = self.timelines.get(patient_id)
        lines = cp.cost_lines(case, self.folds.drug, at, intervals, only=chosen)
        self.held.sync(r.COST_LINES, patient_id, lines, at, batch, only=refs.__contains__)
        self._note(lines)
        self._items(case, at, batch, lines, fresh, intervals)

    def _items(self, case: Case, at: int, batch: Batch, lines: list[r.CostLine],
               fresh: bool, intervals: tuple[Interval, ...] | None) -> None:
        """The patient's work items after some of its cost lines (`lines`, new ones if
        `fresh`) changed: a line that is not at stake in any item now, and was in none before
        (a new dispensation was in none, and a patient without items had none at stake),
        changes none."""
        patient_id = case.patient.patient_id
        if not any(wl.at_stake(x) for x in lines) and (
                fresh or not self.held.of(r.WORK_ITEMS, patient_id)):
            return
        if intervals is None:
            intervals = self.timelines[patient_id] = timeline(case)
        row = cp.patient_row(case, 0, at)  # what an item reads of it: not the enrolment's place
        every = cp.cost_lines(case, self.folds.drug, at, intervals, staked=wl.costed_at_stake)
        self.held.sync(r.WORK_ITEMS, patient_id, wl.work_item_rows(
            row, cp.interval_rows(case, at, intervals), every, at), at, batch)

    def _note(self, lines: list[r.CostLine]) -> None:
        for line in lines:
            by_patient = self.drugs.setdefault(line.drug_id, {})
            latest = by_patient.get(line.patient_id)
            if latest is None or line.on > latest:
                by_patient[line.patient_id] = line.on

    def _prices(self, drug_id: str, before: Any, after: Any, at: int, batch: Batch) -> None:
        """A new price changes the lines of the drug from its first day on."""
        added = set(after.prices) - set(before.prices)
        if not added:
            return
        first = min(p.since for p in added)
        reached = {p for p, latest in self.drugs.get(drug_id, {}).items() if latest >= first}
        if not self.drugs_held:
            reached |= self._dispensed(drug_id, first)
        for patient_id in sorted(reached):
            self._lines(patient_id, at, batch,
                        lambda d: d.drug_id == drug_id and d.dispensed_on >= first)

    def written(self) -> None:
        """The batch is in the tables: the enrolments and cost lines noted for it are read
        from there when a later fact needs them, so that a long-lived projector's memory does
        not grow with every patient it has ever seen."""
        self.index.written()
        self.drugs.clear()
        self.drugs_held = False

    def let_go(self, keep: int, *, rows: bool = True) -> int:
        """Hold the folded states (and, with `rows`, the rows and enrolment positions) of at
        most `keep` patients, those used last: the others are read again from the log (and
        the tables) if a later fact needs them."""
        gone = self.folds.let_go(keep)
        for patient_id in gone:
            self.wanted.pop(patient_id, None)
            self.timelines.pop(patient_id, None)
        if rows:
            self.held.let_go(gone)
            for patient_id in gone:
                self.index.enrolled_at.pop(patient_id, None)  # in its row, read when needed
        return len(gone)

    # --- what the tables hold, asked when a rare fact needs it -------------------------------

    def _enrolled(self, kind: str, identifier: str) -> set[str]:
        """The patients in the patients table that a cohort's, an agreement's or the
        registry's fact reaches."""
        sql = (f"SELECT patient_id FROM {self.held.ts.of(r.PATIENTS)} WHERE known_to IS NULL")
        args: tuple[str, ...] = ()
        if kind != "registry":
            sql += f" AND {kind}_id = ?"
            args = (identifier,)
        with self.held.db.reading() as cur:
            return {patient_id for (patient_id,) in cur.rows(sql, args)}

    def _dispensed(self, drug_id: str, first: date) -> set[str]:
        """The patients in the cost lines table with a line of the drug on or after `first`."""
        db = self.held.db
        sql = (f"SELECT DISTINCT patient_id FROM {self.held.ts.of(r.COST_LINES)} "
               "WHERE known_to IS NULL AND drug_id = ? AND dispensed_on >= ?")
        with db.reading() as cur:
            return {patient_id for (patient_id,) in cur.rows(sql, (drug_id, db.date_in(first)))}
