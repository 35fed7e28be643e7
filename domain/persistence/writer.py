"""What both recorders write beside the events, in the events' transaction: the recorded time
and the chain hash of every position, and the name of every new stream."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from domain import chain
from domain.persistence.facts import NewEvent, StorageError

RECORDED, STREAMS = "impress_recorded", "impress_streams"
CHAIN_COLUMN = "chain_hash"
OUTDATED = ("the log's tables predate the hash chain (no chain_hash column in impress_recorded): "
            "this database was made by an older version; recreate it")


class LogRow(NamedTuple):
    position: int
    recorded_at: datetime
    chain_hash: str


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


class LogWriter:
    """Writes the side rows for an insert, inside the events transaction, after the insert, so
    after the writers' lock: positions, times and hashes follow the previous row's exactly,
    whatever the number of concurrent writers."""

    def write_log(self, c: Any, stored: Sequence[StoredEvent], positions: Sequence[int],
                  kwargs: dict[str, Any]) -> None:
        append = kwargs.get("impress_append")
        if not isinstance(append, Append) or len(append.events) != len(stored):
            raise StorageError("facts must be appended through EventLog.append()")
        previous = self._last_log_row(c)
        first = previous.position + 1 if previous else 1
        if list(positions) != list(range(first, first + len(positions))):
            raise StorageError(f"positions {list(positions)} do not follow {first - 1}")
        streams = [e.stream for e in append.events]
        self._check_no_version_gap(c, stored, streams)
        now = self._store_now(c)
        recorded_at = max(now, previous.recorded_at) if previous else now
        self._insert_log_rows(c, chained(previous, positions, recorded_at, append.events, stored))
        self._insert_streams(c, [
            (name, position)
            for name, position, s in zip(streams, positions, stored, strict=True)
            if s.originator_version == 1
        ])
        append.recorded_at = recorded_at

    def _check_no_version_gap(self, c: Any, stored: Sequence[StoredEvent],
                              streams: Sequence[str]) -> None:
        firsts: dict[str, StoredEvent] = {}
        for name, s in zip(streams, stored, strict=True):
            firsts.setdefault(name, s)
        for name, s in firsts.items():
            version = s.originator_version
            if version > 1 and not self._has_version(c, s.originator_id, version - 1):
                raise ValueError(f"{name}: version {version} would leave a gap "
                                 f"(version {version - 1} is not stored)")

    # Per database:
    def _last_log_row(self, c: Any) -> LogRow | None:
        raise NotImplementedError

    def _store_now(self, c: Any) -> datetime:
        raise NotImplementedError

    def _has_version(self, c: Any, originator_id: UUID | str, version: int) -> bool:
        raise NotImplementedError

    def _insert_log_rows(self, c: Any, rows: list[LogRow]) -> None:
        raise NotImplementedError

    def _insert_streams(self, c: Any, rows: list[tuple[str, int]]) -> None:
        raise NotImplementedError


def chained(previous: LogRow | None, positions: Sequence[int], recorded_at: datetime,
            events: Sequence[NewEvent], stored: Sequence[StoredEvent]) -> list[LogRow]:
    """The side rows of a batch: each hash links the fact to the one before (domain.chain)."""
    head = previous.chain_hash if previous else chain.GENESIS
    rows = []
    for position, event, s in zip(positions, events, stored, strict=True):
        if s.originator_version != event.version:
            raise StorageError("stored events do not match the facts appended")
        head = chain.link(head, position, recorded_at, event)
        rows.append(LogRow(position, recorded_at, head))
    return rows


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
    recorded: dict[int, tuple[datetime, str]]


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
