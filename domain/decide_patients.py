"""Patients: enrolment, treatment, transfer, assessment, dispensing, corrections and grants."""

from __future__ import annotations

from domain import checks
from domain import commands as c
from domain import errors as err
from domain import events as ev
from domain import state as st
from domain.values import EXPANSION, STAGE_LIMITS, DEFAULT_EXPANSION_SIZE
from domain.view import Facts, View


def enrol_patient(view: View, cmd: c.EnrolPatient) -> Facts:
    stream = f"patient/{checks.study_id(cmd.patient_id)}"
    existing = view.patient(cmd.patient_id)
    if existing.exists:
        raise err.AlreadyEnrolled(cmd.patient_id, existing.cohort_id)
    cohort = checks.cohort(view, cmd.cohort_id)
    if cohort.closed is not None:
        raise err.CohortClosed(cmd.cohort_id, cohort.closed.since)
    if cohort.opened_on and cmd.enrolled_on < cohort.opened_on:
        raise err.DateOutOfOrder("enrolment", cmd.enrolled_on, "the cohort's opening", cohort.opened_on)
    checks.trust(view, cmd.hf_id)
    stage = cohort.stage
    if stage == EXPANSION:
        limit = cohort.expansion_size or DEFAULT_EXPANSION_SIZE
        taken = cohort.count_in_stage(EXPANSION)
    else:
        limit = STAGE_LIMITS[stage]
        taken = sum(1 for _, s in cohort.admitted if s <= stage)
    if taken >= limit:
        raise err.StageFull(cmd.cohort_id, stage, limit)
    agreement = checks.agreement(view, cohort.agreement_id)
    slots = agreement.slots.get(cohort.drug_id)
    if slots is None:
        raise err.DrugNotContributed(cohort.agreement_id, cohort.drug_id)
    if agreement.used.get(cohort.drug_id, 0) >= slots.value:
        raise err.SlotsUsedUp(cohort.agreement_id, cohort.drug_id, slots.value)
    return [(
        stream,
        ev.PatientEnrolled(
            patient_id=cmd.patient_id,
            cohort_id=cmd.cohort_id,
            agreement_id=cohort.agreement_id,
            drug_id=cohort.drug_id,
            stage=stage,
            hf_id=cmd.hf_id,
            enrolled_on=cmd.enrolled_on,
        ),
    ), (
        f"cohort/{cmd.cohort_id}",
        ev.PatientAdmitted(
            cohort_id=cmd.cohort_id, patient_id=cmd.patient_id, stage=stage, enrolled_on=cmd.enrolled_on
        ),
    ), (
        f"agreement/{cohort.agreement_id}",
        ev.PatientSlotUsed(
            agreement_id=cohort.agreement_id,
            drug_id=cohort.drug_id,
            patient_id=cmd.patient_id,
            cohort_id=cmd.cohort_id,
            enrolled_on=cmd.enrolled_on,
        ),
    )]


def start_treatment(view: View, cmd: c.StartTreatment) -> Facts:
    p = checks.patient(view, cmd.patient_id)
    if p.started is not None:
        raise err.TreatmentAlreadyStarted(p.patient_id, p.started.since)
    _start_after_enrolment(p, cmd)
    return [(_s(p), ev.TreatmentStarted(patient_id=p.patient_id, started_on=cmd.started_on))]


def _start_after_enrolment(p: st.Patient, cmd: c.StartTreatment | c.CorrectTreatmentStart) -> None:
    assert p.enrolled_on is not None
    if cmd.started_on < p.enrolled_on:
        raise err.StartBeforeEnrolment(cmd.started_on, p.enrolled_on)
    if p.ended is not None and p.ended.ended_on < cmd.started_on:
        raise err.EndBeforeStart(p.ended.ended_on, cmd.started_on)
    if p.assessment is not None and p.assessment.assessed_on < cmd.started_on:
        raise err.AssessmentBeforeStart(p.assessment.assessed_on, cmd.started_on)


def transfer_patient(view: View, cmd: c.TransferPatient) -> Facts:
    p = checks.patient(view, cmd.patient_id)
    checks.trust(view, cmd.to_hf)
    if cmd.to_hf == p.hf_id:
        raise err.SameHealthTrust(p.patient_id, cmd.to_hf)
    last = p.hf_periods[-1]
    if cmd.effective_from <= last.since:
        raise err.DateOutOfOrder(
            "the transfer", cmd.effective_from, "the patient's last change of health trust", last.since
        )
    if p.ended is not None and cmd.effective_from > p.ended.ended_on:
        raise err.TreatmentAlreadyEnded(p.patient_id, p.ended.ended_on)
    return [(
        _s(p),
        ev.PatientTransferred(
            patient_id=p.patient_id, from_hf=p.hf_id, to_hf=cmd.to_hf, effective_from=cmd.effective_from
        ),
    )]


def record_assessment(view: View, cmd: c.RecordAssessment) -> Facts:
    p = checks.patient(view, cmd.patient_id)
    started = checks.started(p)
    if p.assessment is not None:
        raise err.AssessmentAlreadyRecorded(p.patient_id)
    if cmd.assessed_on < started.since:
        raise err.AssessmentBeforeStart(cmd.assessed_on, started.since)
    return [(
        _s(p),
        ev.AssessmentRecorded(patient_id=p.patient_id, assessed_on=cmd.assessed_on, outcome=cmd.outcome),
    )]


def end_treatment(view: View, cmd: c.EndTreatment) -> Facts:
    p = checks.patient(view, cmd.patient_id)
    started = checks.started(p)
    if p.ended is not None:
        raise err.TreatmentAlreadyEnded(p.patient_id, p.ended.ended_on)
    if cmd.ended_on < started.since:
        raise err.EndBeforeStart(cmd.ended_on, started.since)
    return [(_s(p), ev.TreatmentEnded(patient_id=p.patient_id, ended_on=cmd.ended_on,
                                      reason=cmd.reason))]


def dispense_drug(view: View, cmd: c.DispenseDrug) -> Facts:
    p = checks.patient(view, cmd.patient_id)
    checks.at_least("packs dispensed", cmd.packs, 1)
    assert p.enrolled_on is not None
    if cmd.dispensed_on < p.enrolled_on:
        raise err.DateOutOfOrder("the dispensation", cmd.dispensed_on, "enrolment", p.enrolled_on)
    return [(
        _s(p),
        ev.DrugDispensed(
            patient_id=p.patient_id, drug_id=p.drug_id, packs=cmd.packs, dispensed_on=cmd.dispensed_on
        ),
    )]


# --- corrections ----------------------------------------------------------------------------


def correct_treatment_start(view: View, cmd: c.CorrectTreatmentStart) -> Facts:
    p = checks.patient(view, cmd.patient_id)
    started = checks.started(p)
    reason = checks.reason("the correction", cmd.reason)
    if cmd.started_on == started.since:
        raise err.NothingToCorrect("the treatment start")
    _start_after_enrolment(p, cmd)
    return [(
        _s(p),
        ev.TreatmentStartCorrected(
            patient_id=p.patient_id, started_on=cmd.started_on, corrects=started.ref, reason=reason
        ),
    )]


def correct_assessment(view: View, cmd: c.CorrectAssessment) -> Facts:
    p = checks.patient(view, cmd.patient_id)
    started = checks.started(p)
    reason = checks.reason("the correction", cmd.reason)
    if p.assessment is None:
        raise err.NoAssessment(p.patient_id)
    if (cmd.assessed_on, cmd.outcome) == (p.assessment.assessed_on, p.assessment.outcome):
        raise err.NothingToCorrect("the 16-week assessment")
    if cmd.assessed_on < started.since:
        raise err.AssessmentBeforeStart(cmd.assessed_on, started.since)
    return [(
        _s(p),
        ev.AssessmentCorrected(
            patient_id=p.patient_id,
            assessed_on=cmd.assessed_on,
            outcome=cmd.outcome,
            corrects=p.assessment.ref,
            reason=reason,
        ),
    )]


def correct_treatment_end(view: View, cmd: c.CorrectTreatmentEnd) -> Facts:
    p = checks.patient(view, cmd.patient_id)
    started = checks.started(p)
    reason = checks.reason("the correction", cmd.reason)
    if p.ended is None:
        raise err.TreatmentNotEnded(p.patient_id)
    if (cmd.ended_on, cmd.ended_reason) == (p.ended.ended_on, p.ended.reason):
        raise err.NothingToCorrect("the end of treatment")
    if cmd.ended_on < started.since:
        raise err.EndBeforeStart(cmd.ended_on, started.since)
    return [(
        _s(p),
        ev.TreatmentEndCorrected(
            patient_id=p.patient_id,
            ended_on=cmd.ended_on,
            ended_reason=cmd.ended_reason,
            corrects=p.ended.ref,
            reason=reason,
        ),
    )]


def correct_enrolment_hf(view: View, cmd: c.CorrectEnrolmentHf) -> Facts:
    p = checks.patient(view, cmd.patient_id)
    reason = checks.reason("the correction", cmd.reason)
    checks.trust(view, cmd.hf_id)
    first = p.hf_periods[0]
    if cmd.hf_id == first.value:
        raise err.NothingToCorrect("the enrolling health trust")
    assert p.enrolled_on is not None and p.ref is not None
    return [(
        _s(p),
        ev.EnrolmentHfCorrected(
            patient_id=p.patient_id,
            hf_id=cmd.hf_id,
            enrolled_on=p.enrolled_on,
            corrects=p.ref,
            reason=reason,
        ),
    )]


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
    assert p.enrolled_on is not None
    if cmd.dispensed_on < p.enrolled_on:
        raise err.DateOutOfOrder("the dispensation", cmd.dispensed_on, "enrolment", p.enrolled_on)
    return [(
        _s(p),
        ev.DispensationCorrected(
            patient_id=p.patient_id,
            packs=cmd.packs,
            dispensed_on=cmd.dispensed_on,
            corrects=found.ref,
            reason=reason,
        ),
    )]


# --- grants ---------------------------------------------------------------------------------


def invoice_grant(view: View, cmd: c.InvoiceGrant) -> Facts:
    p = checks.patient(view, cmd.patient_id)
    if p.grant is None:
        raise err.GrantNotCommitted(p.patient_id)
    if p.grant.invoices:
        raise err.GrantAlreadyInvoiced(p.patient_id, p.grant.invoices[0].invoice_ref)
    checks.text("invoice reference", cmd.invoice_ref, limit=100)
    if cmd.invoiced_on < p.grant.due_from:
        raise err.DateOutOfOrder("the invoice", cmd.invoiced_on, "the grant's due date", p.grant.due_from)
    return [(
        _s(p),
        ev.GrantInvoiced(
            patient_id=p.patient_id,
            invoice_ref=cmd.invoice_ref,
            amount=p.grant.amount,
            invoiced_on=cmd.invoiced_on,
        ),
    )]


def record_grant_payment(view: View, cmd: c.RecordGrantPayment) -> Facts:
    p = checks.patient(view, cmd.patient_id)
    if p.grant is None:
        raise err.GrantNotCommitted(p.patient_id)
    if not p.grant.invoices:
        raise err.GrantNotInvoiced(p.patient_id)
    checks.text("payment reference", cmd.payment_ref, limit=100)
    if any(x.payment_ref == cmd.payment_ref for x in p.grant.payments):
        raise err.AlreadyRecorded("payment", cmd.payment_ref)
    if cmd.amount.currency != p.grant.amount.currency:
        raise err.CurrencyDiffers(p.grant.amount.currency, cmd.amount.currency)
    if cmd.amount.amount <= 0:
        raise err.InvalidInput("a payment must be more than zero")
    outstanding = p.grant.outstanding
    if cmd.amount.amount > outstanding.amount:
        raise err.Overpayment(p.patient_id, f"{outstanding.amount} {outstanding.currency}")
    invoiced_on = p.grant.invoices[0].invoiced_on
    if cmd.paid_on < invoiced_on:
        raise err.DateOutOfOrder("the payment", cmd.paid_on, "the invoice", invoiced_on)
    return [(
        _s(p),
        ev.GrantPaid(
            patient_id=p.patient_id, payment_ref=cmd.payment_ref, amount=cmd.amount, paid_on=cmd.paid_on
        ),
    )]


def _s(p: st.Patient) -> str:
    return f"patient/{p.patient_id}"
