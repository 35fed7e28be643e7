"""Corrections: a correcting fact supersedes the wrong one, names it and says why; the wrong fact
stays in the log. A correction that changes nothing, or has no reason, is refused."""

from __future__ import annotations

import pytest

from domain import commands as c
from domain import errors as err
from domain import events as ev
from domain.financing import PayerKind
from domain.values import EndReason, Outcome, days
from tests.support import Book, d, enrol, expansion_book, payer, ref_of, refused

PID = "IMP-0042"
SD, PD = Outcome.STABLE_DISEASE, Outcome.PROGRESSIVE_DISEASE


def full_book() -> Book:
    """Enrolled 2023-06-01 at Helse Stavanger, started 2023-06-12, assessed (stable disease)
    2023-10-01, ended 2024-03-01, one dispensation of 3 packs on 2023-06-20."""
    book = expansion_book()
    enrol(book, PID, on="2023-06-01", start="2023-06-12", outcome=SD, assessed="2023-10-01")
    book.run(c.EndTreatment(patient_id=PID, ended_on=d("2024-03-01"), reason=EndReason.COMPLETED))
    book.run(c.DispenseDrug(patient_id=PID, packs=3, dispensed_on=d("2023-06-20")))
    return book


def dispensation(book: Book) -> str:
    return ref_of(book, ev.DrugDispensed, PID)


CORRECTIONS = {
    "start": lambda b, why: c.CorrectTreatmentStart(patient_id=PID, started_on=d("2023-06-14"),
                                                    reason=why),
    "assessment": lambda b, why: c.CorrectAssessment(patient_id=PID, assessed_on=d("2023-10-01"),
                                                     outcome=PD, reason=why),
    "end": lambda b, why: c.CorrectTreatmentEnd(patient_id=PID, ended_on=d("2024-02-01"),
                                                ended_reason=EndReason.COMPLETED, reason=why),
    "enrolment-hf": lambda b, why: c.CorrectEnrolmentHf(patient_id=PID, hf_id="helse-bergen",
                                                        reason=why),
    "dispensation": lambda b, why: c.CorrectDispensation(
        patient_id=PID, dispensation=dispensation(b), packs=2, dispensed_on=d("2023-06-20"),
        reason=why),
}
SUPERSEDED = {
    "start": (ev.TreatmentStarted, ev.TreatmentStartCorrected),
    "assessment": (ev.AssessmentRecorded, ev.AssessmentCorrected),
    "end": (ev.TreatmentEnded, ev.TreatmentEndCorrected),
    "enrolment-hf": (ev.PatientEnrolled, ev.EnrolmentHfCorrected),
    "dispensation": (ev.DrugDispensed, ev.DispensationCorrected),
}


@pytest.mark.parametrize("what", sorted(CORRECTIONS))
def test_a_correction_names_the_fact_it_supersedes_and_keeps_it(what: str) -> None:
    book = full_book()
    wrong_kind, correction_kind = SUPERSEDED[what]
    wrong = ref_of(book, wrong_kind, PID)
    facts = book.run(CORRECTIONS[what](book, "recorded from the wrong chart"))
    (correction,) = [f for f in facts if isinstance(f, correction_kind)]
    assert (correction.corrects, correction.reason) == (wrong, "recorded from the wrong chart")
    assert ref_of(book, wrong_kind, PID) == wrong  # the wrong fact is still in the log


@pytest.mark.parametrize("what", sorted(CORRECTIONS))
@pytest.mark.parametrize("why", ["", "   "])
def test_a_correction_without_a_reason_is_refused(what: str, why: str) -> None:
    book = full_book()
    refused(book, CORRECTIONS[what](book, why), err.ReasonRequired)


NO_OPS = {
    "start": lambda b: c.CorrectTreatmentStart(patient_id=PID, started_on=d("2023-06-12"),
                                               reason="x"),
    "assessment": lambda b: c.CorrectAssessment(patient_id=PID, assessed_on=d("2023-10-01"),
                                                outcome=SD, reason="x"),
    "end": lambda b: c.CorrectTreatmentEnd(patient_id=PID, ended_on=d("2024-03-01"),
                                           ended_reason=EndReason.COMPLETED, reason="x"),
    "enrolment-hf": lambda b: c.CorrectEnrolmentHf(patient_id=PID, hf_id="helse-stavanger",
                                                   reason="x"),
    "dispensation": lambda b: c.CorrectDispensation(patient_id=PID, dispensation=dispensation(b),
                                                    packs=3, dispensed_on=d("2023-06-20"),
                                                    reason="x"),
}


@pytest.mark.parametrize("what", sorted(NO_OPS))
def test_a_correction_that_changes_nothing_is_refused(what: str) -> None:
    book = full_book()
    refused(book, NO_OPS[what](book), err.NothingToCorrect)


def test_a_second_correction_supersedes_the_first() -> None:
    book = full_book()
    book.run(c.CorrectAssessment(patient_id=PID, assessed_on=d("2023-10-01"), outcome=PD,
                                 reason="re-read"))
    first = ref_of(book, ev.AssessmentCorrected, PID)
    (second,) = [f for f in book.run(c.CorrectAssessment(
        patient_id=PID, assessed_on=d("2023-10-02"), outcome=SD, reason="panel decision"))
        if isinstance(f, ev.AssessmentCorrected)]
    assert second.corrects == first
    assert book.case(PID).patient.assessment.outcome is SD


def test_correcting_an_assessment_that_was_never_recorded_is_refused() -> None:
    book = expansion_book()
    enrol(book, PID)
    refused(book, c.CorrectAssessment(patient_id=PID, assessed_on=d("2023-10-01"), outcome=SD,
                                      reason="x"), err.NoAssessment)


def test_correcting_an_end_that_was_never_recorded_is_refused() -> None:
    book = expansion_book()
    enrol(book, PID)
    refused(book, c.CorrectTreatmentEnd(patient_id=PID, ended_on=d("2024-01-01"),
                                        ended_reason=EndReason.DEATH, reason="x"),
            err.TreatmentNotEnded)


def test_correcting_a_start_that_was_never_recorded_is_refused() -> None:
    book = expansion_book()
    enrol(book, PID, start=None)
    refused(book, c.CorrectTreatmentStart(patient_id=PID, started_on=d("2023-06-12"),
                                          reason="x"), err.TreatmentNotStarted)


def test_corrected_start_refused_before_enrolment() -> None:
    refused(full_book(), c.CorrectTreatmentStart(patient_id=PID, started_on=d("2023-05-31"),
                                                 reason="x"), err.StartBeforeEnrolment)


def test_corrected_start_refused_after_the_end() -> None:
    book = expansion_book()
    enrol(book, PID, start="2023-06-12")
    book.run(c.EndTreatment(patient_id=PID, ended_on=d("2023-07-01"), reason=EndReason.DEATH))
    refused(book, c.CorrectTreatmentStart(patient_id=PID, started_on=d("2023-07-02"),
                                          reason="x"), err.EndBeforeStart)


def test_corrected_start_refused_after_the_assessment() -> None:
    refused(full_book(), c.CorrectTreatmentStart(patient_id=PID, started_on=d("2023-10-02"),
                                                 reason="x"), err.AssessmentBeforeStart)


def test_corrected_assessment_refused_before_the_start() -> None:
    refused(full_book(), c.CorrectAssessment(patient_id=PID, assessed_on=d("2023-06-11"),
                                             outcome=SD, reason="x"), err.AssessmentBeforeStart)


def test_corrected_end_refused_before_the_start() -> None:
    refused(full_book(), c.CorrectTreatmentEnd(patient_id=PID, ended_on=d("2023-06-11"),
                                               ended_reason=EndReason.DEATH, reason="x"),
            err.EndBeforeStart)


def test_corrected_enrolment_hf_must_be_a_known_health_trust() -> None:
    refused(full_book(), c.CorrectEnrolmentHf(patient_id=PID, hf_id="rikshospitalet",
                                              reason="x"), err.UnknownHealthTrust)


def test_correcting_an_unknown_dispensation_is_refused() -> None:
    refused(full_book(), c.CorrectDispensation(patient_id=PID, dispensation="patient/IMP-0042@1",
                                               packs=1, dispensed_on=d("2023-06-20"), reason="x"),
            err.UnknownDispensation)


def test_a_voided_dispensation_cannot_be_corrected_again() -> None:
    book = full_book()
    original = dispensation(book)
    book.run(c.CorrectDispensation(patient_id=PID, dispensation=original, packs=0,
                                   dispensed_on=d("2023-06-20"), reason="never handed out"))
    refused(book, c.CorrectDispensation(patient_id=PID, dispensation=original, packs=1,
                                        dispensed_on=d("2023-06-20"), reason="x"),
            err.DispensationVoided)


def test_corrected_dispensation_refused_with_negative_packs() -> None:
    book = full_book()
    refused(book, c.CorrectDispensation(patient_id=PID, dispensation=dispensation(book),
                                        packs=-1, dispensed_on=d("2023-06-20"), reason="x"),
            err.InvalidQuantity)


def test_corrected_dispensation_refused_before_the_start() -> None:
    book = full_book()
    problem = refused(book, c.CorrectDispensation(
        patient_id=PID, dispensation=dispensation(book), packs=3, dispensed_on=d("2023-06-11"),
        reason="x"), err.DispensationBeforeStart)
    assert str(problem) == ("the dispensation is dated 2023-06-11, before the treatment start "
                            "on 2023-06-12")


def test_corrected_dispensation_refused_after_the_end() -> None:
    book = full_book()
    refused(book, c.CorrectDispensation(patient_id=PID, dispensation=dispensation(book),
                                        packs=3, dispensed_on=d("2024-03-02"), reason="x"),
            err.DispensationAfterEnd)


def test_a_dispensation_voided_after_the_end_is_accepted() -> None:
    book = full_book()
    book.run(c.CorrectDispensation(patient_id=PID, dispensation=dispensation(book), packs=0,
                                   dispensed_on=d("2024-03-05"), reason="never handed out"))
    assert book.case(PID).patient.dispensations[0].packs == 0


def test_corrected_start_refused_after_a_dispensation() -> None:
    problem = refused(full_book(), c.CorrectTreatmentStart(
        patient_id=PID, started_on=d("2023-06-21"), reason="x"), err.StartAfterDispensation)
    assert str(problem) == ("the treatment start is dated 2023-06-21, after a dispensation on "
                            "2023-06-20")


def test_corrected_end_refused_before_the_assessment() -> None:
    problem = refused(full_book(), c.CorrectTreatmentEnd(
        patient_id=PID, ended_on=d("2023-09-30"), ended_reason=EndReason.DEATH, reason="x"),
        err.EndBeforeAssessment)
    assert str(problem) == ("the end of treatment is dated 2023-09-30, before the 16-week "
                            "assessment on 2023-10-01")


def test_corrected_assessment_refused_after_the_end() -> None:
    problem = refused(full_book(), c.CorrectAssessment(
        patient_id=PID, assessed_on=d("2024-03-02"), outcome=PD, reason="x"),
        err.AssessmentAfterEnd)
    assert str(problem) == ("the 16-week assessment is dated 2024-03-02, after the end of "
                            "treatment on 2024-03-01")


def test_a_correction_dated_after_the_day_it_is_recorded_is_refused() -> None:
    refused(full_book(), c.CorrectTreatmentEnd(patient_id=PID, ended_on=d("2024-04-01"),
                                               ended_reason=EndReason.DEATH, reason="x"),
            err.DatedInTheFuture, today=d("2024-03-20"))


# --- corrections change who pays; the wrong fact stays in the log --------------------------

START, TAKEOVER = d("2023-06-12"), d("2023-06-12") + days(112)


def who(book: Book, on: object) -> tuple[PayerKind, str | None]:
    answer = payer(book, PID, on)  # type: ignore[arg-type]
    return answer.kind, answer.party


def recorded(book: Book, kind: type[ev.Event]) -> list[ev.Event]:
    return [e for _, _, e in book.log if isinstance(e, kind)]


def test_correcting_the_treatment_start_moves_the_16_weeks() -> None:
    book = full_book()
    book.run(c.CorrectTreatmentStart(patient_id=PID, started_on=START + days(7),
                                     reason="first dose postponed"))
    assert who(book, START) == (PayerKind.NOBODY, None)
    assert who(book, TAKEOVER) == (PayerKind.COMPANY, "nordlys")
    assert who(book, TAKEOVER + days(7)) == (PayerKind.PUBLIC, "helse-vest")
    assert ref_of(book, ev.TreatmentStartCorrected, PID) in payer(book, PID, TAKEOVER).basis
    assert [e.started_on for e in recorded(book, ev.TreatmentStarted)] == [START]


def test_correcting_the_assessment_to_progressive_disease_turns_public_into_a_gap() -> None:
    book = full_book()
    book.run(c.CorrectAssessment(patient_id=PID, assessed_on=d("2023-10-01"), outcome=PD,
                                 reason="scan re-read"))
    assert who(book, TAKEOVER) == (PayerKind.TREATING_HF, "helse-stavanger")
    assert ref_of(book, ev.AssessmentCorrected, PID) in payer(book, PID, TAKEOVER).basis
    assert [e.outcome for e in recorded(book, ev.AssessmentRecorded)] == [SD]


def test_correcting_the_end_of_treatment_changes_who_pays_after_the_old_end() -> None:
    book = full_book()  # ended 2024-03-01
    book.run(c.CorrectTreatmentEnd(patient_id=PID, ended_on=d("2024-04-01"),
                                   ended_reason=EndReason.TOXICITY, reason="typo in month"))
    assert who(book, d("2024-03-15")) == (PayerKind.PUBLIC, "helse-vest")
    assert who(book, d("2024-04-02")) == (PayerKind.NOBODY, None)
    assert [e.ended_on for e in recorded(book, ev.TreatmentEnded)] == [d("2024-03-01")]


def test_correcting_the_enrolling_hf_changes_the_public_payer_region() -> None:
    book = full_book()
    book.run(c.CorrectEnrolmentHf(patient_id=PID, hf_id="ahus", reason="wrong site picked"))
    answer = payer(book, PID, TAKEOVER)
    assert (answer.kind, answer.party, answer.hf_id) == (PayerKind.PUBLIC, "helse-sor-ost", "ahus")
    assert [e.hf_id for e in recorded(book, ev.PatientEnrolled)] == ["helse-stavanger"]


def test_correcting_a_dispensation_replaces_it_and_keeps_the_original() -> None:
    book = full_book()
    original = dispensation(book)
    book.run(c.CorrectDispensation(patient_id=PID, dispensation=original, packs=2,
                                   dispensed_on=START + days(1), reason="one pack returned"))
    (now,) = book.case(PID).patient.dispensations
    assert (now.packs, now.dispensed_on, now.ref) == (2, START + days(1), original)
    assert now.last_ref == ref_of(book, ev.DispensationCorrected, PID)
    assert [e.packs for e in recorded(book, ev.DrugDispensed)] == [3]
