"""Response bodies. Money is {"amount": "50000.00", "currency": "NOK"}; dates are YYYY-MM-DD;
moments are ISO 8601 in UTC; a fact reference is "stream@version" (patient/IMP-0042@3)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.types import MoneyOut


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FactOut(Out):
    position: int = Field(description="Position in the log (commit order).", examples=[118])
    stream: str = Field(examples=["patient/IMP-0042"])
    version: int = Field(examples=[4])
    type: str = Field(examples=["AssessmentRecorded"])
    recorded_at: datetime = Field(description="When the ledger recorded it (UTC).")


class ReceiptOut(Out):
    """What a command recorded. Wait for `position` on reads served by a read model."""

    position: int = Field(examples=[118])
    facts: list[FactOut]


class ProblemOut(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "type": "https://impress-ledger.example/problems/stage-full",
        "title": "Stage full", "status": 409,
        "detail": "stage 1 of cohort 'alectinib-alk' is full (8 patients): a stage decision is "
                  "needed before more patients can be enrolled",
        "instance": "/v1/patients", "request_id": "4f6c0c1e1b5e4a6f"}]})

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None


# --- who pays -------------------------------------------------------------------------------


class WithheldOut(Out):
    count: int = Field(examples=[2])
    why: str = Field(examples=["about patients outside your region (helse-vest)"])


class PayerOut(Out):
    kind: str = Field(description="company | public | treating_hf (financing gap) | pending | "
                      "nobody", examples=["public"])
    party: str | None = Field(description="company id, RHF id or HF id, by kind",
                              examples=["helse-vest"])
    treating_hf: str | None = Field(examples=["helse-stavanger"])
    reason: str
    basis: list[str] = Field(description="The recorded facts the answer rests on that you may "
                             "see.", examples=[["patient/IMP-0042@1", "cohort/olaparib-brca@2"]])
    basis_withheld: WithheldOut | None = Field(
        default=None, description="How many more facts the answer rests on that you may not "
        "see (other regions' or companies' patients), and why; absent when none.")


class WhoPaysOut(Out):
    patient_id: str = Field(examples=["IMP-0042"])
    on: date
    known_at_position: int = Field(description="The answer uses the log up to this position.")
    payer: PayerOut


class IntervalOut(Out):
    start: date
    end: date | None = Field(description="Inclusive; null: open-ended.")
    payer: PayerOut


class TimelineOut(Out):
    patient_id: str
    known_at_position: int
    intervals: list[IntervalOut]


class PayerRowOut(Out):
    patient_id: str
    payer: PayerOut


class PayersOut(Out):
    on: date
    known_at_position: int
    patients: list[PayerRowOut]
    next_after: str | None = Field(default=None, description="Ask for the next page with "
                                   "`after` set to this; null on the last page.")


# --- history and the raw log ------------------------------------------------------------------


class ActorOut(Out):
    subject: str | None = None
    role: str | None = None
    organisation: str | None = None
    request_id: str | None = None
    triggered_by: str | None = Field(default=None, description="For a fact the ledger derived "
                                     "itself (role `system`): whose request made it follow.")


class HistoryFactOut(Out):
    ref: str = Field(examples=["patient/IMP-0042@4"])
    position: int
    stream: str
    version: int
    type: str
    valid_on: date | None = Field(description="The date the fact is about.")
    recorded_at: datetime
    actor: ActorOut
    data: dict[str, Any]
    corrects: str | None = Field(default=None, description="The fact this one supersedes.")
    corrected_by: list[str] = Field(default_factory=list)
    retracts: str | None = None
    retracted_by: list[str] = Field(default_factory=list)


class HistoryOut(Out):
    stream: str
    facts: list[HistoryFactOut]
    next_after: int | None = Field(default=None, description=(
        "The last version of this page, to give as `after` for the next one (also in the "
        "`Link` header); null at the stream's end."))


class LogFactOut(Out):
    position: int
    stream: str
    version: int
    type: str
    schema_version: int
    valid_on: date | None
    recorded_at: datetime
    actor: dict[str, Any]
    data: dict[str, Any]


class LogPageOut(Out):
    head: int
    next_after: int | None = Field(description="Pass as `after` for the next page; null: end.")
    facts: list[LogFactOut]


# --- imports ----------------------------------------------------------------------------------


class ImportLineErrorOut(Out):
    line: int
    command: str | None
    type: str
    detail: str


class ImportOut(Out):
    """An import recorded every line's facts at once."""

    lines: int = Field(description="Commands in the file.", examples=[12])
    position: int
    facts: list[FactOut]


# --- resources --------------------------------------------------------------------------------


class HealthTrustOut(Out):
    hf_id: str
    name: str
    rhf_id: str
    rhf_name: str


class CompanyOut(Out):
    company_id: str
    name: str | None
    ref: str | None


class DatedMoneyOut(Out):
    since: date
    value: MoneyOut
    ref: str


class PriceOut(DatedMoneyOut):
    pack: str | None = Field(default=None, description="What one pack is: strength x count; "
                             "null if it was not recorded with the price.",
                             examples=["150 mg x 56"])


class DatedIntOut(Out):
    since: date
    value: int
    ref: str


class DecisionOut(Out):
    decision: str
    case_ref: str
    indication: str
    decided_on: date
    ref: str


class DrugOut(Out):
    drug_id: str
    brand: str
    generic: str
    company_id: str
    ref: str | None
    prices: list[PriceOut]
    decisions: list[DecisionOut]


class SlotsOut(Out):
    drug_id: str
    slots: int
    used: int
    since: date
    ref: str


class AgreementOut(Out):
    agreement_id: str
    company_id: str
    signed_on: date | None
    ref: str | None
    grants: list[DatedMoneyOut]
    coverage_weeks: list[DatedIntOut]
    slots: list[SlotsOut]


class ExemptionOut(Out):
    exemption_ref: str
    effective_from: date
    decided_on: date
    revoked_from: date | None
    ref: str


class CohortOut(Out):
    cohort_id: str
    drug_id: str
    agreement_id: str
    indication: str
    molecular_profile: str
    opened_on: date | None
    stage: int
    expansion_size: int | None
    evidence_ref: str | None
    closed_on: date | None
    patients_by_stage: dict[str, int]
    exemptions: list[ExemptionOut]
    permanent_financing: list[dict[str, Any]]
    ref: str | None


class HfPeriodOut(Out):
    since: date
    hf_id: str
    ref: str


class PatientOut(Out):
    patient_id: str
    cohort_id: str
    agreement_id: str
    drug_id: str
    stage: int
    enrolled_on: date | None
    treating_hf: str
    hf_periods: list[HfPeriodOut]
    started_on: date | None
    assessment: dict[str, Any] | None
    ended: dict[str, Any] | None
    dispensations: list[dict[str, Any]]
    grant: dict[str, Any] | None
    ref: str | None


class MeOut(Out):
    subject: str
    role: str
    organisation: str


class HealthOut(Out):
    status: str = Field(examples=["ok"])


class ReadyOut(Out):
    status: str = Field(examples=["ready"])
    head: int
