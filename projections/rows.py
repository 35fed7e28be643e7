"""The read models' rows, and their tables (ADR 0015).

Bitemporal (`known_from` .. `known_to`, see projections.tables):
- intervals: who pays, per patient and span of days (`start`..`end` inclusive, valid time);
- patients: a patient's cohort, agreement, stage, dates and treating health trusts;
- cost_lines: every dispensation, costed at the price in force on its date and attributed to
  its payer on that date (domain.costing), with its health trust, RHF, company and cohort;
- grants and grant_movements: per-patient grants committed, invoiced and paid;
- agreement_slots: the patient slots each agreement gives per drug;
- parties: companies and health trusts (with their RHF) as registered.
Current (no history): patient_regions (every RHF that treated a patient: tenancy) and
due_dates (the first day a tick must reconcile a patient: domain.derive.next_due).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from domain.financing import Payer, PayerKind, not_started
from domain.money import CURRENCIES, Money
from domain.state import Dated
from projections.tables import Table, TableSet


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
class PartyRow:
    party: str  # "company/<id>" or "trust/<hf_id>"
    rhf_id: str | None  # a health trust's RHF
    known_from: int
    known_to: int | None


@dataclass(frozen=True, slots=True)
class DueRow:
    patient_id: str
    due_on: date


@dataclass(frozen=True)
class Difference:
    """One way the live read models differ from a replay of the log (see `verify`)."""

    table: str
    patient_id: str  # the row's owner: a patient, an agreement or a party
    row: str  # which row: its key and known_from
    field: str  # a field, or "row" when the row is missing on one side
    live: Any
    replayed: Any


def minor(m: Money) -> int:
    return int(m.amount.scaleb(CURRENCIES[m.currency]))


def money(amount_minor: int, currency: str) -> Money:
    return Money.of(Decimal(amount_minor).scaleb(-CURRENCIES[currency]), currency)


_DATES = ("on", "due_from", "start", "end", "enrolled_on", "started_on", "ended_on",
          "assessed_on", "price_since", "due_on")
_INTS = ("seq", "packs", "price_minor", "value_minor", "amount_minor", "slots", "stage",
         "enrolled_at")


def _kinds(**extra: str) -> dict[str, str]:
    return {**{d: "date" for d in _DATES}, **{i: "int" for i in _INTS}, **extra}


INTERVALS = Table("intervals", IntervalRow, "patient_id", ("patient_id", "start"),
                  _kinds(kind="kind", basis="json"),
                  indexes=(("kind", "rhf_id", "start_on"), ("kind", "end_on")),
                  not_null=("kind", "basis", "reason", "company_id", "cohort_id"),
                  renames={"start": "start_on", "end": "end_on"})
PATIENTS = Table("patients", PatientRow, "patient_id", ("patient_id",),
                 _kinds(hf_periods="periods"),
                 indexes=(("company_id",), ("agreement_id",), ("cohort_id",), ("rhf_id",)),
                 not_null=("cohort_id", "agreement_id", "company_id", "drug_id", "stage",
                           "hf_id", "hf_periods", "enrolled_at", "ref"))
REGIONS = Table("patient_regions", RegionRow, "patient_id", ("patient_id", "rhf_id"),
                bitemporal=False, indexes=(("rhf_id",),))
COST_LINES = Table("cost_lines", CostLine, "patient_id", ("ref",),
                   _kinds(payer_kind="kind", gap_basis="json"),
                   indexes=(("patient_id",), ("payer_kind", "rhf_id", "dispensed_on"),
                            ("payer_kind", "company_id", "dispensed_on"),
                            ("gap", "dispensed_on")),
                   not_null=("patient_id", "seq", "last_ref", "drug_id", "on", "packs",
                             "payer_kind", "company_id", "cohort_id", "gap_basis"),
                   renames={"on": "dispensed_on"})
GRANTS = Table("grants", GrantRow, "patient_id", ("patient_id",), _kinds(),
               indexes=(("company_id",), ("rhf_id",)),
               not_null=("agreement_id", "company_id", "hf_id", "rhf_id", "amount_minor",
                         "currency", "due_from", "ref", "to_settle"))
MOVEMENTS = Table("grant_movements", MovementRow, "patient_id",
                  ("patient_id", "kind", "document"), _kinds(),
                  not_null=("on", "amount_minor", "currency"), renames={"on": "moved_on"})
SLOTS = Table("agreement_slots", SlotRow, "agreement_id", ("agreement_id", "drug_id"),
              _kinds(), not_null=("company_id", "slots"))
PARTIES = Table("parties", PartyRow, "party", ("party",), _kinds())
DUE = Table("due_dates", DueRow, "patient_id", ("patient_id",), _kinds(), bitemporal=False,
            indexes=(("due_on",),), not_null=("due_on",))

TABLES = (INTERVALS, PATIENTS, REGIONS, COST_LINES, GRANTS, MOVEMENTS, SLOTS, PARTIES, DUE)
LIVE = TableSet("readmodels", "rm", TABLES)
