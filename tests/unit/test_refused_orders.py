"""The orders in which a valid history is legitimately refused (ADR 0014, "Orders"): a fact that
needs another one recorded first. These are the prerequisites tests/late_histories.py keeps;
every other order of a valid history is accepted and ends in the same answers
(test_order_independence.py).
"""

from __future__ import annotations

import pytest

from domain import commands as c
from domain import errors as err
from domain.values import EXPANSION, EndReason, Outcome
from tests.support import Book, d, enrol, fill_stage, nok, refused, stage_book

PID = "IMP-0001"
COHORT = "lynparza-prostate"


def started() -> Book:
    book = stage_book()
    enrol(book, PID, cohort=COHORT, hf="ous", on="2021-04-01", start="2021-04-12")
    return book


@pytest.mark.parametrize("command, refusal", [
    (c.CorrectTreatmentStart(patient_id=PID, started_on=d("2021-04-13"), reason="x"),
     err.TreatmentNotStarted),
    (c.CorrectAssessment(patient_id=PID, assessed_on=d("2021-08-01"),
                         outcome=Outcome.STABLE_DISEASE, reason="x"), err.NoAssessment),
    (c.CorrectTreatmentEnd(patient_id=PID, ended_on=d("2021-09-01"),
                           ended_reason=EndReason.DEATH, reason="x"), err.TreatmentNotEnded),
], ids=["start", "assessment", "end"])
def test_a_correction_needs_the_fact_it_corrects_recorded_first(
        command: c.Command, refusal: type[err.Refused]) -> None:
    book = stage_book()
    start = None if isinstance(command, c.CorrectTreatmentStart) else "2021-04-12"
    enrol(book, PID, cohort=COHORT, on="2021-04-01", start=start)
    refused(book, command, refusal)


def test_a_dispensation_correction_names_a_dispensation_already_recorded() -> None:
    refused(started(), c.CorrectDispensation(patient_id=PID, dispensation=f"patient/{PID}@9",
                                             packs=1, dispensed_on=d("2021-05-01"), reason="x"),
            err.UnknownDispensation)


@pytest.mark.parametrize("command", [
    c.RecordAssessment(patient_id=PID, assessed_on=d("2021-08-01"), outcome=Outcome.STABLE_DISEASE),
    c.EndTreatment(patient_id=PID, ended_on=d("2021-09-01"), reason=EndReason.DEATH),
    c.DispenseDrug(patient_id=PID, packs=1, dispensed_on=d("2021-05-01")),
], ids=["assessment", "end", "dispensation"])
def test_what_happens_on_treatment_needs_the_treatment_start_recorded_first(
        command: c.Command) -> None:
    # the treatment period bounds them: without a start there is no period to judge them by
    book = stage_book()
    enrol(book, PID, cohort=COHORT, on="2021-04-01", start=None)
    refused(book, command, err.TreatmentNotStarted)


def test_a_patients_facts_need_the_enrolment_recorded_first() -> None:
    refused(stage_book(), c.StartTreatment(patient_id=PID, started_on=d("2021-04-12")),
            err.UnknownPatient)


def test_transfers_are_recorded_in_the_order_they_happen() -> None:
    # a transfer records the trust the patient came from: an earlier one typed later would
    # make that wrong, so it is refused and the later transfer must be corrected first
    book = started()
    book.run(c.TransferPatient(patient_id=PID, to_hf="unn", effective_from=d("2021-07-01")))
    refused(book, c.TransferPatient(patient_id=PID, to_hf="ahus", effective_from=d("2021-06-01")),
            err.DateOutOfOrder)


def test_an_enrolment_after_a_stage_decision_needs_the_decision_recorded_first() -> None:
    # recorded before the decision it is judged in the earlier stage (a stage 1 patient, with
    # stage 1 money); the decision then refuses to re-stage it, naming it
    book = stage_book()
    enrol(book, "IMP-0002", cohort=COHORT, on="2021-07-01", start=None)
    refused(book, c.AdvanceStage(cohort_id=COHORT, to_stage=EXPANSION, decided_on=d("2021-06-01"),
                                 evidence_ref="DRUP"), err.StageDecisionBeforeEnrolments)


def test_a_stage_decision_by_the_rule_needs_its_patients_and_their_assessments_first() -> None:
    book = stage_book()
    ids = fill_stage(book, [None] * 8)
    refused(book, c.AdvanceStage(cohort_id=COHORT, to_stage=2, decided_on=d("2021-09-01")),
            err.StageRuleNotMet)
    book.run(c.RecordAssessment(patient_id=ids[0], assessed_on=d("2021-08-02"),
                                outcome=Outcome.STABLE_DISEASE))
    book.run(c.AdvanceStage(cohort_id=COHORT, to_stage=2, decided_on=d("2021-09-01")))


def test_grant_papers_need_the_grant_and_its_invoice_first() -> None:
    book = stage_book()
    enrol(book, PID, cohort=COHORT, on="2021-04-01", start=None)
    refused(book, c.InvoiceGrant(patient_id=PID, invoice_ref="INV-1", invoiced_on=d("2021-05-01")),
            err.GrantNotCommitted)
    book.run(c.StartTreatment(patient_id=PID, started_on=d("2021-04-12")))
    refused(book, c.RecordGrantPayment(patient_id=PID, payment_ref="PAY-1", amount=nok(50000),
                                       paid_on=d("2021-06-01")), err.GrantNotInvoiced)


def test_an_invoice_is_for_the_grant_as_known_when_it_is_issued() -> None:
    # Not refused, but what was known shows: invoiced before a late amendment of the grant,
    # the difference is invoiced separately; after it, in one invoice. The grant is the same.
    early, late = stage_book(), stage_book()
    for book in (early, late):
        enrol(book, PID, cohort=COHORT, on="2021-04-01", start="2021-04-12")
    raise_grant = c.AmendAgreement(agreement_id="nordlys-impress", effective_from=d("2021-01-01"),
                                   reason="grant raised", grant_per_patient=nok(60000))
    invoice = c.InvoiceGrant(patient_id=PID, invoice_ref="INV-1", invoiced_on=d("2021-05-01"))
    early.run(invoice)
    early.run(raise_grant)
    late.run(raise_grant)
    late.run(invoice)
    first, second = early.case(PID).patient.grant, late.case(PID).patient.grant
    assert first is not None and second is not None
    assert (first.amount, first.invoiced, first.to_invoice) == (nok(60000), nok(50000), nok(10000))
    assert (second.amount, second.invoiced, second.to_invoice) == (nok(60000), nok(60000), nok(0))


def test_a_revocation_needs_its_exemption_recorded_first() -> None:
    refused(stage_book(), c.RevokeGroupExemption(cohort_id=COHORT, exemption_ref="BF-1",
                                                 effective_from=d("2022-01-01"), reason="x"),
            err.UnknownExemption)
