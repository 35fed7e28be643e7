"""The trial office's recording forms: one per command, each field the request body's own (the
API's pydantic schema validates a form exactly as it validates JSON), and where a refusal of the
ledger belongs on the form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from api.schemas import requests as rq
from domain import errors as err
from domain.values import EndReason, Outcome
from web.i18n import N_

OUTCOMES = tuple((o.value, label) for o, label in (
    (Outcome.OBJECTIVE_RESPONSE, N_("Objective response")),
    (Outcome.STABLE_DISEASE, N_("Stable disease")),
    (Outcome.PROGRESSIVE_DISEASE, N_("Progressive disease")),
    (Outcome.NOT_EVALUABLE, N_("Not evaluable"))))
END_REASONS = tuple((r.value, label) for r, label in (
    (EndReason.PROGRESSION, N_("Progression")), (EndReason.TOXICITY, N_("Toxicity")),
    (EndReason.PATIENT_CHOICE, N_("Patient's choice")), (EndReason.DEATH, N_("Death")),
    (EndReason.COMPLETED, N_("Completed")), (EndReason.OTHER, N_("Other reason"))))


@dataclass(frozen=True)
class Field:
    name: str
    label: str  # a msgid
    kind: str = "text"  # text | date | number | select | textarea
    choices: tuple[tuple[str, str], ...] | str = ()  # or the name of a list the page fills in
    help: str | None = None  # a msgid


@dataclass(frozen=True)
class RecordForm:
    slug: str
    title: str  # a msgid
    body: type[rq.Body]
    fields: tuple[Field, ...]

    @property
    def for_patient(self) -> bool:
        return "patient_id" in self.body.PATH

    def field_of(self, refusal: err.Refused) -> str | None:
        """The field a refusal belongs to, if the form has it."""
        names = [f.name for f in self.fields]
        for kinds, candidates in REFUSAL_FIELDS:
            if isinstance(refusal, kinds):
                found = next((n for n in candidates if n in names), None)
                if found:
                    return found
        if isinstance(refusal, DATED):
            return next((f.name for f in self.fields if f.kind == "date"), None)
        return None

    def body_of(self, form: Mapping[str, Any]) -> rq.Body:
        """The request body from the form's text (raises pydantic's ValidationError)."""
        values: dict[str, Any] = {}
        for f in self.fields:
            text = str(form.get(f.name, "")).strip()
            if text:  # the schemas are strict, as for JSON: a number field's text is a number
                values[f.name] = int(text) if f.kind == "number" and text.isdigit() else text
        return self.body.model_validate(values)


REASON = Field("reason", N_("Reason for the correction"), "textarea",
               help=N_("Say why the recorded fact was wrong; the wrong fact stays in history."))
DATED = (err.DateBefore, err.TreatmentAlreadyStarted, err.TreatmentNotStarted,
         err.TreatmentAlreadyEnded, err.TreatmentNotEnded, err.AssessmentAlreadyRecorded,
         err.NoAssessment, err.NothingToCorrect)
REFUSAL_FIELDS: tuple[tuple[type[err.Refused] | tuple[type[err.Refused], ...],
                            tuple[str, ...]], ...] = (
    ((err.UnknownPatient, err.AlreadyEnrolled, err.InvalidStudyId), ("patient_id",)),
    ((err.UnknownCohort, err.CohortClosed, err.StageFull, err.SlotsUsedUp), ("cohort_id",)),
    ((err.UnknownHealthTrust, err.SameHealthTrust), ("to_hf", "hf_id")),
    ((err.ReasonRequired,), ("reason",)),
    ((err.InvalidQuantity,), ("packs",)),
    ((err.UnknownDispensation, err.DispensationVoided), ("dispensation",)),
)

FORMS: dict[str, RecordForm] = {f.slug: f for f in (
    RecordForm("enrolment", N_("Enrolment"), rq.EnrolmentIn, (
        Field("patient_id", N_("Study ID"), help=N_("The pseudonymous study ID, e.g. IMP-0042; "
                                                    "never a national identity number.")),
        Field("cohort_id", N_("Cohort"), "select", "cohorts"),
        Field("hf_id", N_("Health trust (HF)"), "select", "trusts"),
        Field("enrolled_on", N_("Enrolled on"), "date"))),
    RecordForm("start", N_("Treatment start"), rq.TreatmentStartIn, (
        Field("started_on", N_("Started on"), "date"),)),
    RecordForm("assessment", N_("16-week assessment"), rq.AssessmentIn, (
        Field("assessed_on", N_("Assessed on"), "date"),
        Field("outcome", N_("Outcome"), "select", OUTCOMES))),
    RecordForm("dispensation", N_("Dispensation"), rq.DispensationIn, (
        Field("packs", N_("Packs"), "number"),
        Field("dispensed_on", N_("Dispensed on"), "date"))),
    RecordForm("end", N_("End of treatment"), rq.TreatmentEndIn, (
        Field("ended_on", N_("Ended on"), "date"),
        Field("reason", N_("Why treatment ended"), "select", END_REASONS))),
    RecordForm("transfer", N_("Transfer to another health trust"), rq.TransferIn, (
        Field("to_hf", N_("To the health trust (HF)"), "select", "trusts"),
        Field("effective_from", N_("Treated there from"), "date"))),
    RecordForm("start-correction", N_("Correct the treatment start"),
               rq.TreatmentStartCorrectionIn, (
                   Field("started_on", N_("Started on"), "date"), REASON)),
    RecordForm("assessment-correction", N_("Correct the 16-week assessment"),
               rq.AssessmentCorrectionIn, (
                   Field("assessed_on", N_("Assessed on"), "date"),
                   Field("outcome", N_("Outcome"), "select", OUTCOMES), REASON)),
    RecordForm("end-correction", N_("Correct the end of treatment"),
               rq.TreatmentEndCorrectionIn, (
                   Field("ended_on", N_("Ended on"), "date"),
                   Field("ended_reason", N_("Why treatment ended"), "select", END_REASONS),
                   REASON)),
    RecordForm("hf-correction", N_("Correct the health trust of enrolment"),
               rq.EnrolmentHfCorrectionIn, (
                   Field("hf_id", N_("Health trust (HF)"), "select", "trusts"), REASON)),
    RecordForm("dispensation-correction", N_("Correct a dispensation"),
               rq.DispensationCorrectionIn, (
                   Field("dispensation", N_("Dispensation"), "select", "dispensations"),
                   Field("packs", N_("Packs"), "number", help=N_("0 voids the dispensation.")),
                   Field("dispensed_on", N_("Dispensed on"), "date"), REASON)),
)}


def field_errors(form: RecordForm, error: ValidationError) -> dict[str, str]:
    """pydantic's messages by field (never the input: it may hold what must not be echoed)."""
    out: dict[str, str] = {}
    names = {f.name for f in form.fields}
    for e in error.errors(include_input=False, include_url=False):
        loc = [str(p) for p in e.get("loc", ())]
        name = next((p for p in loc if p in names), "")
        out.setdefault(name, str(e.get("msg", "")))
    return out
