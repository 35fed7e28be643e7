"""Patients: enrolment, treatment start and end, transfers, 16-week assessments, dispensing, and
the data-protection rule (study IDs only, never a national identity number)."""

from __future__ import annotations

import pytest

from domain import commands as c
from domain import errors as err
from domain import events as ev
from domain.values import EndReason, Outcome
from tests.support import (
    Book,
    d,
    enrol,
    expansion_book,
    refused,
)

PID = "IMP-0042"


def started_book(start: str | None = "2023-06-12") -> Book:
    book = expansion_book()
    enrol(book, PID, on="2023-06-01", start=start)
    return book


def fodselsnummer(birth: str = "010170", individual: int = 123, d_number: bool = False) -> str:
    """A syntactically valid national identity number, check digits computed as the brief says
    (k1 and k2 by mod 11; 10 is invalid, so try the next individual number)."""
    if d_number:
        birth = str(int(birth[0]) + 4) + birth[1:]
    for n in range(individual, 1000):
        digits = [int(x) for x in f"{birth}{n:03d}"]
        k1 = (11 - sum(w * x for w, x in zip((3, 7, 6, 1, 8, 9, 4, 5, 2), digits)) % 11) % 11
        if k1 == 10:
            continue
        digits.append(k1)
        k2 = (11 - sum(w * x for w, x in zip((5, 4, 3, 2, 7, 6, 5, 4, 3, 2), digits)) % 11) % 11
        if k2 != 10:
            return "".join(map(str, digits + [k2]))
    raise AssertionError("no valid number")


# --- enrolment ------------------------------------------------------------------------------


def test_enrolment_admits_the_patient_and_uses_one_of_the_agreements_slots() -> None:
    book = expansion_book()
    facts = book.run(c.EnrolPatient(patient_id=PID, cohort_id="olaparib-brca",
                                    hf_id="helse-stavanger", enrolled_on=d("2023-06-01")))
    assert [f.type for f in facts] == ["PatientEnrolled", "PatientAdmitted", "PatientSlotUsed"]
    enrolled = facts[0]
    assert (enrolled.stage, enrolled.drug_id, enrolled.agreement_id, enrolled.hf_id) == (
        3, "lynparza", "nordlys-impress", "helse-stavanger")


@pytest.mark.parametrize("bad", ["P1", "IMP-42", "imp-0042", "IMP-0042 ", "Kari Nordmann"])
def test_enrolment_refused_without_a_pseudonymous_study_id(bad: str) -> None:
    refused(expansion_book(), c.EnrolPatient(patient_id=bad, cohort_id="olaparib-brca",
                                             hf_id="ous", enrolled_on=d("2023-06-01")),
            err.InvalidStudyId)


def test_commands_on_a_malformed_study_id_are_refused() -> None:
    refused(started_book(), c.StartTreatment(patient_id="42", started_on=d("2023-06-12")),
            err.InvalidStudyId)


def test_a_patient_enrolled_twice_is_refused() -> None:
    refused(started_book(), c.EnrolPatient(patient_id=PID, cohort_id="olaparib-brca",
                                           hf_id="ous", enrolled_on=d("2023-07-01")),
            err.AlreadyEnrolled)


def test_enrolment_at_an_unknown_health_trust_is_refused() -> None:
    refused(expansion_book(), c.EnrolPatient(patient_id=PID, cohort_id="olaparib-brca",
                                             hf_id="rikshospitalet", enrolled_on=d("2023-06-01")),
            err.UnknownHealthTrust)


def test_commands_on_an_unknown_patient_are_refused() -> None:
    refused(expansion_book(), c.StartTreatment(patient_id=PID, started_on=d("2023-06-12")),
            err.UnknownPatient)


# --- national identity numbers, in any field ------------------------------------------------


FNR = fodselsnummer()


@pytest.mark.parametrize("command", [
    c.EnrolPatient(patient_id=FNR, cohort_id="olaparib-brca", hf_id="ous",
                   enrolled_on=d("2023-06-01")),
    c.EnrolPatient(patient_id=PID, cohort_id="olaparib-brca", hf_id=FNR,
                   enrolled_on=d("2023-06-01")),
    c.CorrectAssessment(patient_id=PID, assessed_on=d("2023-10-01"), outcome=Outcome.STABLE_DISEASE,
                        reason=f"mixed up with patient {FNR[:6]} {FNR[6:]}"),
    c.RegisterCompany(company_id="nordlys-2", name=f"Pharma {FNR}", registered_on=d("2023-01-01")),
    c.CloseCohort(cohort_id="olaparib-brca", closed_on=d("2024-01-01"), reason=f"see {FNR}"),
    c.InvoiceGrant(patient_id=PID, invoice_ref=f"INV-{FNR[:6]}-{FNR[6:]}",
                   invoiced_on=d("2023-07-01")),
    c.EnrolPatient(patient_id=fodselsnummer(d_number=True), cohort_id="olaparib-brca",
                   hf_id="ous", enrolled_on=d("2023-06-01")),
], ids=["patient-id", "hf-id", "reason", "company-name", "close-reason", "invoice-ref",
        "d-number"])
def test_a_national_identity_number_is_refused_in_any_field(command: c.Command) -> None:
    problem = refused(started_book(), command, err.NationalIdRefused)
    assert FNR not in str(problem) and FNR[:6] not in str(problem)  # never echoed


def test_the_generated_number_is_one_the_refusal_must_catch() -> None:
    # guards the builder above: one digit off and the same field is accepted
    book = expansion_book()
    off_by_one = FNR[:-1] + str((int(FNR[-1]) + 1) % 10)
    refused(book, c.EnrolPatient(patient_id=off_by_one, cohort_id="olaparib-brca", hf_id="ous",
                                 enrolled_on=d("2023-06-01")), err.InvalidStudyId)


# --- treatment ------------------------------------------------------------------------------


def test_treatment_start_refused_before_enrolment() -> None:
    refused(started_book(start=None), c.StartTreatment(patient_id=PID,
                                                       started_on=d("2023-05-31")),
            err.StartBeforeEnrolment)


def test_a_second_treatment_start_is_refused_use_a_correction() -> None:
    refused(started_book(), c.StartTreatment(patient_id=PID, started_on=d("2023-06-13")),
            err.TreatmentAlreadyStarted)


def test_end_of_treatment_refused_before_the_start() -> None:
    refused(started_book(), c.EndTreatment(patient_id=PID, ended_on=d("2023-06-11"),
                                           reason=EndReason.PROGRESSION), err.EndBeforeStart)


def test_end_of_treatment_refused_when_treatment_never_started() -> None:
    refused(started_book(start=None), c.EndTreatment(patient_id=PID, ended_on=d("2023-07-01"),
                                                     reason=EndReason.DEATH),
            err.TreatmentNotStarted)


def test_a_second_end_of_treatment_is_refused_use_a_correction() -> None:
    book = started_book()
    book.run(c.EndTreatment(patient_id=PID, ended_on=d("2023-08-01"), reason=EndReason.TOXICITY))
    refused(book, c.EndTreatment(patient_id=PID, ended_on=d("2023-08-02"),
                                 reason=EndReason.TOXICITY), err.TreatmentAlreadyEnded)


# --- assessments ----------------------------------------------------------------------------


def test_assessment_refused_before_the_treatment_start() -> None:
    refused(started_book(), c.RecordAssessment(patient_id=PID, assessed_on=d("2023-06-11"),
                                               outcome=Outcome.STABLE_DISEASE),
            err.AssessmentBeforeStart)


def test_assessment_refused_when_treatment_never_started() -> None:
    refused(started_book(start=None), c.RecordAssessment(patient_id=PID,
                                                         assessed_on=d("2023-10-01"),
                                                         outcome=Outcome.STABLE_DISEASE),
            err.TreatmentNotStarted)


def test_a_second_assessment_is_refused_a_change_must_be_a_correction() -> None:
    book = started_book()
    book.run(c.RecordAssessment(patient_id=PID, assessed_on=d("2023-10-01"),
                                outcome=Outcome.STABLE_DISEASE))
    refused(book, c.RecordAssessment(patient_id=PID, assessed_on=d("2023-10-01"),
                                     outcome=Outcome.PROGRESSIVE_DISEASE),
            err.AssessmentAlreadyRecorded)


# --- transfers ------------------------------------------------------------------------------


def test_transfer_records_both_health_trusts() -> None:
    book = started_book()
    (moved,) = book.run(c.TransferPatient(patient_id=PID, to_hf="ous",
                                          effective_from=d("2023-08-01")))
    assert moved == ev.PatientTransferred(patient_id=PID, from_hf="helse-stavanger", to_hf="ous",
                                          effective_from=d("2023-08-01"))


def test_transfer_to_the_same_health_trust_is_refused() -> None:
    refused(started_book(), c.TransferPatient(patient_id=PID, to_hf="helse-stavanger",
                                              effective_from=d("2023-08-01")),
            err.SameHealthTrust)


def test_transfer_to_an_unknown_health_trust_is_refused() -> None:
    refused(started_book(), c.TransferPatient(patient_id=PID, to_hf="rikshospitalet",
                                              effective_from=d("2023-08-01")),
            err.UnknownHealthTrust)


def test_transfer_refused_on_or_before_the_last_change_of_health_trust() -> None:
    book = started_book()
    book.run(c.TransferPatient(patient_id=PID, to_hf="ous", effective_from=d("2023-08-01")))
    refused(book, c.TransferPatient(patient_id=PID, to_hf="unn", effective_from=d("2023-08-01")),
            err.DateOutOfOrder)


def test_transfer_refused_after_the_end_of_treatment() -> None:
    book = started_book()
    book.run(c.EndTreatment(patient_id=PID, ended_on=d("2023-08-01"), reason=EndReason.DEATH))
    refused(book, c.TransferPatient(patient_id=PID, to_hf="ous", effective_from=d("2023-08-02")),
            err.TreatmentAlreadyEnded)


# --- dispensing -----------------------------------------------------------------------------


def test_dispensing_records_the_patients_drug() -> None:
    book = started_book()
    (dispensed,) = book.run(c.DispenseDrug(patient_id=PID, packs=2, dispensed_on=d("2023-06-12")))
    assert (dispensed.drug_id, dispensed.packs) == ("lynparza", 2)


def test_dispensing_refused_without_packs() -> None:
    refused(started_book(), c.DispenseDrug(patient_id=PID, packs=0,
                                           dispensed_on=d("2023-06-12")), err.InvalidQuantity)


def test_dispensing_refused_before_the_treatment_start() -> None:
    problem = refused(started_book(), c.DispenseDrug(patient_id=PID, packs=1,
                                                     dispensed_on=d("2023-06-11")),
                      err.DispensationBeforeStart)
    assert str(problem) == ("the dispensation is dated 2023-06-11, before the treatment start "
                            "on 2023-06-12")


def test_dispensing_refused_before_any_treatment_start_is_recorded() -> None:
    refused(started_book(start=None), c.DispenseDrug(patient_id=PID, packs=1,
                                                     dispensed_on=d("2023-06-12")),
            err.TreatmentNotStarted)


def test_dispensing_refused_after_the_end_of_treatment() -> None:
    book = started_book()
    book.run(c.EndTreatment(patient_id=PID, ended_on=d("2023-08-01"), reason=EndReason.DEATH))
    problem = refused(book, c.DispenseDrug(patient_id=PID, packs=1, dispensed_on=d("2023-08-02")),
                      err.DispensationAfterEnd)
    assert str(problem) == ("the dispensation is dated 2023-08-02, after the end of treatment "
                            "on 2023-08-01")


def test_end_of_treatment_refused_before_a_recorded_dispensation() -> None:
    book = started_book()
    book.run(c.DispenseDrug(patient_id=PID, packs=1, dispensed_on=d("2023-07-10")))
    refused(book, c.EndTreatment(patient_id=PID, ended_on=d("2023-07-09"),
                                 reason=EndReason.TOXICITY), err.EndBeforeDispensation)


def test_end_of_treatment_refused_before_a_recorded_transfer() -> None:
    book = started_book()
    book.run(c.TransferPatient(patient_id=PID, to_hf="ous", effective_from=d("2023-08-01")))
    problem = refused(book, c.EndTreatment(patient_id=PID, ended_on=d("2023-07-31"),
                                           reason=EndReason.TOXICITY), err.EndBeforeTransfer)
    assert "transfer to another health trust on 2023-08-01" in str(problem)


# --- nothing that happened is dated after the day it is recorded (ADR 0014) ----------------


def test_a_dispensation_dated_in_2099_is_refused_as_dated_after_the_day_it_is_recorded() -> None:
    problem = refused(started_book(), c.DispenseDrug(patient_id=PID, packs=1,
                                                     dispensed_on=d("2099-01-05")),
                      err.DatedInTheFuture, today=d("2024-05-02"))
    assert str(problem) == (
        "the dispensation is dated 2099-01-05, after today (2024-05-02, the day it is "
        "recorded): a fact about something that has happened cannot be dated in the future")


@pytest.mark.parametrize("command", [
    c.EnrolPatient(patient_id="IMP-0043", cohort_id="olaparib-brca", hf_id="ous",
                   enrolled_on=d("2024-05-03")),
    c.StartTreatment(patient_id="IMP-0044", started_on=d("2024-05-03")),
    c.RecordAssessment(patient_id=PID, assessed_on=d("2024-05-03"), outcome=Outcome.STABLE_DISEASE),
    c.EndTreatment(patient_id=PID, ended_on=d("2024-05-03"), reason=EndReason.DEATH),
    c.TransferPatient(patient_id=PID, to_hf="ous", effective_from=d("2024-05-03")),
    c.CorrectTreatmentStart(patient_id=PID, started_on=d("2024-05-03"), reason="x"),
], ids=["enrolment", "start", "assessment", "end", "transfer", "start-correction"])
def test_a_fact_that_happened_is_refused_when_dated_after_the_day_it_is_recorded(
        command: c.Command) -> None:
    book = started_book()
    enrol(book, "IMP-0044", on="2023-06-01", start=None)
    refused(book, command, err.DatedInTheFuture, today=d("2024-05-02"))
    recorded_on_its_day = book.run(command, today=d("2024-05-03"))
    assert recorded_on_its_day


def test_the_16_week_assessment_dated_after_the_end_of_treatment_is_refused() -> None:
    book = started_book()
    book.run(c.EndTreatment(patient_id=PID, ended_on=d("2024-04-30"), reason=EndReason.TOXICITY))
    problem = refused(book, c.RecordAssessment(patient_id=PID, assessed_on=d("2024-05-02"),
                                               outcome=Outcome.NOT_EVALUABLE),
                      err.AssessmentAfterEnd)
    assert str(problem) == ("the 16-week assessment is dated 2024-05-02, after the end of "
                            "treatment on 2024-04-30")


def test_an_end_of_treatment_dated_before_the_recorded_assessment_is_refused() -> None:
    book = started_book()
    book.run(c.RecordAssessment(patient_id=PID, assessed_on=d("2023-10-01"),
                                outcome=Outcome.STABLE_DISEASE))
    refused(book, c.EndTreatment(patient_id=PID, ended_on=d("2023-09-30"),
                                 reason=EndReason.PROGRESSION), err.EndBeforeAssessment)


def test_a_treatment_start_after_a_recorded_dispensation_cannot_exist() -> None:
    # A dispensation needs a recorded start, and a start cannot be corrected past it.
    book = started_book()
    book.run(c.DispenseDrug(patient_id=PID, packs=1, dispensed_on=d("2023-06-12")))
    refused(book, c.CorrectTreatmentStart(patient_id=PID, started_on=d("2023-06-13"),
                                          reason="x"), err.StartAfterDispensation)


def test_refusal_leaves_the_patients_answers_unchanged() -> None:
    book = started_book()
    case = book.case(PID)
    refused(book, c.EndTreatment(patient_id=PID, ended_on=d("2023-06-01"),
                                 reason=EndReason.DEATH), err.EndBeforeStart)
    assert book.case(PID) == case
