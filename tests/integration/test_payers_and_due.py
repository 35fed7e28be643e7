"""Who pays on a date, a page at a time, for the patients an actor may see; and a tick that
reconciles only the patients the due-date index names. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import date, timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from application import demo
from application.access import AUDITOR, PARTNER, RHF_FINANCE, TRIAL_OFFICE, View
from application.ledger import Ledger
from domain.financing import PayerKind, payer_on
from domain.values import Actor
from projections.due import DueIndex, due_counts, due_patients
from projections import rows as r
from projections import tables as tb
from projections.payers import Page, Tenancy, payers_on
from projections.whopays import WhoPaysView, catch_up

ON = date(2023, 9, 1)
T = TypeVar("T")


@pytest.fixture
def loaded(database_url: str) -> Iterator[tuple[Ledger, WhoPaysView]]:
    ledger = Ledger.open(database_url)
    models = WhoPaysView(database_url)
    try:
        demo.load_demo(ledger)
        catch_up(ledger, models)
        yield ledger, models
    finally:
        models.close()
        ledger.close()


def all_pages(models: WhoPaysView, on: date, tenancy: Tenancy, size: int,
              at: int | None = None) -> list[Page]:
    pages = [payers_on(models, on, tenancy=tenancy, limit=size, known_at_position=at)]
    while not pages[-1].last:
        pages.append(payers_on(models, on, tenancy=tenancy, after=pages[-1].after, limit=size,
                               known_at_position=at))
    return pages


def expected(ledger: Ledger, actor: Actor, on: date, at: int) -> list[tuple[str, object]]:
    """Every patient enrolled by `on` that the actor may see, by id, with the ledger's answer."""
    view = View(actor, ledger.workspace())
    return sorted((c.patient.patient_id, payer_on(c, on)) for c in ledger.cases(up_to=at)
                  if c.patient.enrolled_on and c.patient.enrolled_on <= on
                  and view.patient_id(c.patient.patient_id))


@pytest.mark.parametrize("role, organisation", [(AUDITOR, "impress"), (PARTNER, "roche"),
                                                (RHF_FINANCE, "helse-vest"),
                                                (RHF_FINANCE, "helse-nord")])
def test_pages_of_payers_together_give_every_visible_patient_once_as_the_ledger_answers(
        loaded: tuple[Ledger, WhoPaysView], role: str, organisation: str) -> None:
    ledger, models = loaded
    actor = Actor(subject="someone", role=role, organisation=organisation)
    head = ledger.log.head()
    for at in (head // 2, head):
        pages = all_pages(models, ON, Tenancy.of(actor), size=4, at=at)
        got = [(x.patient_id, x.payer) for page in pages for x in page.rows]
        assert got == expected(ledger, actor, ON, at)
        assert all(len(page.rows) == 4 for page in pages[:-1]) and len(pages[-1].rows) <= 4
        assert {page.position for page in pages} == {at}


def test_a_set_of_patient_ids_narrows_the_page_to_them(loaded: tuple[Ledger, WhoPaysView]
                                                       ) -> None:
    _, models = loaded
    everyone = [x.patient_id for x in payers_on(models, ON).rows]
    chosen = frozenset(everyone[1::3])
    page = payers_on(models, ON, tenancy=Tenancy(patients=chosen))
    assert [x.patient_id for x in page.rows] == sorted(chosen) and page.last
    assert payers_on(models, ON, tenancy=Tenancy(patients=frozenset())).rows == []


def test_a_page_size_out_of_bounds_is_refused(loaded: tuple[Ledger, WhoPaysView]) -> None:
    with pytest.raises(ValueError, match="a page holds"):
        payers_on(loaded[1], ON, limit=0)


# --- the due-date index and tick ------------------------------------------------------------


def test_a_tick_through_the_due_index_records_what_a_tick_of_every_patient_would(
        loaded: tuple[Ledger, WhoPaysView]) -> None:
    ledger, models = loaded
    due = DueIndex(ledger, models)
    upcoming = due_counts(models, date(2000, 1, 1), date(2040, 1, 1))
    assert upcoming, "the demo leaves a patient with a derived fact to come"
    day, count = upcoming[0]
    assert due(day - timedelta(days=1)) == []
    assert ledger.tick(day - timedelta(days=1), due=due).facts == ()  # nothing due: no patient read
    named = due(day)
    assert len(named) == count and named == due_patients(models, day)
    receipt = ledger.tick(day, due=due)
    assert receipt.facts and {f.stream.partition("/")[2] for f in receipt.facts} <= set(named)
    assert ledger.tick(day).facts == ()  # every patient reconciled: nothing was missed
    assert due(day) == []  # and the index knows it


# --- another version's tables -----------------------------------------------------------------


def test_read_model_tables_of_another_schema_are_dropped_and_rebuilt_from_the_log(
        loaded: tuple[Ledger, WhoPaysView]) -> None:
    ledger, models = loaded
    before = models.timeline("IMP-0020")
    with models.db.writing() as cur:  # as an older version would have left them
        cur.run("UPDATE projection_schema SET digest = 'older' WHERE name = 'readmodels'")
        cur.run("CREATE TABLE whopays_intervals (patient_id TEXT)")
    renewed = WhoPaysView(models.url)
    try:
        assert renewed.position() == 0 and renewed.timeline("IMP-0020") == []
        with renewed.db.reading() as cur:
            assert not renewed.db.table_exists(cur, "whopays_intervals")
        assert catch_up(ledger, renewed) == ledger.log.head()
        assert renewed.timeline("IMP-0020") == before
    finally:
        renewed.close()


@pytest.fixture
def demo_on_sqlite(tmp_path: Path) -> Iterator[WhoPaysView]:
    """The demo's read models in a SQLite file, for the plans SQLite chooses."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with closing(Ledger.open(url)) as ledger, closing(WhoPaysView(url)) as models:
        demo.load_demo(ledger)
        catch_up(ledger, models)
        yield models


def plan_of(models: WhoPaysView, table: tb.Table, ask: Callable[[], T]) -> tuple[T, list[str]]:
    """What `ask` answers, and SQLite's plan for the statement it sent about `table` (asked on
    this thread's connection, the one the read models ask on)."""
    asked: list[str] = []
    connection = models.db._sqlite()
    connection.set_trace_callback(asked.append)
    try:
        answer = ask()
    finally:
        connection.set_trace_callback(None)
    statement = next(s for s in asked if models.name(table) in s)
    return answer, [row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {statement}")]


def test_a_companys_page_of_payers_is_searched_by_its_company_not_scanned(
        demo_on_sqlite: WhoPaysView) -> None:
    """SQLite's plan for a partner's page: the intervals' (company_id, patient_id, start_on,
    end_on) index, in patient order. Without it the page walked every interval of every
    company in patient order until it had found a page of the company's (42 ms at M for a
    company with 17 000 of the 371 000 current intervals)."""
    models = demo_on_sqlite
    company = payers_on(models, ON).rows[0].company_id
    page, plan = plan_of(models, r.INTERVALS,
                         lambda: payers_on(models, ON, tenancy=Tenancy(company=company)))
    assert page.rows and {x.company_id for x in page.rows} == {company}
    assert any("company_id_patient_id_start_on_end_on" in step and "(company_id=?" in step
               for step in plan), plan
    assert not any(step.startswith("SCAN") for step in plan), plan


def test_how_many_a_payer_pays_for_on_a_date_is_the_count_of_the_pages_of_payers(
        loaded: tuple[Ledger, WhoPaysView]) -> None:
    """An RHF officer's overview counts its region's patients under public financing on a date
    in one query (projections.queries.paid_by): the same number as reading every page of
    payers and counting them, for every region and a partner, on dates across the demo."""
    from projections import queries

    ledger, models = loaded
    regions = sorted({t.rhf_id for t in ledger.workspace().registry().trusts.values()})
    counted = 0
    for day in (date(2023, 3, 1), ON, date(2024, 2, 1), date(2024, 9, 1)):
        for rhf in regions:
            for actor in (Actor(subject="x", role=RHF_FINANCE, organisation=rhf),
                          Actor(subject="x", role=AUDITOR, organisation="impress")):
                rows = [row for page in all_pages(models, day, Tenancy.of(actor), 7)
                        for row in page.rows]
                expected = sum(1 for row in rows
                               if row.kind.value == "public" and row.party == rhf)
                assert queries.paid_by(models, actor, day, "public", rhf) == expected
                counted += expected
    assert counted > 0


def test_the_patients_counted_by_cohort_and_stage_are_the_patients_listed(
        loaded: tuple[Ledger, WhoPaysView]) -> None:
    """A partner's overview counts its patients by cohort and stage, with the first enrolment
    among them, in one query (projections.queries.patient_groups): the same as reading every
    patient the actor may see, for every company, region and the trial office."""
    from projections import queries

    ledger, models = loaded
    everyone = queries.patient_rows(models, Actor(subject="x", role=AUDITOR,
                                                  organisation="impress"))
    regions = sorted({t.rhf_id for t in ledger.workspace().registry().trusts.values()})
    actors = ([Actor(subject="x", role=PARTNER, organisation=c)
               for c in sorted({p.company_id for p in everyone})]
              + [Actor(subject="x", role=RHF_FINANCE, organisation=rhf) for rhf in regions]
              + [Actor(subject="x", role=TRIAL_OFFICE, organisation="impress")])
    seen = 0
    for actor in actors:
        rows = queries.patient_rows(models, actor)
        expected: dict[tuple[str, int], list[date]] = {}
        for p in rows:
            expected.setdefault((p.cohort_id, p.stage), []).extend(
                [p.enrolled_on] if p.enrolled_on else [])
        groups = queries.patient_groups(models, actor)
        assert [(g.cohort_id, g.stage) for g in groups] == sorted(expected)
        assert sum(g.patients for g in groups) == len(rows)
        for g in groups:
            assert g.patients == sum(1 for p in rows if (p.cohort_id, p.stage)
                                     == (g.cohort_id, g.stage))
            assert g.first_enrolled == min(expected[(g.cohort_id, g.stage)], default=None)
        seen += len(rows)
    assert seen > 0


def test_the_patients_not_yet_started_are_those_the_log_holds_without_a_start_or_an_end(
        loaded: tuple[Ledger, WhoPaysView]) -> None:
    """The trial office's overview lists the patients whose treatment start is not recorded
    (projections.queries.not_started): the ledger's own patients enrolled without a start and
    without an end, for every actor who may see them, before and after a start is recorded."""
    from domain import commands as c
    from domain.values import LEDGER
    from projections import queries

    ledger, models = loaded
    LATE = date(2025, 3, 3)  # these demo cohorts are open then, with room
    cohorts = ("dostarlimab-dmmr", "olaparib-brca", "selpercatinib-ret", "vemurafenib-braf")
    ledger.record([c.EnrolPatient(patient_id=f"IMP-09{n:02d}", cohort_id=cohort, hf_id=hf,
                                  enrolled_on=LATE)
                   for n, (cohort, hf) in enumerate(zip(cohorts, ("ous", "helse-bergen", "unn",
                                                                  "ous")))], LEDGER)
    regions = sorted({t.rhf_id for t in ledger.workspace().registry().trusts.values()})
    actors = ([Actor(subject="x", role=TRIAL_OFFICE, organisation="impress")]
              + [Actor(subject="x", role=RHF_FINANCE, organisation=rhf) for rhf in regions])

    def expected(actor: Actor) -> list[str]:
        view = View(actor, ledger.workspace())
        return sorted(c.patient.patient_id for c in ledger.cases()
                      if c.patient.started is None and c.patient.ended is None
                      and view.patient_id(c.patient.patient_id))

    for started in (False, True):
        if started:
            ledger.record([c.StartTreatment(patient_id="IMP-0901", started_on=LATE)], LEDGER)
        catch_up(ledger, models)
        everyone = expected(actors[0])
        assert ("IMP-0901" in everyone) is not started and "IMP-0900" in everyone
        for actor in actors:
            got = queries.not_started(models, actor)
            assert [p.patient_id for p in got] == expected(actor), actor
            assert all(p.enrolled_on == LATE for p in got if p.patient_id.startswith("IMP-09"))


def test_the_patients_not_yet_started_are_found_by_the_index(demo_on_sqlite: WhoPaysView
                                                             ) -> None:
    """SQLite's plan for them: the patients' (started_on, ended_on, known_from, known_to)
    index, each row judged in it. Without it the query read every version of every patient:
    0.26-0.5 s at M for none found, half of the trial office's overview."""
    from projections import queries

    actor = Actor(subject="x", role=TRIAL_OFFICE, organisation="impress")
    _, plan = plan_of(demo_on_sqlite, r.PATIENTS,
                      lambda: queries.not_started(demo_on_sqlite, actor))
    assert any("started_on_ended_on" in step and "(started_on=? AND ended_on=?" in step
               for step in plan), plan
    assert not any(step.startswith("SCAN") for step in plan), plan


def test_a_companys_coverage_in_a_span_is_judged_in_the_index(demo_on_sqlite: WhoPaysView
                                                              ) -> None:
    """SQLite's plan for the intervals of a company statement (its coverage in the span):
    the (company_id, kind, start_on, end_on, known_from, known_to) index, each interval judged
    in it. Before, SQLite read each of the company's intervals of every kind and every version
    from the table (260 000 for roche-norge at M, 0.26-0.29 s for the 10 565 of a year)."""
    from projections.source import ReadSource

    models = demo_on_sqlite
    company = payers_on(models, ON).rows[0].company_id
    found, plan = plan_of(models, r.INTERVALS, lambda: ReadSource(models).intervals(
        kinds=(PayerKind.COMPANY,), span=(ON, ON + timedelta(days=90)), company=company))
    assert found and {(i.company_id, i.kind) for i in found} == {(company, PayerKind.COMPANY)}
    assert any("company_id_kind_start_on" in step and "(company_id=? AND kind=?" in step
               for step in plan), plan
