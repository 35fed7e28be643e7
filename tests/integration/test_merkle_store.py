"""The Merkle tree the store keeps, on SQLite and PostgreSQL: written in the appending transaction
under the writers' lock, so whatever the batches and however writers interleave, the stored
tree is exactly RFC 9162's tree over the salted facts in position order (tests/unit/
test_merkle.py's reference), and every proof the store gives is the RFC's."""

from __future__ import annotations

import sqlite3
import threading
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit import proofs
from audit.verify import verify
from domain import chain, merkle, tree
from eventstore import EventLog, NewEvent, StorageError, StoredFact
from tests.unit.test_merkle import mth, path, proof

ACTOR = {"subject": "trial-office:kari", "role": "trial_office", "organisation": "ous"}


def fact(stream: str, version: int, note: str = "noted") -> NewEvent:
    return NewEvent(stream=stream, version=version, type="Noted", schema=1,
                    data={"note": note}, valid_on=date(2023, 6, 1), actor=ACTOR)


def leaves(log: EventLog) -> list[bytes]:
    """Every leaf input, recomputed from the facts as read and the salts as stored."""
    facts = list(log.read())
    salts = log.tree([f.position for f in facts])
    return [tree.leaf_input(salts[f.position][0], canonical(f)) for f in facts]


def canonical(f: StoredFact) -> bytes:
    return chain.canonical_bytes(f.position, f.recorded_at, f)


def assert_tree_is_the_rfcs(log: EventLog) -> None:
    d = leaves(log)
    n = len(d)
    assert merkle.root(n, log.columns) == mth(d)
    for m in sorted({0, n // 3, n // 2, n - 1}):
        assert merkle.inclusion_proof(m, n, log.columns) == path(m, d)
    for first in sorted({1, max(1, n // 2), max(1, n - 1), n}):
        assert merkle.consistency_proof(first, n, log.columns) == proof(first, d)


def test_the_stored_tree_is_the_rfcs_tree_over_the_salted_facts(log: EventLog) -> None:
    for size in (1, 2, 3, 5, 8, 1, 13, 30):  # batches that end on and off powers of two
        head = log.head()
        log.append([fact(f"patient/P{head + i}", 1) for i in range(size)])
        assert_tree_is_the_rfcs(log)
    assert verify(log).ok


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.integers(1, 40), min_size=1, max_size=12))
def test_any_sequence_of_batches_gives_the_same_tree_as_one_fact_at_a_time(
        database_url: str, batches: list[int]) -> None:
    with EventLog(database_url) as log:
        first = log.head() + 1
        streams = [f"patient/B{first}-{i}" for i in range(sum(batches))]
        at = 0
        for size in batches:
            log.append([fact(s, 1) for s in streams[at:at + size]])
            at += size
        assert merkle.root(log.head(), log.columns) == mth(leaves(log))


def test_every_fact_has_its_own_secret_salt(log: EventLog) -> None:
    stored = log.append([fact("patient/P1", 1, "same"), fact("patient/P2", 1, "same")])
    salts = log.tree([f.position for f in stored])
    assert all(len(salt) == tree.SALT_SIZE for salt, _ in salts.values())
    assert salts[1][0] != salts[2][0]
    # Without the salt, the fact alone does not give its leaf: a guess cannot be checked.
    assert merkle.leaf_hash(canonical(stored[0])) != salts[1][1][:32]


def test_concurrent_writers_leave_one_tree_over_the_log_in_commit_order(log: EventLog) -> None:
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            with EventLog(log.url, create_tables=False) as own:
                for i in range(12):
                    own.append([fact(f"patient/W{worker}-{i}", v) for v in (1, 2, 3)])
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and log.head() == 4 * 12 * 3
    assert_tree_is_the_rfcs(log)
    assert verify(log).ok


def test_a_proof_from_the_store_verifies_and_names_the_fact_exactly(log: EventLog) -> None:
    for n in range(1, 40):
        log.append([fact(f"patient/P{n}", 1, f"note {n}")])
    found = proofs.inclusion(log, 23, 37)
    assert found.fact == chain.canonical_object(23, log.fact_at(23).recorded_at,  # type: ignore
                                                log.fact_at(23))  # type: ignore[arg-type]
    merkle.verify_inclusion(22, 37, found.leaf_hash, [bytes.fromhex(h) for h in found.path],
                            merkle.root(37, log.columns))
    later = proofs.consistency(log, 23, 39)
    merkle.verify_consistency(23, 39, bytes.fromhex(later.first_root),
                              bytes.fromhex(later.second_root),
                              [bytes.fromhex(h) for h in later.path])
    with pytest.raises(proofs.OutOfRange):
        proofs.inclusion(log, 38, 37)
    with pytest.raises(proofs.OutOfRange):
        proofs.consistency(log, 1, 40)


def test_a_log_made_before_the_tree_is_refused_at_start(database_url: str,
                                                         tmp_path: Path) -> None:
    """Nothing is in production (ADR 0019, as ADR 0010 for the chain): recreate and import."""
    old = ("CREATE TABLE impress_recorded (position bigint PRIMARY KEY, recorded_at text NOT "
           "NULL, chain_hash text NOT NULL)")
    if database_url.startswith("sqlite"):
        conn: Any = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        conn.execute(old)
        conn.commit()
    else:
        conn = psycopg.connect(database_url, autocommit=True)
        conn.execute(old)
    conn.close()
    with pytest.raises(StorageError, match="Merkle tree"):
        EventLog(database_url)
