"""Rules that hold for every history: random valid histories of commands (late assessments,
corrections, transfers, exemptions granted and revoked, amended terms, ticks) are played through
the Book (refused commands are part of the history too), then the answers are checked on every
date against an independent reading of the log.
"""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain import events as ev
from domain.errors import Refused
from domain.financing import Case, PayerKind, payer_from_timeline, payer_on, timeline
from domain.reference import health_trusts
from domain.state import Patient
from domain.values import EXPANSION, Decision
from tests.strategies import (
    BASE,
    FAR,
    HISTORY_SETTINGS,
    History,
    Played,
    Step,
    command_for,
    histories,
    play,
    steps,
)
from tests.support import Book

RHF = {hf.hf_id: hf.rhf_id for hf in health_trusts()}
ONE_DAY = timedelta(days=1)


# --- an independent reading of the log: the oracle ------------------------------------------


def facts(book: Book, *kinds: type[ev.Event]) -> list[ev.Event]:
    return [e for _, _, e in book.log if isinstance(e, kinds)]


def coverage_weeks_on(book: Book, start: date) -> int:
    """The agreed weeks in force on a treatment start (latest effective term, then the latest
    recorded); the signed term before any effective date."""
    terms = [(e.signed_on, i, e.coverage_weeks)
             for i, e in enumerate(facts(book, ev.AgreementSigned))]
    terms += [(e.effective_from, len(book.log) + i, e.coverage_weeks)
              for i, e in enumerate(facts(book, ev.AgreementAmended)) if e.coverage_weeks]
    current = [t for t in sorted(terms) if t[0] <= start]
    return (current[-1] if current else sorted(terms)[0])[2]


class Story:
    """One patient's facts as the log holds them, the latest correction winning; and the
    cohort's public bases. Read without the ledger's own state or rules."""

    def __init__(self, book: Book, pid: str) -> None:
        mine = [e for e in facts(book, ev.Event) if getattr(e, "patient_id", None) == pid]
        enrolled = next(e for e in mine if isinstance(e, ev.PatientEnrolled))
        self.stage, self.enrolled_on = enrolled.stage, enrolled.enrolled_on
        self.periods = [(enrolled.enrolled_on, enrolled.hf_id)]
        self.start: date | None = None
        self.end: date | None = None
        self.outcome = None
        for e in mine:
            if isinstance(e, ev.EnrolmentHfCorrected):
                self.periods[0] = (self.enrolled_on, e.hf_id)
            elif isinstance(e, ev.PatientTransferred):
                self.periods.append((e.effective_from, e.to_hf))
            elif isinstance(e, (ev.TreatmentStarted, ev.TreatmentStartCorrected)):
                self.start = e.started_on
            elif isinstance(e, (ev.TreatmentEnded, ev.TreatmentEndCorrected)):
                self.end = e.ended_on
            elif isinstance(e, (ev.AssessmentRecorded, ev.AssessmentCorrected)):
                self.outcome = e.outcome
        self.weeks = coverage_weeks_on(book, self.start) if self.start else 0
        self.exemptions: dict[str, tuple[date, date | None]] = {}
        for e in facts(book, ev.GroupExemptionGranted, ev.GroupExemptionRevoked):
            if isinstance(e, ev.GroupExemptionGranted):
                self.exemptions[e.exemption_ref] = (e.effective_from, None)
            else:
                self.exemptions[e.exemption_ref] = (self.exemptions[e.exemption_ref][0],
                                                    e.effective_from)
        self.decisions = sorted((e.effective_from, i, e.decision)
                                for i, e in enumerate(facts(book, ev.PermanentFinancingDecided)))

    def on_treatment(self, day: date) -> bool:
        started = self.start is not None and self.start <= day
        return started and (self.end is None or day <= self.end)

    def hf_on(self, day: date) -> str:
        current = self.periods[0][1]  # before enrolment: the enrolling health trust
        for since, hf in self.periods:
            if since <= day:
                current = hf
        return current

    def public_basis_in_force(self, day: date) -> bool:
        if any(start <= day and (end is None or day < end)
               for start, end in self.exemptions.values()):
            return True
        decided = [decision for since, _, decision in self.decisions if since <= day]
        return bool(decided) and decided[-1] == Decision.INTRODUCED

    def expected(self, day: date) -> tuple[PayerKind, str | None]:
        """Who pays, read straight from the brief's rules."""
        if not self.on_treatment(day):
            return PayerKind.NOBODY, None
        assert self.start is not None
        hf = self.hf_on(day)
        if self.stage != EXPANSION or day < self.start + timedelta(weeks=self.weeks):
            return PayerKind.COMPANY, "nordlys"
        if self.outcome is None:
            return PayerKind.PENDING, None
        if self.outcome.is_benefit and self.public_basis_in_force(day):
            return PayerKind.PUBLIC, RHF[hf]
        return PayerKind.TREATING_HF, hf


def horizon(book: Book) -> date:
    """A date after which no answer changes any more."""
    return max(e.valid_on for _, _, e in book.log if e.valid_on) + timedelta(weeks=21)


def every_day(book: Book, p: Patient) -> list[date]:
    assert p.enrolled_on is not None
    first, last = p.enrolled_on - 2 * ONE_DAY, horizon(book)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def cases(played: Played) -> list[Case]:
    return [played.book.case(pid) for pid in played.patients()]


# --- the properties -------------------------------------------------------------------------


@HISTORY_SETTINGS
@given(histories())
def test_who_pays_follows_the_rules_on_every_date(history: History) -> None:
    played = play(history)
    for case in cases(played):
        story = Story(played.book, case.patient.patient_id)
        for day in every_day(played.book, case.patient):
            answer = payer_on(case, day)
            assert (answer.kind, answer.party, answer.hf_id) == (*story.expected(day),
                                                                 story.hf_on(day)), day


@HISTORY_SETTINGS
@given(histories())
def test_a_patient_on_treatment_has_exactly_one_payer_on_every_date_and_nobody_outside(
        history: History) -> None:
    played = play(history)
    for case in cases(played):
        p, intervals = case.patient, timeline(case)
        story = Story(played.book, p.patient_id)
        assert intervals[0].start == p.enrolled_on and intervals[-1].end is None
        for before, after in zip(intervals, intervals[1:]):
            assert before.end is not None and before.start <= before.end
            assert after.start == before.end + ONE_DAY  # no gap, no overlap
        for day in every_day(played.book, p):
            covering = [i for i in intervals if i.covers(day)]
            assert len(covering) == (1 if day >= p.enrolled_on else 0)
            kind = payer_on(case, day).kind
            assert (kind is not PayerKind.NOBODY) == story.on_treatment(day)
            if kind is not PayerKind.PENDING and kind is not PayerKind.NOBODY:
                assert payer_on(case, day).party


@HISTORY_SETTINGS
@given(histories())
def test_company_coverage_in_an_expansion_cohort_never_exceeds_the_agreed_weeks(
        history: History) -> None:
    played = play(history)
    for case in cases(played):
        p, story = case.patient, Story(played.book, case.patient.patient_id)
        if story.stage != EXPANSION or story.start is None:
            continue
        company = [day for day in every_day(played.book, p)
                   if payer_on(case, day).kind is PayerKind.COMPANY]
        treated = [day for day in every_day(played.book, p) if story.on_treatment(day)]
        assert len(company) <= 7 * story.weeks
        assert company == treated[: 7 * story.weeks]  # the first agreed weeks, in full


@HISTORY_SETTINGS
@given(histories())
def test_never_a_public_payer_without_an_exemption_or_permanent_financing_in_force(
        history: History) -> None:
    played = play(history)
    for case in cases(played):
        story = Story(played.book, case.patient.patient_id)
        for day in every_day(played.book, case.patient):
            if payer_on(case, day).kind is PayerKind.PUBLIC:
                assert story.public_basis_in_force(day), day


@HISTORY_SETTINGS
@given(histories(), st.data())
def test_the_same_events_always_give_the_same_answers(
        history: History, data: st.DataObject) -> None:
    played = play(history)
    replayed = Book()
    replayed.log = list(played.book.log)
    for case in cases(played):
        pid = case.patient.patient_id
        assert replayed.case(pid) == case
        assert timeline(replayed.case(pid)) == timeline(case)
        intervals = timeline(case)
        for day in data.draw(st.lists(st.dates(date(2021, 1, 1), FAR), max_size=8)):
            from_timeline = payer_from_timeline(intervals, day)
            if from_timeline is None:
                assert day < case.patient.enrolled_on
                assert payer_on(case, day).kind is PayerKind.NOBODY
            else:
                assert from_timeline == payer_on(case, day)
    # what the ledger answered as known at a position, it answers the same way ever after
    for position, pid, day, answer in played.answers:
        assert payer_on(played.book.case(pid, up_to=position), day) == answer


@HISTORY_SETTINGS
@given(histories())
def test_derived_facts_agree_with_who_pays(history: History) -> None:
    played = play(history)
    for case in cases(played):
        check_held_facts(case)
    played.book.tick(FAR)
    for case in cases(played):
        check_held_facts(case)
        check_every_derived_fact_is_held(played.book, case)


def check_held_facts(case: Case) -> None:
    def kind(day: date) -> PayerKind:
        return payer_on(case, day).kind

    for _, fact in case.patient.derived:
        if isinstance(fact, ev.PublicPayerTookOver):
            assert kind(fact.from_date) is PayerKind.PUBLIC
            assert kind(fact.from_date - ONE_DAY) is not PayerKind.PUBLIC
        elif isinstance(fact, ev.PublicPayerStopped):
            assert kind(fact.last_day) is PayerKind.PUBLIC
            assert kind(fact.last_day + ONE_DAY) not in (PayerKind.PUBLIC, PayerKind.NOBODY)
        elif isinstance(fact, ev.CompanyCoverageEnded):
            assert kind(fact.last_covered_on) is PayerKind.COMPANY
            after = kind(fact.last_covered_on + ONE_DAY)
            assert after not in (PayerKind.COMPANY, PayerKind.NOBODY)


def check_every_derived_fact_is_held(book: Book, case: Case) -> None:
    """Once every date has come, each change of payer the rules imply is recorded, once."""
    p, intervals = case.patient, timeline(case)
    kinds = [i.payer.kind for i in intervals]
    takeovers = [i.start for n, i in enumerate(intervals)
                 if kinds[n] is PayerKind.PUBLIC
                 and (n == 0 or kinds[n - 1] is not PayerKind.PUBLIC)]
    stops = [i.end for n, i in enumerate(intervals[:-1])
             if kinds[n] is PayerKind.PUBLIC
             and kinds[n + 1] not in (PayerKind.PUBLIC, PayerKind.NOBODY)]
    held = [f for _, f in p.derived]
    assert sorted(f.from_date for f in held if isinstance(f, ev.PublicPayerTookOver)) == takeovers
    assert sorted(f.last_day for f in held if isinstance(f, ev.PublicPayerStopped)) == stops
    coverage = [f.last_covered_on for f in held if isinstance(f, ev.CompanyCoverageEnded)]
    grants = [f for f in held if isinstance(f, ev.GrantCommitted)]
    if p.started is None:
        assert coverage == [] and grants == []
    elif p.stage != EXPANSION:
        assert coverage == [] and len(grants) == 1
    else:
        story = Story(book, p.patient_id)
        ends = p.started.since + timedelta(weeks=story.weeks)
        lasts = story.end is None or story.end >= ends
        assert coverage == ([ends - ONE_DAY] if lasts else []) and grants == []


@HISTORY_SETTINGS
@given(histories(), st.lists(steps(), min_size=1, max_size=12))
def test_a_refused_command_records_nothing(history: History, more: list[Step]) -> None:
    played = play(history)  # the player checks every refusal on the way, too
    book = played.book
    for step in more:
        if step.action in ("wait", "tick"):
            continue
        _, command = command_for(book, step, played.clock)
        before, answers = list(book.log), cases(played)
        try:
            book.run(command, today=played.clock)
        except Refused:  # anything else is a crash, and fails the test
            assert book.log == before
            assert cases(played) == answers


@HISTORY_SETTINGS
@given(histories(), st.integers(0, 1200), st.integers(1, 400))
def test_reconcile_is_idempotent(history: History, today_offset: int, earlier_by: int) -> None:
    played = play(history)
    book = played.book
    retractions = [f for f in book.tick(played.clock) if isinstance(f, ev.DerivedFactRetracted)]
    assert retractions == []  # every command already reconciled the patients it touched
    today = BASE + timedelta(days=today_offset)
    book.tick(today)
    size = len(book.log)
    assert book.tick(today) == []
    assert book.tick(today - timedelta(days=earlier_by)) == []
    assert len(book.log) == size
