"""Appending, on SQLite and PostgreSQL: the version-gap check looks at every stream of a batch
at once; on PostgreSQL, where an append is pipelined (two waits on the network), a connection
lost before the COMMIT is sent is retried, one lost while committing is not."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import psycopg
import pytest

from eventstore import EventLog, NewEvent, StorageError

ACTOR = {"subject": "u1", "role": "trial_office", "organisation": "ous", "request_id": "r-1"}


def fact(stream: str, version: int) -> NewEvent:
    return NewEvent(stream=stream, version=version, type="Noted", schema=1, data={"n": version},
                    valid_on=None, actor=ACTOR)


def test_a_gap_in_any_stream_of_a_large_batch_is_found_and_nothing_is_written(
        log: EventLog) -> None:
    names = [f"patient/P{i}" for i in range(450)]  # more streams than one SQLite query takes
    log.append([fact(name, 1) for name in names])
    log.append([fact("patient/late", 1)])

    with pytest.raises(ValueError, match="patient/late: version 3 would leave a gap"):
        log.append([fact(name, 2) for name in names] + [fact("patient/late", 3)])
    assert log.head() == 451

    facts = log.append([fact(name, 2) for name in names] + [fact("patient/late", 2),
                                                           fact("patient/new", 1)])
    assert [f.position for f in facts] == list(range(452, 452 + 452))
    assert log.streams("patient/new") == ["patient/new"]
    assert [f.version for f in log.stream("patient/late")] == [1, 2]


def test_a_fact_on_a_kind_of_stream_its_type_is_not_folded_into_is_refused_whole(
        log: EventLog) -> None:
    """A rebuild's workers choose a patient's facts by type (ADR 0036): the log refuses a
    patient's fact on another kind of stream, and a cohort's on a patient's, and the batch
    that holds one records nothing."""
    started = NewEvent(stream="cohort/C1", version=1, type="TreatmentStarted", schema=1,
                       data={"n": 1}, valid_on=None, actor=ACTOR)
    with pytest.raises(ValueError, match="a TreatmentStarted fact belongs on a patient stream, "
                                         "not on cohort/C1"):
        log.append([fact("patient/P1", 1), started])
    opened = NewEvent(stream="patient/P1", version=1, type="CohortOpened", schema=1,
                      data={"n": 1}, valid_on=None, actor=ACTOR)
    with pytest.raises(ValueError, match="CohortOpened fact belongs on a cohort stream"):
        log.append([opened])
    assert log.head() == 0
    assert [f.stream for f in log.append([replace(started, stream="patient/P1")])] == [
        "patient/P1"]


# --- PostgreSQL: a lost connection --------------------------------------------------------

POSTGRES_ONLY = pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)


def terminate(url: str, cursor: Any) -> None:
    """Ends the append's server process, as a restart or a network failure would."""
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s, 5000)",
                      (cursor.connection.info.backend_pid,))


@POSTGRES_ONLY
def test_a_connection_lost_before_the_commit_is_sent_is_retried(
        log: EventLog, monkeypatch: pytest.MonkeyPatch) -> None:
    log.append([fact("patient/P1", 1)])
    recorder = log.application.recorder
    read_head, calls = recorder._read_head, []

    def lost_once(c: Any, *args: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            terminate(log.url, c)
        return read_head(c, *args)

    monkeypatch.setattr(recorder, "_read_head", lost_once)
    [stored] = log.append([fact("patient/P1", 2)])

    assert len(calls) == 2 and stored.position == 2
    assert [f.version for f in log.read()] == [1, 2]


@POSTGRES_ONLY
def test_a_connection_lost_while_committing_is_not_retried(
        log: EventLog, monkeypatch: pytest.MonkeyPatch) -> None:
    log.append([fact("patient/P1", 1)])
    recorder = log.application.recorder
    insert_streams, calls = recorder._insert_streams, []

    def lost(c: Any, rows: Any) -> None:
        calls.append(1)
        insert_streams(c, rows)
        terminate(log.url, c)  # the COMMIT is sent after this, to a server that is gone

    monkeypatch.setattr(recorder, "_insert_streams", lost)
    with pytest.raises(StorageError, match="may or may not be stored"):
        log.append([fact("patient/P2", 1)])
    monkeypatch.undo()

    assert calls == [1]  # a retry could store the batch twice, or refuse it as a conflict
    assert [f.stream for f in log.read()] == ["patient/P1"]  # here it was not committed
    assert log.append([fact("patient/P2", 1)])[0].position == 2
