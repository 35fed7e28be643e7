"""The hash chain, written by the store in the same transaction as the facts, on SQLite and
PostgreSQL: every stored hash is h(n) = SHA-256(h(n-1) || canonical bytes of fact n) over the
facts as they read back, whatever the data and however many writers append at once; digests
pin a position; an untouched log always verifies."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import threading
from datetime import date
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import chain
from eventstore import ConcurrentModification, EventLog, NewEvent, StorageError
from audit.verify import BadDigest, Digest, digest, parse_digests, verify

ACTOR = {"subject": "trial-office:kari", "role": "trial_office", "organisation": "ous",
         "request_id": "r-1"}


def fact(stream: str, version: int, data: dict[str, Any] | None = None,
         valid_on: date | None = None) -> NewEvent:
    return NewEvent(stream=stream, version=version, type="Noted", schema=1,
                    data={"n": version} if data is None else data, valid_on=valid_on, actor=ACTOR)


def stored_hashes(url: str) -> list[tuple[int, str]]:
    conn: Any
    if url.startswith("sqlite:"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    else:
        conn = psycopg.connect(url)
    try:
        return [tuple(row) for row in conn.execute(
            "SELECT position, chain_hash FROM impress_recorded ORDER BY position").fetchall()]
    finally:
        conn.close()


def test_each_stored_hash_covers_the_previous_hash_and_the_fact_as_read_back(
        log: EventLog) -> None:
    log.append([fact("patient/P1", 1, {"note": "blåbær ✓", "ratio": 0.25, "nested": {"b": [1, None]}},
                     date(2023, 6, 12)), fact("cohort/c1", 1)])
    log.append([fact("patient/P1", 2)])

    facts, hashes = list(log.read()), stored_hashes(log.url)
    assert [p for p, _ in hashes] == [1, 2, 3]
    previous = bytes(32)
    for f, (_, stored) in zip(facts, hashes, strict=True):
        expected = hashlib.sha256(previous + chain.canonical_bytes(f.position, f.recorded_at, f))
        assert stored == expected.hexdigest()
        previous = expected.digest()
    assert digest(log) == Digest(3, hashes[-1][1], facts[-1].recorded_at)


def test_the_canonical_bytes_are_the_facts_stored_fields_in_rfc_8785(log: EventLog) -> None:
    [f] = log.append([fact("patient/IMP-0042", 1, {"z": 1, "a": "Ø"}, date(2023, 9, 28))])
    moment = chain.recorded_text(f.recorded_at)
    assert chain.canonical_bytes(1, f.recorded_at, f).decode() == (
        '{"actor":{"organisation":"ous","request_id":"r-1","role":"trial_office",'
        '"subject":"trial-office:kari"},"data":{"a":"Ø","z":1},"position":1,'
        f'"recorded_at":"{moment}","schema":1,"stream":"patient/IMP-0042","type":"Noted",'
        '"valid_on":"2023-09-28","version":1}')


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                               max_size=3),
    max_leaves=8)


def test_any_data_appended_in_any_batches_verifies(log: EventLog) -> None:
    streams: dict[str, int] = {}

    @settings(max_examples=25, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.tuples(st.sampled_from(["patient/P1", "cohort/ø", "agreement/𝔸"]),
                              st.dictionaries(st.text(max_size=5), JSON, max_size=4)),
                    min_size=1, max_size=4))
    def appended(batch: list[tuple[str, dict[str, Any]]]) -> None:
        events = []
        for stream, data in batch:
            streams[stream] = streams.get(stream, 0) + 1
            events.append(fact(stream, streams[stream], data))
        log.append(events)
        result = verify(log)
        assert result.ok, result.first_difference
        assert result.checked == log.head() and result.head == digest(log)

    appended()


def test_a_refused_batch_leaves_the_chain_whole(log: EventLog) -> None:
    log.append([fact("patient/P1", 1)])
    with pytest.raises(ConcurrentModification):
        log.append([fact("patient/P2", 1), fact("patient/P1", 1)])
    log.append([fact("patient/P2", 1)])
    assert verify(log).ok and verify(log).checked == 2


# --- concurrent writers --------------------------------------------------------------------

WRITER = """
import sys
from eventstore import EventLog, NewEvent
url, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
with EventLog(url) as log:
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(count):
        log.append([NewEvent(f"patient/{name}-{i}", v, "Noted", 1, {"i": i}, None, {})
                    for v in (1, 2)])
"""


def test_concurrent_writers_in_threads_and_processes_leave_a_chain_that_verifies(
        log: EventLog) -> None:
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, log.url, f"proc{n}", "25"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
               for n in range(2)]
    for w in writers:
        assert w.stdout is not None and w.stdout.readline() == "ready\n"
    errors: list[BaseException] = []

    def shared_stream() -> None:
        try:
            for _ in range(10):
                while True:
                    version = len(log.stream("cohort/shared")) + 1
                    try:
                        log.append([fact("cohort/shared", version)])
                        break
                    except ConcurrentModification:
                        continue
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=shared_stream) for _ in range(3)]
    for w in writers:
        assert w.stdin is not None
        w.stdin.write("go\n")
        w.stdin.close()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert [w.wait(timeout=120) for w in writers] == [0, 0] and not errors

    result = verify(log, batch=17)
    assert result.ok, result.first_difference
    assert result.checked == log.head() == 2 * 25 * 2 + 3 * 10
    assert len(stored_hashes(log.url)) == result.checked


# --- digests ---------------------------------------------------------------------------------

def test_a_digest_pins_a_position_and_still_matches_after_later_appends(log: EventLog) -> None:
    assert digest(log) == Digest(0, chain.GENESIS, None)
    log.append([fact("patient/P1", 1), fact("patient/P1", 2)])
    saved, first = digest(log), digest(log, 1)
    assert saved.position == 2 and first.position == 1 and first.chain_hash != saved.chain_hash
    log.append([fact("patient/P1", 3)])

    result = verify(log, [saved, first, digest(log, 0)])
    assert result.ok and [c.matches for c in result.digests] == [True, True, True]
    assert parse_digests(f"[{_json(saved)}, {_json(first)}]") == [saved, first]
    assert parse_digests(f"{_json(saved)}\n{_json(first)}\n") == [saved, first]
    with pytest.raises(ValueError, match="no position 9"):
        digest(log, 9)


def _json(d: Digest) -> str:
    import json

    return json.dumps(d.to_dict())


@pytest.mark.parametrize("text", [
    "", "not json", "[]", '{"position": 3}', '{"position": -1, "hash": "' + "0" * 64 + '"}',
    '{"position": 3, "hash": "' + "A" * 64 + '"}', '{"position": "3", "hash": "' + "0" * 64 + '"}',
    '{"position": 0, "hash": "' + "1" * 64 + '"}',
    '{"position": 3, "hash": "' + "0" * 64 + '", "chain": "sha1"}',
    '{"position": 3, "hash": "' + "0" * 64 + '", "recorded_at": "yesterday"}',
])
def test_what_is_not_a_digest_is_refused_as_bad_input(text: str) -> None:
    with pytest.raises(BadDigest):
        parse_digests(text)


def test_verify_reports_progress_up_to_the_last_position(log: EventLog) -> None:
    log.append([fact(f"patient/P{i}", 1) for i in range(23)])
    seen: list[tuple[int, int]] = []
    assert verify(log, progress=lambda done, total: seen.append((done, total)), batch=10).ok
    assert seen == [(10, 23), (20, 23), (23, 23)]


def test_tables_made_before_the_chain_are_refused_with_a_clear_error(tmp_path: Any) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE impress_recorded (position INTEGER PRIMARY KEY, "
                 "recorded_at TEXT NOT NULL)")
    conn.close()
    with pytest.raises(StorageError, match="predate the hash chain"):
        EventLog(f"sqlite:///{path}")
