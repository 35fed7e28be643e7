"""The states the read models need, folded in memory from the log as it is read.

A rebuild reads the log once, from position 0, and folds every stream it needs as it goes
(`complete`: a stream never seen is empty). A projector that starts from a later position
loads a stream from the log (cut at the current position) the first time it needs it, then
folds it forward like the others. Either way no stream is reloaded per event.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import fields
from operator import attrgetter
from typing import Any

from domain import codec
from domain import events as ev
from domain import state as st
from domain.financing import Case
from eventstore import EventLog, StoredFact
from domain.values import ref
from domain.workspace import REGISTRY

# The kinds of stream the read models read (a patient's Case, its drug, the companies).
READS = frozenset({"patient", "cohort", "agreement", "registry", "drug", "company"})
CASE = frozenset({"patient", "cohort", "agreement", "registry"})  # what a patient's Case folds

# Fields that never change who pays: a fact that changes nothing else needs no recomputation of
# a patient's timeline (a dispensation, a grant invoiced or paid, a derived fact, an
# enrolment's slot and place: the projector updates the rows those feed on their own).
# Of a cohort, domain.financing reads only the public basis (exemptions, permanent): a
# patient's stage is the patient's own (fixed at enrolment), so the cohort's stage, its
# advances and its closing change no one's answer. Every other field counts, so a field added
# to a state later is taken as relevant. (tests/unit/test_projection_reads.py checks the rows
# do not read these fields.)
_BOOKKEEPING = {
    "patient": ("version", "dispensations", "grant", "derived"),
    "cohort": ("version", "admissions", "stage", "stage_refs", "stages", "expansion_size",
               "evidence_ref", "closed"),
    "agreement": ("version", "used", "patients", "enrolled", "slot_patients"),
}


# --- which facts the models read at all -------------------------------------------------------
# A fact can change a row only if it is on a stream of READS and its fold
# (domain.state.evolve) changes a field some row reads, or it enrols a patient (the
# PatientIndex). The types below do neither (a slot used and an admission change bookkeeping
# fields only; a cohort's stage and closing no patient's answer; an introduction decision no
# price), so projectors do not read them from the log: their folded states then differ from the
# log's only in fields nothing here reads. Every type of domain.events.EVENT_TYPES is in exactly
# one of the two sets (tests/unit/test_projection_reads.py); a type in neither is read.
# `verify` reads every fact.
SKIPPED_TYPES = frozenset({
    "IntroductionDecided",  # drug/: decisions, which no price or pack reads
    "PatientSlotUsed", "PatientAdmitted", "StageAdvanced", "CohortClosed",
    # log/: the signed heads of the Merkle tree (ADR 0019)
    "TreeHeadSigned",
    # statements/: issued statements and closed periods (ADR 0022), read from their stream
    "StatementIssued", "PeriodClosed", "PeriodReopened",
})
READ_TYPES = frozenset({
    "HealthTrustRegistered", "CompanyRegistered",  # parties: trusts and their RHF, companies
    "DrugRegistered", "PriceSet",  # cost lines: the price in force
    "AgreementSigned", "AgreementAmended", "DrugContributed",  # ref, company, coverage, slots
    "CohortOpened",  # fields the answer does not read (today), but once per cohort
    "GroupExemptionGranted", "GroupExemptionRevoked", "PermanentFinancingDecided",
    "PatientEnrolled", "EnrolmentHfCorrected", "PatientTransferred", "TreatmentStarted",
    "TreatmentStartCorrected", "AssessmentRecorded", "AssessmentCorrected", "TreatmentEnded",
    "TreatmentEndCorrected",
    "DrugDispensed", "DispensationCorrected",  # cost lines
    "GrantCommitted", "GrantInvoiced", "GrantPaid",  # grants; and what a tick has recorded
    "CompanyCoverageEnded", "PublicPayerTookOver", "PublicPayerStopped", "DerivedFactRetracted",
})


# A patient's facts (those folded into a Patient: every fact on a patient's stream), which a
# rebuild's worker reads of its own patients only; every other type it reads from every stream.
PATIENT_TYPES = st.fact_types(st.Patient)
EVERYWHERE = tuple(sorted(t for t in ev.EVENT_TYPES if t not in PATIENT_TYPES))


def types_read(skip: frozenset[str] = SKIPPED_TYPES) -> tuple[str, ...]:
    """The fact types to read from the log: every known type not skipped; () (no filter: every
    fact, whatever its type) when nothing is skipped."""
    if not skip:
        return ()
    return tuple(sorted(t for t in ev.EVENT_TYPES if t not in skip))


def kind_of(stream: str) -> tuple[str, str]:
    kind, _, identifier = stream.partition("/")
    return kind, identifier


class Folds:
    """Stream states as of `position` (the last fact folded)."""

    def __init__(self, log: EventLog, position: int, *, complete: bool) -> None:
        self.log = log
        self.position = position
        self.complete = complete
        self._states: dict[str, Any] = {}
        self.patients: OrderedDict[str, None] = OrderedDict()  # held patient streams, by use
        self.let_patients_go = False  # since then, a patient not held is read from the log
        self.reads = 0  # streams read from the log (for the benchmark and tests)

    def get(self, stream: str, *, first: bool = False) -> Any:
        """The stream's state as of `position`; `first`: the stream has no fact before (the
        one about to be folded is its first), so none is read."""
        state = self._states.get(stream)
        if state is None:
            state = st.empty(stream)
            if not first and not self._empty(stream):
                self.reads += 1
                for fact in self.log.stream(stream, up_to=self.position):
                    state = st.evolve(state, _decode(fact), ref(stream, fact.version))
            self._states[stream] = state
        if stream.startswith("patient/"):
            self.patients[stream] = None
            self.patients.move_to_end(stream)
        return state

    def _empty(self, stream: str) -> bool:
        """Whether a stream not held is known to be empty without reading: a complete fold
        has met every stream it reads, and lets only patients go."""
        return self.complete and not (self.let_patients_go and stream.startswith("patient/"))

    def let_go(self, keep: int) -> list[str]:
        """Forget the states of all but the `keep` patients used last; returns their ids. A
        patient met again is read from the log (a new one is not: its first fact says so)."""
        out = []
        while len(self.patients) > keep:
            stream, _ = self.patients.popitem(last=False)
            self._states.pop(stream, None)
            self.let_patients_go = True
            out.append(stream.partition("/")[2])
        return out

    def apply(self, fact: StoredFact) -> tuple[Any, Any, ev.Event] | None:
        """Fold one fact; (state before, state after, event), or None for a stream the model
        does not read."""
        if fact.position <= self.position:
            raise ValueError(f"fact {fact.position} is not after {self.position}: already folded")
        kind, _ = kind_of(fact.stream)
        if kind not in READS:
            self.position = fact.position
            return None
        # loaded up to the previous position if not yet held
        before = self.get(fact.stream, first=fact.version == 1)
        event = _decode(fact)
        after = st.evolve(before, event, ref(fact.stream, fact.version))
        self._states[fact.stream] = after
        self.position = fact.position
        return before, after, event

    def advance(self, to: int) -> None:
        """Past facts not folded because they cannot change the model (SKIPPED_TYPES)."""
        self.position = max(self.position, to)

    def drug(self, drug_id: str) -> Any:
        return self.get(f"drug/{drug_id}")

    def case(self, patient_id: str) -> Case | None:
        p = self.get(f"patient/{patient_id}")
        if not p.exists:
            return None
        return Case(p, self.get(f"cohort/{p.cohort_id}"),
                    self.get(f"agreement/{p.agreement_id}"), self.get(REGISTRY))


def _decode(fact: StoredFact) -> ev.Event:
    return codec.decode(fact.type, fact.schema, fact.data)


class PatientIndex:
    """Which patients a cohort, an agreement or the registry reaches. `loaded`: it holds every
    enrolment (a rebuild's projector, from position 0, whose tables are not indexed yet);
    otherwise it holds only the enrolments not yet written, and the patients table answers
    for the others (`Models._reached`), so that a long-lived projector holds nothing per
    patient it has written."""

    def __init__(self, *, loaded: bool) -> None:
        self.loaded = loaded
        self.by_cohort: dict[str, set[str]] = {}
        self.by_agreement: dict[str, set[str]] = {}
        self.all: set[str] = set()
        self.enrolled_at: dict[str, int] = {}  # the log position of each enrolment held

    def add(self, patient_id: str, cohort_id: str, agreement_id: str, at: int) -> None:
        self.all.add(patient_id)
        self.by_cohort.setdefault(cohort_id, set()).add(patient_id)
        self.by_agreement.setdefault(agreement_id, set()).add(patient_id)
        self.enrolled_at.setdefault(patient_id, at)

    def of(self, kind: str, identifier: str) -> set[str]:
        """The patients held that a fact of a cohort, an agreement or the registry reaches."""
        if kind == "registry":
            return set(self.all)
        source = self.by_cohort if kind == "cohort" else self.by_agreement
        return set(source.get(identifier, ()))

    def written(self) -> None:
        """The enrolments held are in the patients table now: forget them (their enrolment
        positions stay until their patients are let go: every recomputation reads them)."""
        self.by_cohort.clear()
        self.by_agreement.clear()
        self.all.clear()
        self.loaded = False


def reaches(kind: str, identifier: str, before: Any, after: Any, index: PatientIndex
            ) -> set[str] | None:
    """The patients whose answer a fact may change: a patient fact, its own patient; a cohort
    or agreement fact, their patients; a registry fact, every patient. None when the index
    does not hold every enrolment: the patients table must be asked too."""
    if kind == "registry":
        changed = before.trusts != after.trusts
    elif kind in _BOOKKEEPING:
        changed = case_changed(kind, before, after)
    else:
        return set()
    if not changed:
        return set()
    if kind == "patient":
        return {identifier}
    if not index.loaded:
        return None
    return index.of(kind, identifier)


def case_changed(kind: str, before: Any, after: Any) -> bool:
    """Whether a fact changed a field of a patient's Case that is not bookkeeping."""
    counted = _COUNTED.get(type(after))
    if counted is None:
        counted = _COUNTED[type(after)] = attrgetter(
            *(f.name for f in fields(after) if f.name not in _BOOKKEEPING[kind]))
    return bool(counted(after) != counted(before))


_COUNTED: dict[type, Callable[[Any], Any]] = {}  # per state class: its fields that count
