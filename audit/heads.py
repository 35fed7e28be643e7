"""Signed tree heads: sign the head of the log's Merkle tree and record it in the log's own
history (a TreeHeadSigned fact, after the tree it signs); list every head the ledger signed and
the keys it signed with (ADR 0019, docs/proofs.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from application.ledger import Ledger
from domain import errors as err
from domain import merkle, tree
from domain.decide_heads import record_tree_head
from domain.tree import TREE_HEADS, SignedHead, TreeHead
from domain.values import LEDGER, Actor
from eventstore import ConcurrentModification, EventLog
from proofs.keys import ALGORITHM, SigningKey, keys_document

DEFAULT_LOG_NAME = "impress-ledger"


@dataclass(frozen=True)
class RecordedHead:
    signed: SignedHead
    position: int  # where its TreeHeadSigned fact is in the log (> tree_size)
    public_key: str  # hex

    def to_dict(self) -> dict[str, Any]:
        return {**self.signed.to_dict(), "recorded_at_position": self.position}


def sign(ledger: Ledger, key: SigningKey, actor: Actor, *, log_name: str = DEFAULT_LOG_NAME,
         retries: int = 3) -> RecordedHead:
    """Signs the tree of every fact recorded so far and records the head. Facts recorded
    meanwhile are simply not covered; a head recorded meanwhile by another signer is followed
    by a new signing (heads only grow)."""
    for attempt in range(retries):
        size = ledger.log.head()
        root = merkle.root(size, ledger.log.columns)
        moment = tree.timestamp_text(datetime.now(UTC))
        signed = key.sign(TreeHead(log_name, size, root.hex(), moment, key.key_id))
        ws = ledger.workspace()
        try:
            record_tree_head(ws, signed, key.public_raw.hex())
            receipt = ledger.append(ws, LEDGER, {"triggered_by": actor.subject})
        except (ConcurrentModification, err.HeadNotNewer):
            if attempt == retries - 1:
                raise
            continue
        return RecordedHead(signed, receipt.position, key.public_raw.hex())
    raise AssertionError("unreachable")


def recorded_heads(log: EventLog) -> list[RecordedHead]:
    """Every head the ledger signed, oldest (smallest) first."""
    return [RecordedHead(SignedHead.from_fact(f.data), f.position, f.data["public_key"])
            for f in log.stream(TREE_HEADS)]


def latest(log: EventLog) -> RecordedHead | None:
    heads = recorded_heads(log)
    return heads[-1] if heads else None


def of_size(heads: list[RecordedHead], size: int) -> RecordedHead | None:
    return next((h for h in heads if h.signed.head.tree_size == size), None)


def keys(log: EventLog) -> dict[str, Any]:
    """Every key the ledger signed a head with, and when it did (first and last)."""
    found: dict[str, dict[str, Any]] = {}
    for h in recorded_heads(log):
        head = h.signed.head
        entry = found.setdefault(head.key_id, {
            "key_id": head.key_id, "algorithm": ALGORITHM, "public_key": h.public_key,
            "first_signed": head.timestamp, "last_signed": head.timestamp, "heads": 0})
        entry["last_signed"] = head.timestamp
        entry["heads"] += 1
    return keys_document(list(found.values()))
