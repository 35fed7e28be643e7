"""The EventLog: append facts, read them back by stream or in log order, and, for auditors,
read the chain and the tables as they are."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

from eventsourcing.persistence import IntegrityError, PersistenceError, StoredEvent
from psycopg.errors import InsufficientPrivilege

from domain import chain
from eventstore.config import FactStore, check_batch, environment
from eventstore.decode import FactDecoder
from eventstore.facts import (
    FACT_TYPES,
    ChainLink,
    ConcurrentModification,
    Fact,
    LogEntry,
    NewEvent,
    StorageError,
    StoredFact,
    StreamPart,
    stream_id,
    topic_of,
)
from eventstore.postgres_schema import NotOwner
from eventstore.postgres_store import PostgresRecorder
from eventstore.probe import Probe, postgres_check, sqlite_check
from eventstore.sqlite_store import SQLiteRecorder
from eventstore.urls import parse_postgres_url
from eventstore.writer import Append, Span

_STREAMS_PER_QUERY = 500  # parameters of one query, under every SQLite build's limit


class EventLog:
    """The append-only log of facts, on SQLite or PostgreSQL (see the package docstring)."""

    def __init__(self, url: str, *, create_tables: bool = True) -> None:
        self.url = url
        try:
            self.application = FactStore(env=environment(url, create_tables))
        except PersistenceError as e:
            if isinstance(e.__cause__, InsufficientPrivilege):
                raise NotOwner(f"this role may not use the ledger's tables ({e}): they are "
                               "created, and the role given its rights, by `impress-ledger init "
                               "--admin-url ...`") from e
            raise StorageError(f"cannot open the event log: {e}") from e
        recorder = self.application.recorder
        assert isinstance(recorder, (SQLiteRecorder, PostgresRecorder))
        self._recorder = recorder
        self._decoder = FactDecoder(self.application.mapper)
        self._probe = Probe(self._check())

    def _check(self) -> Callable[[float], int]:
        if isinstance(self._recorder, PostgresRecorder):
            return postgres_check(parse_postgres_url(self.url),
                                  self._recorder.max_notification_id_statement.as_string())
        return sqlite_check(self._recorder.datastore.pool.db_name,
                            self._recorder.events_table_name)

    def append(self, events: Sequence[NewEvent]) -> list[StoredFact]:
        """Stores the batch in one transaction: all of it or, on any error, nothing. The facts
        returned equal what reads return, and share their data and actor dicts with `events`
        (check_batch lets in only values that come back from the store exactly as they went
        in, so they need not be decoded again)."""
        if not events:
            return []
        check_batch(events)
        timestamp = Fact.create_timestamp()
        envelopes = [
            FACT_TYPES.envelope(e.type)(
                originator_id=stream_id(e.stream), originator_version=e.version,
                timestamp=timestamp, stream=e.stream, schema=e.schema, data=e.data,
                valid_on=e.valid_on.isoformat() if e.valid_on else None, actor=e.actor)
            for e in events
        ]
        append = Append(events=list(events))
        try:
            # The event store directly: Application.save would only add checks of each
            # envelope against a runtime Protocol (slow isinstance), hooks this app lacks.
            recordings = self.application.events.put(envelopes, impress_append=append)
        except IntegrityError as e:
            raise ConcurrentModification([ev.stream for ev in events]) from e
        except PersistenceError as e:
            raise StorageError(str(e)) from e
        assert append.recorded_at is not None
        recorded_at = append.recorded_at.astimezone(UTC)
        return [StoredFact(position=r.notification.id, stream=e.stream, version=e.version,
                           type=e.type, schema=e.schema, data=e.data, valid_on=e.valid_on,
                           actor=e.actor, recorded_at=recorded_at)
                for r, e in zip(recordings, events, strict=True)]

    def stream(self, stream: str, *, up_to: int | None = None, after_version: int = 0,
               limit: int | None = None, types: Sequence[str] = (),
               mentioning: str | None = None) -> list[StoredFact]:
        """A stream's facts in version order: those after `after_version`, up to position
        `up_to` (the index on stream and version finds them: no read of the earlier ones), at
        most `limit` of them, of these types only if any are given. `mentioning`: at least
        those whose stored form holds this text, as `read` says."""
        return self._select(originator_id=stream_id(stream), up_to=up_to,
                            after_version=after_version, limit=limit,
                            topics=[topic_of(t) for t in types],
                            containing=self._containing(mentioning))

    def facts_of(self, streams: Collection[str], *, up_to: int | None = None
                ) -> list[StoredFact]:
        """The facts of these streams up to position `up_to`, in log order: one query per 500
        streams where `stream` makes one each (a statement's bundle reads some 300, which
        on PostgreSQL were 300 round trips)."""
        ids = sorted({stream_id(s) for s in streams})
        chunks = [ids[i:i + _STREAMS_PER_QUERY] for i in range(0, len(ids), _STREAMS_PER_QUERY)]
        found = [f for chunk in chunks for f in self._select(originator_ids=chunk, up_to=up_to)]
        return sorted(found, key=attrgetter("position"))  # the stores give them by stream

    def read(self, *, after: int = 0, up_to: int | None = None, types: Sequence[str] = (),
             batch: int = 1000, mentioning: str | None = None,
             part: StreamPart | None = None) -> Iterator[StoredFact]:
        """Facts in position order. `mentioning`: at least those whose stored form holds this
        text (a JSON key, say), the others left in the database unread (without a cipher or
        compressor, whose stored form is the JSON itself; with one, every fact): a filter for
        a reader that looks for a rare fact and checks each one it is given. `part`: only the
        facts of that part of the streams (and of its types read everywhere), the others left
        unread."""
        topics = [topic_of(t) for t in types]
        containing = self._containing(mentioning)
        parted = (None if part is None else
                  (part.index, part.count, [topic_of(t) for t in part.everywhere]))
        while True:
            facts = self._select(after=after, up_to=up_to, topics=topics, limit=batch,
                                 containing=containing, part=parted)
            yield from facts
            if len(facts) < batch:
                return
            after = facts[-1].position

    def _containing(self, mentioning: str | None) -> bytes | None:
        """The stored form's text to look for: None (every fact) where a cipher or compressor
        stores something else than the JSON itself."""
        return (mentioning.encode() if mentioning is not None and self._decoder.direct
                else None)

    def head(self) -> int:
        try:
            return self._recorder.max_notification_id() or 0
        except PersistenceError as e:
            raise StorageError(str(e)) from e

    def grant_runtime(self, role: str) -> None:
        """PostgreSQL, run as the owner of the log's tables: let `role` read and append, and
        nothing more (eventstore.postgres_schema)."""
        if not isinstance(self._recorder, PostgresRecorder):
            raise ValueError("roles are PostgreSQL's: a SQLite ledger is protected by its file's "
                             "permissions")
        try:
            self._recorder.grant_runtime(role)
        except PersistenceError as e:
            raise StorageError(f"cannot grant {role!r} its rights: {e}") from e

    def ready(self) -> int:
        """The head, read on a connection of the probe's own, or Unavailable within
        probe.DEADLINE seconds whatever the database does (eventstore.probe)."""
        return self._probe.head()

    def position_at(self, moment: datetime) -> int:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"moment must be timezone-aware: {moment!r}")
        try:
            return self._recorder.position_at(moment)
        except PersistenceError as e:
            raise StorageError(str(e)) from e

    def streams(self, prefix: str) -> list[str]:
        try:
            return [s for s in self._recorder.stream_names(prefix) if s.startswith(prefix)]
        except PersistenceError as e:
            raise StorageError(str(e)) from e

    # --- the hash chain, for auditors ------------------------------------------------------

    def link(self, position: int | None = None) -> ChainLink | None:
        """The chain hash the store holds for a position (default: the last one); position 0
        is the empty log's; None if no row holds that position."""
        if position == 0:
            return ChainLink(0, chain.GENESIS, None)
        try:
            row = self._recorder.select_link(position)
        except PersistenceError as e:
            raise StorageError(str(e)) from e
        if row is None:
            return None if position is not None else ChainLink(0, chain.GENESIS, None)
        return ChainLink(row.position, row.chain_hash, row.recorded_at.astimezone(UTC))

    def extent(self) -> tuple[int, int]:
        """(lowest, highest) position held by either table; (1, 0) for an empty log."""
        try:
            found = self._recorder.extent()
        except PersistenceError as e:
            raise StorageError(str(e)) from e
        return (min(found.lowest, 1) if found.lowest is not None else 1,
                found.highest if found.highest is not None else 0)

    def entries(self, *, first: int = 1, up_to: int, batch: int = 2000) -> Iterator[LogEntry]:
        """Every position from `first` to `up_to`, as the tables hold it, whether a row is
        missing or not (see LogEntry)."""
        after = first - 1
        while after < up_to:
            end = min(after + batch, up_to)
            try:
                span = self._recorder.select_span(after, end)
            except PersistenceError as e:
                raise StorageError(str(e)) from e
            for position in range(after + 1, end + 1):
                yield self._entry(position, span)
            after = end

    # --- the Merkle tree (domain.merkle, domain.tree) ---------------------------------------

    def tree(self, positions: Sequence[int]) -> dict[int, tuple[bytes, bytes]]:
        """(salt, tree column) of each of these positions the store holds."""
        try:
            return self._recorder.select_tree(sorted(set(positions)))
        except PersistenceError as e:
            raise StorageError(str(e)) from e

    def columns(self, positions: Sequence[int]) -> dict[int, bytes]:
        """The tree columns at these positions (a domain.merkle.Fetch)."""
        return {p: column for p, (_, column) in self.tree(positions).items()}

    def fact_at(self, position: int) -> StoredFact | None:
        found = self._select(after=position - 1, up_to=position, limit=1)
        return found[0] if found else None

    def stream_index(self) -> dict[str, int]:
        """The stream index as stored: stream name -> position of its first fact."""
        try:
            return dict(self._recorder.select_stream_index())
        except PersistenceError as e:
            raise StorageError(str(e)) from e

    # ----------------------------------------------------------------------------------------

    def close(self) -> None:
        self._probe.close()
        self.application.close()

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _select(self, **query: Any) -> list[StoredFact]:
        try:
            rows = self._recorder.select_facts(**query)
        except PersistenceError as e:
            raise StorageError(str(e)) from e
        return self._decoder.rows(rows)

    def _fact(self, stored: StoredEvent, position: int, recorded_at: datetime) -> StoredFact:
        return self._decoder.fact(stored, position, recorded_at.astimezone(UTC))

    def _entry(self, position: int, span: Span) -> LogEntry:
        stored = span.events.get(position)
        recorded_at, chain_hash, salt, tree = span.recorded.get(position, (None,) * 4)
        fact, unreadable, matches = None, None, False
        if stored is not None:
            try:
                fact = self._fact(stored, position, recorded_at or datetime.min.replace(tzinfo=UTC))
                matches = stored.originator_id == stream_id(fact.stream)
            except Exception as e:  # noqa: BLE001 - whatever an edited row breaks is reported
                unreadable = f"{type(e).__name__}: {e}"
                fact = None
        if recorded_at is None:
            fact = None
        return LogEntry(position=position, event_stored=stored is not None, fact=fact,
                        unreadable=unreadable, stream_matches=matches,
                        recorded_at=recorded_at.astimezone(UTC) if recorded_at else None,
                        chain_hash=chain_hash, salt=salt, tree=tree)
