"""What people ask the ledger to record, in the imperative. `decide` may refuse any of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from domain.money import Money
from domain.statement_lines import Digest
from domain.values import DEFAULT_COVERAGE_WEEKS, Decision, EndReason, Outcome


@dataclass(frozen=True, kw_only=True)
class Command:
    """Base of all commands."""


# --- reference data -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RegisterHealthTrust(Command):
    hf_id: str
    name: str
    rhf_id: str
    rhf_name: str
    registered_on: date


@dataclass(frozen=True, kw_only=True)
class RegisterCompany(Command):
    company_id: str
    name: str
    registered_on: date


@dataclass(frozen=True, kw_only=True)
class RegisterDrug(Command):
    drug_id: str
    brand: str
    generic: str
    company_id: str
    registered_on: date


@dataclass(frozen=True, kw_only=True)
class SetPrice(Command):
    """`pack` says what one pack is, strength x count, e.g. '150 mg x 56'."""

    drug_id: str
    price_per_pack: Money
    effective_from: date
    pack: str | None = None


@dataclass(frozen=True, kw_only=True)
class RecordIntroductionDecision(Command):
    drug_id: str
    decision: Decision
    case_ref: str
    indication: str
    decided_on: date


# --- agreements -----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SignAgreement(Command):
    agreement_id: str
    company_id: str
    signed_on: date
    grant_per_patient: Money
    coverage_weeks: int = DEFAULT_COVERAGE_WEEKS


@dataclass(frozen=True, kw_only=True)
class ContributeDrug(Command):
    agreement_id: str
    drug_id: str
    patient_slots: int
    effective_from: date


@dataclass(frozen=True, kw_only=True)
class AmendAgreement(Command):
    agreement_id: str
    effective_from: date
    reason: str
    grant_per_patient: Money | None = None
    coverage_weeks: int | None = None
    drug_id: str | None = None
    patient_slots: int | None = None


# --- cohorts --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class OpenCohort(Command):
    """Open at stage 1; or directly as an expansion cohort when `evidence_ref` names a partner
    trial's evidence (e.g. 'DRUP: first 24 patients, olaparib, biallelic BRCA1/2')."""

    cohort_id: str
    drug_id: str
    agreement_id: str
    indication: str
    molecular_profile: str
    opened_on: date
    evidence_ref: str | None = None
    expansion_size: int | None = None


@dataclass(frozen=True, kw_only=True)
class AdvanceStage(Command):
    cohort_id: str
    to_stage: int
    decided_on: date
    evidence_ref: str | None = None
    expansion_size: int | None = None


@dataclass(frozen=True, kw_only=True)
class CloseCohort(Command):
    cohort_id: str
    closed_on: date
    reason: str


@dataclass(frozen=True, kw_only=True)
class GrantGroupExemption(Command):
    cohort_id: str
    exemption_ref: str
    effective_from: date
    decided_on: date


@dataclass(frozen=True, kw_only=True)
class RevokeGroupExemption(Command):
    cohort_id: str
    exemption_ref: str
    effective_from: date
    reason: str


@dataclass(frozen=True, kw_only=True)
class DecidePermanentFinancing(Command):
    cohort_id: str
    decision: Decision
    case_ref: str
    effective_from: date


# --- patients -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class EnrolPatient(Command):
    patient_id: str
    cohort_id: str
    hf_id: str
    enrolled_on: date


@dataclass(frozen=True, kw_only=True)
class StartTreatment(Command):
    patient_id: str
    started_on: date


@dataclass(frozen=True, kw_only=True)
class TransferPatient(Command):
    patient_id: str
    to_hf: str
    effective_from: date


@dataclass(frozen=True, kw_only=True)
class RecordAssessment(Command):
    patient_id: str
    assessed_on: date
    outcome: Outcome


@dataclass(frozen=True, kw_only=True)
class EndTreatment(Command):
    patient_id: str
    ended_on: date
    reason: EndReason


@dataclass(frozen=True, kw_only=True)
class DispenseDrug(Command):
    patient_id: str
    packs: int
    dispensed_on: date


@dataclass(frozen=True, kw_only=True)
class CorrectTreatmentStart(Command):
    patient_id: str
    started_on: date
    reason: str


@dataclass(frozen=True, kw_only=True)
class CorrectAssessment(Command):
    patient_id: str
    assessed_on: date
    outcome: Outcome
    reason: str


@dataclass(frozen=True, kw_only=True)
class CorrectTreatmentEnd(Command):
    patient_id: str
    ended_on: date
    ended_reason: EndReason
    reason: str


@dataclass(frozen=True, kw_only=True)
class CorrectEnrolmentHf(Command):
    patient_id: str
    hf_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class CorrectDispensation(Command):
    """`dispensation` is the reference of the DrugDispensed fact, e.g. 'patient/IMP-0042@5'."""

    patient_id: str
    dispensation: str
    packs: int
    dispensed_on: date
    reason: str


# --- grants ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class InvoiceGrant(Command):
    patient_id: str
    invoice_ref: str
    invoiced_on: date


@dataclass(frozen=True, kw_only=True)
class RecordGrantPayment(Command):
    patient_id: str
    payment_ref: str
    amount: Money
    paid_on: date


# --- statements and closed periods (ADR 0022) -------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class IssueStatement(Command):
    """Issue a statement whose lines were built as known at log `position`, with the scope's
    book at `book_version`; `digest` is SHA-256 over their canonical form
    (domain.statement_lines), computed by the ledger, never typed by a person."""

    ASKED: ClassVar[tuple[str, ...]] = ("statement", "scope_kind", "party", "period")
    statement: str
    scope_kind: str
    party: str
    period: str
    position: int
    book_version: int
    digest: Digest
    line_count: int


@dataclass(frozen=True, kw_only=True)
class ClosePeriod(Command):
    """Close a period: the latest statement issued for it becomes its figures."""

    statement: str
    scope_kind: str
    party: str
    period: str


@dataclass(frozen=True, kw_only=True)
class ReopenPeriod(Command):
    statement: str
    scope_kind: str
    party: str
    period: str
    reason: str


# --- the passage of time --------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Tick(Command):
    """Called by a scheduler: records what the passage of time has made true. Idempotent."""

    today: date
