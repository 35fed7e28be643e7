"""The JSON documents of docs/proofs.md: inclusion and consistency proofs (the server makes them,
`impress-verify` reads them). Hashes, salts and signatures are lower-case hex; a fact is its
canonical object (domain.chain); a head is a signed tree head (domain.tree)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain import merkle
from domain.tree import SALT_SIZE, BadDocument, SignedHead, canonical_fact, hex_bytes, leaf_hash

INCLUSION_FORMAT = "impress-inclusion-proof-v1"
CONSISTENCY_FORMAT = "impress-consistency-proof-v1"


@dataclass(frozen=True)
class InclusionProof:
    """The fact at position leaf_index + 1, its salt, and its audit path in the tree of
    tree_size facts (RFC 9162 PATH, leaf upward); the head of that size, if one was signed."""

    leaf_index: int
    tree_size: int
    fact: dict[str, Any]
    salt: str
    path: tuple[str, ...]
    root_hash: str  # the root the server computed: trust the signed head's, not this
    head: SignedHead | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"format": INCLUSION_FORMAT, "leaf_index": self.leaf_index,
                "tree_size": self.tree_size, "fact": self.fact, "salt": self.salt,
                "path": list(self.path), "root_hash": self.root_hash,
                "head": self.head.to_dict() if self.head else None}

    @classmethod
    def from_dict(cls, value: Any) -> InclusionProof:
        check_format(value, INCLUSION_FORMAT)
        index, size = size_field(value, "leaf_index", 0), size_field(value, "tree_size", 1)
        canonical_fact(value.get("fact"))  # its shape
        hex_bytes(value.get("salt"), SALT_SIZE, "the proof's salt")
        return cls(index, size, value["fact"], value["salt"], path_field(value),
                   hash_field(value.get("root_hash"), "the proof's root_hash"), _head(value.get("head")))

    @property
    def leaf_hash(self) -> bytes:
        return leaf_hash(bytes.fromhex(self.salt), canonical_fact(self.fact))


@dataclass(frozen=True)
class ConsistencyProof:
    """RFC 9162 PROOF(first, D[second]): the tree of `second` facts extends that of `first`.
    The heads of those sizes, if the ledger signed them."""

    first: int
    second: int
    first_root: str
    second_root: str
    path: tuple[str, ...]
    first_head: SignedHead | None = None
    second_head: SignedHead | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"format": CONSISTENCY_FORMAT, "first": self.first, "second": self.second,
                "first_root": self.first_root, "second_root": self.second_root,
                "path": list(self.path),
                "first_head": self.first_head.to_dict() if self.first_head else None,
                "second_head": self.second_head.to_dict() if self.second_head else None}

    @classmethod
    def from_dict(cls, value: Any) -> ConsistencyProof:
        check_format(value, CONSISTENCY_FORMAT)
        first, second = size_field(value, "first", 1), size_field(value, "second", 1)
        return cls(first, second, hash_field(value.get("first_root"), "first_root"),
                   hash_field(value.get("second_root"), "second_root"), path_field(value),
                   _head(value.get("first_head")), _head(value.get("second_head")))


def read_json(path: str) -> Any:
    """A document from a file, or '-' for standard input."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise BadDocument(f"cannot read {path}: {e.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise BadDocument(f"{path} is not JSON: {e}") from None


def check_format(value: Any, expected: str) -> None:
    if not isinstance(value, dict) or value.get("format") != expected:
        found = value.get("format") if isinstance(value, dict) else type(value).__name__
        raise BadDocument(f"expected a document of format {expected!r}, got {found!r}")


def size_field(value: dict[str, Any], name: str, lowest: int) -> int:
    found = value.get(name)
    if type(found) is not int or found < lowest:
        raise BadDocument(f"{name} must be an integer >= {lowest}")
    return found


def hash_field(value: Any, what: str) -> str:
    hex_bytes(value, merkle.HASH_SIZE, what)
    return str(value)


def path_field(value: dict[str, Any]) -> tuple[str, ...]:
    found = value.get("path")
    if not isinstance(found, list):
        raise BadDocument("path must be a list of hashes")
    return tuple(hash_field(h, "every hash of the path") for h in found)


def _head(value: Any) -> SignedHead | None:
    return None if value is None else SignedHead.from_dict(value)
