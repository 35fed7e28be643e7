"""State folded from each stream's facts. `evolve` never refuses: the decision was already taken.

Every remembered fact keeps its reference (stream@version), so answers can name what they rest on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Generic, TypeAlias, TypeVar, cast, overload

from domain import events as ev
from domain.money import Money
from domain.values import Decision, EndReason, Outcome

T = TypeVar("T")


@dataclass(frozen=True)
class Dated(Generic[T]):
    """A value in force from a date, and the fact that says so."""

    since: date
    value: T
    ref: str


def in_force(terms: tuple[Dated[T], ...], on: date) -> Dated[T] | None:
    """The term in force on a date: the latest by effective date (recording order breaks ties);
    before the first effective date, the first term (an agreement's terms apply from its start)."""
    chosen = None
    for term in sorted(terms, key=lambda t: t.since):
        if term.since <= on:
            chosen = term
    if chosen is None and terms:
        chosen = min(terms, key=lambda t: t.since)
    return chosen


# --- reference streams ----------------------------------------------------------------------


@dataclass(frozen=True)
class HealthTrust:
    hf_id: str
    name: str
    rhf_id: str
    rhf_name: str
    ref: str


@dataclass(frozen=True)
class Registry:
    version: int = 0
    trusts: dict[str, HealthTrust] = field(default_factory=dict)


@dataclass(frozen=True)
class Company:
    company_id: str
    version: int = 0
    name: str | None = None
    ref: str | None = None

    @property
    def exists(self) -> bool:
        return self.ref is not None


@dataclass(frozen=True)
class IntroductionDecision:
    decision: Decision
    case_ref: str
    indication: str
    decided_on: date
    ref: str


@dataclass(frozen=True)
class Drug:
    drug_id: str
    version: int = 0
    ref: str | None = None
    brand: str = ""
    generic: str = ""
    company_id: str = ""
    prices: tuple[Dated[Money], ...] = ()
    decisions: tuple[IntroductionDecision, ...] = ()

    @property
    def exists(self) -> bool:
        return self.ref is not None

    def price_on(self, on: date) -> Dated[Money] | None:
        """The price in force on a date; none before the first price's effective date."""
        current = [p for p in self.prices if p.since <= on]
        return max(current, key=lambda p: p.since) if current else None


class Grown(Sequence[T]):
    """An immutable sequence that grows by one in constant time. An agreement's stream holds one
    PatientSlotUsed per enrolment (tens of thousands nationally): with a tuple copied at every
    fact, folding it was quadratic. Successive states share one list and each sees its first
    `n` items; only a state extended a second time (a branch) copies its prefix."""

    __slots__ = ("_items", "_n")
    _lock = threading.Lock()  # check-then-append must not interleave between threads

    def __init__(self, items: Sequence[T] = ()) -> None:
        self._items: list[T] = list(items)
        self._n = len(self._items)

    def plus(self, item: T) -> Grown[T]:
        with Grown._lock:
            if len(self._items) == self._n:
                items = self._items
            else:
                items = self._items[:self._n]
            items.append(item)
        grown: Grown[T] = Grown.__new__(Grown)
        grown._items, grown._n = items, self._n + 1
        return grown

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, i: int) -> T: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[T]: ...
    def __getitem__(self, i: int | slice) -> T | Sequence[T]:
        if isinstance(i, slice):
            return tuple(self._items[:self._n])[i]
        if not -self._n <= i < self._n:
            raise IndexError(i)
        return self._items[i % self._n]

    def __iter__(self) -> Iterator[T]:
        return iter(self._items[:self._n])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Grown):
            return self._n == other._n and self._items[:self._n] == other._items[:other._n]
        if isinstance(other, tuple):
            return tuple(self) == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"Grown({list(self)!r})"


# --- agreements -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Agreement:
    agreement_id: str
    version: int = 0
    ref: str | None = None
    company_id: str = ""
    signed_on: date | None = None
    grants: tuple[Dated[Money], ...] = ()
    coverage: tuple[Dated[int], ...] = ()
    slots: dict[str, Dated[int]] = field(default_factory=dict)
    used: dict[str, int] = field(default_factory=dict)
    patients: Grown[str] = field(default_factory=Grown)

    @property
    def exists(self) -> bool:
        return self.ref is not None


# --- cohorts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Exemption:
    exemption_ref: str
    effective_from: date
    decided_on: date
    ref: str
    revoked_from: date | None = None
    revoked_ref: str | None = None

    def in_force_on(self, on: date) -> bool:
        return self.effective_from <= on and (self.revoked_from is None or on < self.revoked_from)


@dataclass(frozen=True)
class Cohort:
    cohort_id: str
    version: int = 0
    ref: str | None = None
    drug_id: str = ""
    agreement_id: str = ""
    indication: str = ""
    molecular_profile: str = ""
    opened_on: date | None = None
    stage: int = 0
    stage_refs: tuple[str, ...] = ()
    expansion_size: int | None = None
    evidence_ref: str | None = None
    closed: Dated[str] | None = None
    admitted: tuple[tuple[str, int], ...] = ()
    exemptions: tuple[Exemption, ...] = ()
    permanent: tuple[Dated[Decision], ...] = ()

    @property
    def exists(self) -> bool:
        return self.ref is not None

    def count_in_stage(self, stage: int) -> int:
        return sum(1 for _, s in self.admitted if s == stage)

    def exemption(self, exemption_ref: str) -> Exemption | None:
        return next((e for e in self.exemptions if e.exemption_ref == exemption_ref), None)


# --- patients -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Assessment:
    assessed_on: date
    outcome: Outcome
    ref: str


@dataclass(frozen=True)
class Ending:
    ended_on: date
    reason: EndReason
    ref: str


@dataclass(frozen=True)
class Dispensation:
    ref: str  # the DrugDispensed fact; corrections keep pointing at it
    drug_id: str
    packs: int
    dispensed_on: date
    last_ref: str  # the fact now in force: the dispensation or its latest correction


@dataclass(frozen=True)
class Grant:
    amount: Money
    due_from: date
    hf_id: str
    ref: str
    invoices: tuple[ev.GrantInvoiced, ...] = ()
    payments: tuple[ev.GrantPaid, ...] = ()

    @property
    def paid(self) -> Money:
        total = Money.of(0, self.amount.currency)
        for p in self.payments:
            total = total + p.amount
        return total

    @property
    def outstanding(self) -> Money:
        return self.amount - self.paid


@dataclass(frozen=True)
class Patient:
    patient_id: str
    version: int = 0
    ref: str | None = None  # the enrolment fact in force (enrolment or its correction)
    cohort_id: str = ""
    agreement_id: str = ""
    drug_id: str = ""
    stage: int = 0
    enrolled_on: date | None = None
    hf_periods: tuple[Dated[str], ...] = ()
    started: Dated[None] | None = None
    assessment: Assessment | None = None
    ended: Ending | None = None
    dispensations: tuple[Dispensation, ...] = ()
    grant: Grant | None = None
    derived: tuple[tuple[str, ev.Event], ...] = ()  # (ref, fact) the ledger derived and still holds

    @property
    def exists(self) -> bool:
        return self.ref is not None

    @property
    def hf_id(self) -> str:
        return self.hf_periods[-1].value if self.hf_periods else ""

    def hf_on(self, on: date) -> Dated[str]:
        """The health trust treating the patient on a date (the enrolling one before enrolment)."""
        current = self.hf_periods[0]
        for period in self.hf_periods:
            if period.since <= on:
                current = period
        return current


# --- the log's own history ------------------------------------------------------------------


@dataclass(frozen=True)
class TreeHeads:
    """The stream of signed tree heads (domain.tree.TREE_HEADS)."""

    version: int = 0
    last_size: int | None = None
    last_ref: str | None = None


# --- evolve ---------------------------------------------------------------------------------

AnyState: TypeAlias = Registry | Company | Drug | Agreement | Cohort | Patient | TreeHeads
State = TypeVar("State", bound=AnyState)
E = TypeVar("E", bound=ev.Event)
_HANDLERS: dict[type[ev.Event], Callable[[Any, Any, str], Any]] = {}
"""Each fact type's handler; each type belongs to one kind of state (registered by `Fold.on`)."""


class Fold(Generic[State]):
    """The facts one kind of state is folded from: `on` registers a handler whose state and
    fact types mypy checks against each other (a handler for the wrong state does not type)."""

    def on(self, kind: type[E], handler: Callable[[State, E, str], State]) -> Fold[State]:
        _HANDLERS[kind] = handler
        return self


def evolve(state: State, event: ev.Event, ref: str) -> State:
    """Apply one recorded fact. Never refuses: anything recorded is history."""
    handler = _HANDLERS.get(type(event))
    state = replace(state, version=state.version + 1)
    return cast(State, handler(state, event, ref)) if handler else state


def _registry(s: Registry, e: ev.HealthTrustRegistered, r: str) -> Registry:
    trust = HealthTrust(e.hf_id, e.name, e.rhf_id, e.rhf_name, r)
    return replace(s, trusts={**s.trusts, e.hf_id: trust})


def _company(s: Company, e: ev.CompanyRegistered, r: str) -> Company:
    return replace(s, name=e.name, ref=r)


def _drug(s: Drug, e: ev.DrugRegistered, r: str) -> Drug:
    return replace(s, ref=r, brand=e.brand, generic=e.generic, company_id=e.company_id)


def _price(s: Drug, e: ev.PriceSet, r: str) -> Drug:
    return replace(s, prices=(*s.prices, Dated(e.effective_from, e.price_per_pack, r)))


def _introduction(s: Drug, e: ev.IntroductionDecided, r: str) -> Drug:
    d = IntroductionDecision(e.decision, e.case_ref, e.indication, e.decided_on, r)
    return replace(s, decisions=(*s.decisions, d))


def _signed(s: Agreement, e: ev.AgreementSigned, r: str) -> Agreement:
    return replace(
        s,
        ref=r,
        company_id=e.company_id,
        signed_on=e.signed_on,
        grants=(Dated(e.signed_on, e.grant_per_patient, r),),
        coverage=(Dated(e.signed_on, e.coverage_weeks, r),),
    )


def _contributed(s: Agreement, e: ev.DrugContributed, r: str) -> Agreement:
    return replace(s, slots={**s.slots, e.drug_id: Dated(e.effective_from, e.patient_slots, r)})


def _amended(s: Agreement, e: ev.AgreementAmended, r: str) -> Agreement:
    if e.grant_per_patient is not None:
        s = replace(s, grants=(*s.grants, Dated(e.effective_from, e.grant_per_patient, r)))
    if e.coverage_weeks is not None:
        s = replace(s, coverage=(*s.coverage, Dated(e.effective_from, e.coverage_weeks, r)))
    if e.drug_id is not None and e.patient_slots is not None:
        s = replace(s, slots={**s.slots, e.drug_id: Dated(e.effective_from, e.patient_slots, r)})
    return s


def _slot_used(s: Agreement, e: ev.PatientSlotUsed, r: str) -> Agreement:
    used = {**s.used, e.drug_id: s.used.get(e.drug_id, 0) + 1}
    return replace(s, used=used, patients=s.patients.plus(e.patient_id))


def _cohort_opened(s: Cohort, e: ev.CohortOpened, r: str) -> Cohort:
    return replace(
        s,
        ref=r,
        drug_id=e.drug_id,
        agreement_id=e.agreement_id,
        indication=e.indication,
        molecular_profile=e.molecular_profile,
        opened_on=e.opened_on,
        stage=e.stage,
        stage_refs=(r,),
        evidence_ref=e.evidence_ref,
        expansion_size=e.expansion_size,
    )


def _admitted(s: Cohort, e: ev.PatientAdmitted, r: str) -> Cohort:
    return replace(s, admitted=(*s.admitted, (e.patient_id, e.stage)))


def _advanced(s: Cohort, e: ev.StageAdvanced, r: str) -> Cohort:
    size = e.expansion_size if e.expansion_size is not None else s.expansion_size
    evidence = e.evidence_ref or s.evidence_ref
    return replace(
        s, stage=e.to_stage, stage_refs=(*s.stage_refs, r), expansion_size=size, evidence_ref=evidence
    )


def _closed(s: Cohort, e: ev.CohortClosed, r: str) -> Cohort:
    return replace(s, closed=Dated(e.closed_on, e.reason, r))


def _exemption_granted(s: Cohort, e: ev.GroupExemptionGranted, r: str) -> Cohort:
    x = Exemption(e.exemption_ref, e.effective_from, e.decided_on, r)
    return replace(s, exemptions=(*s.exemptions, x))


def _exemption_revoked(s: Cohort, e: ev.GroupExemptionRevoked, r: str) -> Cohort:
    exemptions = tuple(
        replace(x, revoked_from=e.effective_from, revoked_ref=r)
        if x.exemption_ref == e.exemption_ref
        else x
        for x in s.exemptions
    )
    return replace(s, exemptions=exemptions)


def _permanent(s: Cohort, e: ev.PermanentFinancingDecided, r: str) -> Cohort:
    return replace(s, permanent=(*s.permanent, Dated(e.effective_from, e.decision, r)))


def _enrolled(s: Patient, e: ev.PatientEnrolled, r: str) -> Patient:
    return replace(
        s,
        ref=r,
        cohort_id=e.cohort_id,
        agreement_id=e.agreement_id,
        drug_id=e.drug_id,
        stage=e.stage,
        enrolled_on=e.enrolled_on,
        hf_periods=(Dated(e.enrolled_on, e.hf_id, r),),
    )


def _enrolment_hf_corrected(s: Patient, e: ev.EnrolmentHfCorrected, r: str) -> Patient:
    first = Dated(e.enrolled_on, e.hf_id, r)
    return replace(s, ref=r, hf_periods=(first, *s.hf_periods[1:]))


def _transferred(s: Patient, e: ev.PatientTransferred, r: str) -> Patient:
    return replace(s, hf_periods=(*s.hf_periods, Dated(e.effective_from, e.to_hf, r)))


def _started(s: Patient, e: ev.TreatmentStarted | ev.TreatmentStartCorrected, r: str) -> Patient:
    return replace(s, started=Dated(e.started_on, None, r))


def _assessed(s: Patient, e: ev.AssessmentRecorded | ev.AssessmentCorrected, r: str) -> Patient:
    return replace(s, assessment=Assessment(e.assessed_on, e.outcome, r))


def _ended(s: Patient, e: ev.TreatmentEnded, r: str) -> Patient:
    return replace(s, ended=Ending(e.ended_on, e.reason, r))


def _end_corrected(s: Patient, e: ev.TreatmentEndCorrected, r: str) -> Patient:
    return replace(s, ended=Ending(e.ended_on, e.ended_reason, r))


def _dispensed(s: Patient, e: ev.DrugDispensed, r: str) -> Patient:
    d = Dispensation(r, e.drug_id, e.packs, e.dispensed_on, r)
    return replace(s, dispensations=(*s.dispensations, d))


def _dispensation_corrected(s: Patient, e: ev.DispensationCorrected, r: str) -> Patient:
    dispensations = tuple(
        replace(d, packs=e.packs, dispensed_on=e.dispensed_on, last_ref=r)
        if d.ref == e.corrects
        else d
        for d in s.dispensations
    )
    return replace(s, dispensations=dispensations)


def _grant_committed(s: Patient, e: ev.GrantCommitted, r: str) -> Patient:
    return replace(s, grant=Grant(e.amount, e.due_from, e.hf_id, r), derived=(*s.derived, (r, e)))


def _grant_invoiced(s: Patient, e: ev.GrantInvoiced, r: str) -> Patient:
    if s.grant is None:
        return s
    return replace(s, grant=replace(s.grant, invoices=(*s.grant.invoices, e)))


def _grant_paid(s: Patient, e: ev.GrantPaid, r: str) -> Patient:
    if s.grant is None:
        return s
    return replace(s, grant=replace(s.grant, payments=(*s.grant.payments, e)))


def _derived(s: Patient, e: ev.Event, r: str) -> Patient:
    return replace(s, derived=(*s.derived, (r, e)))


def _retracted(s: Patient, e: ev.DerivedFactRetracted, r: str) -> Patient:
    return replace(s, derived=tuple((x, f) for x, f in s.derived if x != e.retracts))


def _tree_head(s: TreeHeads, e: ev.TreeHeadSigned, r: str) -> TreeHeads:
    return replace(s, last_size=e.tree_size, last_ref=r)


(Fold[Registry]()
    .on(ev.HealthTrustRegistered, _registry))
(Fold[Company]()
    .on(ev.CompanyRegistered, _company))
(Fold[Drug]()
    .on(ev.DrugRegistered, _drug)
    .on(ev.PriceSet, _price)
    .on(ev.IntroductionDecided, _introduction))
(Fold[Agreement]()
    .on(ev.AgreementSigned, _signed)
    .on(ev.DrugContributed, _contributed)
    .on(ev.AgreementAmended, _amended)
    .on(ev.PatientSlotUsed, _slot_used))
(Fold[Cohort]()
    .on(ev.CohortOpened, _cohort_opened)
    .on(ev.PatientAdmitted, _admitted)
    .on(ev.StageAdvanced, _advanced)
    .on(ev.CohortClosed, _closed)
    .on(ev.GroupExemptionGranted, _exemption_granted)
    .on(ev.GroupExemptionRevoked, _exemption_revoked)
    .on(ev.PermanentFinancingDecided, _permanent))
(Fold[Patient]()
    .on(ev.PatientEnrolled, _enrolled)
    .on(ev.EnrolmentHfCorrected, _enrolment_hf_corrected)
    .on(ev.PatientTransferred, _transferred)
    .on(ev.TreatmentStarted, _started)
    .on(ev.TreatmentStartCorrected, _started)
    .on(ev.AssessmentRecorded, _assessed)
    .on(ev.AssessmentCorrected, _assessed)
    .on(ev.TreatmentEnded, _ended)
    .on(ev.TreatmentEndCorrected, _end_corrected)
    .on(ev.DrugDispensed, _dispensed)
    .on(ev.DispensationCorrected, _dispensation_corrected)
    .on(ev.GrantCommitted, _grant_committed)
    .on(ev.GrantInvoiced, _grant_invoiced)
    .on(ev.GrantPaid, _grant_paid)
    .on(ev.CompanyCoverageEnded, _derived)
    .on(ev.PublicPayerTookOver, _derived)
    .on(ev.PublicPayerStopped, _derived)
    .on(ev.DerivedFactRetracted, _retracted))
(Fold[TreeHeads]()
    .on(ev.TreeHeadSigned, _tree_head))


STREAM_KINDS: dict[str, Callable[[str], AnyState]] = {
    "registry": lambda _id: Registry(),
    "company": Company,
    "drug": Drug,
    "agreement": Agreement,
    "cohort": Cohort,
    "patient": Patient,
    "log": lambda _id: TreeHeads(),
}


def empty(stream: str) -> AnyState:
    """The state of a stream before its first fact, e.g. empty('patient/IMP-0042')."""
    kind, _, identifier = stream.partition("/")
    return STREAM_KINDS[kind](identifier)
