"""Patients: enrolment, treatment, transfer, assessment, dispensing and corrections.

Every fact is judged against the world on its own date, as known when it is recorded (ADR 0014):
the cohort's stage and places on the enrolment date, the agreement's slots in force then, and a
treatment period that holds its start, assessment, dispensations, transfers and end in order
whatever order they are recorded in. A fact about something that has happened may not be dated
after the day it is recorded.
"""

from __future__ import annotations

from datetime import date

from domain import checks
from domain import commands as c
from domain import errors as err
from domain import events as ev
from domain import state as st
from domain.values import DEFAULT_EXPANSION_SIZE, EXPANSION, STAGE_LIMITS
from domain.view import Facts, View, agreement_stream, cohort_stream, patient_stream


def enrol_patient(view: View, cmd: c.EnrolPatient) -> Facts:
    stream = patient_stream(checks.study_id(cmd.patient_id))
    existing = view.patient(cmd.patient_id)
    if existing.exists:
        raise err.AlreadyEnrolled(cmd.patient_id, existing.cohort_id)
    cohort = checks.cohort(view, cmd.cohort_id)
    on = checks.happened(view, "the enrolment", cmd.enrolled_on)
    if cohort.opened_on and on < cohort.opened_on:
        raise err.DateOutOfOrder("the enrolment", on, "the cohort's opening", cohort.opened_on)
    if cohort.closed is not None and on >= cohort.closed.since:
        raise err.CohortClosed(cmd.cohort_id, cohort.closed.since, "the enrolment", on)
    checks.trust(view, cmd.hf_id)
    term = cohort.stage_on(on)
    assert term is not None  # on or after the opening
    _ensure_place(cohort, term.stage, on)
    agreement = checks.agreement(view, cohort.agreement_id)
    checks.slot_for(agreement, cohort.drug_id, on)
    return [
        (stream, ev.PatientEnrolled(
            patient_id=cmd.patient_id, cohort_id=cmd.cohort_id, agreement_id=cohort.agreement_id,
            drug_id=cohort.drug_id, stage=term.stage, hf_id=cmd.hf_id, enrolled_on=on)),
        (cohort_stream(cmd.cohort_id), ev.PatientAdmitted(
            cohort_id=cmd.cohort_id, patient_id=cmd.patient_id, stage=term.stage, enrolled_on=on)),
        (agreement_stream(cohort.agreement_id), ev.PatientSlotUsed(
            agreement_id=cohort.agreement_id, drug_id=cohort.drug_id, patient_id=cmd.patient_id,
            cohort_id=cmd.cohort_id, enrolled_on=on)),
    ]


def _ensure_place(cohort: st.Cohort, stage: int, on: date) -> None:
    """The patients of a stage are those enrolled while the cohort was in it (their recorded
    stage); a stage holds 8, stages 1 and 2 together 24, an expansion cohort its agreed size."""
    if stage == EXPANSION:
        limit = cohort.expansion_size or DEFAULT_EXPANSION_SIZE
        stages: range | tuple[int] = (EXPANSION,)
    else:
        limit = STAGE_LIMITS[stage]
        stages = range(stage + 1)  # this stage and those before
    if cohort.admissions.count_in(stages) >= limit:
        raise err.StageFull(cohort.cohort_id, stage, limit, on,
                            [f"{a.patient_id} ({a.enrolled_on})"
                             for a in cohort.admissions.in_stages(stages)],
                            cohort.next_stage_change(on))


def start_treatment(view: View, cmd: c.StartTreatment) -> Facts:
    p = checks.patient(view, cmd.patient_id)
    if p.started is not None:
        raise err.TreatmentAlreadyStarted(p.patient_id, p.started.since)
    _start_fits(p, checks.happened(view, "the treatment start", cmd.started_on))
    return [(_s(p), ev.TreatmentStarted(patient_id=p.patient_id, started_on=cmd.started_on))]


def _start_fits(p: st.Patient, on: date) -> None:
    """A start comes after the enrolment and before everything that happens on treatment."""
    assert p.enrolled_on is not None
    if on < p.enrolled_on:
        raise err.StartBeforeEnrolment(on, p.enrolled_on)
    if p.ended is not None and p.ended.ended_on < on:
        raise err.EndBeforeStart(p.ended.ended_on, on)
    if p.assessment is not None and p.assessment.assessed_on < on:
        raise err.AssessmentBeforeStart(p.assessment.assessed_on, on)
    first = min((d.dispensed_on for d in _dispensed(p)), default=None)
    if first is not None and first < on:
        raise err.StartAfterDispensation(on, first)


def _end_fits(p: st.Patient, started: st.Dated[None], on: date) -> None:
    """An end comes after everything that happened on treatment."""
    if on < started.since:
        raise err.EndBeforeStart(on, started.since)
    if p.assessment is not None and on < p.assessment.assessed_on:
        raise err.EndBeforeAssessment(on, p.assessment.assessed_on)
    last = max((d.dispensed_on for d in _dispensed(p)), default=None)
    if last is not None and on < last:
        raise err.EndBeforeDispensation(on, last)
    moved = p.hf_periods[-1].since if len(p.hf_periods) > 1 else None
    if moved is not None and on < moved:
        raise err.EndBeforeTransfer(on, moved)


def _on_treatment(p: st.Patient, on: date, *, assessment: bool) -> None:
    """An assessment or a dispensation lies within the treatment period."""
    started = checks.started(p)
    if on < started.since:
        raise (err.AssessmentBeforeStart if assessment else err.DispensationBeforeStart)(
            on, started.since)
    if p.ended is not None and on > p.ended.ended_on:
        raise (err.AssessmentAfterEnd if assessment else err.DispensationAfterEnd)(
            on, p.ended.ended_on)


def _dispensed(p: st.Patient) -> list[st.Dispensation]:
    return [d for d in p.dispensations if d.packs > 0]


def transfer_patient(view: View, cmd: c.TransferPatient) -> Facts:
    p = checks.patient(view, cmd.patient_id)
    checks.trust(view, cmd.to_hf)
    if cmd.to_hf == p.hf_id:
        raise err.SameHealthTrust(p.patient_id, cmd.to_hf)
    on = checks.happened(view, "the transfer", cmd.effective_from)
    last = p.hf_periods[-1]
    if on <= last.since:
        raise err.DateOutOfOrder(
            "the transfer", on, "the day after the patient's last change of health trust",
            last.since)
    if p.ended is not None and on > p.ended.ended_on:
        raise err.TreatmentAlreadyEnded(p.patient_id, p.ended.ended_on)
    return [(_s(p), ev.PatientTransferred(patient_id=p.patient_id, from_hf=p.hf_id,
                                          to_hf=cmd.to_hf, effective_from=on))]


def record_assessment(view: View, cmd: c.RecordAssessment) -> Facts:
    p = checks.patient(view, cmd.patient_id)
    checks.started(p)
    if p.assessment is not None:
        raise err.AssessmentAlreadyRecorded(p.patient_id)
    on = checks.happened(view, "the 16-week assessment", cmd.assessed_on)
    _on_treatment(p, on, assessment=True)
    return [(_s(p), ev.AssessmentRecorded(patient_id=p.patient_id, assessed_on=on,
                                          outcome=cmd.outcome))]


def end_treatment(view: View, cmd: c.EndTreatment) -> Facts:
    p = checks.patient(view, cmd.patient_id)
    started = checks.started(p)
    if p.ended is not None:
        raise err.TreatmentAlreadyEnded(p.patient_id, p.ended.ended_on)
    on = checks.happened(view, "the end of treatment", cmd.ended_on)
    _end_fits(p, started, on)
    return [(_s(p), ev.TreatmentEnded(patient_id=p.patient_id, ended_on=on, reason=cmd.reason))]


def dispense_drug(view: View, cmd: c.DispenseDrug) -> Facts:
    p = checks.patient(view, cmd.patient_id)
    checks.at_least("packs dispensed", cmd.packs, 1)
    on = checks.happened(view, "the dispensation", cmd.dispensed_on)
    _on_treatment(p, on, assessment=False)
    return [(_s(p), ev.DrugDispensed(patient_id=p.patient_id, drug_id=p.drug_id,
                                     packs=cmd.packs, dispensed_on=on))]


# --- corrections ----------------------------------------------------------------------------


def correct_treatment_start(view: View, cmd: c.CorrectTreatmentStart) -> Facts:
    p = checks.patient(view, cmd.patient_id)
    started = checks.started(p)
    reason = checks.reason("the correction", cmd.reason)
    if cmd.started_on == started.since:
        raise err.NothingToCorrect("the treatment start")
    _start_fits(p, checks.happened(view, "the treatment start", cmd.started_on))
    return [(_s(p), ev.TreatmentStartCorrected(
        patient_id=p.patient_id, started_on=cmd.started_on, corrects=started.ref, reason=reason))]


def correct_assessment(view: View, cmd: c.CorrectAssessment) -> Facts:
    p = checks.patient(view, cmd.patient_id)
    checks.started(p)
    reason = checks.reason("the correction", cmd.reason)
    if p.assessment is None:
        raise err.NoAssessment(p.patient_id)
    if (cmd.assessed_on, cmd.outcome) == (p.assessment.assessed_on, p.assessment.outcome):
        raise err.NothingToCorrect("the 16-week assessment")
    on = checks.happened(view, "the 16-week assessment", cmd.assessed_on)
    _on_treatment(p, on, assessment=True)
    return [(_s(p), ev.AssessmentCorrected(
        patient_id=p.patient_id, assessed_on=on, outcome=cmd.outcome,
        corrects=p.assessment.ref, reason=reason))]


def correct_treatment_end(view: View, cmd: c.CorrectTreatmentEnd) -> Facts:
    p = checks.patient(view, cmd.patient_id)
    started = checks.started(p)
    reason = checks.reason("the correction", cmd.reason)
    if p.ended is None:
        raise err.TreatmentNotEnded(p.patient_id)
    if (cmd.ended_on, cmd.ended_reason) == (p.ended.ended_on, p.ended.reason):
        raise err.NothingToCorrect("the end of treatment")
    on = checks.happened(view, "the end of treatment", cmd.ended_on)
    _end_fits(p, started, on)
    return [(_s(p), ev.TreatmentEndCorrected(
        patient_id=p.patient_id, ended_on=on, ended_reason=cmd.ended_reason,
        corrects=p.ended.ref, reason=reason))]


def correct_enrolment_hf(view: View, cmd: c.CorrectEnrolmentHf) -> Facts:
    p = checks.patient(view, cmd.patient_id)
    reason = checks.reason("the correction", cmd.reason)
    checks.trust(view, cmd.hf_id)
    first = p.hf_periods[0]
    if cmd.hf_id == first.value:
        raise err.NothingToCorrect("the enrolling health trust")
    assert p.enrolled_on is not None and p.ref is not None
    return [(_s(p), ev.EnrolmentHfCorrected(
        patient_id=p.patient_id, hf_id=cmd.hf_id, enrolled_on=p.enrolled_on, corrects=p.ref,
        reason=reason))]


def correct_dispensation(view: View, cmd: c.CorrectDispensation) -> Facts:
    p = checks.patient(view, cmd.patient_id)
    reason = checks.reason("the correction", cmd.reason)
    found = next((d for d in p.dispensations if d.ref == cmd.dispensation), None)
    if found is None:
        raise err.UnknownDispensation(cmd.dispensation)
    if found.packs == 0:
        raise err.DispensationVoided(cmd.dispensation)
    checks.at_least("packs dispensed", cmd.packs, 0)
    if (cmd.packs, cmd.dispensed_on) == (found.packs, found.dispensed_on):
        raise err.NothingToCorrect("the dispensation")
    on = checks.happened(view, "the dispensation", cmd.dispensed_on)
    if cmd.packs > 0:  # a voided dispensation (0 packs) lies nowhere
        _on_treatment(p, on, assessment=False)
    return [(_s(p), ev.DispensationCorrected(
        patient_id=p.patient_id, packs=cmd.packs, dispensed_on=on, corrects=found.ref,
        reason=reason))]


def _s(p: st.Patient) -> str:
    return patient_stream(p.patient_id)
