"""What the store takes and gives back, its errors, and the envelope each fact is stored in."""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast
from uuid import UUID, uuid5

import eventsourcing.persistence as es
import psycopg
from eventsourcing.domain import DomainEvent, MetaDomainEvent
from eventsourcing.utils import register_topic


@dataclass(frozen=True)
class NewEvent:
    stream: str
    version: int
    type: str
    schema: int
    data: dict[str, Any]
    valid_on: date | None
    actor: dict[str, Any]


@dataclass(frozen=True)
class StoredFact:
    position: int
    stream: str
    version: int
    type: str
    schema: int
    data: dict[str, Any]
    valid_on: date | None
    actor: dict[str, Any]
    recorded_at: datetime


@dataclass(frozen=True)
class ChainLink:
    """The hash chain at one position: h(position) as hex, and when that fact was recorded
    (position 0: the empty log, h(0) and no time). See domain.chain."""

    position: int
    chain_hash: str
    recorded_at: datetime | None


@dataclass(frozen=True)
class LogEntry:
    """One position of the log as the tables hold it, read round the ledger's assumptions (for
    auditing): the event row, the side row with its recorded time and chain hash, either of
    which may be missing if someone went round the append-only triggers."""

    position: int
    event_stored: bool
    fact: StoredFact | None  # None if either row is missing or the event cannot be read
    unreadable: str | None  # why the stored event could not be decoded
    stream_matches: bool  # the row's stream id is the id of the stream named inside it
    recorded_at: datetime | None
    chain_hash: str | None
    salt: bytes | None = None  # the Merkle tree leaf's salt (domain.tree)
    tree: bytes | None = None  # the tree's column at this position (domain.merkle)


class ConcurrentModification(Exception):
    """A (stream, version) in the batch was already taken; nothing of the batch was written."""

    def __init__(self, streams: Sequence[str]) -> None:
        self.streams = tuple(dict.fromkeys(streams))
        super().__init__(f"concurrent modification of {', '.join(self.streams)}")


class StorageError(Exception):
    """The store failed or refused for a reason other than a version conflict."""


class Unavailable(StorageError):
    """The database gave no connection, or did not answer on one: try again shortly."""


class LogInconsistent(Exception):
    """The log's tables disagree with each other, so no append can be placed after them: a row
    was written round the ledger. Not a StorageError: trying again will not help; an operator
    must remove the stray row (docs/operations.md, "A row written round the ledger")."""


DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    es.OperationalError, es.InterfaceError, psycopg.OperationalError, psycopg.InterfaceError,
    sqlite3.OperationalError, sqlite3.InterfaceError)
"""The drivers' and the library's errors for a database that cannot be reached or used now,
wherever they surface (code outside the event store that uses its connections: the
idempotency index, the read models): every one of them is answered as the ledger's database
being unavailable, never as an internal error."""


# Stored forever: changing either orphans every stored fact.
STREAM_NAMESPACE = UUID("6d1c2a36-5f0e-4b8e-9a53-3c0f2e7b9d41")
TOPIC_MODULE = "impress.fact"


@functools.lru_cache(maxsize=4096)  # streams recur: verify asks for one per fact
def stream_id(stream: str) -> UUID:
    return uuid5(STREAM_NAMESPACE, stream)


@dataclass(frozen=True)
class StreamPart:
    """A part of the log's streams, chosen in the database's query (a rebuild's worker reads
    only its own, ADR 0036): the facts of the types `everywhere` from every stream, the
    others only from the streams in part `index` of `count` (`part_of`)."""

    index: int
    count: int
    everywhere: tuple[str, ...]

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count <= 256:
            raise ValueError(f"part {self.index} of {self.count}")


@functools.lru_cache(maxsize=65536)
def part_of(stream: str, count: int) -> int:
    """The part of `count` a stream falls in: its id's last byte modulo `count`, as the
    stores' queries work it out (a stream id is SHA-1 based: the parts are even)."""
    return stream_id(stream).bytes[15] % count


@dataclass(frozen=True)
class Fact(DomainEvent):
    """The envelope of every stored fact. One subclass per fact type gives each its topic."""

    stream: str
    schema: int
    data: dict[str, Any]
    valid_on: str | None
    actor: dict[str, Any]


class _FactTypes:
    """Resolves topics "impress.fact:<Type>" to envelope classes, made on first use, so a
    process can read types it has never written (registered as the topic module)."""

    def __init__(self) -> None:
        self._classes: dict[str, type[Fact]] = {}
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> type[Fact]:
        try:
            return self.envelope(name)
        except ValueError:
            raise AttributeError(name) from None

    def envelope(self, name: str) -> type[Fact]:
        if not (name.isidentifier() and name.isascii() and not name.startswith("_")):
            raise ValueError(f"fact type must be an ASCII identifier: {name!r}")
        with self._lock:
            cls = self._classes.get(name)
            if cls is None:
                namespace = {"TOPIC": f"{TOPIC_MODULE}:{name}", "__module__": __name__,
                             "__qualname__": f"Fact.{name}"}
                cls = cast("type[Fact]", MetaDomainEvent(name, (Fact,), namespace))
                self._classes[name] = cls
            return cls


FACT_TYPES = _FactTypes()
register_topic(TOPIC_MODULE, FACT_TYPES)  # type: ignore[arg-type]


def topic_of(fact_type: str) -> str:
    return f"{TOPIC_MODULE}:{fact_type}"
