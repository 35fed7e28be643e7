"""The event log on SQLite and PostgreSQL: what goes in comes back, in commit order, with
the store's time, and nothing once written can be changed."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

import psycopg
import pytest

from eventstore import ConcurrentModification, EventLog, NewEvent, StoredFact

ACTOR = {"subject": "u1", "role": "trial_office", "organisation": "ous", "request_id": "r-1"}


def fact(stream: str, version: int, type_: str = "Noted", *, data: dict[str, Any] | None = None,
         valid_on: date | None = None, schema: int = 1) -> NewEvent:
    return NewEvent(stream=stream, version=version, type=type_, schema=schema,
                    data=data if data is not None else {"n": version}, valid_on=valid_on,
                    actor=ACTOR)


def now() -> datetime:
    return datetime.now(UTC)


def backend(url: str) -> str:
    return "sqlite" if url.startswith("sqlite:") else "postgres"


SIDE_TABLES = {"recorded": "impress_recorded", "streams": "impress_streams"}
TABLES = {  # the tables the log writes, as an auditor would query them
    "sqlite": {"events": "stored_events", **SIDE_TABLES},
    "postgres": {"events": "impress_events", **SIDE_TABLES},
}


@contextmanager
def raw_connection(url: str) -> Iterator[Any]:
    """A plain DB-API connection to the log's database, going round the adapter."""
    conn: Any
    if backend(url) == "sqlite":
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    else:
        conn = psycopg.connect(url, autocommit=True)
    try:
        yield conn
    finally:
        conn.close()


def count_rows(url: str) -> dict[str, int]:
    with raw_connection(url) as conn:
        return {name: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for name, table in TABLES[backend(url)].items()}


def assert_gap_free_and_monotone(facts: list[StoredFact]) -> None:
    assert [f.position for f in facts] == list(range(1, len(facts) + 1))
    times = [f.recorded_at for f in facts]
    assert times == sorted(times)


# --- round trip ---------------------------------------------------------------------------

def test_appended_facts_come_back_exactly_from_stream_and_read(log: EventLog) -> None:
    nested = {"amount": {"minor": 5000000, "currency": "NOK"}, "tags": ["a", 1, True, None],
              "ratio": 0.25, "note": "blåbær ✓", "empty": {}}
    appended = log.append([
        fact("patient/IMP-0042", 1, "PatientEnrolled", data=nested, valid_on=date(2023, 3, 20)),
        fact("patient/IMP-0042", 2, "TreatmentStarted", data={"started_on": "2023-06-12"},
             valid_on=date(2023, 6, 12), schema=3),
        fact("cohort/lynparza-brca", 1, "CohortOpened", data={}),
    ])

    assert [(f.position, f.stream, f.version, f.type) for f in appended] == [
        (1, "patient/IMP-0042", 1, "PatientEnrolled"),
        (2, "patient/IMP-0042", 2, "TreatmentStarted"),
        (3, "cohort/lynparza-brca", 1, "CohortOpened"),
    ]
    first = appended[0]
    assert first.data == nested and first.actor == ACTOR
    assert first.valid_on == date(2023, 3, 20) and type(first.valid_on) is date
    assert appended[1].schema == 3 and appended[2].valid_on is None
    assert log.stream("patient/IMP-0042") == appended[:2]
    assert log.stream("cohort/lynparza-brca") == appended[2:]
    assert list(log.read()) == appended
    assert log.stream("patient/nobody") == []


def test_a_reopened_log_returns_the_same_facts(database_url: str) -> None:
    with EventLog(database_url) as first:
        appended = first.append([fact("patient/P1", 1), fact("patient/P1", 2)])
    with EventLog(database_url) as again, EventLog(database_url, create_tables=False) as plain:
        assert again.stream("patient/P1") == appended == plain.stream("patient/P1")
        assert plain.append([fact("patient/P1", 3)])[0].position == 3


def test_read_filters_by_type_and_position_window_in_batches(log: EventLog) -> None:
    for i in range(1, 26):
        log.append([fact(f"patient/P{i}", 1, "Enrolled"), fact(f"patient/P{i}", 2, "Started")])

    assert [f.position for f in log.read(after=45)] == [46, 47, 48, 49, 50]
    assert [f.position for f in log.read(after=10, up_to=14)] == [11, 12, 13, 14]
    started = list(log.read(types=["Started"], batch=7))
    assert [f.position for f in started] == list(range(2, 51, 2))
    assert {f.type for f in started} == {"Started"}
    enrolled = log.read(after=3, up_to=9, types=["Enrolled"], batch=2)
    assert [f.position for f in enrolled] == [5, 7, 9]
    assert len(list(log.read(types=["Enrolled", "Started"], batch=3))) == 50
    assert list(log.read(types=["NeverHappened"])) == []
    assert list(log.read(after=50)) == []


def test_stream_up_to_a_position_shows_the_stream_as_it_was_then(log: EventLog) -> None:
    log.append([fact("patient/P1", 1)])
    log.append([fact("patient/P2", 1)])
    log.append([fact("patient/P1", 2)])

    assert [f.version for f in log.stream("patient/P1", up_to=2)] == [1]
    assert [f.version for f in log.stream("patient/P1", up_to=3)] == [1, 2]
    assert log.stream("patient/P1", up_to=0) == []


def test_empty_append_writes_nothing(log: EventLog) -> None:
    assert log.append([]) == []
    assert log.head() == 0 and list(log.read()) == []


# --- positions and recorded time ---------------------------------------------------------

def test_positions_are_gap_free_in_commit_order_even_after_refused_appends(log: EventLog) -> None:
    assert log.head() == 0
    log.append([fact("patient/P1", 1), fact("patient/P1", 2)])
    with pytest.raises(ConcurrentModification):
        log.append([fact("patient/P2", 1), fact("patient/P1", 2)])
    with pytest.raises(ValueError):
        log.append([fact("patient/P3", 5)])
    assert [f.position for f in log.append([fact("patient/P2", 1)])] == [3]
    assert log.head() == 3
    assert_gap_free_and_monotone(list(log.read()))


def test_recorded_at_is_taken_by_the_store_not_the_writer(
        log: EventLog, monkeypatch: pytest.MonkeyPatch) -> None:
    # The envelope's own timestamp is the writer's clock: make it absurd.
    from eventstore import Fact
    monkeypatch.setattr(Fact, "create_timestamp", staticmethod(
        lambda: datetime(2001, 1, 1, tzinfo=UTC)))
    before = now()
    appended = log.append([fact("patient/P1", 1), fact("patient/P1", 2)])
    after = now()

    for f in appended + log.stream("patient/P1"):
        assert f.recorded_at.tzinfo is not None and f.recorded_at.utcoffset() == timedelta(0)
        assert before <= f.recorded_at <= after
    assert log.stream("patient/P1") == appended


def test_recorded_at_never_goes_back_even_when_the_clock_does(
        log: EventLog, monkeypatch: pytest.MonkeyPatch) -> None:
    first = log.append([fact("patient/P1", 1)])[0]
    recorder = log.application.recorder
    read_head = recorder._read_head  # the store's clock is read with the rest of the head
    monkeypatch.setattr(recorder, "_read_head", lambda *args: read_head(*args)._replace(
        now=first.recorded_at - timedelta(hours=1)))
    second = log.append([fact("patient/P1", 2)])[0]

    assert second.recorded_at == first.recorded_at
    assert log.stream("patient/P1")[1].recorded_at == first.recorded_at


def test_position_at_a_moment_is_the_last_position_recorded_by_then(log: EventLog) -> None:
    start = now() - timedelta(seconds=1)
    first = log.append([fact("patient/P1", 1), fact("patient/P2", 1)])
    second = log.append([fact("patient/P1", 2)])

    assert log.position_at(start) == 0
    assert log.position_at(first[0].recorded_at) == 2
    assert log.position_at(second[0].recorded_at) == 3
    assert log.position_at(now() + timedelta(days=1)) == 3
    oslo = timezone(timedelta(hours=2))
    assert log.position_at(second[0].recorded_at.astimezone(oslo)) == 3
    with pytest.raises(ValueError):
        log.position_at(datetime(2024, 1, 1))


# --- conflicts and validation ------------------------------------------------------------

def test_a_taken_version_is_refused_and_nothing_of_the_batch_is_written(log: EventLog) -> None:
    log.append([fact("patient/P1", 1), fact("patient/P1", 2)])
    before = count_rows(log.url)

    with pytest.raises(ConcurrentModification) as refused:
        log.append([fact("patient/P9", 1), fact("patient/P1", 2), fact("patient/P1", 3)])
    with pytest.raises(ValueError):  # not contiguous inside the batch
        log.append([fact("patient/P8", 1), fact("patient/P8", 3)])

    assert "patient/P1" in refused.value.streams
    assert count_rows(log.url) == before == {"events": 2, "recorded": 2, "streams": 1}
    assert log.stream("patient/P9") == [] and log.streams("patient/") == ["patient/P1"]


def test_a_version_leaving_a_gap_in_the_stream_is_refused(log: EventLog) -> None:
    log.append([fact("patient/P1", 1)])
    with pytest.raises(ValueError, match="gap"):
        log.append([fact("patient/P2", 1), fact("patient/P1", 3)])
    assert count_rows(log.url) == {"events": 1, "recorded": 1, "streams": 1}


def test_a_failure_while_writing_the_side_tables_rolls_back_the_events_too(
        log: EventLog, monkeypatch: pytest.MonkeyPatch) -> None:
    # The library's own PostgreSQL insert_events would COMMIT after an error in its hooks.
    log.append([fact("patient/P1", 1)])

    def fail(c: Any, rows: Any) -> None:
        raise RuntimeError("side table failed")

    monkeypatch.setattr(log.application.recorder, "_insert_streams", fail)
    with pytest.raises(RuntimeError):
        log.append([fact("patient/P1", 2), fact("patient/P2", 1)])
    monkeypatch.undo()

    assert count_rows(log.url) == {"events": 1, "recorded": 1, "streams": 1}
    assert log.append([fact("patient/P1", 2)])[0].position == 2


class Outcome(StrEnum):
    STABLE_DISEASE = "stable_disease"


@pytest.mark.parametrize("data", [
    {"on": date(2023, 1, 1)}, {"pair": (1, 2)}, {"outcome": Outcome.STABLE_DISEASE},
    {1: "int key"}, {"x": float("nan")}, {"_type_": "decimal_str", "_data_": "1"},
])
def test_data_that_would_not_come_back_exactly_is_refused(
        log: EventLog, data: dict[str, Any]) -> None:
    with pytest.raises((TypeError, ValueError)):
        log.append([fact("patient/P1", 1, data=data)])
    assert log.head() == 0


@pytest.mark.parametrize("bad", [
    {"stream": ""}, {"version": 0}, {"version": True}, {"type": "has space"}, {"type": "_x"},
    {"schema": 0}, {"valid_on": datetime(2023, 1, 1)}, {"actor": None},
])
def test_malformed_events_are_refused(log: EventLog, bad: dict[str, Any]) -> None:
    fields: dict[str, Any] = {"stream": "patient/P1", "version": 1, "type": "Noted",
                              "schema": 1, "data": {}, "valid_on": None, "actor": ACTOR} | bad
    with pytest.raises((TypeError, ValueError)):
        log.append([NewEvent(**fields)])
    assert log.head() == 0


# --- append-only -------------------------------------------------------------------------

@pytest.mark.parametrize("table", ["events", "recorded", "streams"])
@pytest.mark.parametrize("statement", ["UPDATE {table} SET {column} = {column}",
                                       "DELETE FROM {table}"])
def test_the_database_refuses_to_change_or_remove_what_was_written(
        log: EventLog, table: str, statement: str) -> None:
    log.append([fact("patient/P1", 1), fact("patient/P1", 2)])
    name = TABLES[backend(log.url)][table]
    column = {"events": "topic", "recorded": "recorded_at", "streams": "stream"}[table]

    with raw_connection(log.url) as conn, pytest.raises((sqlite3.DatabaseError, psycopg.Error),
                                                        match="append-only"):
        conn.execute(statement.format(table=name, column=column))
    assert count_rows(log.url) == {"events": 2, "recorded": 2, "streams": 1}
    assert [f.version for f in log.stream("patient/P1")] == [1, 2]


@pytest.mark.parametrize("database_url", [pytest.param("postgres", marks=pytest.mark.postgres)],
                         indirect=True)
def test_postgres_refuses_truncate(log: EventLog) -> None:
    log.append([fact("patient/P1", 1)])
    for table in TABLES["postgres"].values():
        with raw_connection(log.url) as conn, pytest.raises(psycopg.Error, match="append-only"):
            conn.execute(f"TRUNCATE {table}")
    assert count_rows(log.url) == {"events": 1, "recorded": 1, "streams": 1}


# --- streams -----------------------------------------------------------------------------

def test_streams_lists_every_stream_name_with_a_prefix(log: EventLog) -> None:
    names = ["patient/IMP-0042", "patient/IMP-0001", "patientx/1", "cohort/lynparza-brca",
             "patient%/odd", "patient_/odd", "pasient/æøå", "patient/IMP-0001/sub"]
    log.append([fact(name, 1) for name in names])
    log.append([fact("patient/IMP-0042", 2)])

    assert log.streams("patient/") == ["patient/IMP-0001", "patient/IMP-0001/sub",
                                       "patient/IMP-0042"]
    assert log.streams("patient%") == ["patient%/odd"]
    assert log.streams("patient_") == ["patient_/odd"]
    assert log.streams("pasient/æ") == ["pasient/æøå"]
    assert log.streams("nobody/") == []
    assert log.streams("") == sorted(names)


# --- concurrency -------------------------------------------------------------------------

def test_concurrent_appends_from_threads_keep_positions_gap_free_and_time_monotone(
        log: EventLog) -> None:
    errors: list[BaseException] = []

    def own_streams(worker: int) -> None:
        for i in range(15):
            log.append([fact(f"patient/W{worker}-{i}", 1), fact(f"patient/W{worker}-{i}", 2)])

    def shared_stream() -> None:
        # A command: load, decide the next version, append; on conflict load again.
        for _ in range(10):
            while True:
                version = len(log.stream("cohort/shared")) + 1
                try:
                    log.append([fact("cohort/shared", version)])
                    break
                except ConcurrentModification:
                    continue

    def run(target: Any, *args: Any) -> None:
        try:
            target(*args)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=run, args=(own_streams, w)) for w in range(3)]
    threads += [threading.Thread(target=run, args=(shared_stream,)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors

    facts = list(log.read())
    assert len(facts) == 3 * 15 * 2 + 3 * 10 == log.head()
    assert_gap_free_and_monotone(facts)
    assert [f.version for f in log.stream("cohort/shared")] == list(range(1, 31))
    pairs = [f for f in facts if f.stream.startswith("patient/")]
    # A batch is never split by another.
    for first, second in zip(pairs[::2], pairs[1::2], strict=True):
        assert (first.stream, first.version, second.version) == (second.stream, 1, 2)
        assert second.position == first.position + 1


WRITER = """
import sys
from eventstore import EventLog, NewEvent
url, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
with EventLog(url) as log:
    print("ready", flush=True)
    sys.stdin.readline()  # all start together
    for i in range(count):
        log.append([NewEvent(f"patient/{name}-{i}", 1, "Noted", 1, {}, None, {}),
                    NewEvent(f"patient/{name}-{i}", 2, "Noted", 1, {}, None, {})])
"""


def test_concurrent_appends_from_processes_keep_positions_gap_free_and_time_monotone(
        log: EventLog) -> None:
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, log.url, f"proc{n}", "40"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
               for n in range(3)]
    for w in writers:
        assert w.stdout is not None and w.stdout.readline() == "ready\n"
    for w in writers:
        assert w.stdin is not None
        w.stdin.write("go\n")
        w.stdin.close()
    assert [w.wait(timeout=120) for w in writers] == [0, 0, 0]

    facts = list(log.read())
    assert len(facts) == 3 * 40 * 2
    assert_gap_free_and_monotone(facts)
    assert len(log.streams("patient/proc")) == 120


def test_logs_opened_at_once_on_a_new_database_do_not_race_on_the_tables(database_url: str) -> None:
    logs: list[EventLog] = []
    errors: list[BaseException] = []

    def open_log() -> None:
        try:
            logs.append(EventLog(database_url))
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=open_log) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    try:
        assert not errors and len(logs) == 4
        for n, each in enumerate(logs, start=1):
            assert each.append([fact("patient/P1", n)])[0].position == n
    finally:
        for each in logs:
            each.close()


def test_an_in_memory_sqlite_log_is_private_to_its_event_log() -> None:
    with EventLog("sqlite:///:memory:") as one, EventLog("sqlite:///:memory:") as other:
        one.append([fact("patient/P1", 1)])
        assert [f.position for f in one.read()] == [1]
        assert other.head() == 0
