"""The SQLite recorder: the library's `stored_events` (rowid = position) and the side tables."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteFactory

from domain import merkle
from eventstore.facts import StorageError
from eventstore.writer import (
    CHAIN_COLUMN,
    OUTDATED,
    RECORDED,
    SALT_COLUMN,
    SIDE_COLUMNS,
    STREAMS,
    TREE_COLUMN,
    Extent,
    FactRow,
    Head,
    LogRow,
    Probe,
    SideRow,
    Span,
    append_of,
    extent_of,
    gap_probes,
    plan,
    prefix_bound,
    sqlite_time,
)


APPENDING = "impress_append_only_through_the_ledger"
"""The SQL function the INSERT guard asks: 1 on the ledger's own connection while it appends.
Other connections (the sqlite3 shell, a script) do not have it, so their INSERT fails with
"no such function: impress_append_only_through_the_ledger"; a connection that defines it to
answer otherwise gets the trigger's own message."""
_appending = threading.local()


def _is_appending() -> int:
    return 1 if getattr(_appending, "now", False) else 0


class SQLiteRecorder(SQLiteApplicationRecorder):
    def construct_create_table_statements(self) -> list[str]:
        refuse = "BEGIN SELECT RAISE(ABORT, 'impress: the ledger is append-only'); END"
        stray = ("BEGIN SELECT RAISE(ABORT, 'impress: INSERT refused: facts are appended only "
                 "by the ledger; a row written round it would stop every later append'); END")
        statements = [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {RECORDED} (position INTEGER PRIMARY KEY, "
            f"recorded_at TEXT NOT NULL, {CHAIN_COLUMN} TEXT NOT NULL, "
            f"{SALT_COLUMN} BLOB NOT NULL, {TREE_COLUMN} BLOB NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {RECORDED}_at ON {RECORDED} (recorded_at, position)",
            f"CREATE TABLE IF NOT EXISTS {STREAMS} (stream TEXT PRIMARY KEY, "
            "first_position INTEGER NOT NULL)",
        ]
        for table in (self.events_table_name, RECORDED, STREAMS):
            for op in ("UPDATE", "DELETE"):
                statements.append(f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} "
                                  f"BEFORE {op} ON {table} {refuse}")
            statements.append(f"CREATE TRIGGER IF NOT EXISTS {table}_appended_by_the_ledger "
                              f"BEFORE INSERT ON {table} WHEN {APPENDING}() IS NOT 1 {stray}")
        return statements

    def create_table(self) -> None:
        super().create_table()
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"PRAGMA table_info({RECORDED})")
            if not set(SIDE_COLUMNS) <= {row[1] for row in c.fetchall()}:
                raise StorageError(OUTDATED)

    def _insert_events(self, c: Any, stored_events: Sequence[StoredEvent],
                       **kwargs: Any) -> Sequence[int] | None:
        append = append_of(stored_events, kwargs)
        _appending.now = True
        try:
            positions = super()._insert_events(c, stored_events, **kwargs)
            assert positions is not None
            probes = gap_probes(stored_events, append)
            planned = plan(append, stored_events, positions, probes, self._read_head(c, probes))
            self._insert_log_rows(c, planned.rows)
            if planned.streams:
                self._insert_streams(c, planned.streams)
        finally:
            _appending.now = False
        append.recorded_at = planned.recorded_at
        return positions

    def _read_head(self, c: Any, probes: Sequence[Probe]) -> Head:
        c.execute(f"SELECT position, recorded_at, {CHAIN_COLUMN} FROM {RECORDED} "
                  "ORDER BY position DESC LIMIT 1")
        row = c.fetchone()
        previous = LogRow(row[0], datetime.fromisoformat(row[1]), row[2]) if row else None
        # SQLite is embedded: the store's clock is this process's, read under the write lock.
        return Head(previous, datetime.now(UTC), self._missing(c, probes),
                    frontier=self._columns(c, merkle.frontier_positions(row[0] if row else 0)))

    def _columns(self, c: Any, positions: Sequence[int]) -> dict[int, bytes]:
        if not positions:
            return {}
        c.execute(f"SELECT position, {TREE_COLUMN} FROM {RECORDED} WHERE position IN "
                  f"({','.join('?' * len(positions))})", list(positions))
        return {row[0]: bytes(row[1]) for row in c.fetchall()}

    def _missing(self, c: Any, probes: Sequence[Probe]) -> frozenset[int]:
        """Which probes' versions are not stored: one query per chunk of probes (a query's
        parameters are bounded), instead of one per stream."""
        found: set[tuple[str, int]] = set()
        keys = [(_key(p.originator_id), p.version) for p in probes]
        for start in range(0, len(keys), _PROBES_PER_QUERY):
            chunk = keys[start:start + _PROBES_PER_QUERY]
            c.execute(f"SELECT e.originator_id, e.originator_version FROM "
                      f"(VALUES {','.join(['(?, ?)'] * len(chunk))}) AS p "
                      f"JOIN {self.events_table_name} e ON e.originator_id = p.column1 "
                      "AND e.originator_version = p.column2",
                      [value for key in chunk for value in key])
            found.update((row[0], row[1]) for row in c.fetchall())
        return frozenset(i for i, key in enumerate(keys) if key not in found)

    def _insert_log_rows(self, c: Any, rows: list[SideRow]) -> None:
        c.executemany(f"INSERT INTO {RECORDED} (position, recorded_at, {', '.join(SIDE_COLUMNS)}) "
                      "VALUES (?, ?, ?, ?, ?)",
                      [(r.position, sqlite_time(r.recorded_at), r.chain_hash, r.salt, r.tree)
                       for r in rows])

    def _insert_streams(self, c: Any, rows: list[tuple[str, int]]) -> None:
        c.executemany(f"INSERT INTO {STREAMS} (stream, first_position) VALUES (?, ?)", rows)

    # Reads
    def select_facts(self, *, originator_id: UUID | None = None, after: int = 0,
                     up_to: int | None = None, topics: Sequence[str] = (),
                     limit: int | None = None, after_version: int = 0,
                     containing: bytes | None = None,
                     originator_ids: Sequence[UUID] = (),
                     part: tuple[int, int, Sequence[str]] | None = None) -> list[FactRow]:
        sql = (f"SELECT e.rowid AS position, e.originator_id, e.originator_version, e.topic, "
               f"e.state, r.recorded_at FROM {self.events_table_name} e "
               f"JOIN {RECORDED} r ON r.position = e.rowid WHERE e.rowid > ?")
        params: list[Any] = [after]
        if originator_id is not None:
            sql += " AND e.originator_id = ?"
            params.append(originator_id.hex)
            if after_version:
                sql += " AND e.originator_version > ?"
                params.append(after_version)
        if originator_ids:  # several streams' facts, in log order (at most 500 streams)
            sql += f" AND e.originator_id IN ({','.join('?' * len(originator_ids))})"
            params.extend(i.hex for i in originator_ids)
        if up_to is not None:
            sql += " AND e.rowid <= ?"
            params.append(up_to)
        if topics:
            sql += f" AND e.topic IN ({','.join('?' * len(topics))})"
            params.extend(topics)
        if containing is not None:
            sql += " AND instr(e.state, ?) > 0"
            params.append(containing)
        if part is not None:  # (index, count, topics read from every stream): part_of's rule
            index, count, everywhere = part
            sql += (f" AND (e.topic IN ({','.join('?' * len(everywhere))}) OR "
                    f"({_LAST_BYTE}) % ? = ?)")
            params.extend([*everywhere, count, index])
        # several streams come in the index's order, not sorted here (SQLite would copy every
        # row into a temporary tree to sort it): the log puts them in log order
        sql += " ORDER BY " + ("e.originator_version" if originator_id is not None else
                               "e.originator_id, e.originator_version" if originator_ids else
                               "e.rowid")
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self._tuples() as c:
            c.execute(sql, params)
            rows = c.fetchall()
        times: dict[str, datetime] = {}  # a batch shares one time: parse it once
        facts = []
        for position, originator, version, topic, state, recorded in rows:
            if (when := times.get(recorded)) is None:
                when = times[recorded] = datetime.fromisoformat(recorded)
            # The id stays text: the decoder compares it with the stream's, the mapper
            # (for rows the decoder leaves to it) converts it as it would a parsed one.
            key = originator if type(originator) is str else _parse_id(originator)
            facts.append(FactRow(StoredEvent(key, version, topic, state), position, when))
        return facts

    def position_at(self, moment: datetime) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT position FROM {RECORDED} WHERE recorded_at <= ? "
                      "ORDER BY recorded_at DESC, position DESC LIMIT 1", (sqlite_time(moment),))
            row = c.fetchone()
            return row[0] if row else 0

    def stream_names(self, prefix: str) -> list[str]:
        sql, params = f"SELECT stream FROM {STREAMS} WHERE stream >= ?", [prefix]
        if (bound := prefix_bound(prefix)) is not None:
            sql += " AND stream < ?"
            params.append(bound)
        with self.datastore.transaction(commit=False) as c:
            c.execute(sql + " ORDER BY stream", params)
            return [row[0] for row in c.fetchall()]

    # Reads for auditing: the tables as they are, each on its own.
    def extent(self) -> Extent:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT min(rowid), max(rowid) FROM {self.events_table_name}")
            events = c.fetchone()
            c.execute(f"SELECT min(position), max(position) FROM {RECORDED}")
            recorded = c.fetchone()
        return extent_of([events[0], recorded[0]], [events[1], recorded[1]])

    def select_span(self, after: int, up_to: int) -> Span:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT rowid AS position, originator_id, originator_version, topic, state "
                      f"FROM {self.events_table_name} WHERE rowid > ? AND rowid <= ?",
                      (after, up_to))
            events = {row["position"]: _stored(row) for row in c.fetchall()}
            c.execute(f"SELECT position, recorded_at, {', '.join(SIDE_COLUMNS)} FROM {RECORDED} "
                      "WHERE position > ? AND position <= ?", (after, up_to))
            recorded = {row[0]: (_parse_time(row[1]), row[2], _bytes(row[3]), _bytes(row[4]))
                        for row in c.fetchall()}
        return Span(events, recorded)

    def select_tree(self, positions: Sequence[int]) -> dict[int, tuple[bytes, bytes]]:
        """(salt, tree column) of each position held."""
        if not positions:
            return {}
        with self._tuples() as c:
            c.execute(f"SELECT position, {SALT_COLUMN}, {TREE_COLUMN} FROM {RECORDED} "
                      f"WHERE position IN ({','.join('?' * len(positions))})", list(positions))
            return {p: (_bytes(salt), _bytes(column)) for p, salt, column in c.fetchall()}

    @contextmanager
    def _tuples(self) -> Iterator[sqlite3.Cursor]:
        """A read's cursor with rows as plain tuples, not the library's sqlite3.Row: a bundle
        reads 170 000 rows of the tree, and a Row costs twice a tuple (as on PostgreSQL)."""
        with self.datastore.transaction(commit=False) as c:
            raw = c.sqlite_cursor
            raw.row_factory = None
            yield raw

    def select_link(self, position: int | None) -> LogRow | None:
        sql = f"SELECT position, recorded_at, {CHAIN_COLUMN} FROM {RECORDED} "
        with self.datastore.transaction(commit=False) as c:
            if position is None:
                c.execute(sql + "ORDER BY position DESC LIMIT 1")
            else:
                c.execute(sql + "WHERE position = ?", (position,))
            row = c.fetchone()
        return LogRow(row[0], datetime.fromisoformat(row[1]), row[2]) if row else None

    def select_stream_index(self) -> list[tuple[str, int]]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT stream, first_position FROM {STREAMS}")
            return [(row[0], row[1]) for row in c.fetchall()]


_PROBES_PER_QUERY = 400  # 800 parameters, under every SQLite build's limit


# The last byte of a stream id stored as hex text (eventstore.facts.part_of).
_LAST_BYTE = ("instr('0123456789abcdef', substr(e.originator_id, -2, 1)) * 16 + "
              "instr('0123456789abcdef', substr(e.originator_id, -1, 1)) - 17")


def _key(originator_id: UUID | str) -> str:
    return originator_id.hex if isinstance(originator_id, UUID) else originator_id


def _stored(row: Any) -> StoredEvent:
    return StoredEvent(_parse_id(row["originator_id"]), row["originator_version"], row["topic"],
                       row["state"])


def _parse_id(value: Any) -> UUID | str:
    try:
        return UUID(value)
    except (TypeError, ValueError):
        return str(value)  # not a stream id: reported, not decoded


def _bytes(value: Any) -> bytes:
    # A column edited round the ledger may hold text; it is then simply not the stored hash.
    if type(value) is bytes:  # as SQLite hands a BLOB back: a multiproof reads 100 000s
        return value
    return value.encode() if isinstance(value, str) else bytes(value or b"")


def _parse_time(text: Any) -> Any:
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None  # an edited recorded time that is no time at all: reported by the audit


class SQLiteFactsFactory(SQLiteFactory):
    application_recorder_class = SQLiteRecorder

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        # Every connection the library's pool opens can answer the INSERT guard. The pool has
        # no hook for it: its connection factory is wrapped, before it has made any.
        pool = self.datastore.pool
        connect = pool._create_connection

        def with_guard() -> Any:
            connection = connect()
            connection._sqlite_conn.create_function(APPENDING, 0, _is_appending)
            return connection

        pool._create_connection = with_guard  # type: ignore[method-assign]
