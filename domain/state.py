"""State folded from each stream's facts. `evolve` never refuses: the decision was already taken.

Every remembered fact keeps its reference (stream@version), so answers can name what they rest on;
but for what a cohort and an agreement gain per enrolment (domain.grown, ADR 0025), which no
answer cites: the patient's own stream holds its enrolment's reference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any, Generic, TypeAlias, TypeVar, cast

from domain import events as ev
from domain.grown import Admission, Admissions, GrownDays, GrownTexts
from domain.money import Money
from domain.values import Decision, EndReason, Outcome

T = TypeVar("T")

_FIELDS: dict[type, frozenset[str]] = {}


def replace(state: T, /, **changes: Any) -> T:
    """dataclasses.replace for the states of this module: a copy of the instance's fields with
    `changes`, without a call of __init__ through every field (a fold replaces its state twice
    per fact, and an agreement at M folds 38 000 slot uses: a third of a bundle's
    verification). The same object for these frozen dataclasses, which have no __post_init__,
    InitVar or init=False field (tests/unit/test_state_replace.py checks it against
    dataclasses.replace for each)."""
    kind = type(state)
    names = _FIELDS.get(kind)
    if names is None:
        names = _FIELDS[kind] = frozenset(f.name for f in fields(kind))  # type: ignore[arg-type]
    if not changes.keys() <= names:
        raise TypeError(f"{kind.__name__} has no field {min(changes.keys() - names)}")
    new = object.__new__(kind)
    new.__dict__.update(state.__dict__)
    new.__dict__.update(changes)
    return new


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
    packs: dict[str, str] = field(default_factory=dict)  # price ref -> what a pack is
    decisions: tuple[IntroductionDecision, ...] = ()

    @property
    def exists(self) -> bool:
        return self.ref is not None

    def price_on(self, on: date) -> Dated[Money] | None:
        """The price in force on a date: the latest by effective date (of two for the same day,
        the one recorded last); none before the first price's effective date."""
        chosen = None
        for price in self.prices:
            if price.since <= on and (chosen is None or price.since >= chosen.since):
                chosen = price
        return chosen

    def pack_of(self, price: Dated[Money] | None) -> str | None:
        """What a pack is at a price ("150 mg x 56"); None if it was not recorded with it."""
        return self.packs.get(price.ref) if price is not None else None


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
    slots: dict[str, Dated[int]] = field(default_factory=dict)  # per drug, the latest term
    slot_terms: dict[str, tuple[Dated[int], ...]] = field(default_factory=dict)  # every term
    used: dict[str, int] = field(default_factory=dict)
    patients: GrownTexts = field(default_factory=GrownTexts)  # in enrolment order
    enrolled: dict[str, GrownDays] = field(default_factory=dict)  # per drug, enrolment dates
    slot_patients: dict[str, GrownTexts] = field(default_factory=dict)  # per drug, as `enrolled`

    @property
    def exists(self) -> bool:
        return self.ref is not None

    def enrolled_before(self, drug_id: str, until: date | None) -> int:
        """The patients enrolled for a drug before a date (None: all of them)."""
        dates = self.enrolled.get(drug_id)
        if dates is None:
            return 0
        return len(dates) if until is None else dates.count_before(until)

    def slot_windows(self, drug_id: str) -> list[tuple[Dated[int], date | None]]:
        """The drug's slot terms in effective order, each with the day its successor takes
        over (None: the last); of two terms from the same day, the one recorded last."""
        terms: dict[date, Dated[int]] = {}
        for term in self.slot_terms.get(drug_id, ()):
            terms[term.since] = term
        ordered = [terms[d] for d in sorted(terms)]
        return [(t, ordered[i + 1].since if i + 1 < len(ordered) else None)
                for i, t in enumerate(ordered)]


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
class StageTerm:
    """The stage a cohort is in from a date: its opening, then each stage decision."""

    since: date
    stage: int
    ref: str


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
    stage: int = 0  # the current stage: the latest decision's
    stage_refs: tuple[str, ...] = ()
    stages: tuple[StageTerm, ...] = ()  # the stage history, by date
    expansion_size: int | None = None
    evidence_ref: str | None = None
    closed: Dated[str] | None = None
    admissions: Admissions = field(default_factory=Admissions)  # one per enrolment (grown.py)
    exemptions: tuple[Exemption, ...] = ()
    permanent: tuple[Dated[Decision], ...] = ()

    @property
    def exists(self) -> bool:
        return self.ref is not None

    @property
    def admitted(self) -> tuple[tuple[str, int], ...]:
        """(patient, stage) of every admission, in recording order."""
        return tuple((a.patient_id, a.stage) for a in self.admissions)

    def stage_on(self, on: date) -> StageTerm | None:
        """The stage the cohort was in on a date (None before it opened): stage decisions
        take effect on their date."""
        current = None
        for term in self.stages:
            if term.since <= on:
                current = term
        return current

    def next_stage_change(self, on: date) -> date | None:
        return next((t.since for t in self.stages if t.since > on), None)

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
    """A patient's per-patient grant: what is owed now, and every invoice and payment recorded
    for it. When what it rests on changes (a corrected start, enrolling health trust), the ledger
    retracts the commitment and commits the grant that now follows; the invoices and payments
    stay with the grant (money that moved never vanishes), so `outstanding` and `to_invoice`
    show what is left to settle, below zero when more was invoiced or paid than is owed now."""

    amount: Money  # owed now; zero once withdrawn
    due_from: date
    hf_id: str
    ref: str  # the GrantCommitted in force (or the last one, once withdrawn)
    invoices: tuple[ev.GrantInvoiced, ...] = ()
    invoiced_to: tuple[str, ...] = ()  # per invoice, the health trust the grant went to then
    payments: tuple[ev.GrantPaid, ...] = ()
    earlier: tuple[str, ...] = ()  # commitments retracted before this one
    withdrawn: bool = False  # retracted, and no grant follows any more

    @property
    def paid(self) -> Money:
        return _total((p.amount for p in self.payments), self.amount.currency)

    @property
    def invoiced(self) -> Money:
        return _total((i.amount for i in self.invoices), self.amount.currency)

    @property
    def outstanding(self) -> Money:
        return self.amount - self.paid

    @property
    def to_invoice(self) -> Money:
        return self.amount - self.invoiced

    def settlement(self) -> str:
        """What must be settled by hand after a change of the grant's basis; '' if nothing."""
        notes = []
        moved = sorted({hf for hf in self.invoiced_to if hf != self.hf_id})
        if moved:
            notes.append(f"invoiced by {', '.join(moved)}, but the grant is now owed to "
                         f"{self.hf_id}")
        if self.withdrawn and self.invoices:
            notes.append("no grant is owed any more")
        if self.invoiced.amount > self.amount.amount:
            notes.append(f"invoiced {self.invoiced - self.amount} more than is owed")
        if self.paid.amount > self.amount.amount:
            notes.append(f"paid {self.paid - self.amount} more than is owed")
        return "; ".join(notes)


def _total(amounts: Iterable[Money], currency: str) -> Money:
    total = Money.zero(currency)
    for m in amounts:
        total = total + m
    return total


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


# --- statements and closed periods (ADR 0022) -----------------------------------------------


@dataclass(frozen=True)
class IssuedStatement:
    number: str
    period: str
    start: date
    end: date
    position: int
    book_version: int
    lines_format: str
    lines_hash: str
    line_count: int
    supersedes: str | None
    issued_on: date
    ref: str


@dataclass(frozen=True)
class Closure:
    """A closed period: its figures are the booked statement's."""

    period: str
    start: date
    end: date
    booked: str
    booked_position: int
    closed_on: date
    ref: str
    version: int  # the book's version at the closure (statements issued from it on know it)


@dataclass(frozen=True)
class Reopening:
    period: str
    reason: str
    reopened_on: date
    ref: str


@dataclass(frozen=True)
class StatementBook:
    """One scope's statements (`statements/<statement>.<scope kind>.<party>`): every statement
    issued, the periods closed now (in date order: they follow each other), every reopening."""

    key: str
    version: int = 0
    issued: tuple[IssuedStatement, ...] = ()
    closures: tuple[Closure, ...] = ()
    reopenings: tuple[Reopening, ...] = ()

    def issued_for(self, period: str) -> tuple[IssuedStatement, ...]:
        return tuple(i for i in self.issued if i.period == period)

    def latest(self, period: str) -> IssuedStatement | None:
        found = self.issued_for(period)
        return found[-1] if found else None

    def statement(self, number: str) -> IssuedStatement | None:
        return next((i for i in self.issued if i.number == number), None)

    def closure(self, period: str) -> Closure | None:
        return next((c for c in self.closures if c.period == period), None)

    @property
    def last_closed(self) -> Closure | None:
        return self.closures[-1] if self.closures else None


# --- evolve ---------------------------------------------------------------------------------

AnyState: TypeAlias = (Registry | Company | Drug | Agreement | Cohort | Patient | TreeHeads
                       | StatementBook)
State = TypeVar("State", bound=AnyState)
E = TypeVar("E", bound=ev.Event)
_HANDLERS: dict[type[ev.Event], Callable[[Any, Any, str], Any]] = {}
"""Each fact type's handler; each type belongs to one kind of state (registered by `Fold.on`)."""
_FOLDED_INTO: dict[str, type[Any]] = {}  # each fact type's name -> the state it folds into


class Fold(Generic[State]):
    """The facts one kind of state is folded from: `on` registers a handler whose state and
    fact types mypy checks against each other (a handler for the wrong state does not type)."""

    def __init__(self, state: type[State]) -> None:
        self.state = state

    def on(self, kind: type[E], handler: Callable[[State, E, str], State]) -> Fold[State]:
        if kind in _HANDLERS:
            raise ValueError(f"{kind.__name__} is folded already")
        _HANDLERS[kind] = handler
        _FOLDED_INTO[kind.__name__] = self.state
        return self


def fact_types(state: type[Any]) -> frozenset[str]:
    """The names of the fact types folded into one kind of state: the facts a stream of that
    kind holds (`evolve` gives another kind's fact no meaning), e.g. fact_types(Patient)."""
    return frozenset(name for name, into in _FOLDED_INTO.items() if into is state)


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
    packs = {**s.packs, r: e.pack} if e.pack else s.packs
    return replace(s, prices=(*s.prices, Dated(e.effective_from, e.price_per_pack, r)), packs=packs)


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
    return _slot_term(s, e.drug_id, Dated(e.effective_from, e.patient_slots, r))


def _slot_term(s: Agreement, drug_id: str, term: Dated[int]) -> Agreement:
    terms = (*s.slot_terms.get(drug_id, ()), term)
    latest = s.slots.get(drug_id)
    if latest is None or term.since >= latest.since:
        latest = term
    return replace(s, slots={**s.slots, drug_id: latest},
                   slot_terms={**s.slot_terms, drug_id: terms})


def _amended(s: Agreement, e: ev.AgreementAmended, r: str) -> Agreement:
    if e.grant_per_patient is not None:
        s = replace(s, grants=(*s.grants, Dated(e.effective_from, e.grant_per_patient, r)))
    if e.coverage_weeks is not None:
        s = replace(s, coverage=(*s.coverage, Dated(e.effective_from, e.coverage_weeks, r)))
    if e.drug_id is not None and e.patient_slots is not None:
        s = _slot_term(s, e.drug_id, Dated(e.effective_from, e.patient_slots, r))
    return s


def _slot_used(s: Agreement, e: ev.PatientSlotUsed, r: str) -> Agreement:
    used = {**s.used, e.drug_id: s.used.get(e.drug_id, 0) + 1}
    dates = s.enrolled.get(e.drug_id, GrownDays()).plus(e.enrolled_on)
    ids = s.slot_patients.get(e.drug_id, GrownTexts()).plus(e.patient_id)
    return replace(s, used=used, patients=s.patients.plus(e.patient_id),
                   enrolled={**s.enrolled, e.drug_id: dates},
                   slot_patients={**s.slot_patients, e.drug_id: ids})


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
        stages=(StageTerm(e.opened_on, e.stage, r),),
        evidence_ref=e.evidence_ref,
        expansion_size=e.expansion_size,
    )


def _admitted(s: Cohort, e: ev.PatientAdmitted, r: str) -> Cohort:
    admission = Admission(e.patient_id, e.stage, e.enrolled_on)
    return replace(s, admissions=s.admissions.plus(admission))


def _advanced(s: Cohort, e: ev.StageAdvanced, r: str) -> Cohort:
    size = e.expansion_size if e.expansion_size is not None else s.expansion_size
    evidence = e.evidence_ref or s.evidence_ref
    term = StageTerm(e.decided_on, e.to_stage, r)
    stages = tuple(sorted((*s.stages, term), key=lambda t: t.since))  # stable: ties keep order
    return replace(s, stage=stages[-1].stage, stage_refs=(*s.stage_refs, r), stages=stages,
                   expansion_size=size, evidence_ref=evidence)


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
    grant = Grant(e.amount, e.due_from, e.hf_id, r)
    if s.grant is not None:  # re-committed after a change of basis: the money stays with it
        g = s.grant
        grant = replace(grant, invoices=g.invoices, invoiced_to=g.invoiced_to,
                        payments=g.payments, earlier=(*g.earlier, g.ref))
    return replace(s, grant=grant, derived=(*s.derived, (r, e)))


def _grant_invoiced(s: Patient, e: ev.GrantInvoiced, r: str) -> Patient:
    if s.grant is None:
        return s
    g = s.grant
    return replace(s, grant=replace(g, invoices=(*g.invoices, e),
                                    invoiced_to=(*g.invoiced_to, g.hf_id)))


def _grant_paid(s: Patient, e: ev.GrantPaid, r: str) -> Patient:
    if s.grant is None:
        return s
    return replace(s, grant=replace(s.grant, payments=(*s.grant.payments, e)))


def _derived(s: Patient, e: ev.Event, r: str) -> Patient:
    return replace(s, derived=(*s.derived, (r, e)))


def _retracted(s: Patient, e: ev.DerivedFactRetracted, r: str) -> Patient:
    grant = s.grant
    if grant is not None and grant.ref == e.retracts:
        grant = replace(grant, amount=Money.zero(grant.amount.currency), withdrawn=True)
    return replace(s, grant=grant, derived=tuple((x, f) for x, f in s.derived if x != e.retracts))


def _tree_head(s: TreeHeads, e: ev.TreeHeadSigned, r: str) -> TreeHeads:
    return replace(s, last_size=e.tree_size, last_ref=r)


def _issued(s: StatementBook, e: ev.StatementIssued, r: str) -> StatementBook:
    issued = IssuedStatement(e.number, e.period, e.period_start, e.period_end, e.position,
                             e.book_version, e.lines_format, e.lines_hash, e.line_count,
                             e.supersedes, e.issued_on, r)
    return replace(s, issued=(*s.issued, issued))


def _period_closed(s: StatementBook, e: ev.PeriodClosed, r: str) -> StatementBook:
    closure = Closure(e.period, e.period_start, e.period_end, e.booked, e.booked_position,
                      e.closed_on, r, s.version)
    return replace(s, closures=tuple(sorted((*s.closures, closure), key=lambda c: c.start)))


def _period_reopened(s: StatementBook, e: ev.PeriodReopened, r: str) -> StatementBook:
    return replace(s, closures=tuple(c for c in s.closures if c.period != e.period),
                   reopenings=(*s.reopenings, Reopening(e.period, e.reason, e.reopened_on, r)))


(Fold(Registry)
    .on(ev.HealthTrustRegistered, _registry))
(Fold(Company)
    .on(ev.CompanyRegistered, _company))
(Fold(Drug)
    .on(ev.DrugRegistered, _drug)
    .on(ev.PriceSet, _price)
    .on(ev.IntroductionDecided, _introduction))
(Fold(Agreement)
    .on(ev.AgreementSigned, _signed)
    .on(ev.DrugContributed, _contributed)
    .on(ev.AgreementAmended, _amended)
    .on(ev.PatientSlotUsed, _slot_used))
(Fold(Cohort)
    .on(ev.CohortOpened, _cohort_opened)
    .on(ev.PatientAdmitted, _admitted)
    .on(ev.StageAdvanced, _advanced)
    .on(ev.CohortClosed, _closed)
    .on(ev.GroupExemptionGranted, _exemption_granted)
    .on(ev.GroupExemptionRevoked, _exemption_revoked)
    .on(ev.PermanentFinancingDecided, _permanent))
(Fold(Patient)
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
(Fold(TreeHeads)
    .on(ev.TreeHeadSigned, _tree_head))
(Fold(StatementBook)
    .on(ev.StatementIssued, _issued)
    .on(ev.PeriodClosed, _period_closed)
    .on(ev.PeriodReopened, _period_reopened))


STREAM_KINDS: dict[str, Callable[[str], AnyState]] = {
    "registry": lambda _id: Registry(),
    "company": Company,
    "drug": Drug,
    "agreement": Agreement,
    "cohort": Cohort,
    "patient": Patient,
    "log": lambda _id: TreeHeads(),
    "statements": StatementBook,
}


def empty(stream: str) -> AnyState:
    """The state of a stream before its first fact, e.g. empty('patient/IMP-0042')."""
    kind, _, identifier = stream.partition("/")
    return STREAM_KINDS[kind](identifier)


_KIND_STATES: dict[str, type[Any]] = {kind: type(make("")) for kind, make in STREAM_KINDS.items()}


def misplaced(fact_type: str, stream: str) -> str | None:
    """Why a fact of this type cannot be on this stream (its type is folded into another kind
    of state), or None. A type no fold knows is let through (the log stores any type)."""
    into = _FOLDED_INTO.get(fact_type)
    if into is None:
        return None
    kind = stream.partition("/")[0]
    if _KIND_STATES.get(kind) is into:
        return None
    kinds = sorted(k for k, state in _KIND_STATES.items() if state is into)
    return f"a {fact_type} fact belongs on a {' or '.join(kinds)} stream, not on {stream}"
