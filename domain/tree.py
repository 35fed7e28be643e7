"""The ledger's Merkle tree ("impress-tree-v1", docs/proofs.md, ADR 0019): what a leaf is, and
the exact bytes a signed tree head's signature covers. Standard library only: the writer
(eventstore), the server's proofs (audit) and `impress-verify` all call this module.

Leaves: the fact at log position n is leaf n - 1 of an RFC 9162 tree (domain.merkle), with

    leaf input = salt || canonical bytes of the fact (domain.chain, "impress-chain-v1")
    leaf hash  = SHA-256(0x00 || leaf input)

where salt is 32 random bytes the store draws for that fact, keeps beside it and reveals only
with it: a leaf or node hash of a fact someone may not see tells them nothing, even about a fact
with few possible values ("IMP-0042 assessed stable on 2024-03-01").

A signed tree head says: the tree of the first `tree_size` facts has root `root_hash`, as the
ledger `log` signed it at `timestamp` with the key `key_id`. The signature (Ed25519) covers the
UTF-8 bytes of the RFC 8785 canonical JSON of exactly these six members:

    {"format": "impress-tree-head-v1", "key_id": K, "log": L, "root_hash": R,
     "timestamp": "YYYY-MM-DDTHH:MM:SS.ffffffZ", "tree_size": N}

(R lower-case hex; K the first 16 hex digits of SHA-256 of the raw 32-byte public key). The
ledger records each head as a `TreeHeadSigned` fact in the stream `log/tree-heads`; that fact
lies after the tree it signs (its own position is at least tree_size + 1): a head cannot sign a
tree that contains itself, since its root would have to cover its own signature.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain import chain, merkle

TREE = "impress-tree-v1"
HEAD_FORMAT = "impress-tree-head-v1"
SALT_SIZE = 32
TREE_HEADS = "log/tree-heads"
"""The stream of the heads the ledger signed."""

KEY_ID_DIGITS = 16
_HEX = re.compile(r"[0-9a-f]*")  # a bundle's proofs hold thousands of hashes: checked at C speed
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_FACT_MEMBERS = ("actor", "data", "position", "recorded_at", "schema", "stream", "type",
                 "valid_on", "version")


class BadDocument(ValueError):
    """A head, proof or key document that is not well formed (before any cryptography)."""


def leaf_input(salt: bytes, canonical: bytes) -> bytes:
    if len(salt) != SALT_SIZE:
        raise BadDocument(f"a leaf's salt is {SALT_SIZE} bytes, not {len(salt)}")
    return salt + canonical


def leaf_hash(salt: bytes, canonical: bytes) -> bytes:
    return merkle.leaf_hash(leaf_input(salt, canonical))


def canonical_fact(value: Any) -> bytes:
    """The canonical bytes of a fact given as its canonical object (the JSON object of
    domain.chain: the nine members, as a proof carries it), after checking its shape."""
    if not isinstance(value, dict) or tuple(sorted(value)) != _FACT_MEMBERS:
        raise BadDocument(f"a fact is a JSON object with exactly the members "
                          f"{', '.join(_FACT_MEMBERS)}")
    for name in ("position", "schema", "version"):
        if type(value[name]) is not int or value[name] < 1:
            raise BadDocument(f"the fact's {name} must be an integer >= 1")
    for name in ("stream", "type"):
        if not isinstance(value[name], str) or not value[name]:
            raise BadDocument(f"the fact's {name} must be a non-empty string")
    if not isinstance(value["recorded_at"], str) or not _TIME.fullmatch(value["recorded_at"]):
        raise BadDocument("the fact's recorded_at must be UTC with microseconds, e.g. "
                          "2025-03-03T09:15:02.123456Z")
    if value["valid_on"] is not None and not isinstance(value["valid_on"], str):
        raise BadDocument("the fact's valid_on must be a date or null")
    if not isinstance(value["data"], dict) or not isinstance(value["actor"], dict):
        raise BadDocument("the fact's data and actor must be JSON objects")
    try:
        return chain.canonical_json(value).encode("utf-8")
    except (TypeError, ValueError) as e:
        raise BadDocument(f"the fact is not JSON: {e}") from None


def hex_bytes(value: Any, size: int, what: str) -> bytes:
    """Lower-case hex of exactly `size` bytes, as every hash, salt, key and signature here."""
    if not isinstance(value, str) or len(value) != 2 * size or not _HEX.fullmatch(value):
        raise BadDocument(f"{what} must be {2 * size} lower-case hexadecimal digits")
    return bytes.fromhex(value)


def timestamp_text(moment: datetime) -> str:
    """A head's time as it is signed: UTC, microseconds, fixed width (as the chain's times)."""
    return chain.recorded_text(moment)


@dataclass(frozen=True)
class TreeHead:
    log: str
    tree_size: int
    root_hash: str  # hex
    timestamp: str  # timestamp_text()
    key_id: str

    def signed_object(self) -> dict[str, Any]:
        return {"format": HEAD_FORMAT, "key_id": self.key_id, "log": self.log,
                "root_hash": self.root_hash, "timestamp": self.timestamp,
                "tree_size": self.tree_size}

    def message(self) -> bytes:
        """The bytes the signature covers."""
        return chain.canonical_json(self.signed_object()).encode("utf-8")


@dataclass(frozen=True)
class SignedHead:
    head: TreeHead
    signature: str  # hex of the 64-byte Ed25519 signature

    def to_dict(self) -> dict[str, Any]:
        return {**self.head.signed_object(), "signature": self.signature}

    @classmethod
    def from_dict(cls, value: Any) -> SignedHead:
        """A head document: the six signed members and `signature`; other members (notes a
        server or an archive adds) are ignored, as they are not signed."""
        if not isinstance(value, Mapping) or value.get("format") != HEAD_FORMAT:
            raise BadDocument(f"a signed tree head is a JSON object with format {HEAD_FORMAT!r}")
        size, log, key_id, moment = (value.get("tree_size"), value.get("log"),
                                     value.get("key_id"), value.get("timestamp"))
        if type(size) is not int or size < 0:
            raise BadDocument("a head's tree_size must be an integer >= 0")
        if not isinstance(log, str) or not log:
            raise BadDocument("a head's log must be a non-empty string")
        hex_bytes(key_id, KEY_ID_DIGITS // 2, "a head's key_id")
        if not isinstance(moment, str) or not _TIME.fullmatch(moment):
            raise BadDocument("a head's timestamp must be UTC with microseconds, e.g. "
                              "2025-03-03T09:15:02.123456Z")
        hex_bytes(value.get("root_hash"), merkle.HASH_SIZE, "a head's root_hash")
        hex_bytes(value.get("signature"), 64, "a head's signature")
        return cls(TreeHead(log, size, value["root_hash"], moment, str(key_id)),
                   value["signature"])

    def to_fact(self, public_key: str) -> dict[str, Any]:
        """The data of its TreeHeadSigned fact (domain.events)."""
        h = self.head
        return {"log": h.log, "tree_size": h.tree_size, "root_hash": h.root_hash,
                "timestamp": h.timestamp, "key_id": h.key_id, "public_key": public_key,
                "signature": self.signature}

    @classmethod
    def from_fact(cls, data: Mapping[str, Any]) -> SignedHead:
        return cls(TreeHead(data["log"], data["tree_size"], data["root_hash"], data["timestamp"],
                            data["key_id"]), data["signature"])
