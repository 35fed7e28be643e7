"""Every fact the ledger records, in the past tense.

Each event names the date it is about (`about`, the valid time). The moment it was recorded,
its actor and its position in the log are the store's, kept beside it, never inside it.
Renaming a class or a field changes stored history: add an upcaster in `domain.codec` instead.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from typing import ClassVar

from domain.money import Money
from domain.values import Decision, EndReason, Outcome


@dataclass(frozen=True, kw_only=True)
class Event:
    about: ClassVar[str] = ""  # name of the field holding the date the fact is about
    schema: ClassVar[int] = 1

    @property
    def valid_on(self) -> date | None:
        return getattr(self, self.about) if self.about else None

    @property
    def type(self) -> str:
        return type(self).__name__


# --- reference data -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class HealthTrustRegistered(Event):
    """A health trust (HF) and the regional health authority (RHF) it belongs to."""

    about: ClassVar[str] = "registered_on"
    hf_id: str
    name: str
    rhf_id: str
    rhf_name: str
    registered_on: date


@dataclass(frozen=True, kw_only=True)
class CompanyRegistered(Event):
    about: ClassVar[str] = "registered_on"
    company_id: str
    name: str
    registered_on: date


@dataclass(frozen=True, kw_only=True)
class DrugRegistered(Event):
    about: ClassVar[str] = "registered_on"
    drug_id: str
    brand: str
    generic: str
    company_id: str
    registered_on: date


@dataclass(frozen=True, kw_only=True)
class PriceSet(Event):
    """A price per pack (ex. VAT) applies from a date; it applies to IMPRESS patients too.

    Schema 2 adds `pack`, what one pack is (strength x count, "150 mg x 56"); schema 1 facts
    did not say, and `domain.codec` reads them with `pack` None."""

    about: ClassVar[str] = "effective_from"
    schema: ClassVar[int] = 2
    drug_id: str
    price_per_pack: Money
    effective_from: date
    pack: str | None = None


@dataclass(frozen=True, kw_only=True)
class IntroductionDecided(Event):
    """Beslutningsforum introduced or rejected the drug for an indication (case e.g. ID2019_041)."""

    about: ClassVar[str] = "decided_on"
    drug_id: str
    decision: Decision
    case_ref: str
    indication: str
    decided_on: date


# --- agreements -----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AgreementSigned(Event):
    about: ClassVar[str] = "signed_on"
    agreement_id: str
    company_id: str
    signed_on: date
    grant_per_patient: Money
    coverage_weeks: int


@dataclass(frozen=True, kw_only=True)
class DrugContributed(Event):
    """The company gives the drug free for a number of patient slots under the agreement."""

    about: ClassVar[str] = "effective_from"
    agreement_id: str
    drug_id: str
    patient_slots: int
    effective_from: date


@dataclass(frozen=True, kw_only=True)
class AgreementAmended(Event):
    """Terms changed from a date; unchanged terms are None. Slots change per drug."""

    about: ClassVar[str] = "effective_from"
    agreement_id: str
    effective_from: date
    reason: str
    grant_per_patient: Money | None = None
    coverage_weeks: int | None = None
    drug_id: str | None = None
    patient_slots: int | None = None


@dataclass(frozen=True, kw_only=True)
class PatientSlotUsed(Event):
    """One of the agreement's patient slots for a drug went to an enrolled patient."""

    about: ClassVar[str] = "enrolled_on"
    agreement_id: str
    drug_id: str
    patient_id: str
    cohort_id: str
    enrolled_on: date


# --- cohorts --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CohortOpened(Event):
    """A cohort (drug x tumour type / molecular profile) opened, at stage 1, or directly as an
    expansion cohort on a partner trial's evidence (as olaparib on DRUP's first 24 patients)."""

    about: ClassVar[str] = "opened_on"
    cohort_id: str
    drug_id: str
    agreement_id: str
    indication: str
    molecular_profile: str
    opened_on: date
    stage: int
    evidence_ref: str | None = None
    expansion_size: int | None = None


@dataclass(frozen=True, kw_only=True)
class PatientAdmitted(Event):
    """A place in the cohort's current stage went to a patient."""

    about: ClassVar[str] = "enrolled_on"
    cohort_id: str
    patient_id: str
    stage: int
    enrolled_on: date


@dataclass(frozen=True, kw_only=True)
class StageAdvanced(Event):
    """The cohort moved on, resting on recorded 16-week assessments or on partner evidence."""

    about: ClassVar[str] = "decided_on"
    cohort_id: str
    to_stage: int
    decided_on: date
    benefit_count: int
    assessed_count: int
    basis: tuple[str, ...]
    evidence_ref: str | None = None
    expansion_size: int | None = None


@dataclass(frozen=True, kw_only=True)
class CohortClosed(Event):
    about: ClassVar[str] = "closed_on"
    cohort_id: str
    closed_on: date
    reason: str


@dataclass(frozen=True, kw_only=True)
class GroupExemptionGranted(Event):
    """Beslutningsforum granted a group exemption (gruppeunntak) for the cohort's drug use."""

    about: ClassVar[str] = "effective_from"
    cohort_id: str
    exemption_ref: str
    effective_from: date
    decided_on: date


@dataclass(frozen=True, kw_only=True)
class GroupExemptionRevoked(Event):
    about: ClassVar[str] = "effective_from"
    cohort_id: str
    exemption_ref: str
    effective_from: date
    reason: str


@dataclass(frozen=True, kw_only=True)
class PermanentFinancingDecided(Event):
    """After the study: the RHFs decided (Nye metoder) to finance the cohort's use permanently, or not."""

    about: ClassVar[str] = "effective_from"
    cohort_id: str
    decision: Decision
    case_ref: str
    effective_from: date


# --- patients -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PatientEnrolled(Event):
    about: ClassVar[str] = "enrolled_on"
    patient_id: str
    cohort_id: str
    agreement_id: str
    drug_id: str
    stage: int
    hf_id: str
    enrolled_on: date


@dataclass(frozen=True, kw_only=True)
class TreatmentStarted(Event):
    about: ClassVar[str] = "started_on"
    patient_id: str
    started_on: date


@dataclass(frozen=True, kw_only=True)
class PatientTransferred(Event):
    """The patient is treated by another health trust from a date."""

    about: ClassVar[str] = "effective_from"
    patient_id: str
    from_hf: str
    to_hf: str
    effective_from: date


@dataclass(frozen=True, kw_only=True)
class AssessmentRecorded(Event):
    """The 16-week assessment of the patient's response.

    Schema 2. Schema 1 stored the response as typed, a RECIST abbreviation in `result`
    ("SD", "PR"...); `domain.codec` upcasts it to `outcome` on read."""

    about: ClassVar[str] = "assessed_on"
    schema: ClassVar[int] = 2
    patient_id: str
    assessed_on: date
    outcome: Outcome


@dataclass(frozen=True, kw_only=True)
class TreatmentEnded(Event):
    about: ClassVar[str] = "ended_on"
    patient_id: str
    ended_on: date
    reason: EndReason


@dataclass(frozen=True, kw_only=True)
class DrugDispensed(Event):
    about: ClassVar[str] = "dispensed_on"
    patient_id: str
    drug_id: str
    packs: int
    dispensed_on: date


# --- corrections: the wrong fact stays; these supersede it ---------------------------------


@dataclass(frozen=True, kw_only=True)
class TreatmentStartCorrected(Event):
    about: ClassVar[str] = "started_on"
    patient_id: str
    started_on: date
    corrects: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class AssessmentCorrected(Event):
    about: ClassVar[str] = "assessed_on"
    patient_id: str
    assessed_on: date
    outcome: Outcome
    corrects: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class TreatmentEndCorrected(Event):
    about: ClassVar[str] = "ended_on"
    patient_id: str
    ended_on: date
    ended_reason: EndReason
    corrects: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class EnrolmentHfCorrected(Event):
    """The patient was enrolled at another health trust than first recorded."""

    about: ClassVar[str] = "enrolled_on"
    patient_id: str
    hf_id: str
    enrolled_on: date
    corrects: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class DispensationCorrected(Event):
    """A dispensation's packs or date were wrong; 0 packs voids it."""

    about: ClassVar[str] = "dispensed_on"
    patient_id: str
    packs: int
    dispensed_on: date
    corrects: str
    reason: str


# --- grants ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class GrantCommitted(Event):
    """Derived: a stage 1-2 patient started treatment, so the company owes the per-patient grant."""

    about: ClassVar[str] = "due_from"
    patient_id: str
    agreement_id: str
    hf_id: str
    amount: Money
    due_from: date
    basis: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class GrantInvoiced(Event):
    about: ClassVar[str] = "invoiced_on"
    patient_id: str
    invoice_ref: str
    amount: Money
    invoiced_on: date


@dataclass(frozen=True, kw_only=True)
class GrantPaid(Event):
    about: ClassVar[str] = "paid_on"
    patient_id: str
    payment_ref: str
    amount: Money
    paid_on: date


# --- facts the ledger derives itself --------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CompanyCoverageEnded(Event):
    """Derived: the company's coverage of an expansion patient ended after the agreed weeks."""

    about: ClassVar[str] = "last_covered_on"
    patient_id: str
    last_covered_on: date
    coverage_weeks: int
    basis: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class PublicPayerTookOver(Event):
    """Derived: benefit at 16 weeks and a public basis (group exemption or permanent financing)."""

    about: ClassVar[str] = "from_date"
    patient_id: str
    from_date: date
    public_basis: str
    basis: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class PublicPayerStopped(Event):
    """Derived: the public basis ended (e.g. exemption revoked) while the patient was on treatment."""

    about: ClassVar[str] = "last_day"
    patient_id: str
    last_day: date
    basis: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class DerivedFactRetracted(Event):
    """Derived: a fact the ledger derived earlier no longer follows from the facts (a correction)."""

    about: ClassVar[str] = "retracted_on"
    patient_id: str
    retracts: str
    retracted_on: date
    reason: str
    basis: tuple[str, ...]


# --- statements and closed periods (ADR 0022) -------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class StatementIssued(Event):
    """A statement was issued: its lines as known at log `position`, in the canonical form of
    `domain.statement_lines` (`lines_format`), hash `lines_hash`. Numbered per scope and period;
    a re-issue names the number it `supersedes`."""

    about: ClassVar[str] = "issued_on"
    number: str
    statement: str  # public-cost | company
    scope_kind: str  # rhf | hf | company
    party: str
    period: str  # 2024Q1, 2024M03, 2024H1
    period_start: date
    period_end: date
    position: int
    book_version: int  # the version of the scope's book (its stream) the lines were built with
    lines_format: str
    lines_hash: str
    line_count: int
    supersedes: str | None
    issued_on: date


@dataclass(frozen=True, kw_only=True)
class PeriodClosed(Event):
    """A period of a scope was closed: its figures are those of the statement `booked` (built
    at `booked_position`) from now on; later changes to it are adjustments in the statement of
    the first open period."""

    about: ClassVar[str] = "closed_on"
    statement: str
    scope_kind: str
    party: str
    period: str
    period_start: date
    period_end: date
    booked: str
    booked_position: int
    closed_on: date


@dataclass(frozen=True, kw_only=True)
class PeriodReopened(Event):
    """The last closed period of a scope was opened again, for a reason."""

    about: ClassVar[str] = "reopened_on"
    statement: str
    scope_kind: str
    party: str
    period: str
    reason: str
    reopened_on: date


# --- the log's own history --------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TreeHeadSigned(Event):
    """The ledger signed the head of its Merkle tree (domain.tree, ADR 0019): the first
    `tree_size` facts have root `root_hash`. Recorded after the tree it signs."""

    log: str
    tree_size: int
    root_hash: str
    timestamp: str
    key_id: str
    public_key: str  # the raw Ed25519 public key, hex: the server can list every key it used
    signature: str


EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in list(globals().values())
    if isinstance(cls, type) and issubclass(cls, Event) and cls is not Event
}

DERIVED_TYPES = frozenset(
    {
        "CompanyCoverageEnded",
        "PublicPayerTookOver",
        "PublicPayerStopped",
        "GrantCommitted",
        "DerivedFactRetracted",
    }
)


def field_names(cls: type[Event]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))
