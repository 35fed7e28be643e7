"""Request bodies, one per business command. Field names are the command's own, so turning a
validated body (plus the ids in the URL path) into a command is mechanical: `Body.command()`.

Each body's `COMMAND` is the domain command it becomes; `PATH` names the fields that come from
the URL (and that a bulk import line carries in its `args` instead).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import Field, StringConstraints, create_model

from api.schemas.types import (
    CaseRef,
    Count,
    Day,
    FactRef,
    MoneyIn,
    Name,
    Reason,
    Schema,
    ShortText,
    Slug,
    StudyId,
    Text,
    examples,
)
from domain import commands as c
from domain.values import Decision, EndReason, Outcome


class Body(Schema):
    COMMAND: ClassVar[type[c.Command]]
    PATH: ClassVar[dict[str, Any]] = {}

    def command(self, **path: str) -> c.Command:
        values = {name: getattr(self, name) for name in type(self).model_fields}
        values = {k: v.money() if isinstance(v, MoneyIn) else v for k, v in values.items()}
        return self.COMMAND(**path, **values)


# --- reference data -------------------------------------------------------------------------


class CompanyIn(Body):
    COMMAND = c.RegisterCompany
    model_config = examples({"company_id": "astrazeneca", "name": "AstraZeneca AS",
                             "registered_on": "2021-01-04"})
    company_id: Slug
    name: Name
    registered_on: Day


class DrugIn(Body):
    COMMAND = c.RegisterDrug
    model_config = examples({"drug_id": "lynparza", "brand": "Lynparza", "generic": "olaparib",
                             "company_id": "astrazeneca", "registered_on": "2021-01-04"})
    drug_id: Slug
    brand: Name
    generic: Name
    company_id: Slug
    registered_on: Day


class PriceIn(Body):
    COMMAND = c.SetPrice
    PATH = {"drug_id": Slug}
    model_config = examples({"price_per_pack": {"amount": "42000.00", "currency": "NOK"},
                             "effective_from": "2021-01-04", "pack": "150 mg x 56"})
    price_per_pack: MoneyIn
    effective_from: Day
    pack: Annotated[str, StringConstraints(min_length=1, max_length=100),
                    Field(description="What one pack is: strength x count.",
                          examples=["150 mg x 56"])] | None = None


class IntroductionDecisionIn(Body):
    COMMAND = c.RecordIntroductionDecision
    PATH = {"drug_id": Slug}
    model_config = examples({"decision": "introduced", "case_ref": "ID2019_041",
                             "indication": "ovarian cancer, BRCA-mutated",
                             "decided_on": "2020-06-15"})
    decision: Decision
    case_ref: CaseRef
    indication: Text
    decided_on: Day


# --- agreements -----------------------------------------------------------------------------


class AgreementIn(Body):
    COMMAND = c.SignAgreement
    model_config = examples({"agreement_id": "astrazeneca-impress", "company_id": "astrazeneca",
                             "signed_on": "2021-02-01",
                             "grant_per_patient": {"amount": "50000.00", "currency": "NOK"},
                             "coverage_weeks": 16})
    agreement_id: Slug
    company_id: Slug
    signed_on: Day
    grant_per_patient: MoneyIn
    coverage_weeks: Annotated[int, Count(1, 520, 16)] = 16


class ContributionIn(Body):
    COMMAND = c.ContributeDrug
    PATH = {"agreement_id": Slug}
    model_config = examples({"drug_id": "lynparza", "patient_slots": 150,
                             "effective_from": "2021-02-01"})
    drug_id: Slug
    patient_slots: Annotated[int, Count(1, 100_000, 150)]
    effective_from: Day


class AmendmentIn(Body):
    COMMAND = c.AmendAgreement
    PATH = {"agreement_id": Slug}
    model_config = examples({"effective_from": "2024-01-01", "reason": "slots extended",
                             "drug_id": "lynparza", "patient_slots": 200})
    effective_from: Day
    reason: Reason
    grant_per_patient: MoneyIn | None = None
    coverage_weeks: Annotated[int, Count(1, 520, 16)] | None = None
    drug_id: Slug | None = None
    patient_slots: Annotated[int, Count(1, 100_000, 200)] | None = None


# --- cohorts --------------------------------------------------------------------------------


class CohortIn(Body):
    COMMAND = c.OpenCohort
    model_config = examples({"cohort_id": "olaparib-brca", "drug_id": "lynparza",
                             "agreement_id": "astrazeneca-impress", "indication": "solid tumours",
                             "molecular_profile": "biallelic BRCA1/2 inactivation",
                             "opened_on": "2022-01-10",
                             "evidence_ref": "DRUP: first 24 patients treated with olaparib"})
    cohort_id: Slug
    drug_id: Slug
    agreement_id: Slug
    indication: Text
    molecular_profile: Text
    opened_on: Day
    evidence_ref: Text | None = None
    expansion_size: Annotated[int, Count(1, 10_000, 150)] | None = None


class StageDecisionIn(Body):
    COMMAND = c.AdvanceStage
    PATH = {"cohort_id": Slug}
    model_config = examples({"to_stage": 2, "decided_on": "2022-09-01"})
    to_stage: Annotated[int, Count(2, 3, 2)]
    decided_on: Day
    evidence_ref: Text | None = None
    expansion_size: Annotated[int, Count(1, 10_000, 150)] | None = None


class ClosureIn(Body):
    COMMAND = c.CloseCohort
    PATH = {"cohort_id": Slug}
    model_config = examples({"closed_on": "2024-06-30", "reason": "no benefit in stage 1"})
    closed_on: Day
    reason: Reason


class ExemptionIn(Body):
    COMMAND = c.GrantGroupExemption
    PATH = {"cohort_id": Slug}
    model_config = examples({"exemption_ref": "BF-2022-IMPRESS", "effective_from": "2022-03-21",
                             "decided_on": "2022-03-21"})
    exemption_ref: ShortText
    effective_from: Day
    decided_on: Day


class ExemptionRevocationIn(Body):
    COMMAND = c.RevokeGroupExemption
    PATH = {"cohort_id": Slug}
    model_config = examples({"exemption_ref": "BF-2022-IMPRESS", "effective_from": "2025-01-01",
                             "reason": "replaced by permanent financing"})
    exemption_ref: ShortText
    effective_from: Day
    reason: Reason


class PermanentFinancingIn(Body):
    COMMAND = c.DecidePermanentFinancing
    PATH = {"cohort_id": Slug}
    model_config = examples({"decision": "introduced", "case_ref": "ID2024_017",
                             "effective_from": "2025-01-01"})
    decision: Decision
    case_ref: CaseRef
    effective_from: Day


# --- patients -------------------------------------------------------------------------------

_PATIENT = {"patient_id": StudyId}


class EnrolmentIn(Body):
    COMMAND = c.EnrolPatient
    model_config = examples({"patient_id": "IMP-0043", "cohort_id": "olaparib-brca",
                             "hf_id": "helse-bergen", "enrolled_on": "2023-08-01"})
    patient_id: StudyId
    cohort_id: Slug
    hf_id: Slug
    enrolled_on: Day


class TreatmentStartIn(Body):
    COMMAND = c.StartTreatment
    PATH = _PATIENT
    model_config = examples({"started_on": "2023-06-12"})
    started_on: Day


class TreatmentEndIn(Body):
    COMMAND = c.EndTreatment
    PATH = _PATIENT
    model_config = examples({"ended_on": "2024-03-01", "reason": "progression"})
    ended_on: Day
    reason: EndReason


class TransferIn(Body):
    COMMAND = c.TransferPatient
    PATH = _PATIENT
    model_config = examples({"to_hf": "helse-bergen", "effective_from": "2024-01-15"})
    to_hf: Slug
    effective_from: Day


class AssessmentIn(Body):
    COMMAND = c.RecordAssessment
    PATH = _PATIENT
    model_config = examples({"assessed_on": "2023-09-28", "outcome": "stable_disease"})
    assessed_on: Day
    outcome: Outcome


class DispensationIn(Body):
    COMMAND = c.DispenseDrug
    PATH = _PATIENT
    model_config = examples({"packs": 2, "dispensed_on": "2023-06-12"})
    packs: Annotated[int, Count(1, 10_000, 2)]
    dispensed_on: Day


class TreatmentStartCorrectionIn(Body):
    COMMAND = c.CorrectTreatmentStart
    PATH = _PATIENT
    model_config = examples({"started_on": "2023-06-14", "reason": "first dose was on the 14th"})
    started_on: Day
    reason: Reason


class AssessmentCorrectionIn(Body):
    COMMAND = c.CorrectAssessment
    PATH = _PATIENT
    model_config = examples({"assessed_on": "2023-09-28", "outcome": "objective_response",
                             "reason": "radiology report revised"})
    assessed_on: Day
    outcome: Outcome
    reason: Reason


class TreatmentEndCorrectionIn(Body):
    COMMAND = c.CorrectTreatmentEnd
    PATH = _PATIENT
    model_config = examples({"ended_on": "2024-03-08", "ended_reason": "toxicity",
                             "reason": "end date typed wrong"})
    ended_on: Day
    ended_reason: EndReason
    reason: Reason


class EnrolmentHfCorrectionIn(Body):
    COMMAND = c.CorrectEnrolmentHf
    PATH = _PATIENT
    model_config = examples({"hf_id": "helse-fonna", "reason": "enrolled at Haugesund"})
    hf_id: Slug
    reason: Reason


class DispensationCorrectionIn(Body):
    COMMAND = c.CorrectDispensation
    PATH = _PATIENT
    model_config = examples({"dispensation": "patient/IMP-0042@3", "packs": 1,
                             "dispensed_on": "2023-06-12", "reason": "one pack returned"})
    dispensation: FactRef
    packs: Annotated[int, Count(0, 10_000, 1)]
    dispensed_on: Day
    reason: Reason


class GrantInvoiceIn(Body):
    COMMAND = c.InvoiceGrant
    PATH = _PATIENT
    model_config = examples({"invoice_ref": "SUS-2023-0815", "invoiced_on": "2023-07-01"})
    invoice_ref: ShortText
    invoiced_on: Day


class GrantPaymentIn(Body):
    COMMAND = c.RecordGrantPayment
    PATH = _PATIENT
    model_config = examples({"payment_ref": "AZ-PAY-4711",
                             "amount": {"amount": "50000.00", "currency": "NOK"},
                             "paid_on": "2023-08-01"})
    payment_ref: ShortText
    amount: MoneyIn
    paid_on: Day


BODIES: tuple[type[Body], ...] = tuple(
    cls for cls in list(globals().values())
    if isinstance(cls, type) and issubclass(cls, Body) and cls is not Body
)


def _import_args(body: type[Body]) -> type[Body]:
    """The `args` of an import line: the body's fields and the ids the URL path would carry."""
    fields: dict[str, Any] = {name: (kind, ...) for name, kind in body.PATH.items()}
    return create_model(f"{body.COMMAND.__name__}Args", __base__=body, **fields)


IMPORT_ARGS: dict[str, type[Body]] = {b.COMMAND.__name__: _import_args(b) for b in BODIES}
"""Command name (as in an import line's `command`) -> the schema of its `args`."""
