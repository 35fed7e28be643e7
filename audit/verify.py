"""Digests and verification of the log's hash chain (domain.chain; docs/adr/0010).

A digest is (position, h(position), recorded time of that position): an auditor keeps it
outside the system. `verify` recomputes the chain from position 1 out of the stored facts, in
one pass, and stops at the first position where the history differs from what was recorded:

- a fact changed (any byte of what the ledger reads), or a fact inserted or moved to a
  position: the recomputed h(p) is not the stored h(p)          -> `changed`;
- a fact deleted: no event at p (positions are gap-free)          -> `missing`;
- an event with no recorded row (inserted round the ledger)       -> `unrecorded`;
- an event that cannot be decoded, or whose row moved to another stream's id
                                                                   -> `unreadable`, `wrong-stream`;
- a recorded time earlier than the one before                     -> `time-goes-back`;
- the Merkle tree's column (or the leaf's salt) stored at p is not the one the fact and the
  tree before it make (domain.tree; ADR 0019)                     -> `tree`;
- the tree of the first p facts no longer has the root of the head the ledger signed for that
  size (its TreeHeadSigned fact): history up to p was rewritten with chain and tree
  recomputed after the head was signed                           -> `signed-head`, with the
  range it lies in (after the last signed head that still matches);
- against saved digests: the log ends before a digest's position -> `truncated`; the chain
  is whole but h(D) is not the digest's (the chain was recomputed after a rewrite)
                                                                   -> `rewritten`, with the
  range it lies in (after the last digest that still matches).
The stream index (stream -> first position) is checked against the facts as well (`index`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain import chain, merkle, tree
from domain.tree import TREE_HEADS
from eventstore import EventLog, LogEntry

Progress = Callable[[int, int], None]
"""Called with (position checked, last position to check) every batch."""


class BadDigest(ValueError):
    """A digest that is not one: malformed JSON, a missing or malformed member."""


@dataclass(frozen=True)
class Digest:
    position: int
    chain_hash: str
    recorded_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {"chain": chain.CHAIN, "position": self.position, "hash": self.chain_hash,
                "recorded_at": chain.recorded_text(self.recorded_at) if self.recorded_at else None}

    @classmethod
    def from_dict(cls, value: Any) -> Digest:
        if not isinstance(value, dict):
            raise BadDigest("a digest is a JSON object with position, hash and recorded_at")
        if value.get("chain", chain.CHAIN) != chain.CHAIN:
            raise BadDigest(f"unknown chain {value.get('chain')!r}; this ledger's is {chain.CHAIN}")
        position, digest = value.get("position"), value.get("hash")
        if type(position) is not int or position < 0:
            raise BadDigest(f"digest position must be an integer >= 0, got {position!r}")
        if not isinstance(digest, str) or not chain.is_hash(digest):
            raise BadDigest("digest hash must be 64 lower-case hexadecimal digits")
        if position == 0 and digest != chain.GENESIS:
            raise BadDigest(f"the digest of position 0 (the empty log) is {chain.GENESIS}")
        moment = value.get("recorded_at")
        try:
            recorded = datetime.fromisoformat(moment) if moment is not None else None
        except (TypeError, ValueError):
            raise BadDigest(f"digest recorded_at is not a moment: {moment!r}") from None
        return cls(position, digest, recorded)


def parse_digests(text: str) -> list[Digest]:
    """One digest (a JSON object), several (a JSON array), or JSON lines of them."""
    text = text.strip()
    if not text:
        raise BadDigest("no digest given")
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        try:
            value = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as e:
            raise BadDigest(f"the digest is not JSON: {e}") from None
    items = value if isinstance(value, list) else [value]
    if not items:
        raise BadDigest("no digest given")
    return [Digest.from_dict(item) for item in items]


def digest(log: EventLog, position: int | None = None) -> Digest:
    """The digest of the log at a position (default: its head), as the store holds it."""
    if position is not None and position < 0:
        raise ValueError(f"position must be 0 or more, got {position}")
    found = log.link(position)
    if found is None:
        raise ValueError(f"the log holds no position {position} (head {log.head()})")
    return Digest(found.position, found.chain_hash, found.recorded_at)


# --- verification -----------------------------------------------------------------------------


class Kind(StrEnum):
    CHANGED = "changed"
    MISSING = "missing"
    UNRECORDED = "unrecorded"
    UNREADABLE = "unreadable"
    WRONG_STREAM = "wrong-stream"
    TIME_GOES_BACK = "time-goes-back"
    OUTSIDE = "outside"
    TRUNCATED = "truncated"
    REWRITTEN = "rewritten"
    INDEX = "index"
    TREE = "tree"
    SIGNED_HEAD = "signed-head"


@dataclass(frozen=True)
class Difference:
    position: int  # the first position where the history differs
    kind: Kind
    detail: str
    since: int | None = None  # if the position cannot be pinned: it lies in since..position

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"position": self.position, "kind": self.kind.value,
                               "detail": self.detail}
        if self.since is not None:
            out["range"] = [self.since, self.position]
        return out


@dataclass(frozen=True)
class DigestCheck:
    digest: Digest
    matches: bool | None  # None: not reached (the chain broke before it)


@dataclass(frozen=True)
class Verification:
    checked: int  # positions 1..checked form an unbroken chain
    head: Digest  # the recomputed chain at `checked`
    last_position: int  # the highest position either table holds
    seconds: float
    first_difference: Difference | None
    digests: tuple[DigestCheck, ...] = field(default=())
    tree_root: str = merkle.EMPTY_ROOT.hex()  # the recomputed Merkle tree's root at `checked`

    @property
    def ok(self) -> bool:
        return self.first_difference is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "last_position": self.last_position,
            "head": self.head.to_dict(),
            "tree_root": self.tree_root,
            "first_difference": self.first_difference.to_dict() if self.first_difference else None,
            "digests": [{**d.digest.to_dict(), "matches": d.matches} for d in self.digests],
            "seconds": round(self.seconds, 3),
        }


@dataclass
class _Walk:
    """The state of one pass over the chain."""

    wanted: set[int]
    previous: str = chain.GENESIS
    previous_time: datetime | None = None
    checked: int = 0
    hashes: dict[int, str] = field(default_factory=dict)
    firsts: dict[str, int] = field(default_factory=dict)  # stream -> first position, recomputed
    tree: merkle.CompactRange = field(default_factory=merkle.CompactRange)
    signed: dict[int, str] = field(default_factory=dict)  # tree size -> root the ledger signed
    signed_matches: int = 0  # the largest signed size whose root the facts still give


def verify(log: EventLog, digests: Sequence[Digest] = (), *, progress: Progress | None = None,
           batch: int = 2000) -> Verification:
    started = time.perf_counter()
    lowest, highest = log.extent()
    walk = _Walk(wanted={d.position for d in digests}, signed=_signed_roots(log))
    found: Difference | None = None
    if lowest < 1:
        found = Difference(lowest, Kind.OUTSIDE, f"a row at position {lowest}, before the "
                           "first position (1): inserted round the ledger")
    else:
        found = _walk(log, walk, highest, batch, progress)
    checks, against = _against_digests(digests, walk, highest, found)
    found = _earliest(found, against, _index_difference(log, walk, found))
    head = Digest(walk.checked, walk.previous, walk.previous_time)
    return Verification(walk.checked, head, highest, time.perf_counter() - started, found,
                        tuple(checks), walk.tree.root().hex())


def _walk(log: EventLog, walk: _Walk, highest: int, batch: int,
          progress: Progress | None) -> Difference | None:
    for entry in log.entries(up_to=highest, batch=batch):
        found = _check(entry, walk)
        if found is not None:
            return found
        if progress is not None and (entry.position % batch == 0 or entry.position == highest):
            progress(entry.position, highest)
    return None


def _check(entry: LogEntry, walk: _Walk) -> Difference | None:
    p = entry.position
    if not entry.event_stored:
        left = "; its recorded time and hash remain" if entry.chain_hash else ""
        return Difference(p, Kind.MISSING, f"no fact at position {p}: deleted{left}")
    if entry.unreadable:
        return Difference(p, Kind.UNREADABLE, f"the fact at {p} cannot be read: {entry.unreadable}")
    if entry.recorded_at is None or entry.chain_hash is None or entry.fact is None:
        return Difference(p, Kind.UNRECORDED, f"the fact at {p} has no recorded time and hash: "
                          "inserted round the ledger (or its recorded row was deleted)")
    if not entry.stream_matches:
        return Difference(p, Kind.WRONG_STREAM, f"the row at {p} is filed under another stream's "
                          f"id than {entry.fact.stream!r}, the stream named inside it: moved")
    if walk.previous_time is not None and entry.recorded_at < walk.previous_time:
        return Difference(p, Kind.TIME_GOES_BACK, f"recorded {entry.recorded_at.isoformat()}, "
                          "before the fact ahead of it: inserted or reordered")
    canonical = chain.canonical_bytes(p, entry.recorded_at, entry.fact)
    computed = chain.follow(walk.previous, canonical)
    if computed != entry.chain_hash:
        return Difference(p, Kind.CHANGED, f"the fact at {p} ({entry.fact.stream}@"
                          f"{entry.fact.version}, {entry.fact.type}) is not what was recorded "
                          "there: changed, inserted or moved (or its stored hash was edited)")
    if _tree_column(walk, entry.salt or b"", canonical) != entry.tree:
        return Difference(p, Kind.TREE, f"the Merkle tree stored at {p} is not the one its fact, "
                          "its salt and the facts before it make: the tree or the salt was "
                          "edited round the ledger (proofs that use it will not verify)")
    if p in walk.signed:
        if walk.tree.root().hex() != walk.signed[p]:
            return Difference(p, Kind.SIGNED_HEAD, (
                f"the ledger signed a head of {p} facts with root {walk.signed[p]}, the facts "
                f"now give {walk.tree.root().hex()}: history up to {p} was rewritten, chain and "
                f"tree recomputed, after position {walk.signed_matches}"),
                since=walk.signed_matches + 1)
        walk.signed_matches = p
    walk.previous, walk.previous_time, walk.checked = computed, entry.recorded_at, p
    if p in walk.wanted:
        walk.hashes[p] = computed
    if entry.fact.version == 1:
        walk.firsts.setdefault(entry.fact.stream, p)
    return None


def _signed_roots(log: EventLog) -> dict[int, str]:
    """The roots of the heads the ledger recorded, by tree size, as the facts say (a fact that
    cannot be read is the walk's to report)."""
    try:
        return {f.data["tree_size"]: f.data["root_hash"] for f in log.stream(TREE_HEADS)
                if isinstance(f.data.get("tree_size"), int)}
    except Exception:  # noqa: BLE001 - tampered rows are named by the walk
        return {}


def _tree_column(walk: _Walk, salt: bytes, canonical: bytes) -> bytes | None:
    try:
        return walk.tree.append(tree.leaf_hash(salt, canonical))
    except tree.BadDocument:  # a salt of the wrong length
        return None


def _against_digests(digests: Sequence[Digest], walk: _Walk, highest: int,
                     broken: Difference | None) -> tuple[list[DigestCheck], Difference | None]:
    checks: list[DigestCheck] = []
    found: Difference | None = None
    last_match = 0
    for d in sorted(digests, key=lambda d: d.position):
        if d.position == 0:
            checks.append(DigestCheck(d, d.chain_hash == chain.GENESIS))
            continue
        if d.position > highest and broken is None:
            checks.append(DigestCheck(d, False))
            found = found or Difference(highest + 1, Kind.TRUNCATED, (
                f"the log ends at position {highest}, before the digest's position "
                f"{d.position}: facts {highest + 1}..{d.position} were deleted"))
            continue
        if d.position not in walk.hashes:
            checks.append(DigestCheck(d, None))
            continue
        matches = walk.hashes[d.position] == d.chain_hash
        checks.append(DigestCheck(d, matches))
        if matches:
            last_match = d.position
        elif found is None:
            found = Difference(d.position, Kind.REWRITTEN, (
                f"the chain is whole but h({d.position}) is not the digest's: history up to "
                f"{d.position} was rewritten and the chain recomputed, somewhere after position "
                f"{last_match} (an earlier saved digest narrows it down)"), since=last_match + 1)
    return checks, found


def _index_difference(log: EventLog, walk: _Walk, broken: Difference | None) -> Difference | None:
    """The stream index against the first facts of each stream, where the chain is whole."""
    limit = broken.position if broken else walk.checked + 1
    stored = log.stream_index()
    worst: Difference | None = None
    for stream in set(stored) | set(walk.firsts):
        expected, held = walk.firsts.get(stream), stored.get(stream)
        if expected == held:
            continue
        position = min(x for x in (expected, held) if x is not None)
        if position >= limit or (worst is not None and worst.position <= position):
            continue
        worst = Difference(position, Kind.INDEX, (
            f"the stream index says {stream!r} begins at {held}, its facts say {expected}: "
            "the index was edited (the stream would be hidden from, or added to, listings)"))
    return worst


def _earliest(*found: Difference | None) -> Difference | None:
    known: Iterable[Difference] = (f for f in found if f is not None)
    return min(known, key=lambda f: (f.since or f.position, f.position), default=None)
