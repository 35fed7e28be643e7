"""What a partner holding signed heads can now prove alone (ADR 0019), on both databases: someone
goes round the append-only triggers (as in test_tamper.py) and the partner's offline checks
(proofs.check, what `impress-verify` runs) fail, where the hash chain alone needed a digest
saved outside. And what the server's own verify says about the tree."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from application.ledger import Ledger
from audit import heads, proofs
from audit.verify import Kind, verify
from domain.values import Actor
from eventstore import EventLog, NewEvent
from proofs.check import Failed, check_consistency, check_inclusion
from proofs.keys import SigningKey
from tests.integration.test_tamper import rechain, tampering

AUDITOR = Actor(subject="cli:auditor", role="auditor", organisation="local")
KEY = SigningKey(Ed25519PrivateKey.generate())
TRUSTED = {KEY.key_id: KEY.public_raw}


def fact(stream: str, version: int, note: str) -> NewEvent:
    return NewEvent(stream=stream, version=version, type="Noted", schema=1,
                    data={"note": note}, valid_on=date(2023, 6, 1),
                    actor={"subject": "kari", "role": "trial_office", "organisation": "ous"})


def append(log: EventLog, count: int) -> None:
    first = log.head() + 1
    for n in range(first, first + count):
        log.append([fact(f"patient/P{n}", 1, f"note {n}")])


@pytest.fixture
def ledger(log: EventLog) -> Iterator[Ledger]:
    append(log, 20)
    yield Ledger(log)


def sign(ledger: Ledger) -> heads.RecordedHead:
    return heads.sign(Ledger(ledger.log), KEY, AUDITOR)  # a fresh ledger: no cached states


def test_an_untouched_log_proves_every_fact_and_extends_every_head(ledger: Ledger) -> None:
    archived = sign(ledger)
    assert archived.signed.head.tree_size == 20 and archived.position == 21
    append(ledger.log, 5)
    new = sign(ledger)
    for position in (1, 7, 20):
        check_inclusion(proofs.inclusion(ledger.log, position, 20), archived.signed, TRUSTED)
    proof = proofs.consistency(ledger.log, 20, new.signed.head.tree_size)
    assert proof.first_head == archived.signed and proof.second_head == new.signed
    check_consistency(new.signed, [archived.signed], [proof], TRUSTED)
    assert verify(ledger.log).ok  # the facts still give every signed head's root


def test_a_changed_fact_fails_its_inclusion_proof(ledger: Ledger) -> None:
    head = sign(ledger)
    with tampering(ledger.log) as t:
        t.set_state(7, t.state(7).replace(b"note 7", b"note 8"))
    with pytest.raises(Failed, match="position 7 is not proved"):
        check_inclusion(proofs.inclusion(ledger.log, 7, 20), head.signed, TRUSTED)
    assert verify(ledger.log).first_difference.kind is Kind.CHANGED  # type: ignore[union-attr]


def test_a_rewrite_with_chain_and_tree_recomputed_fails_consistency_with_an_archived_head(
        ledger: Ledger) -> None:
    archived = sign(ledger)
    with tampering(ledger.log) as t:
        t.set_state(7, t.state(7).replace(b"note 7", b"note 8"))
        rechain(ledger.log, t, 7)  # a fresh chain and tree from position 7 on
    found = verify(ledger.log).first_difference  # the head the ledger signed says otherwise...
    assert found is not None and (found.kind, found.since, found.position) == (
        Kind.SIGNED_HEAD, 1, 20)
    with tampering(ledger.log) as t:  # ...so its fact goes too (it was the last one)
        t.run("DELETE FROM {events} WHERE {pos} = 21")
        t.run("DELETE FROM impress_recorded WHERE position = 21")
        t.run("DELETE FROM impress_streams WHERE first_position = 21")
    assert verify(ledger.log).ok  # nothing inside the database contradicts it any more
    append(ledger.log, 3)
    new = sign(ledger)
    check_inclusion(proofs.inclusion(ledger.log, 7, new.signed.head.tree_size), new.signed,
                    TRUSTED)  # the new head does contain the rewritten fact...
    proof = proofs.consistency(ledger.log, 20, new.signed.head.tree_size)
    with pytest.raises(Failed, match="up to position 20 was rewritten"):
        check_consistency(new.signed, [archived.signed], [proof], TRUSTED)  # ...but not the old


def test_a_deleted_tail_fails_consistency_with_an_archived_head(ledger: Ledger) -> None:
    archived = sign(ledger)  # the head of 20, recorded at 21
    with tampering(ledger.log) as t:
        for table, column in (("{events}", "{pos}"), ("impress_recorded", "position")):
            t.run(f"DELETE FROM {table} WHERE {column} >= 15")
        t.run("DELETE FROM impress_streams WHERE first_position >= 15")
    assert verify(ledger.log).ok  # a log that never had them, as far as the database knows
    shorter = sign(ledger)
    assert shorter.signed.head.tree_size == 14
    with pytest.raises(Failed, match="facts 15..20 were deleted"):
        check_consistency(shorter.signed, [archived.signed], [], TRUSTED)
    append(ledger.log, 10)  # and growing past the archived size again does not hide it
    longer = sign(ledger)
    proof = proofs.consistency(ledger.log, 20, longer.signed.head.tree_size)
    with pytest.raises(Failed, match="rewritten"):
        check_consistency(longer.signed, [archived.signed], [proof], TRUSTED)


@pytest.mark.parametrize("column", ["tree", "salt"])
def test_an_edited_tree_column_or_salt_is_named_by_verify(ledger: Ledger, column: str) -> None:
    with tampering(ledger.log) as t:
        t.run(f"UPDATE impress_recorded SET {column} = ? WHERE position = 12", (b"\x00" * 32,))
    result = verify(ledger.log)
    assert result.first_difference is not None
    assert (result.first_difference.position, result.first_difference.kind) == (12, Kind.TREE)
