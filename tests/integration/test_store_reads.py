"""Reading facts back, on SQLite and PostgreSQL: the decoder's direct path gives exactly what
the library's mapper gives, for every fact of a real history and for any JSON-ready data; rows
the ledger would not have written go through the mapper; what append returns is what reads
return."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import psycopg
import psycopg.sql
import pytest
from eventsourcing.compressor import ZlibCompressor
from eventsourcing.cryptography import AESCipher
from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, Mapper
from eventsourcing.utils import Environment
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application import demo
from application.ledger import Ledger
from eventstore import EventLog, NewEvent, StoredFact, stream_id
from eventstore.decode import FactDecoder, _stream_key
from eventstore.postgres_schema import APPEND_SETTING
from eventstore import log as log_module
from eventstore.sqlite_store import APPENDING

ACTOR = {"subject": "u1", "role": "trial_office", "organisation": "ous", "request_id": "r-1"}


def fact(stream: str, version: int, data: dict[str, Any] | None = None,
         valid_on: date | None = None) -> NewEvent:
    return NewEvent(stream=stream, version=version, type="Noted", schema=1,
                    data={"n": version} if data is None else data, valid_on=valid_on, actor=ACTOR)


def rows_of(log: EventLog) -> list[Any]:
    return log._recorder.select_facts()


def both_paths(log: EventLog, row: Any) -> tuple[StoredFact | None, StoredFact]:
    decoder = log._decoder
    recorded_at = row.recorded_at.astimezone(UTC)
    return (decoder._direct(row.event, row.position, recorded_at),
            decoder.mapped(row.event, row.position, recorded_at))


def test_every_fact_of_the_demo_reads_the_same_directly_and_through_the_mapper(
        database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = Ledger.open(database_url)
    appended: list[StoredFact] = []
    append = ledger.log.append

    def keeping(events: list[NewEvent]) -> list[StoredFact]:
        facts = append(events)
        appended.extend(facts)
        return facts

    ledger.log.append = keeping  # type: ignore[method-assign]
    try:
        assert demo.load_demo(ledger) == len(appended) == ledger.log.head() > 100
        log = ledger.log
        assert log._decoder.direct
        for row in rows_of(log):
            direct, mapped = both_paths(log, row)
            assert direct is not None, row.position  # the ledger's own rows all go direct
            assert direct == mapped
        # What append returned is what reads return, by stream and in log order.
        assert list(log.read(batch=97)) == appended
        for stream in {f.stream for f in appended}:
            assert log.stream(stream) == [f for f in appended if f.stream == stream]
        # Several streams at once (a bundle's), in log order, up to a position; past 500
        # streams in more than one query.
        streams = sorted({f.stream for f in appended})
        for some, up_to in [(streams[::3], None), (streams[1::2], len(appended) // 2),
                            (streams, len(appended) - 7), ([], None)]:
            assert log.facts_of(some, up_to=up_to) == [
                f for f in appended
                if f.stream in some and (up_to is None or f.position <= up_to)]
        monkeypatch.setattr(log_module, "_STREAMS_PER_QUERY", 7)
        assert log.facts_of(streams) == appended
    finally:
        ledger.close()


TEXT = st.text(max_size=8) | st.sampled_from(
    ["_type_", "_data_", "datetime_iso", '"_type_"', "\\u005f", "\x01", "\\", "ø\u2028"])


def objects(values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    # The log refuses an object of exactly the transcoder's keys (see test_event_log).
    return st.dictionaries(TEXT, values, max_size=3).filter(
        lambda d: set(d) != {"_type_", "_data_"})


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | TEXT
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | objects(inner), max_leaves=10)


def test_any_data_reads_back_as_the_mapper_reads_it_and_as_it_was_appended(
        log: EventLog) -> None:
    streams: dict[str, int] = {}

    @settings(max_examples=30, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.tuples(st.sampled_from(["patient/P1", "cohort/ø", "agreement/𝔸"]),
                              objects(JSON),
                              st.none() | st.dates()), min_size=1, max_size=4))
    def appended(batch: list[tuple[str, dict[str, Any], date | None]]) -> None:
        events = []
        for stream, data, valid_on in batch:
            streams[stream] = streams.get(stream, 0) + 1
            events.append(fact(stream, streams[stream], data, valid_on))
        facts = log.append(events)
        assert list(log.read(after=facts[0].position - 1)) == facts
        for row in rows_of(log)[-len(facts):]:
            direct, mapped = both_paths(log, row)
            assert direct is None or direct == mapped
            assert log._decoder.fact(row.event, row.position, row.recorded_at) == mapped

    appended()


# --- rows the ledger would not write ------------------------------------------------------

def insert_raw(url: str, position: int, stream: str, version: int, state: bytes,
               originator: Any = None) -> None:
    """A row written round the log, as someone with the database's password could who also
    reads the ledger's code: the INSERT guard stops stray writes, not deliberate ones."""
    originator = originator or stream_id(stream)
    moment = datetime(2024, 1, 1, tzinfo=UTC)
    topic = "impress.fact:Noted"
    if url.startswith("sqlite:"):
        conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        conn.create_function(APPENDING, 0, lambda: 1)
        conn.execute("INSERT INTO stored_events (rowid, originator_id, originator_version, "
                     "topic, state) VALUES (?, ?, ?, ?, ?)",
                     (position, getattr(originator, "hex", originator), version, topic, state))
        conn.execute("INSERT INTO impress_recorded VALUES (?, ?, ?, ?, ?)",
                     (position, "2024-01-01T00:00:00.000000Z", "0" * 64, b"", b""))
    else:
        conn = psycopg.connect(url, autocommit=True)
        conn.execute(f"SET {APPEND_SETTING} = 'on'")
        conn.execute("INSERT INTO impress_events (originator_id, originator_version, topic, "
                     "state, notification_id) VALUES (%s, %s, %s, %s, %s)",
                     (originator, version, topic, state, position))
        conn.execute("INSERT INTO impress_recorded VALUES (%s, %s, %s, %s, %s)",
                     (position, moment, "0" * 64, b"", b""))
    conn.close()


def state(data: str, stream: str = "patient/P1", extra: str = "") -> bytes:
    return ('{"timestamp":{"_type_":"datetime_iso","_data_":"2024-01-01T00:00:00+00:00"},'
            f'"stream":"{stream}","schema":1,"data":{data},"valid_on":null,"actor":{{}}{extra}}}'
            ).encode()


@pytest.mark.parametrize("written", [
    pytest.param(state('{"x":{"_type_":"decimal_str","_data_":"1.5"}}'), id="transcoded"),
    pytest.param(state('{"\\u005ftype_":"x"}'), id="escaped"),
    pytest.param(state("{}", extra=',"class_version":1'), id="class-version"),
    pytest.param(state("{}", stream="patient/someone-else"), id="other-stream"),
    pytest.param(b' ' + state("{}"), id="whitespace"),
])
def test_a_row_the_ledger_would_not_write_reads_as_the_mapper_reads_it(
        log: EventLog, written: bytes) -> None:
    log.append([fact("patient/P1", 1)])
    insert_raw(log.url, 2, "patient/P1", 2, written)

    [row] = rows_of(log)[1:]
    direct, mapped = both_paths(log, row)
    assert direct is None
    assert list(log.read())[1] == mapped
    if b"decimal_str" in written:
        assert mapped.data == {"x": Decimal("1.5")}


@pytest.mark.parametrize("written", [
    pytest.param(state("{}").replace(b"2024-01-01T00", b"2024-13-01T00"), id="bad-timestamp"),
    pytest.param(state("{}").replace(b'"schema":1,', b""), id="no-schema"),
    pytest.param(b"[1]", id="not-an-object"),
])
def test_a_row_the_mapper_cannot_read_fails_as_it_always_did(
        log: EventLog, written: bytes) -> None:
    insert_raw(log.url, 1, "patient/P1", 1, written)

    [row] = rows_of(log)
    assert log._decoder._direct(row.event, 1, row.recorded_at) is None
    with pytest.raises(Exception) as through_mapper:
        log._decoder.mapped(row.event, 1, row.recorded_at)
    with pytest.raises(type(through_mapper.value)):
        list(log.read())


def test_a_cipher_or_a_compressor_keeps_every_row_on_the_mapper() -> None:
    transcoder = JSONTranscoder()
    assert not FactDecoder(Mapper(transcoder)).direct  # no datetime transcoding: not ours
    transcoder.register(DatetimeAsISO())
    assert FactDecoder(Mapper(transcoder)).direct
    assert not FactDecoder(Mapper(transcoder, compressor=ZlibCompressor())).direct
    cipher = AESCipher(Environment(env={"CIPHER_KEY": AESCipher.create_key(16)}))
    assert not FactDecoder(Mapper(transcoder, cipher=cipher)).direct


def test_a_read_for_facts_mentioning_a_text_gives_every_one_of_them_and_leaves_the_others(
        log: EventLog) -> None:
    keyed = {**ACTOR, "idempotency_key": "k-1"}
    log.append([fact("patient/P1", 1), fact("patient/P2", 1)])
    log.append([NewEvent(stream="patient/P1", version=2, type="Noted", schema=1, data={"n": 2},
                         valid_on=None, actor=keyed)])
    # a text quoting the key is stored escaped (\"idempotency_key\"): not the key itself
    log.append([fact("patient/P3", 1, {"reason": 'a note that says "idempotency_key"'})])
    log.append([NewEvent(stream="patient/P3", version=2, type="Noted", schema=1, data={},
                         valid_on=None, actor={**keyed, "idempotency_key": "k-2"})])
    found = list(log.read(mentioning='"idempotency_key"', batch=1))
    assert [(f.stream, f.version, f.actor["idempotency_key"]) for f in found] == [
        ("patient/P1", 2, "k-1"), ("patient/P3", 2, "k-2")]
    assert list(log.read(after=3, mentioning='"idempotency_key"')) == found[1:]
    assert list(log.read(mentioning='"nowhere"')) == []


def test_a_read_for_a_text_gives_every_fact_when_the_stored_form_is_not_the_json(
        log: EventLog) -> None:
    log.append([fact("patient/P1", 1), fact("patient/P1", 2)])
    log._decoder.direct = False  # a cipher or compressor configured: the bytes say nothing
    assert [f.version for f in log.read(mentioning='"nowhere"')] == [1, 2]


def test_a_streams_facts_by_page_by_type_and_by_text(log: EventLog) -> None:
    log.append([fact("patient/P1", v, {"n": v, "note": f"about IMP-{v:04d}"}) for v in (1, 2, 3)])
    log.append([NewEvent(stream="patient/P1", version=4, type="Corrected", schema=1,
                         data={"corrects": "patient/P1@2"}, valid_on=None, actor=ACTOR)])
    log.append([fact("patient/P2", 1, {"note": "about IMP-0002"})])
    whole = log.stream("patient/P1")
    assert [f.version for f in whole] == [1, 2, 3, 4]
    assert log.stream("patient/P1", after_version=1, limit=2) == whole[1:3]
    assert log.stream("patient/P1", after_version=3, limit=2) == whole[3:]
    assert log.stream("patient/P1", types=["Corrected"]) == whole[3:]
    assert log.stream("patient/P1", after_version=1, types=["Corrected", "Noted"]) == whole[1:]
    assert log.stream("patient/P1", mentioning="IMP-0002") == [whole[1]]
    assert log.stream("patient/P1", mentioning="IMP-0009") == []
    log._decoder.direct = False  # a cipher or compressor: every fact, for the reader to check
    assert log.stream("patient/P1", mentioning="IMP-0009") == whole


@given(st.text(max_size=60))
def test_a_streams_key_is_the_hex_of_its_id(stream: str) -> None:
    # the direct path compares a row's stored id with this key, not with a parsed UUID
    assert _stream_key.__wrapped__(stream) == stream_id(stream).hex


# --- PostgreSQL: a read of a run of positions visits only that run -----------------------------

POSTGRES_ONLY = pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)


def scanned(url: str, sql: Any, params: Any, table: str) -> int:
    """The rows the plan of a statement read from `table`'s scans (EXPLAIN ANALYZE)."""
    with psycopg.connect(url) as conn:
        conn.execute("ANALYZE")
        with conn.cursor() as cur:
            cur.execute(psycopg.sql.SQL("EXPLAIN (ANALYZE, FORMAT JSON) ") + sql, params)
            row = cur.fetchone()
            assert row is not None
            plan = row[0][0]["Plan"]

    def walk(node: dict[str, Any]) -> int:  # every loop's rows (Actual Rows is per loop)
        own = (node.get("Actual Rows", 0) * node.get("Actual Loops", 1)
               if node.get("Relation Name") == table else 0)
        return own + sum(walk(child) for child in node.get("Plans", ()))
    return walk(plan)


@POSTGRES_ONLY
def test_a_read_after_a_position_does_not_walk_the_log_from_its_start(
        log: EventLog, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # A catch-up reads the log a batch at a time; each batch once made the server walk the
    # recorded rows from the first position to the batch's (a rebuild's worker read its part of
    # M in 30 s so, 4.7 s now), so every batch cost more than the one before.
    for first in range(1, 3001, 500):
        log.append([fact(f"patient/P{n}", 1) for n in range(first, first + 500)])
    statements: list[tuple[Any, Any]] = []
    execute = psycopg.Cursor.execute

    def keeping(self: psycopg.Cursor[Any], query: Any, params: Any = None,
                **kwargs: Any) -> psycopg.Cursor[Any]:
        statements.append((query, params))
        return execute(self, query, params, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", keeping)
    facts = list(log.read(after=2500, up_to=2900, batch=100))
    monkeypatch.undo()
    assert [f.position for f in facts] == list(range(2501, 2901))
    reads = [(q, p) for q, p in statements if "impress_recorded" in str(q)]
    assert len(reads) == 5  # four pages, then an empty one
    for query, params in reads:
        # the page's 100 rows (and the row after it, where the merge stops), not 2 500 and more
        assert scanned(database_url, query, params, "impress_recorded") <= 101
