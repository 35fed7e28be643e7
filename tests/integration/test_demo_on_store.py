"""The demo history loaded into a real Ledger, on SQLite and on PostgreSQL: the store records
the same facts as the in-memory Book, and answers who pays as the Book does."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from application import demo
from application import demo_story as story
from domain import events as ev
from application.ledger import Ledger
from domain.financing import PayerKind, payer_on, timeline
from tests.unit.test_demo import demo_book

QUESTIONS = [  # (patient, date): the special patients on the dates that tell their story
    (story.FINANCING_GAP, date(2022, 8, 1)),
    (story.FINANCING_GAP, date(2022, 10, 1)),
    (story.TRANSFERRED, date(2023, 8, 13)),
    (story.TRANSFERRED, date(2023, 8, 14)),
    (story.LATE_ASSESSMENT, date(2024, 1, 10)),
    (story.ASSESSMENT_CORRECTED, date(2023, 8, 10)),
    (story.START_CORRECTED, date(2023, 6, 15)),
    ("IMP-0042", date(2025, 3, 3)),
    ("IMP-0049", date(2025, 6, 30)),
]


def test_the_demo_on_the_store_agrees_with_the_book(database_url: str) -> None:
    """One load per backend (it takes seconds); the checks below share it."""
    ledger = Ledger.open(database_url)
    try:
        assert demo.is_empty(ledger)
        clock = ledger.clock
        recorded = demo.load_demo(ledger)
        assert ledger.clock is clock  # the story's clock is put back
        same_facts_as_the_book(ledger, recorded)
        same_answers_as_the_book(ledger)
        late_assessment_as_known_before(ledger)
        refuses_to_load_twice(ledger, recorded)
    finally:
        ledger.close()


def same_facts_as_the_book(ledger: Ledger, recorded: int) -> None:
    book = demo_book()
    assert recorded == len(book.log) == ledger.log.head()
    assert Counter(f.type for f in ledger.log.read()) == Counter(e.type for _, _, e in book.log)


def same_answers_as_the_book(ledger: Ledger) -> None:
    book = demo_book()
    for pid, on in QUESTIONS:
        assert ledger.who_pays(pid, on).payer == payer_on(book.case(pid), on), (pid, on)
    for course in story.COURSES:
        assert ledger.timeline(course.pid) == timeline(book.case(course.pid)), course.pid


def late_assessment_as_known_before(ledger: Ledger) -> None:
    pid, on = story.LATE_ASSESSMENT, date(2024, 1, 10)
    late = next(f for f in ledger.history(f"patient/{pid}")
                if f.type == ev.AssessmentRecorded.__name__)
    before = ledger.who_pays(pid, on, position=late.position - 1).payer
    after = ledger.who_pays(pid, on).payer
    assert before.kind is PayerKind.PENDING
    assert (after.kind, after.party) == (PayerKind.PUBLIC, "helse-sor-ost")


def refuses_to_load_twice(ledger: Ledger, recorded: int) -> None:
    assert not demo.is_empty(ledger)
    with pytest.raises(demo.LedgerNotEmpty):
        demo.load_demo(ledger)
    assert ledger.log.head() == recorded
