"""The due-date index's rule (domain.derive.next_due): for every history, a tick on day D records
something for a patient exactly when the patient's next due date is on or before D, so a tick
need only reconcile those patients."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain import commands as c
from domain import events as ev
from domain.decide import tick
from domain.derive import NOW, next_due
from domain.values import Outcome, days
from tests.strategies import BASE, HISTORY_SETTINGS, History, histories, play
from tests.support import d, enrol, expansion_book

PID = "IMP-0042"


@given(history=histories(), offsets=st.lists(st.integers(-30, 1500), min_size=1, max_size=6))
@HISTORY_SETTINGS
def test_a_tick_records_something_for_a_patient_exactly_when_its_next_due_date_has_come(
        history: History, offsets: list[int]) -> None:
    book = play(history).book
    for pid in sorted({s.partition("/")[2] for s, _, _ in book.log if s.startswith("patient/")}):
        due = next_due(book.case(pid))
        for offset in offsets:
            today = BASE + timedelta(days=offset)
            ws = book.workspace(today)
            tick(ws, pid)
            assert bool(ws.pending) == (due is not None and due <= today), (pid, today, due)


def test_the_takeover_falls_due_on_its_own_date_and_nothing_after_it_is_recorded() -> None:
    book = expansion_book()
    enrol(book, PID, outcome=Outcome.STABLE_DISEASE, assessed="2023-09-28")
    # recorded at once: coverage ended 2023-10-01 and the takeover on 2023-10-02 are past
    assert next_due(book.case(PID)) is None
    book = expansion_book()
    today = d("2023-06-12")  # recorded on the day treatment starts
    book.run(c.EnrolPatient(patient_id=PID, cohort_id="olaparib-brca", hf_id="helse-stavanger",
                            enrolled_on=d("2023-06-01")), today=today)
    book.run(c.StartTreatment(patient_id=PID, started_on=today), today=today)
    assert next_due(book.case(PID)) == d("2023-10-02")  # the day after the 112th


def test_a_correction_that_unmakes_a_derived_fact_is_due_at_once() -> None:
    book = expansion_book()
    enrol(book, PID, outcome=Outcome.STABLE_DISEASE, assessed="2023-09-28")
    book.run(c.CorrectTreatmentStart(patient_id=PID, started_on=d("2023-06-20"),
                                     reason="recorded from the wrong chart"))
    assert next_due(book.case(PID)) is None  # the command reconciled the patient itself
    took_over = next(f for _, f in book.case(PID).patient.derived
                     if isinstance(f, ev.PublicPayerTookOver))
    ws = book.workspace()  # a takeover on another day, as if recorded by an older rule
    ws.record(f"patient/{PID}", replace(took_over, from_date=took_over.from_date + days(1)))
    book._commit(ws)
    assert next_due(book.case(PID)) == NOW
