"""The rows a statement is built from, one kind per read-model table (ADR 0015, 0023): who pays
over a span of days, a patient's dates and treating health trusts, each dispensation costed,
grants and their movements, agreement slots. The read models keep them bitemporally
(`known_from` .. `known_to`: the log positions between which a row was the answer); a replay of
the log or a partner's bundle makes them from folded states with `domain.statements.compute`.
Standard library only: `impress-verify` builds statements from them too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from domain.financing import Payer, PayerKind, not_started
from domain.money import CURRENCIES, Money
from domain.state import Dated


@dataclass(frozen=True, slots=True)
class IntervalRow:
    """One interval of a patient's payer timeline, as known from `known_from` to `known_to`."""

    patient_id: str
    start: date
    end: date | None  # inclusive; None: open-ended
    kind: PayerKind
    party: str | None  # company_id, rhf_id or hf_id, by kind (as domain.financing.Payer)
    hf_id: str | None  # the health trust treating the patient in the interval
    rhf_id: str | None  # that health trust's RHF (the public payer if kind is public)
    basis: tuple[str, ...]  # the facts the answer rests on (stream@version)
    reason: str
    company_id: str
    cohort_id: str
    known_from: int
    known_to: int | None

    def covers(self, on: date) -> bool:
        return self.start <= on and (self.end is None or on <= self.end)

    @property
    def payer(self) -> Payer:
        return Payer(self.kind, self.party, self.hf_id, self.basis, self.reason)


@dataclass(frozen=True, slots=True)
class PatientRow:
    """A patient as known from `known_from` to `known_to`."""

    patient_id: str
    cohort_id: str
    agreement_id: str
    company_id: str
    drug_id: str
    stage: int
    hf_id: str  # the health trust of the latest recorded transfer (or enrolment)
    rhf_id: str | None
    enrolled_on: date | None
    started_on: date | None
    ended_on: date | None
    ended_reason: str | None
    assessment_outcome: str | None
    assessed_on: date | None
    hf_periods: tuple[tuple[date, str, str | None], ...]  # (from, hf_id, its rhf_id)
    enrolled_at: int  # the log position of the enrolment: the order slots were used in
    ref: str  # the enrolment fact in force (the enrolment or its correction)
    started_ref: str | None  # the treatment start in force
    known_from: int
    known_to: int | None

    @property
    def before_start(self) -> Payer:
        """Who pays on a date before the treatment starts (before enrolment too): nobody."""
        return not_started(self.ref, self.started_ref, self.hf_periods[0][1])


@dataclass(frozen=True, slots=True)
class RegionRow:
    patient_id: str
    rhf_id: str


@dataclass(frozen=True, slots=True)
class CostLine:
    """One dispensation (as corrected), costed (domain.costing)."""

    patient_id: str
    ref: str  # the DrugDispensed fact
    seq: int  # its version in the patient's stream: the order dispensations were recorded in
    last_ref: str  # the fact in force: the dispensation or its latest correction
    drug_id: str
    on: date
    packs: int
    payer_kind: PayerKind
    party: str | None
    hf_id: str | None  # the health trust treating the patient on that date
    rhf_id: str | None
    company_id: str
    cohort_id: str
    price_minor: int | None  # per pack, in the currency's minor unit (øre); None: no price
    currency: str | None
    price_since: date | None
    price_ref: str | None
    value_minor: int | None
    pack: str | None  # what one pack is at that price ("150 mg x 56"), if recorded
    gap: str | None  # domain.costing.DispensationGap
    gap_detail: str | None
    gap_basis: tuple[str, ...]  # what the payer rests on, for a dispensation with a gap
    known_from: int
    known_to: int | None

    @property
    def price(self) -> Dated[Money] | None:
        if self.price_minor is None or self.currency is None or self.price_since is None:
            return None
        return Dated(self.price_since, money(self.price_minor, self.currency), self.price_ref or "")

    @property
    def value(self) -> Money | None:
        if self.value_minor is None or self.currency is None:
            return None
        return money(self.value_minor, self.currency)


@dataclass(frozen=True, slots=True)
class GrantRow:
    patient_id: str
    agreement_id: str
    company_id: str
    hf_id: str  # the health trust treating the patient when the grant fell due
    rhf_id: str
    amount_minor: int
    currency: str
    due_from: date
    ref: str
    to_settle: str  # what to settle by hand after a change of the grant's basis (ADR 0014)
    known_from: int
    known_to: int | None

    @property
    def amount(self) -> Money:
        return money(self.amount_minor, self.currency)


@dataclass(frozen=True, slots=True)
class MovementRow:
    """A grant invoiced or (partly) paid."""

    patient_id: str
    kind: str  # "invoice" | "payment"
    document: str  # the invoice or payment reference
    on: date
    amount_minor: int
    currency: str
    known_from: int
    known_to: int | None


@dataclass(frozen=True, slots=True)
class SlotRow:
    agreement_id: str
    drug_id: str
    company_id: str
    slots: int
    known_from: int
    known_to: int | None


@dataclass(frozen=True, slots=True)
class SlotUse:
    """A patient's slot under an agreement for a drug (the agreement's PatientSlotUsed)."""

    agreement_id: str
    drug_id: str
    patient_id: str
    enrolled_on: date


@dataclass(frozen=True, slots=True)
class PartyRow:
    party: str  # "company/<id>" or "trust/<hf_id>"
    rhf_id: str | None  # a health trust's RHF
    known_from: int
    known_to: int | None


@dataclass(frozen=True, slots=True)
class DueRow:
    patient_id: str
    due_on: date


def minor(m: Money) -> int:
    return int(m.amount.scaleb(CURRENCIES[m.currency]))


def money(amount_minor: int, currency: str) -> Money:
    return Money.from_minor(amount_minor, currency)


@dataclass(frozen=True, slots=True)
class WorkItemRow:
    """One financing-gap worklist item over the patient's whole history (ADR 0026,
    domain.statements.worklist), as known from `known_from` to `known_to`."""

    patient_id: str
    seen_by: str  # "all": everyone's item; "rhf": its RHF's (a transfer split it); "both"
    item: str  # "<gap>/<since>" for a gap interval, the dispensation's ref for a dispensation
    gap: str
    cohort_id: str
    company_id: str
    since: date
    until: date | None
    hf_id: str | None
    rhf_id: str | None
    detail: str
    resolve: str
    basis: tuple[str, ...]
    seq: int  # a dispensation's order among the patient's (0: an interval)
    packs: int  # at stake over the item's span
    value: tuple[tuple[str, int], ...]  # theirs, (currency, minor units) by currency
    first_on: date | None  # the first and last dispensation at stake
    last_on: date | None
    first_end: date | None  # the end of the item's first interval (None: open)
    last_start: date  # the start of its last
    known_from: int
    known_to: int | None
