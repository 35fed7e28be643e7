"""The statement bundle document ("impress-bundle-v2", docs/proofs.md section 8): a statement's
lines, the facts they rest on with one multiproof of all of them to one signed tree head, and
consistency proofs from the heads the partner archived. The server makes it (audit.bundles),
`impress-verify bundle` reads it (proofs.check_bundle).

"impress-bundle-v3" (section 8.5, ADR 0031) is the same document resting on a bundle the
partner verified earlier: `earlier` names that bundle's head and the streams whose facts up to
it are left out (the verifier's store holds them), with a consistency proof to the new head.

Parsing checks only the shape (BadDocument, exit 2); whether the document proves what it says is
the verifier's (Failed, exit 1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from datetime import datetime
from typing import Any

from domain import statement_lines as sl
from domain.tree import SALT_SIZE, BadDocument, SignedHead, canonical_fact, hex_bytes, leaf_hash
from proofs.documents import ConsistencyProof, check_format, hash_field, size_field

BUNDLE_FORMAT = "impress-bundle-v2"
RESTING_FORMAT = "impress-bundle-v3"
OLDER_FORMATS = {"impress-bundle-v1": "an inclusion proof per fact"}
"""Formats of bundles earlier ledgers made, refused by name (section 8.1 says what changed)."""

_TEXT = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode
"""json.dumps(document, ensure_ascii=False), the bytes a bundle has always had, without the
check for cycles that a document of fresh dicts and lists cannot have (35 MB at M)."""


@dataclass(frozen=True)
class Entry:
    """One fact and its salt, at its leaf of the tree the bundle's head signs (the bundle's
    multiproof proves every entry's leaf at once)."""

    leaf_index: int
    fact: dict[str, Any]
    salt: str

    @property
    def position(self) -> int:
        return self.leaf_index + 1

    @cached_property
    def canonical(self) -> bytes:
        """The fact's canonical bytes (domain.chain); BadDocument if it is not a canonical
        object (worked out once: a bundle holds tens of thousands)."""
        return canonical_fact(self.fact)

    @cached_property
    def leaf_hash(self) -> bytes:
        return leaf_hash(bytes.fromhex(self.salt), self.canonical)

    def to_dict(self) -> dict[str, Any]:
        return {"leaf_index": self.leaf_index, "fact": self.fact, "salt": self.salt}

    @classmethod
    def stored(cls, leaf_index: int, fact: dict[str, Any], salt: str,
               canonical: bytes) -> Entry:
        """A fact as the verifier's store keeps it (proofs.store), with the canonical bytes it
        was read from (not serialised again)."""
        entry = cls(leaf_index, fact, salt)
        entry.__dict__["canonical"] = canonical  # the cached_property's value
        return entry

    @classmethod
    def from_dict(cls, value: Any) -> Entry:
        if not isinstance(value, dict):
            raise BadDocument("every entry of facts is a JSON object")
        hex_bytes(value.get("salt"), SALT_SIZE, "a fact's salt")
        fact = value.get("fact")
        if not isinstance(fact, dict):
            raise BadDocument("every entry's fact is a JSON object")
        entry = cls(size_field(value, "leaf_index", 0), fact, value["salt"])
        entry.leaf_hash  # noqa: B018 - the fact's canonical form, checked (and kept) here
        return entry


@dataclass(frozen=True)
class BundleLine:
    """A statement line in its canonical form, and the facts it rests on."""

    line: sl.StatementLine
    rests_on: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**self.line.to_json(), "rests_on": list(self.rests_on)}

    @classmethod
    def from_dict(cls, value: Any) -> BundleLine:
        try:
            line = sl.StatementLine.from_json(value)
            rests = value["rests_on"]
        except (KeyError, TypeError, ValueError, AttributeError):
            raise BadDocument("a line is a JSON object with key, section, values and "
                              "rests_on") from None
        if not isinstance(rests, list) or not all(isinstance(x, str) for x in rests):
            raise BadDocument("a line's rests_on is a list of streams")
        if line.to_json() != {k: value[k] for k in ("key", "section", "values")}:
            raise BadDocument("a line's key is a list of texts and its values an object of "
                              "texts")
        return cls(line, tuple(rests))


@dataclass(frozen=True)
class Earlier:
    """What a v3 bundle rests on: the bundle the partner verified as known at `known_at`, under
    the head of that size (`head`); the facts at positions up to it of `streams` are not in this
    bundle but in the verifier's store. `consistency` proves the new head extends `head`."""

    known_at: int
    head: SignedHead
    streams: tuple[str, ...]
    consistency: ConsistencyProof

    def to_dict(self) -> dict[str, Any]:
        return {"known_at": self.known_at, "head": self.head.to_dict(),
                "streams": list(self.streams), "consistency": self.consistency.to_dict()}

    @classmethod
    def from_dict(cls, value: Any) -> Earlier:
        if not isinstance(value, dict):
            raise BadDocument(f"a bundle of format {RESTING_FORMAT} names the bundle it rests "
                              "on: earlier is a JSON object")
        streams = _texts(value.get("streams"), "earlier's streams")
        if list(streams) != sorted(set(streams)):
            raise BadDocument("earlier's streams are sorted, each once")
        return cls(size_field(value, "known_at", 1), SignedHead.from_dict(value.get("head")),
                   streams, ConsistencyProof.from_dict(value.get("consistency")))


@dataclass(frozen=True)
class Bundle:
    head: SignedHead
    facts: tuple[Entry, ...]
    multiproof: tuple[str, ...]  # domain.merkle.multiproof_subtrees of the facts' leaves, hex
    statement: dict[str, Any]  # domain.statements.bundled.Spec, as its to_dict
    rests_on: tuple[str, ...]  # what the statement as a whole rests on
    lines: tuple[BundleLine, ...]
    lines_hash: str
    restatement: dict[str, Any] | None = None  # domain.statements.restate.Restatement.to_dict
    withheld: tuple[tuple[str, tuple[int, ...]], ...] = ()  # (stream, versions)
    consistency: tuple[ConsistencyProof, ...] = ()
    moments: tuple[tuple[int, str], ...] = ()  # (position, recorded_at): not in `facts`
    earlier: Earlier | None = None  # v3: the bundle this one rests on

    def to_dict(self) -> dict[str, Any]:
        earlier = {} if self.earlier is None else {"earlier": self.earlier.to_dict()}
        return {
            "format": RESTING_FORMAT if self.earlier else BUNDLE_FORMAT,
            "head": self.head.to_dict(), **earlier,
            "statement": {**self.statement, "rests_on": list(self.rests_on),
                          "lines_format": sl.FORMAT,
                          "lines": [x.to_dict() for x in self.lines],
                          "lines_hash": self.lines_hash, "restatement": self.restatement},
            "facts": [e.to_dict() for e in self.facts],
            "multiproof": list(self.multiproof),
            "withheld": [{"stream": s, "versions": list(v)} for s, v in self.withheld],
            "moments": [{"position": p, "recorded_at": t} for p, t in self.moments],
            "consistency": [c.to_dict() for c in self.consistency],
        }

    def to_json(self) -> str:
        """The document as the API, the CLI and the benchmark write it."""
        return _TEXT(self.to_dict())

    @classmethod
    def from_dict(cls, value: Any) -> Bundle:
        older = value.get("format") if isinstance(value, dict) else None
        if isinstance(older, str) and older in OLDER_FORMATS:
            raise BadDocument(f"this bundle is {older} ({OLDER_FORMATS[older]}); this verifier "
                              f"reads {BUNDLE_FORMAT} (one multiproof for all facts) and "
                              f"{RESTING_FORMAT}: ask the "
                              "ledger for the bundle again, or check it with the verifier of "
                              "the ledger's version that made it")
        if isinstance(value, dict) and value.get("format") == RESTING_FORMAT:
            earlier: Earlier | None = Earlier.from_dict(value.get("earlier"))
        else:
            check_format(value, BUNDLE_FORMAT)
            earlier = None
        part = value.get("statement")
        if not isinstance(part, dict) or part.get("lines_format") != sl.FORMAT:
            raise BadDocument(f"a bundle's statement has lines_format {sl.FORMAT!r}")
        spec = {k: v for k, v in part.items()
                if k not in ("rests_on", "lines_format", "lines", "lines_hash", "restatement")}
        restatement = part.get("restatement")
        if restatement is not None and not isinstance(restatement, dict):
            raise BadDocument("a bundle's restatement is a JSON object or null")
        return cls(
            SignedHead.from_dict(value.get("head")), _list(value, "facts", Entry.from_dict),
            _list(value, "multiproof", _node), spec, _texts(part.get("rests_on"), "the statement's rests_on"),
            _list(part, "lines", BundleLine.from_dict),
            hash_field(part.get("lines_hash"), "the statement's lines_hash"), restatement,
            _list(value, "withheld", _withheld), _list(value, "consistency",
                                                       ConsistencyProof.from_dict),
            _list(value, "moments", _moment), earlier)


def _list(value: dict[str, Any], name: str, parse: Any) -> tuple[Any, ...]:
    found = value.get(name, [])
    if not isinstance(found, list):
        raise BadDocument(f"a bundle's {name} is a list")
    return tuple(parse(item) for item in found)


def _node(value: Any) -> str:
    return hash_field(value, "every node of the multiproof")


def _texts(value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise BadDocument(f"{what} is a list of texts")
    return tuple(value)


def _withheld(value: Any) -> tuple[str, tuple[int, ...]]:
    if (not isinstance(value, dict) or not isinstance(value.get("stream"), str)
            or not isinstance(value.get("versions"), list)
            or not all(type(v) is int and v >= 1 for v in value["versions"])):
        raise BadDocument("a withheld entry names a stream and the versions withheld")
    return value["stream"], tuple(value["versions"])


def _moment(value: Any) -> tuple[int, str]:
    if not isinstance(value, dict) or type(value.get("position")) is not int:
        raise BadDocument("a moment names a position and its recorded_at")
    try:
        datetime.fromisoformat(str(value.get("recorded_at")))
    except ValueError:
        raise BadDocument("a moment's recorded_at is an ISO 8601 time") from None
    return value["position"], str(value["recorded_at"])
