"""What both recorders write beside the events, in the events' transaction: for every position
the recorded time, the chain hash, the Merkle tree leaf's salt and the tree's column (the
perfect subtrees the fact completes: domain.merkle, domain.tree, ADR 0019); and the name of
every new stream.

Each recorder reads a Head under the writers' lock (the last side row, the store's clock,
which streams would be left with a gap, the tree's frontier, all in one query where the
database allows), then plan() checks the batch against it and makes the side rows."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from domain import chain, merkle, tree
from eventstore.facts import LogInconsistent, NewEvent, StorageError

RECORDED, STREAMS = "impress_recorded", "impress_streams"
CHAIN_COLUMN, SALT_COLUMN, TREE_COLUMN = "chain_hash", "salt", "tree"
SIDE_COLUMNS = (CHAIN_COLUMN, SALT_COLUMN, TREE_COLUMN)
OUTDATED = ("the log's tables predate the hash chain or the Merkle tree (impress_recorded lacks "
            "chain_hash, salt or tree): this database was made by an older version; recreate it "
            "and import its history again (docs/adr/0019)")

TREE_ENABLED = True
"""False only in bench/, to measure what the tree costs an append (docs/benchmarks.md): a log
written without it holds empty salts and columns and can prove nothing."""


class LogRow(NamedTuple):
    position: int
    recorded_at: datetime
    chain_hash: str


class SideRow(NamedTuple):
    """A position's row of impress_recorded, as an append writes it."""

    position: int
    recorded_at: datetime
    chain_hash: str
    salt: bytes
    tree: bytes


class FactRow(NamedTuple):
    event: StoredEvent
    position: int
    recorded_at: datetime


@dataclass
class Append:
    """Passed through Application.save(**kwargs) down to the recorder: in, the facts as the
    caller gave them (in the order of the stored events); out, the moment the store recorded
    them."""

    events: Sequence[NewEvent]
    recorded_at: datetime | None = None


class Head(NamedTuple):
    """What an append reads under the writers' lock before it writes its side rows."""

    previous: LogRow | None  # the last side row
    now: datetime  # the store's clock
    missing: frozenset[int]  # indexes of the gap probes whose version is not stored
    last_event: int | None = None  # PostgreSQL: the events table's last position (0: empty)
    frontier: Mapping[int, bytes] = field(default_factory=dict)
    """The tree columns at merkle.frontier_positions(previous.position)."""


class Probe(NamedTuple):
    """The version a stream's first fact in a batch needs stored before it (version - 1)."""

    stream: str
    originator_id: UUID | str
    version: int


class Planned(NamedTuple):
    rows: list[SideRow]
    streams: list[tuple[str, int]]  # (name, first position) of the batch's new streams
    recorded_at: datetime


def append_of(stored: Sequence[StoredEvent], kwargs: dict[str, Any]) -> Append:
    append = kwargs.get("impress_append")
    if not isinstance(append, Append) or len(append.events) != len(stored):
        raise StorageError("facts must be appended through EventLog.append()")
    return append


def gap_probes(stored: Sequence[StoredEvent], append: Append) -> list[Probe]:
    """One probe per stream of the batch that does not start at version 1: all of them are
    checked in one query, whatever the number of streams."""
    probes: dict[str, Probe] = {}
    for event, s in zip(append.events, stored, strict=True):
        if event.stream not in probes:
            probes[event.stream] = Probe(event.stream, s.originator_id, s.originator_version - 1)
    return [p for p in probes.values() if p.version >= 1]


def plan(append: Append, stored: Sequence[StoredEvent], positions: Sequence[int],
         probes: Sequence[Probe], head: Head) -> Planned:
    """The side rows of a batch, after the checks that the log and the events agree and that
    no stream is left with a gap."""
    previous = head.previous
    first = previous.position + 1 if previous else 1
    if list(positions) != list(range(first, first + len(positions))):
        raise LogInconsistent(
            f"the log's tables disagree: the facts end at position {positions[0] - 1}, their "
            f"recorded times and chain hashes at {first - 1}, so a row was written round the "
            "ledger; every append is refused until an operator removes it (`impress-ledger "
            "audit verify` names it; docs/operations.md: a row written round the ledger)")
    if head.missing:
        probe = probes[min(head.missing)]
        raise ValueError(f"{probe.stream}: version {probe.version + 1} would leave a gap "
                         f"(version {probe.version} is not stored)")
    recorded_at = max(head.now, previous.recorded_at) if previous else head.now
    streams = [(e.stream, position)
               for e, position, s in zip(append.events, positions, stored, strict=True)
               if s.originator_version == 1]
    return Planned(side_rows(previous, head.frontier, positions, recorded_at, append.events,
                             stored), streams, recorded_at)


def side_rows(previous: LogRow | None, frontier: Mapping[int, bytes], positions: Sequence[int],
              recorded_at: datetime, events: Sequence[NewEvent],
              stored: Sequence[StoredEvent]) -> list[SideRow]:
    """The side rows of a batch: each chain hash links the fact to the one before
    (domain.chain); each fact gets a fresh salt and becomes the next leaf of the tree, whose
    frontier was read under the same lock (domain.tree). One canonical form serves both."""
    link = previous.chain_hash if previous else chain.GENESIS
    size = previous.position if previous else 0
    grow = _tree(size, frontier) if TREE_ENABLED else None
    salts = os.urandom(tree.SALT_SIZE * len(events)) if grow else b""
    rows = []
    for i, (position, event, s) in enumerate(zip(positions, events, stored, strict=True)):
        if s.originator_version != event.version:
            raise StorageError("stored events do not match the facts appended")
        canonical = chain.canonical_bytes(position, recorded_at, event)
        link = chain.follow(link, canonical)
        if grow is None:
            rows.append(SideRow(position, recorded_at, link, b"", b""))
            continue
        salt = salts[tree.SALT_SIZE * i:tree.SALT_SIZE * (i + 1)]
        rows.append(SideRow(position, recorded_at, link, salt,
                            grow.append(tree.leaf_hash(salt, canonical))))
    return rows


def _tree(size: int, frontier: Mapping[int, bytes]) -> merkle.CompactRange:
    try:
        return merkle.CompactRange.from_columns(size, frontier)
    except merkle.ProofError as e:
        raise StorageError(f"cannot extend the Merkle tree of {size} facts: {e} (run "
                           "`impress-ledger audit verify`)") from e


def prefix_bound(prefix: str) -> str | None:
    """The least string above every string starting with prefix (code point order)."""
    while prefix:
        nxt = ord(prefix[-1]) + 1
        if nxt <= 0x10FFFF:
            return prefix[:-1] + chr(0xE000 if 0xD800 <= nxt <= 0xDFFF else nxt)
        prefix = prefix[:-1]
    return None


def sqlite_time(moment: datetime) -> str:
    # Fixed width, UTC, microseconds: text order is time order.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Span:
    """The rows of both tables for positions in (after, up_to], as read for auditing."""

    events: dict[int, StoredEvent]
    recorded: dict[int, tuple[datetime, str, bytes, bytes]]  # time, chain hash, salt, column


@dataclass(frozen=True)
class Extent:
    """The lowest and highest position in either table (None: the table is empty)."""

    lowest: int | None
    highest: int | None


def extent_of(lows: list[int | None], highs: list[int | None]) -> Extent:
    known_lows = [x for x in lows if x is not None]
    known_highs = [x for x in highs if x is not None]
    return Extent(min(known_lows) if known_lows else None,
                  max(known_highs) if known_highs else None)
