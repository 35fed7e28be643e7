"""The who-pays read model on SQLite and PostgreSQL: it answers as the ledger does, now and as
known at any position; it applies each fact exactly once; it can be rebuilt and verified; and
a runner follows the log (on PostgreSQL by LISTEN/NOTIFY, with a poll behind it)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from domain import commands as c
from application.ledger import Ledger, Receipt
from domain.financing import PayerKind, timeline
from eventstore import EventLog
from domain.values import Actor, Outcome
from projections import rows as r
from projections.maintenance import snapshot
from projections.projector import Projector
from projections.store import Conflict, Database
from projections.whopays import (Difference, ViewBehind, ViewRunner, WhoPaysView, catch_up,
                                 rebuild, update_in_process, verify)
from tests.strategies import happened_on
from tests.support import d, with_company_and_drug, with_reference

OFFICE = Actor(subject="trial-office-1", role="trial_office", organisation="ous")
EXPANSION, STAGE = "olaparib-brca", "lynparza-prostate"


@dataclass
class World:
    """A ledger on a real database, with a clock the test moves, and the view beside it."""

    url: str
    ledger: Ledger
    today: date

    def run(self, *commands: c.Command) -> Receipt:
        receipt = None
        for command in commands:
            # nothing that happened is recorded before its day (ADR 0014): the clock follows
            self.today = max(self.today, happened_on(command) or self.today)
            receipt = self.ledger.execute(command, OFFICE)
        assert receipt is not None
        return receipt

    # the builders in tests/support run commands on a "book": the ledger is one here
    def case(self, patient_id: str) -> Any:
        from domain.derive import case_of

        return case_of(self.ledger.workspace(), patient_id)


def open_world(url: str, *, weeks: int = 16) -> World:
    world = World(url, Ledger(EventLog(url)), date(2023, 1, 2))
    world.ledger.clock = lambda: world.today
    book = _Book(world)
    with_company_and_drug(with_reference(book), weeks=weeks)
    world.run(
        c.OpenCohort(cohort_id=EXPANSION, drug_id="lynparza", agreement_id="nordlys-impress",
                     indication="solid tumours", molecular_profile="biallelic BRCA1/2",
                     opened_on=d("2022-01-10"), evidence_ref="DRUP: first 24 patients"),
        c.OpenCohort(cohort_id=STAGE, drug_id="lynparza", agreement_id="nordlys-impress",
                     indication="prostate cancer", molecular_profile="ATM loss",
                     opened_on=d("2021-03-01")))
    return world


class _Book:
    """Lets tests/support's builders (written for the in-memory Book) run on the ledger."""

    def __init__(self, world: World) -> None:
        self.world = world

    def run(self, command: c.Command, today: date | None = None) -> None:
        self.world.run(command)

    def case(self, patient_id: str) -> Any:
        return self.world.case(patient_id)


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    w = open_world(database_url)
    try:
        yield w
    finally:
        w.ledger.close()


@pytest.fixture
def view(world: World) -> Iterator[WhoPaysView]:
    v = WhoPaysView(world.url)
    try:
        yield v
    finally:
        v.close()


def patient_life(world: World, pid: str = "IMP-0042", hf: str = "helse-stavanger") -> list[int]:
    """One expansion patient: started, assessed late, an exemption granted late, a transfer,
    the assessment corrected. Returns the position after each step."""
    steps = [
        c.EnrolPatient(patient_id=pid, cohort_id=EXPANSION, hf_id=hf, enrolled_on=d("2023-06-01")),
        c.StartTreatment(patient_id=pid, started_on=d("2023-06-12")),
        c.RecordAssessment(patient_id=pid, assessed_on=d("2023-09-28"),
                           outcome=Outcome.STABLE_DISEASE),
        c.GrantGroupExemption(cohort_id=EXPANSION, exemption_ref=f"BF-{pid}",
                              effective_from=d("2023-03-20"), decided_on=d("2023-03-20")),
        c.TransferPatient(patient_id=pid, to_hf="ous", effective_from=d("2023-11-01")),
        c.CorrectAssessment(patient_id=pid, assessed_on=d("2023-09-28"),
                            outcome=Outcome.PROGRESSIVE_DISEASE, reason="the scan was re-read"),
    ]
    # the position of each command's own fact (the derived facts it implies come after it)
    return [world.run(step).facts[0].position for step in steps]


def kinds(rows: list[r.IntervalRow]) -> list[tuple[date, PayerKind, str | None]]:
    return [(x.start, x.kind, x.party) for x in rows]


def same_as_ledger(view: WhoPaysView, ledger: Ledger, pid: str, at: int | None = None) -> None:
    expected = ledger.timeline(pid, position=at)
    got = view.timeline(pid, known_at_position=at)
    assert [(i.start, i.end, i.payer) for i in expected] == [(x.start, x.end, x.payer)
                                                            for x in got]


def dump(url: str) -> tuple[dict[str, Any], dict[str, Any], int]:
    """Every row of every read model (intervals, then the others), and the tracking position."""
    db = Database(url)
    try:
        position, tables = snapshot(db, r.LIVE)
        intervals = tables.pop("intervals")
        return intervals, tables, position
    finally:
        db.close()


# --- answers ----------------------------------------------------------------------------------


def test_the_view_answers_as_the_ledger_now_and_as_known_after_every_step(
        world: World, view: WhoPaysView) -> None:
    positions = patient_life(world)
    catch_up(world.ledger, view)
    for at in [*positions, None]:
        same_as_ledger(view, world.ledger, "IMP-0042", at)
    enrolled, started, assessed, exempted, transferred, corrected = positions
    assert kinds(view.timeline("IMP-0042", known_at_position=started))[-1] == \
        (d("2023-10-02"), PayerKind.PENDING, None)
    assert kinds(view.timeline("IMP-0042", known_at_position=assessed))[-1] == \
        (d("2023-10-02"), PayerKind.TREATING_HF, "helse-stavanger")
    assert kinds(view.timeline("IMP-0042", known_at_position=transferred))[-2:] == [
        (d("2023-10-02"), PayerKind.PUBLIC, "helse-vest"),
        (d("2023-11-01"), PayerKind.PUBLIC, "helse-sor-ost")]
    assert kinds(view.timeline("IMP-0042"))[-2:] == [
        (d("2023-10-02"), PayerKind.TREATING_HF, "helse-stavanger"),
        (d("2023-11-01"), PayerKind.TREATING_HF, "ous")]


def test_payer_on_gives_the_interval_with_its_basis_and_none_before_enrolment(
        world: World, view: WhoPaysView) -> None:
    positions = patient_life(world)
    catch_up(world.ledger, view)
    exempted = positions[3]
    answer = view.payer_on("IMP-0042", d("2023-10-15"), known_at_position=exempted)
    assert answer is not None
    assert answer.payer == world.ledger.who_pays("IMP-0042", d("2023-10-15"),
                                                 position=exempted).payer
    assert (answer.kind, answer.party, answer.rhf_id) == (PayerKind.PUBLIC, "helse-vest",
                                                          "helse-vest")
    assert "cohort/olaparib-brca@3" in answer.basis  # the exemption it rests on
    assert view.payer_on("IMP-0042", d("2023-05-31")) is None
    assert view.payer_on("IMP-9999", d("2023-10-15")) is None


def test_an_amended_agreement_changes_the_answer_of_its_patients(
        world: World, view: WhoPaysView) -> None:
    patient_life(world, "IMP-0042")
    patient_life(world, "IMP-0043", hf="unn")
    catch_up(world.ledger, view)
    amended = world.run(c.AmendAgreement(agreement_id="nordlys-impress",
                                         effective_from=d("2023-01-01"),
                                         reason="renegotiated", coverage_weeks=12))
    catch_up(world.ledger, view)
    for pid in ("IMP-0042", "IMP-0043"):
        same_as_ledger(view, world.ledger, pid)
        company = [x for x in view.timeline(pid) if x.kind is PayerKind.COMPANY]
        assert (company[0].end, company[0].known_from) == (d("2023-09-03"),
                                                           amended.facts[0].position)


def test_asking_beyond_what_the_view_has_read_is_refused(world: World, view: WhoPaysView
                                                         ) -> None:
    positions = patient_life(world)
    catch_up(world.ledger, view, until=positions[1])
    with pytest.raises(ViewBehind):
        view.timeline("IMP-0042", known_at_position=positions[2])


def test_patients_can_be_filtered_by_region_company_and_cohort(world: World, view: WhoPaysView
                                                               ) -> None:
    patient_life(world, "IMP-0042")
    patient_life(world, "IMP-0043", hf="unn")
    world.run(c.EnrolPatient(patient_id="IMP-0044", cohort_id=STAGE, hf_id="unn",
                             enrolled_on=d("2023-06-01")))
    catch_up(world.ledger, view)
    assert [p.patient_id for p in view.patients(rhf_id="helse-sor-ost")] == ["IMP-0042",
                                                                             "IMP-0043"]
    assert [p.patient_id for p in view.patients(rhf_id="helse-nord")] == ["IMP-0044"]
    assert [p.patient_id for p in view.patients(cohort_id=STAGE)] == ["IMP-0044"]
    assert len(view.patients(company_id="nordlys")) == 3
    assert view.patients(company_id="someone-else") == []
    p = view.patient("IMP-0042")
    assert p is not None and (p.stage, p.assessment_outcome, p.started_on) == (
        3, "progressive_disease", d("2023-06-12"))


# --- exactly once -----------------------------------------------------------------------------


def test_a_batch_is_applied_once_and_refused_the_second_time(world: World, view: WhoPaysView
                                                             ) -> None:
    patient_life(world)
    projector = Projector(world.ledger.log, view.db)
    position = projector.sync()
    batch = projector.compute(*projector.next_facts(position))
    projector.write(batch)
    after_once = dump(world.url)
    with pytest.raises(Conflict):
        projector.write(batch)
    assert dump(world.url) == after_once
    assert after_once[2] == world.ledger.log.head()


def test_catching_up_again_changes_nothing(world: World, view: WhoPaysView) -> None:
    patient_life(world)
    catch_up(world.ledger, view)
    before = dump(world.url)
    assert catch_up(world.ledger, view) == before[2]
    assert dump(world.url) == before


def test_two_projectors_on_one_model_take_turns_without_applying_anything_twice(
        world: World, view: WhoPaysView) -> None:
    positions = patient_life(world, "IMP-0042")
    first = Projector(world.ledger.log, view.db, batch_size=3)
    second = Projector(world.ledger.log, view.db, batch_size=2)
    first.catch_up(until=positions[1])
    second.catch_up(until=positions[3])
    patient_life(world, "IMP-0043", hf="unn")
    first.catch_up()  # finds the tracking row moved on, drops what it held, and goes on
    second.catch_up()
    assert verify(world.ledger, world.url) == []
    same_as_ledger(view, world.ledger, "IMP-0043")


def test_a_model_followed_in_small_batches_equals_a_fresh_rebuild(world: World, view: WhoPaysView
                                                                   ) -> None:
    for n, hf in enumerate(["helse-stavanger", "unn", "helse-bergen"]):
        patient_life(world, f"IMP-00{42 + n}", hf=hf)
        Projector(world.ledger.log, view.db, batch_size=4).catch_up()  # a restarted process
    world.run(c.RegisterHealthTrust(hf_id="new-trust", name="New HF", rhf_id="helse-vest",
                                    rhf_name="Helse Vest RHF", registered_on=d("2024-01-01")))
    world.today = date(2024, 6, 1)
    world.ledger.tick()  # derived facts: coverage ended, takeovers
    catch_up(world.ledger, view)
    live = dump(world.url)
    assert verify(world.ledger, world.url) == []
    progress: list[tuple[int, int]] = []
    assert rebuild(world.ledger, world.url, lambda done, total: progress.append((done, total))) \
        == live[2]
    assert dump(world.url) == live
    assert progress[-1] == (live[2], live[2])
    assert rebuild(world.ledger, world.url) == live[2]  # again: the swapped-in names are reusable
    assert dump(world.url) == live


# --- reading your own write -------------------------------------------------------------------


def test_a_write_updated_in_process_is_visible_at_its_position(world: World, view: WhoPaysView
                                                               ) -> None:
    after_write = update_in_process(world.ledger, view)
    receipt = world.run(c.EnrolPatient(patient_id="IMP-0042", cohort_id=EXPANSION,
                                       hf_id="ous", enrolled_on=d("2023-06-01")))
    assert after_write(receipt) >= receipt.position
    assert view.wait_for(receipt.position, timeout=0)
    receipt = world.run(c.StartTreatment(patient_id="IMP-0042", started_on=d("2023-06-12")))
    after_write(receipt)
    assert view.wait_for(receipt.position)
    answer = view.payer_on("IMP-0042", d("2023-07-01"))
    assert answer is not None and answer.kind is PayerKind.COMPANY


def test_wait_for_says_no_when_nothing_follows_the_log(world: World, view: WhoPaysView) -> None:
    receipt = world.run(c.EnrolPatient(patient_id="IMP-0042", cohort_id=EXPANSION,
                                       hf_id="ous", enrolled_on=d("2023-06-01")))
    assert view.wait_for(receipt.position, timeout=0.05) is False


def test_a_runner_follows_the_log_and_a_reader_waits_for_a_write(world: World, view: WhoPaysView
                                                                 ) -> None:
    with ViewRunner(world.ledger, world.url, poll_interval=0.05):
        receipt = world.run(c.EnrolPatient(patient_id="IMP-0042", cohort_id=EXPANSION,
                                           hf_id="ous", enrolled_on=d("2023-06-01")))
        assert view.wait_for(receipt.position, timeout=30)
        assert view.patient("IMP-0042") is not None


def test_a_runner_keeps_following_after_a_rebuild(world: World, view: WhoPaysView) -> None:
    patient_life(world, "IMP-0042")
    with ViewRunner(world.ledger, world.url, poll_interval=0.05):
        assert view.wait_for(world.ledger.log.head(), timeout=30)
        rebuild(world.ledger, world.url)
        receipt = world.run(c.EnrolPatient(patient_id="IMP-0043", cohort_id=EXPANSION,
                                           hf_id="ous", enrolled_on=d("2023-06-01")))
        assert view.wait_for(receipt.position, timeout=30)
    assert verify(world.ledger, world.url) == []


# --- verify -----------------------------------------------------------------------------------


def test_verify_lists_exactly_the_differences_injected_into_the_live_model(
        world: World, view: WhoPaysView) -> None:
    positions = patient_life(world)
    catch_up(world.ledger, view)
    company = next(x for x in view.timeline("IMP-0042") if x.kind is PayerKind.COMPANY)
    deleted = [x for x in view.timeline("IMP-0042") if x.known_from == positions[-1]]
    patient = view.patient("IMP-0042")
    assert deleted and patient is not None and patient.rhf_id == "helse-sor-ost"
    db = view.db
    with db.writing() as cur:
        cur.run("UPDATE rm_intervals SET party = 'someone-else' WHERE patient_id = ? "
                "AND known_from = ? AND start_on = ?",
                ("IMP-0042", company.known_from, db.date_in(company.start)))
        cur.run("UPDATE rm_patients SET rhf_id = 'helse-nord' WHERE patient_id = ? "
                "AND known_to IS NULL", ("IMP-0042",))
        cur.run("DELETE FROM rm_intervals WHERE patient_id = ? AND known_from = ?",
                ("IMP-0042", positions[-1]))
    expected = [Difference("intervals", "IMP-0042",
                           f"IMP-0042, {company.start}, {company.known_from}", "party",
                           "someone-else", "nordlys")]
    expected += [Difference("intervals", "IMP-0042", f"IMP-0042, {x.start}, {x.known_from}",
                            "row", None, x) for x in deleted]
    expected += [Difference("patients", "IMP-0042", f"IMP-0042, {patient.known_from}", "rhf_id",
                            "helse-nord", "helse-sor-ost")]
    assert sorted(verify(world.ledger, world.url), key=repr) == sorted(expected, key=repr)


# --- following on PostgreSQL ------------------------------------------------------------------


@pytest.fixture
def postgres_world(world: World) -> World:
    if not world.url.startswith("postgres"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    return world


def test_a_runner_picks_up_a_write_from_another_connection_by_notify(
        postgres_world: World, view: WhoPaysView) -> None:
    world = postgres_world
    # A poll interval longer than the wait: only the NOTIFY can wake the runner in time.
    with ViewRunner(world.ledger, world.url, poll_interval=3600) as runner:
        assert view.wait_for(world.ledger.log.head(), timeout=30)
        other = Ledger(EventLog(world.url, create_tables=False), clock=lambda: d("2023-06-01"))
        try:
            receipt = other.execute(c.EnrolPatient(patient_id="IMP-0042", cohort_id=EXPANSION,
                                                   hf_id="ous", enrolled_on=d("2023-06-01")),
                                    OFFICE)
        finally:
            other.close()
        assert view.wait_for(receipt.position, timeout=30)
        assert runner.notifications >= 1


def test_the_poll_catches_up_when_a_notification_is_lost(postgres_world: World,
                                                         view: WhoPaysView) -> None:
    world = postgres_world
    # Listening on a channel nobody notifies: every NOTIFY of the store is lost to this runner.
    with ViewRunner(world.ledger, world.url, poll_interval=0.2,
                    channel="impress_lost_notifications") as runner:
        receipt = world.run(c.EnrolPatient(patient_id="IMP-0042", cohort_id=EXPANSION,
                                           hf_id="ous", enrolled_on=d("2023-06-01")))
        assert view.wait_for(receipt.position, timeout=30)
        assert runner.notifications == 0
        assert runner.error is None


# --- the demo history -------------------------------------------------------------------------


def test_on_the_demo_history_the_followed_model_answers_as_the_ledger_and_equals_a_rebuild(
        database_url: str) -> None:
    from application import demo

    ledger = Ledger.open(database_url)
    view = WhoPaysView(database_url)
    try:
        with ViewRunner(ledger, database_url, poll_interval=0.05):
            demo.load_demo(ledger)  # the runner follows as the story is recorded
            assert view.wait_for(ledger.log.head(), timeout=120)
        head = ledger.log.head()
        for at in (head // 3, 2 * head // 3, head):
            expected = {case.patient.patient_id: [(i.start, i.end, i.payer)
                                                  for i in timeline(case)]
                        for case in ledger.cases(up_to=at)}
            got: dict[str, list[Any]] = {}
            for x in view.intervals(known_at_position=at):
                got.setdefault(x.patient_id, []).append((x.start, x.end, x.payer))
            assert got == expected, at
        live = dump(database_url)
        assert verify(ledger, database_url) == []
        assert rebuild(ledger, database_url) == head
        assert dump(database_url) == live
    finally:
        view.close()
        ledger.close()
