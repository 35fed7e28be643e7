"""A rebuild shared among worker processes, the patients partitioned (ADR 0035), on SQLite and
PostgreSQL: for every history its rows are those of a rebuild in one process; facts recorded
while the workers replay, and after they caught up, are in the model it swaps in; a worker
that dies fails the rebuild and leaves the live models and no scratch tables; a rebuild killed
midway takes its workers with it, and the next one removes what it left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from domain import commands as c
from eventstore import EventLog, NewEvent, StoredFact, StreamPart, part_of
from projections import maintenance as m
from projections import rows as r
from projections.partitioned import WorkerFailed, Workers
from projections.folds import EVERYWHERE
from projections.projector import Misplaced, Part, create_tables
from projections.store import Database
from projections.whopays import WhoPaysView, catch_up, verify
from tests.integration.test_projection_properties import (PROPERTY_SETTINGS, fresh_database,
                                                          play)
from tests.integration.test_rebuild_killed import cli, left, live_rows
from tests.integration.test_whopays_projection import (  # noqa: F401 - fixtures
    World, patient_life, world)
from tests.strategies import History, histories
from tests.support import d

PATIENTS = [f"IMP-{n:04d}" for n in range(1, 13)]


def lives(world: World, patients: list[str]) -> None:
    for pid in patients:
        patient_life(world, pid)


def single(url: str, world: World) -> tuple[int, m.Snapshot]:
    """The live rows after a rebuild in one process."""
    m.rebuild(world.ledger, url, jobs=1)
    return live_rows(url)


@given(history=histories())
@settings(PROPERTY_SETTINGS, max_examples=min(10, PROPERTY_SETTINGS.max_examples))
def test_for_every_history_workers_write_the_rows_of_one_process(
        database_url: str, tmp_path: Path, history: History) -> None:
    with fresh_database(database_url, tmp_path) as url:
        ledger, _ = play(url, history)
        try:
            head = ledger.log.head()
            assert m.rebuild(ledger, url, jobs=1, batch_size=7) == head
            alone = live_rows(url)
            usage: list[object] = []
            assert m.rebuild(ledger, url, jobs=3, batch_size=5, usage=usage) == head
            shared = live_rows(url)
            assert len(usage) == 3  # three processes did it
            assert shared[0] == alone[0] == head
            assert m.compare(alone[1], shared[1]) == []
            assert shared[1] == alone[1]
            assert not left(url)
        finally:
            ledger.close()


_STREAMS = hs.sampled_from([f"patient/IMP-{n:04d}" for n in range(40)]
                           + [f"cohort/C{n}" for n in range(6)] + ["registry", "drug/D1"])


@given(facts=hs.lists(hs.tuples(_STREAMS, hs.sampled_from(["Everywhere", "Own", "Other"])),
                      min_size=1, max_size=60),
       count=hs.integers(2, 5), batch=hs.integers(1, 9))
@settings(PROPERTY_SETTINGS, max_examples=min(25, PROPERTY_SETTINGS.max_examples))
def test_the_logs_query_reads_a_part_as_part_of_says(
        database_url: str, tmp_path: Path, facts: list[tuple[str, str]], count: int,
        batch: int) -> None:
    """A worker's read (ADR 0036): the database chooses the facts of its part, as
    `eventstore.part_of` works the part out in Python, and every fact of the types read
    everywhere; so the parts together read every fact, each of another type once."""
    with fresh_database(database_url, tmp_path) as url, EventLog(url) as log:
        versions: dict[str, int] = {}
        for stream, kind in facts:
            versions[stream] = versions.get(stream, 0) + 1
            log.append([NewEvent(stream, versions[stream], kind, 1, {"n": len(versions)},
                                 None, {"by": "test"})])
        every = list(log.read())
        seen: list[int] = []
        for index in range(count):
            part = StreamPart(index, count, ("Everywhere",))
            got = list(log.read(types=("Everywhere", "Own"), batch=batch, part=part))
            assert [f.position for f in got] == [
                f.position for f in every if f.type == "Everywhere"
                or (f.type == "Own" and part_of(f.stream, count) == index)]
            seen += [f.position for f in got if f.type != "Everywhere"]
        assert sorted(seen) == [f.position for f in every if f.type == "Own"]


def test_every_patient_is_in_exactly_one_part_and_every_other_stream_in_all() -> None:
    def fact(stream: str, kind: str = "CohortOpened") -> StoredFact:
        return StoredFact(1, stream, 1, kind, 1, {}, None, {}, None)  # type: ignore[arg-type]

    def patient(n: int) -> StoredFact:
        return fact(f"patient/IMP-{n:04d}", "TreatmentStarted")

    for count in (2, 3, 5):
        parts = [Part(i, count) for i in range(count)]
        for n in range(200):
            assert sum(p.holds(patient(n)) for p in parts) == 1
        for stream in ("cohort/x", "agreement/a", "registry", "drug/d", "company/c"):
            assert all(p.holds(fact(stream)) for p in parts)
        counts = [sum(p.holds(patient(n)) for n in range(600)) for p in parts]
        assert min(counts) > 600 / count / 2  # spread, not all in one part
    with pytest.raises(ValueError):
        Part(2, 2)
    # a patient's fact on another stream is read by one part only (the log's query goes by
    # its type): the part that meets it says so, rather than fold it for its patients alone
    with pytest.raises(Misplaced, match="TreatmentStarted fact on cohort/x"):
        Part(0, 2).holds(fact("cohort/x", "TreatmentStarted"))
    assert Part(1, 3).of_log() == StreamPart(1, 3, EVERYWHERE)
    assert "TreatmentStarted" not in EVERYWHERE and "CohortOpened" in EVERYWHERE
    assert Part(0, 1).of_log() is None


def test_facts_recorded_while_the_workers_replay_are_in_the_new_model(world: World) -> None:
    lives(world, PATIENTS)
    url = world.url
    recorded: list[int] = []

    def progress(position: int, head: int) -> None:
        if not recorded:  # the first batch is written: the workers are at work
            recorded.extend(patient_life(world, "IMP-0088"))

    position = m.rebuild(world.ledger, url, progress, jobs=2, batch_size=3)
    assert recorded and position == world.ledger.log.head() > recorded[-1]
    assert verify(world.ledger, url) == []
    shared = live_rows(url)
    assert single(url, world)[1] == shared[1]


def test_facts_recorded_after_the_workers_caught_up_are_handed_over_in_the_swap(
        world: World) -> None:
    lives(world, PATIENTS[:6])
    url, ledger = world.url, world.ledger
    db = Database(url)
    fresh = m.fresh_tables("next")
    try:
        create_tables(db, r.LIVE)
        create_tables(db, fresh, indexes=False)
        with Workers(ledger.log.url, url, fresh, 2, batch_size=4) as workers:
            caught_up = workers.replay()
            assert caught_up == ledger.log.head()
            patient_life(world, "IMP-0077")  # a new patient, after they caught up
            for pid in PATIENTS[:6]:  # and a fact of each one they hold
                world.run(c.TransferPatient(patient_id=pid, to_hf="helse-bergen",
                                            effective_from=d("2024-01-15")))
            position, old = m._swap(db, fresh, m._handed_over(ledger, db, fresh, workers),
                                    None)
        assert position == ledger.log.head() > caught_up
        if old is not None:  # SQLite: the old tables are dropped after the swap (ADR 0037)
            m._drop_after_swap(db, old)
    finally:
        m.drop(db, fresh)
        db.close()
    assert not left(url)
    assert verify(ledger, url) == []
    shared = live_rows(url)
    assert single(url, world)[1] == shared[1]


def test_a_worker_that_dies_fails_the_rebuild_and_leaves_the_live_models(world: World) -> None:
    lives(world, PATIENTS)
    url = world.url
    view = WhoPaysView(url)
    catch_up(world.ledger, view)
    view.close()
    before = live_rows(url)

    killed: list[int] = []

    def progress(position: int, head: int) -> None:
        if not killed:
            killed.append(_workers(os.getpid())[-1])
            os.kill(killed[0], signal.SIGKILL)

    with pytest.raises(WorkerFailed, match="died"):
        m.rebuild(world.ledger, url, progress, jobs=2, batch_size=3)
    assert live_rows(url) == before
    assert not left(url)
    assert _workers(os.getpid()) == []  # the other one stopped too


REBUILD = """
import sys
from application.ledger import Ledger
from projections.maintenance import rebuild

ledger = Ledger.open(sys.argv[1], create_tables=False)

def progress(position, head):
    print("replayed", position, flush=True)
    sys.stdin.readline()  # held here until the test kills it

rebuild(ledger, sys.argv[1], progress, batch_size=3, jobs=2)
"""


def test_a_rebuild_killed_midway_takes_its_workers_and_the_next_one_cleans_up(
        world: World) -> None:
    lives(world, PATIENTS)
    url = world.url
    proc = subprocess.Popen([sys.executable, "-c", REBUILD, url], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().startswith("replayed ")
    workers = _workers(proc.pid)
    assert len(workers) == 2
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in workers), "a worker outlived its rebuild"
    found = left(url)
    assert len(found.tables) == len(r.TABLES)
    assert 1 <= len(found.tracking) <= 3  # the set's, and each worker's once it wrote

    result = cli("rebuild", "--database", url, "--jobs", "2")
    assert result.exit_code == 0, result.output
    assert "removed what killed rebuilds left" in result.output
    assert not left(url)
    assert verify(world.ledger, url) == []


def test_the_cli_refuses_a_number_of_jobs_that_is_not_one_or_more(world: World) -> None:
    patient_life(world)
    result = cli("rebuild", "--database", world.url, "--jobs", "0")
    assert result.exit_code != 0
    assert "--jobs" in result.output
    assert not left(world.url)


def _workers(pid: int) -> list[int]:
    """The rebuild workers among a process's children (Linux)."""
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as f:
                found += [int(x) for x in f.read().split()]
        except FileNotFoundError:  # a thread that ended since the listing: it has no children
            pass
    out = []
    for child in found:
        try:
            with open(f"/proc/{child}/cmdline", "rb") as f:
                if b"projections.partitioned" in f.read() and _alive(child):
                    out.append(child)
        except FileNotFoundError:
            pass
    return sorted(out)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().split(") ")[-1][0] != "Z"
    except FileNotFoundError:
        return False


def test_a_worker_that_fails_says_why_in_one_line_and_keeps_its_traceback(
        world: World, tmp_path: Path) -> None:
    patient_life(world)
    nowhere = f"sqlite:///{tmp_path}/no/such/directory/models.db"  # the worker cannot open it
    with pytest.raises(WorkerFailed, match=r"^rebuild worker \d failed: \w+") as failed:
        with Workers(world.ledger.log.url, nowhere, m.fresh_tables("next"), 2) as workers:
            workers.replay()
    assert "\n" not in str(failed.value)
    assert failed.value.detail.startswith("Traceback")
    assert _workers(os.getpid()) == []


def test_the_cli_says_in_one_line_that_a_rebuild_failed(world: World,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    patient_life(world)

    def failing(*args: object, **kwargs: object) -> int:
        raise WorkerFailed("rebuild worker 1 died (exit code -9)")

    monkeypatch.setattr(m, "rebuild", failing)
    result = cli("rebuild", "--database", world.url, "--jobs", "2")
    assert result.exit_code == 70
    assert result.output.strip().splitlines()[-1] == (
        "impress-ledger: the rebuild failed and the read models are as they were: "
        "rebuild worker 1 died (exit code -9)")


def test_a_worker_that_dies_after_it_caught_up_fails_the_hand_over(world: World) -> None:
    lives(world, PATIENTS[:4])
    url, ledger = world.url, world.ledger
    db = Database(url)
    fresh = m.fresh_tables("next")
    try:
        create_tables(db, fresh, indexes=False)
        with pytest.raises(WorkerFailed, match=r"^rebuild worker \d died"):
            with Workers(ledger.log.url, url, fresh, 2) as workers:
                workers.replay()
                victim = _workers(os.getpid())[0]
                os.kill(victim, signal.SIGKILL)
                deadline = time.monotonic() + 10
                while _alive(victim) and time.monotonic() < deadline:
                    time.sleep(0.02)
                list(workers.last(ledger.log.head()))
    finally:
        m.drop(db, fresh)
        db.close()
    assert _workers(os.getpid()) == []
