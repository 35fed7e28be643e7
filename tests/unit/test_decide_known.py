"""Refusals of what is not known, as a reader hears them: a patient enrolled later was not yet
enrolled at an earlier moment; what an actor may not see is "not found, or not yours"."""

from __future__ import annotations

from domain import errors as err
from domain.known import not_found_or_not_yours, patient_not_known
from tests.support import Book, enrol, expansion_book


def enrolled_at(book: Book, patient_id: str) -> int:
    return next(i for i, (s, _, e) in enumerate(book.log, start=1)
                if s == f"patient/{patient_id}" and e.type == "PatientEnrolled")


def test_a_patient_asked_about_before_its_enrolment_was_recorded_was_not_yet_enrolled() -> None:
    book = expansion_book()
    before = len(book.log)
    enrol(book, "IMP-0042")
    assert not book.workspace(up_to=before).patient("IMP-0042").exists
    refusal = patient_not_known("IMP-0042", enrolled_at=enrolled_at(book, "IMP-0042"),
                                position=before, moment="2024-03-01T12:00:00+01:00")
    assert isinstance(refusal, err.NotYetEnrolled) and refusal.code == "not-yet-enrolled"
    assert refusal.kind == "not_found"
    assert refusal.message == (
        f"patient IMP-0042 was not yet enrolled as known at log position {before} "
        f"(2024-03-01T12:00:00+01:00); its enrolment is recorded at log position {before + 1}")


def test_a_patient_never_enrolled_is_unknown_at_any_position() -> None:
    refusal = patient_not_known("IMP-0099", enrolled_at=None, position=12)
    assert isinstance(refusal, err.UnknownPatient)


def test_what_an_actor_may_not_see_is_not_found_or_not_its_own_never_unrecorded() -> None:
    refusal = not_found_or_not_yours("regional health authority", "helse-nord", "helse-vest")
    assert isinstance(refusal, err.NotFoundOrNotYours)
    assert (refusal.code, refusal.kind) == ("not-found-or-not-yours", "not_found")
    assert refusal.message == ("regional health authority 'helse-nord' is not found, or not "
                               "yours to see (you see helse-vest's)")
    assert "recorded" not in refusal.message
