"""For every history, with late and corrected facts, on SQLite and PostgreSQL: the who-pays read
model, followed in batches of any size by projectors that restart anywhere, answers as known at
each position K exactly what a full replay of the log cut at K answers (every stream read and
folded anew), and what the ledger's `who_pays(position=K)` answers; it equals a rebuild on
the log's prefix up to K, and a fresh replay of the whole log."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import codec
from domain import commands as c
from application.ledger import Ledger
from domain.derive import case_of
from domain.events import Event
from domain.financing import Case, payer_from_timeline, timeline
from eventstore import EventLog
from domain.values import Actor
from domain.workspace import Workspace
from projections import rows as r
from projections import tables as tb
from projections.maintenance import drop, fresh_tables, verify
from projections.projector import Projector, create_tables
from projections.store import Database
from projections.whopays import WhoPaysView
from tests.strategies import (BASE, EXPANSION_COHORT, HISTORY_SETTINGS, STAGE_COHORT, History,
                              Played, Setup, histories, on, play_step)
from tests import late_histories as late
from tests.support import d, with_company_and_drug, with_reference

OFFICE = Actor(subject="trial-office-1", role="trial_office", organisation="ous")
PROPERTY_SETTINGS = settings(
    HISTORY_SETTINGS, max_examples=max(5, HISTORY_SETTINGS.max_examples // 3),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@contextmanager
def fresh_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A new empty database per example: a file on SQLite, a schema on PostgreSQL."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/{uuid4().hex}.db"
        return
    schema = f"h_{uuid4().hex[:12]}"
    try:
        yield f"{database_url}?schema={schema}"
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


class LedgerBook:
    """The ledger, seen as the in-memory Book that tests/strategies plays histories on: its
    player (`play_step`) then records every step through the real Ledger."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.today = BASE
        ledger.clock = lambda: self.today
        self._ws: Workspace | None = None

    def run(self, command: c.Command, today: date | None = None) -> None:
        if today is not None:
            self.today = today
        self._ws = None
        self.ledger.execute(command, OFFICE)

    def tick(self, today: date) -> None:
        self._ws = None
        self.ledger.tick(today)

    @property
    def log(self) -> list[tuple[str, int, str, Any]]:
        return [(f.stream, f.version, f.type, f.data) for f in self.ledger.log.read()]

    def workspace(self) -> Workspace:
        if self._ws is None:  # one read of the store per step, not one per patient asked
            self._ws = self.ledger.workspace()
        return self._ws

    def case(self, patient_id: str) -> Case:
        return case_of(self.workspace(), patient_id)


def play(url: str, history: History) -> tuple[Ledger, int]:
    """The history recorded through the real Ledger; returns it and the setup's last position."""
    ledger = Ledger(EventLog(url))
    book = LedgerBook(ledger)
    setup(book, history.setup)
    after_setup = ledger.log.head()
    played = Played(book, clock=BASE)  # type: ignore[arg-type]
    for step in history.steps:
        play_step(played, step)
    return ledger, after_setup


def setup(book: LedgerBook, s: Setup) -> None:
    """What tests/strategies.setup_book records, through the ledger."""
    with_company_and_drug(with_reference(book), weeks=s.coverage_weeks)  # type: ignore[arg-type]
    book.run(c.OpenCohort(cohort_id=EXPANSION_COHORT, drug_id="lynparza",
                          agreement_id="nordlys-impress", indication="solid tumours",
                          molecular_profile="biallelic BRCA1/2 inactivation",
                          opened_on=d("2022-01-10"), evidence_ref="DRUP: first 24 patients"))
    if s.exemption_from is not None:  # decided on its day at the earliest (ADR 0014)
        book.run(c.GrantGroupExemption(cohort_id=EXPANSION_COHORT, exemption_ref="BF-2022-IMPRESS",
                                       effective_from=on(s.exemption_from),
                                       decided_on=on(s.exemption_from)),
                 today=max(BASE, on(s.exemption_from)))
    book.run(c.OpenCohort(cohort_id=STAGE_COHORT, drug_id="lynparza",
                          agreement_id="nordlys-impress", indication="prostate cancer",
                          molecular_profile="ATM loss", opened_on=on(-400)))


def follow(ledger: Ledger, db: Database, stops: list[int], sizes: list[int]) -> None:
    """Follow the log as restarted processes would: a fresh projector at every stop, each with
    its own batch size; the last one reads to the end."""
    for i, stop in enumerate([*sorted(stops), None]):
        Projector(ledger.log, db, batch_size=sizes[i % len(sizes)]).catch_up(until=stop)


def answers(rows: list[r.IntervalRow]) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    for x in rows:
        out.setdefault(x.patient_id, []).append((x.start, x.end, x.payer))
    return out


def replayed(ledger: Ledger, at: int) -> dict[str, list[tuple[Any, ...]]]:
    """The answer of a full replay of the log cut at `at`: every stream read from the log and
    folded anew (no cache of the ledger's, no fold of the projector's)."""
    def load(stream: str) -> Iterator[tuple[int, Event]]:
        for fact in ledger.log.stream(stream, up_to=at):
            yield fact.version, codec.decode(fact.type, fact.schema, fact.data)

    ws = Workspace(load, BASE)
    out = {}
    for stream in ledger.log.streams("patient/"):
        case = case_of(ws, stream.partition("/")[2])
        if case.patient.exists:
            out[case.patient.patient_id] = [(i.start, i.end, i.payer) for i in timeline(case)]
    return out


def cut(db: Database, tables: tb.TableSet, at: int) -> dict[str, set[Any]]:
    """Every bitemporal table's rows as they stood at position `at` (what was known then, no
    more): rows known from `at` on left out, rows closed after `at` still open."""
    out = {}
    for t in tables.tables:
        if not t.bitemporal:
            continue
        codec = tb.Codec(db, t)
        with db.reading() as cur:
            rows = [codec.from_db(x) for x in cur.rows(
                tb.select(tables, t) + " WHERE known_from <= ?", (at,))]
        out[t.base] = {x if x.known_to is None or x.known_to <= at else replace(x, known_to=None)
                       for x in rows}
    return out


def rebuilt_on_prefix(ledger: Ledger, db: Database, at: int) -> dict[str, set[Any]]:
    scratch = fresh_tables("prefix")
    create_tables(db, scratch, indexes=False)
    try:
        Projector(ledger.log, db, scratch, batch_size=1000).catch_up(until=at)
        return cut(db, scratch, at)
    finally:
        drop(db, scratch)


@given(history=histories(), data=st.data())
@PROPERTY_SETTINGS
def test_as_known_at_any_position_the_view_answers_what_a_replay_of_the_log_cut_there_does(
        database_url: str, tmp_path: Path, history: History, data: st.DataObject) -> None:
    with fresh_database(database_url, tmp_path) as url:
        ledger, after_setup = play(url, history)
        view = WhoPaysView(url)
        try:
            head = ledger.log.head()
            stops = data.draw(st.lists(st.integers(0, head), max_size=3), label="restarts")
            sizes = data.draw(st.lists(st.integers(1, 9), min_size=1, max_size=3), label="batches")
            follow(ledger, view.db, stops, sizes)
            assert view.position() == head
            for at in range(after_setup, head + 1):
                assert answers(view.intervals(known_at_position=at)) == replayed(ledger, at), at
            middle = data.draw(st.integers(after_setup, head), label="prefix")
            for at in (middle, head):
                assert rebuilt_on_prefix(ledger, view.db, at) == cut(view.db, r.LIVE, at)
            check_payer_on(view, ledger, middle)
            assert verify(ledger, url) == []
        finally:
            view.close()
            ledger.close()


def check_payer_on(view: WhoPaysView, ledger: Ledger, at: int) -> None:
    """payer_on on each interval's first and last day, and before enrolment: the interval the
    ledger's timeline gives for that day, and exactly the answer (payer and basis) the ledger's
    who_pays gives: an interval never spans a change of basis."""
    for case in ledger.cases(up_to=at):
        pid = case.patient.patient_id
        enrolled = case.patient.enrolled_on
        assert enrolled is not None
        assert view.payer_on(pid, enrolled - timedelta(days=1), known_at_position=at) is None
        intervals = timeline(case)
        for interval in intervals:
            for day in (interval.start, interval.end or interval.start + timedelta(days=400)):
                found = view.payer_on(pid, day, known_at_position=at)
                assert found is not None
                assert found.payer == payer_from_timeline(intervals, day)
                assert found.payer == ledger.who_pays(pid, day, position=at).payer


# --- late facts in any order (ADR 0014) --------------------------------------------------------


@given(history=late.histories(max_patients=4), seed=st.integers(0, 2**32 - 1), data=st.data())
@settings(PROPERTY_SETTINGS, max_examples=max(3, PROPERTY_SETTINGS.max_examples // 3))
def test_late_facts_in_any_order_answer_at_every_position_what_a_replay_of_the_prefix_does(
        database_url: str, tmp_path: Path, history: late.History, seed: int,
        data: st.DataObject) -> None:
    """A valid history recorded through the ledger in a shuffled order (late facts, judged on
    their own dates): what the ledger answered right after each fact (from its cached states)
    is what a replay of the log cut there answers, and so does the read model followed
    afterwards, at every position."""
    with fresh_database(database_url, tmp_path) as url:
        ledger = Ledger(EventLog(url))
        book = LedgerBook(ledger)
        book.today = late.BASE
        late.setup_book(history.weeks, book)
        after_setup = ledger.log.head()
        given_then: dict[int, dict[str, list[tuple[Any, ...]]]] = {}

        def answered(_: late.Fact) -> None:
            at = ledger.log.head()
            given_then[at] = {pid: [(i.start, i.end, i.payer) for i in ledger.timeline(pid)]
                              for pid in history.patients() if book.case(pid).patient.exists}

        recorded = late.record(history, late.shuffled(history, seed), book, answered)
        view = WhoPaysView(url)
        try:
            assert recorded.refused == []
            for at, answers_then in given_then.items():
                assert answers_then == replayed(ledger, at), at
            follow(ledger, view.db, data.draw(st.lists(st.integers(0, ledger.log.head()),
                                                       max_size=2), label="restarts"), [5])
            for at in range(after_setup, ledger.log.head() + 1):
                assert answers(view.intervals(known_at_position=at)) == replayed(ledger, at), at
        finally:
            view.close()
            ledger.close()
