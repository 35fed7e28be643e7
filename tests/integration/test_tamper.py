"""Defence in depth: someone goes round the append-only triggers (PostgreSQL: a superuser with
`session_replication_role = replica`; SQLite: the triggers dropped, the file edited) and
changes, deletes, inserts or reorders facts. `verify` names the exact first position where the
history differs, on both databases; what the chain cannot see without a digest kept outside
(a deleted tail, a rewrite with the chain recomputed) is pinned here too (docs/adr/0010).

The log: 12 facts, positions 1..12, in batches; facts 5..8 are one patient's stream.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import psycopg
import pytest

from domain import chain, merkle, tree
from eventstore import EventLog, NewEvent
from audit.verify import Digest, Kind, digest, verify

ACTOR = {"subject": "trial-office:kari", "role": "trial_office", "organisation": "ous",
         "request_id": None}
HEAD = 12


def fact(stream: str, version: int, note: str) -> NewEvent:
    return NewEvent(stream=stream, version=version, type="Noted", schema=1,
                    data={"note": note, "packs": version}, valid_on=date(2023, 6, version),
                    actor=ACTOR)


@pytest.fixture
def history(log: EventLog) -> EventLog:
    log.append([fact("cohort/c1", 1, "opened"), fact("agreement/a1", 1, "signed")])
    log.append([fact("cohort/c1", 2, "stage-two")])
    log.append([fact("agreement/a1", 2, "amended")])
    log.append([fact("patient/P1", v, f"p1-note-{v}") for v in range(1, 5)])  # 5..8
    for n in range(9, HEAD + 1):
        log.append([fact(f"patient/P{n}", 1, f"enrolled-{n}")])
    assert log.head() == HEAD
    return log


class Tamper:
    """Raw SQL on the log's tables with the append-only triggers out of the way. SQL is
    written with {events}, {pos} (the events' position column) and ? placeholders."""

    def __init__(self, url: str) -> None:
        self.sqlite = url.startswith("sqlite:")
        self.conn: Any
        if self.sqlite:
            self.conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            for (name,) in self.conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
                self.conn.execute(f"DROP TRIGGER {name}")
        else:
            self.conn = psycopg.connect(url, autocommit=True)
            self.conn.execute("SET session_replication_role = replica")  # triggers off

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        sql = sql.format(events="stored_events" if self.sqlite else "impress_events",
                         pos="rowid" if self.sqlite else "notification_id")
        if not self.sqlite:
            sql = sql.replace("?", "%s")
        cursor = self.conn.execute(sql, params)
        return list(cursor.fetchall()) if cursor.description else []

    def state(self, position: int) -> bytes:
        return bytes(self.run("SELECT state FROM {events} WHERE {pos} = ?", (position,))[0][0])

    def set_state(self, position: int, state: bytes) -> None:
        self.run("UPDATE {events} SET state = ? WHERE {pos} = ?", (state, position))

    def shift(self, table: str, column: str, start: int, by: int) -> None:
        """Renumber positions >= start by `by`, in two steps so no key collides midway."""
        self.run(f"UPDATE {table} SET {column} = -{column} WHERE {column} >= ?", (start,))
        self.run(f"UPDATE {table} SET {column} = -{column} + ? WHERE {column} < 0", (by,))

    def shift_both(self, start: int, by: int) -> None:
        self.shift("{events}", "{pos}", start, by)
        self.shift("impress_recorded", "position", start, by)

    def clone_event(self, source: int, position: int, version: int) -> None:
        """A forged event: the row at `source` copied to `position` as another version."""
        self.run("INSERT INTO {events} (originator_id, originator_version, topic, state, {pos}) "
                 "SELECT originator_id, ?, topic, state, ? FROM {events} WHERE {pos} = ?",
                 (version, position, source))

    def close(self) -> None:
        self.conn.close()


@contextmanager
def tampering(log: EventLog) -> Iterator[Tamper]:
    t = Tamper(log.url)
    try:
        yield t
    finally:
        t.close()


def first_difference(log: EventLog, *digests: Digest) -> tuple[int, Kind]:
    result = verify(log, digests, batch=5)  # small batches: the walk crosses batch edges
    assert not result.ok, "the tampering went unnoticed"
    d = result.first_difference
    assert d is not None
    return d.position, d.kind


def test_an_untouched_log_verifies_and_matches_its_digests(history: EventLog) -> None:
    saved = [digest(history, 4), digest(history)]
    result = verify(history, saved, batch=5)
    assert result.ok and result.checked == HEAD and result.head == saved[-1]
    assert [c.matches for c in result.digests] == [True, True]


# --- a changed byte --------------------------------------------------------------------------

def test_a_flipped_byte_in_a_fact_is_named_at_its_position(history: EventLog) -> None:
    with tampering(history) as t:
        state = t.state(6)
        assert b"p1-note-2" in state
        t.set_state(6, state.replace(b"p1-note-2", b"p1-note-3"))  # one byte: '2' -> '3'
    assert first_difference(history) == (6, Kind.CHANGED)


def test_a_byte_that_breaks_the_stored_json_is_named_unreadable(history: EventLog) -> None:
    with tampering(history) as t:
        state = t.state(7)
        t.set_state(7, state[:-1] + b"]")  # the closing brace
    assert first_difference(history) == (7, Kind.UNREADABLE)


@pytest.mark.parametrize(("sql", "params"), [
    ("UPDATE impress_recorded SET chain_hash = ? WHERE position = 9", ("f" * 64,)),
    ("UPDATE {events} SET topic = 'impress.fact:Retracted' WHERE {pos} = 9", ()),
    ("UPDATE {events} SET originator_version = 7 WHERE {pos} = 9", ()),
], ids=["stored-hash", "fact-type", "version"])
def test_any_column_the_ledger_reads_is_covered(history: EventLog, sql: str,
                                                params: tuple[Any, ...]) -> None:
    with tampering(history) as t:
        t.run(sql, params)
    assert first_difference(history) == (9, Kind.CHANGED)


def test_a_changed_recorded_time_or_actor_is_named(history: EventLog) -> None:
    with tampering(history) as t:
        state = t.state(10)
        t.set_state(10, state.replace(b"trial-office:kari", b"trial-office:ola "))
    assert first_difference(history) == (10, Kind.CHANGED)


def test_a_recorded_time_moved_back_is_named(history: EventLog) -> None:
    with tampering(history) as t:
        t.run("UPDATE impress_recorded SET recorded_at = "
              "(SELECT recorded_at FROM impress_recorded WHERE position = 1) WHERE position = 11")
    # Equal to position 1's time: not earlier than 10's only if nothing was recorded between.
    position, kind = first_difference(history)
    assert position == 11 and kind in (Kind.TIME_GOES_BACK, Kind.CHANGED)


def test_a_fact_moved_to_another_stream_is_named(history: EventLog) -> None:
    with tampering(history) as t:
        # Filed as cohort/c1's third fact: the stream's listing now shows someone else's.
        t.run("UPDATE {events} SET originator_version = 3, originator_id = "
              "(SELECT originator_id FROM {events} WHERE {pos} = 1) WHERE {pos} = 12")
    assert first_difference(history) == (12, Kind.WRONG_STREAM)


# --- a deleted fact ----------------------------------------------------------------------------

@pytest.mark.parametrize("also_recorded_row", [True, False])
def test_a_deleted_fact_leaves_a_gap_named_at_its_position(history: EventLog,
                                                            also_recorded_row: bool) -> None:
    with tampering(history) as t:
        t.run("DELETE FROM {events} WHERE {pos} = 6")
        if also_recorded_row:
            t.run("DELETE FROM impress_recorded WHERE position = 6")
    assert first_difference(history) == (6, Kind.MISSING)


def test_a_deleted_fact_with_the_rest_renumbered_is_named_at_its_position(
        history: EventLog) -> None:
    with tampering(history) as t:
        t.run("DELETE FROM {events} WHERE {pos} = 6")
        t.run("DELETE FROM impress_recorded WHERE position = 6")
        t.shift_both(7, -1)  # gap-free again: 7..12 become 6..11
    assert first_difference(history) == (6, Kind.CHANGED)


def test_a_deleted_tail_needs_a_digest_kept_outside(history: EventLog) -> None:
    saved = digest(history)
    with tampering(history) as t:
        t.run("DELETE FROM {events} WHERE {pos} > 10")
        t.run("DELETE FROM impress_recorded WHERE position > 10")
    assert verify(history).ok  # what is left is a whole chain: the ADR says so
    assert first_difference(history, saved) == (11, Kind.TRUNCATED)


# --- an inserted fact --------------------------------------------------------------------------

def test_a_fact_inserted_in_the_middle_is_named_at_its_position(history: EventLog) -> None:
    with tampering(history) as t:
        t.shift_both(5, +1)  # make room at 5
        t.clone_event(source=2, position=5, version=99)
        t.run("INSERT INTO impress_recorded SELECT 5, recorded_at, chain_hash, salt, tree "
              "FROM impress_recorded WHERE position = 4")
    assert first_difference(history) == (5, Kind.CHANGED)


def test_a_fact_inserted_without_a_recorded_row_is_named(history: EventLog) -> None:
    with tampering(history) as t:
        t.shift("{events}", "{pos}", 5, +1)  # the events only: the recorded rows stay
        t.clone_event(source=2, position=5, version=99)
    assert first_difference(history) == (5, Kind.CHANGED)


def test_a_fact_appended_round_the_ledger_is_named(history: EventLog) -> None:
    with tampering(history) as t:
        t.clone_event(source=2, position=HEAD + 1, version=99)
    assert first_difference(history) == (HEAD + 1, Kind.UNRECORDED)


def test_a_fact_inserted_before_the_first_position_is_named(history: EventLog) -> None:
    with tampering(history) as t:
        t.clone_event(source=2, position=0, version=98)
    assert first_difference(history) == (0, Kind.OUTSIDE)


def test_a_stream_hidden_from_the_index_is_named(history: EventLog) -> None:
    with tampering(history) as t:
        t.run("DELETE FROM impress_streams WHERE stream = 'patient/P10'")
    assert first_difference(history) == (10, Kind.INDEX)


# --- reordering -------------------------------------------------------------------------------

@pytest.mark.parametrize("with_recorded_rows", [False, True])
def test_two_facts_swapped_are_named_at_the_first(history: EventLog,
                                                  with_recorded_rows: bool) -> None:
    tables = [("{events}", "{pos}")] + ([("impress_recorded", "position")]
                                        if with_recorded_rows else [])
    with tampering(history) as t:
        for table, column in tables:
            t.run(f"UPDATE {table} SET {column} = -1 WHERE {column} = 5")
            t.run(f"UPDATE {table} SET {column} = 5 WHERE {column} = 9")
            t.run(f"UPDATE {table} SET {column} = 9 WHERE {column} = -1")
    assert first_difference(history) == (5, Kind.CHANGED)


def test_two_versions_of_a_stream_swapped_are_named(history: EventLog) -> None:
    with tampering(history) as t:
        t.run("UPDATE {events} SET originator_version = -1 WHERE {pos} = 6")
        t.run("UPDATE {events} SET originator_version = 2 WHERE {pos} = 7")
        t.run("UPDATE {events} SET originator_version = 3 WHERE {pos} = 6")
    assert first_difference(history) == (6, Kind.CHANGED)


# --- a rewrite by someone who recomputes the chain --------------------------------------------

def rechain(log: EventLog, t: Tamper, start: int) -> None:
    """What an attacker holding the database can do: recompute every hash from `start` on,
    of the chain and of the Merkle tree (the algorithms are public and have no key)."""
    previous = log.link(start - 1)
    assert previous is not None
    head = previous.chain_hash
    grown = merkle.CompactRange.from_columns(
        start - 1, log.columns(merkle.frontier_positions(start - 1)))
    for entry in log.entries(first=start, up_to=log.extent()[1]):
        assert entry.fact is not None and entry.recorded_at is not None and entry.salt
        canonical = chain.canonical_bytes(entry.position, entry.recorded_at, entry.fact)
        head = chain.follow(head, canonical)
        column = grown.append(tree.leaf_hash(entry.salt, canonical))
        t.run("UPDATE impress_recorded SET chain_hash = ?, tree = ? WHERE position = ?",
              (head, column, entry.position))


def test_a_rewrite_with_the_chain_recomputed_is_caught_only_by_a_saved_digest(
        history: EventLog) -> None:
    early, late = digest(history, 4), digest(history)
    with tampering(history) as t:
        t.set_state(6, t.state(6).replace(b"p1-note-2", b"p1-note-3"))
        rechain(history, t, 6)
    assert verify(history).ok  # nothing in the database contradicts it: the ADR says so
    result = verify(history, [early, late])
    d = result.first_difference
    assert d is not None and d.kind is Kind.REWRITTEN
    assert (d.since, d.position) == (5, HEAD)  # after the digest at 4, up to the one at 12
    assert [c.matches for c in result.digests] == [True, False]
