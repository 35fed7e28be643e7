"""The PostgreSQL recorder: the library's `impress_events` with gap-free positions, and the
side tables, in the URL's schema. Appends: postgres_append; tables and grants: postgres_schema."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresFactory
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier

from eventstore.facts import StorageError
from eventstore.postgres_append import PostgresAppend
from eventstore.postgres_schema import PostgresSchema
from eventstore.reconnect import reconnecting
from eventstore.writer import (
    CHAIN_COLUMN,
    RECORDED,
    SALT_COLUMN,
    SIDE_COLUMNS,
    STREAMS,
    TREE_COLUMN,
    Extent,
    FactRow,
    LogRow,
    Span,
    extent_of,
    prefix_bound,
)

LIBPQ_SETTING = "IMPRESS_LIBPQ"  # the URL's libpq options, urlencoded (eventstore.urls)
RECONNECT_SECONDS = 5.0
"""How long the pool keeps trying to replace a lost connection in the background before it
gives up, after which the next request that needs one tries at once. The pool's own default
(5 minutes, with backoff doubling up to it) left a ledger unable to write for as long as a
minute after its database came back."""


class PostgresRecorder(PostgresSchema, PostgresAppend, PostgresApplicationRecorder):
    def __init__(self, datastore: Any, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        if self.datastore.enable_db_functions:
            raise StorageError("POSTGRES_ENABLE_DB_FUNCTIONS skips the side tables: leave it off")
        schema = self.datastore.schema
        self._events = Identifier(schema, events_table_name)
        self._recorded = Identifier(schema, RECORDED)
        self._streams = Identifier(schema, STREAMS)
        # The library's insert function would bypass the side tables: don't create it.
        del self.sql_create_statements[self.create_insert_function_statement_index]
        self._append_statements()
        self.sql_create_statements += self._side_tables()

    @reconnecting
    def max_notification_id(self) -> int | None:
        # The library's own retries ten times, each waiting for the pool: a minute and more
        # before saying that a database is down.
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.max_notification_id_statement)
            row = curs.fetchone()
            return row["max"] if row else None

    # Reads
    @reconnecting
    def select_facts(self, *, originator_id: UUID | None = None, after: int = 0,
                     up_to: int | None = None, topics: Sequence[str] = (),
                     limit: int | None = None, after_version: int = 0,
                     containing: bytes | None = None,
                     originator_ids: Sequence[UUID] = (),
                     part: tuple[int, int, Sequence[str]] | None = None) -> list[FactRow]:
        # Each fact's recorded time is looked up by its position, one probe per row returned
        # (a lateral subquery, kept from being flattened into a join by its LIMIT): the plan is
        # the position index's range (or the stream's), in order, and a fact without its
        # recorded row is left out, as a join leaves it. A join left the plan to the row
        # estimates: for a stream, a scan of every position recorded and a sort spilled to disk
        # (0.59 s of the server's time for one agreement's 37 000 facts at M, 0.09 s so); for
        # a run of positions, a merge of the two indexes that walked the recorded rows from
        # the first position up to the batch's (0.19-0.27 s a batch of 2 000 in the middle of
        # M's log, 4 ms so), or near the log's end a hash of the rest of it (0.19 s a batch).
        # A rebuild's worker read its part of M in 30 s so, 4.7 s this way.
        sql: Composed = SQL(
            "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state, "
            "r.recorded_at FROM {} e CROSS JOIN LATERAL (SELECT r.recorded_at FROM {} r "
            "WHERE r.position = e.notification_id LIMIT 1) r WHERE true").format(
                self._events, self._recorded)
        params: list[Any] = []
        if after:  # not "> 0" always: on fresh statistics it can lead the planner astray
            sql += SQL(" AND e.notification_id > %s")
            params.append(after)
        if originator_id is not None:
            sql += SQL(" AND e.originator_id = %s")
            params.append(originator_id)
            if after_version:
                sql += SQL(" AND e.originator_version > %s")
                params.append(after_version)
        if originator_ids:  # several streams' facts, unordered: EventLog.facts_of orders them
            sql += SQL(" AND e.originator_id = ANY(%s)")
            params.append(list(originator_ids))
        if up_to is not None:
            sql += SQL(" AND e.notification_id <= %s")
            params.append(up_to)
        if topics:
            sql += SQL(" AND e.topic = ANY(%s)")
            params.append(list(topics))
        if containing is not None:
            sql += SQL(" AND position(%s::bytea IN e.state) > 0")
            params.append(containing)
        if part is not None:  # (index, count, topics read from every stream): part_of's rule
            index, count, everywhere = part
            sql += SQL(" AND (e.topic = ANY(%s) OR "
                       "get_byte(uuid_send(e.originator_id), 15) %% %s = %s)")
            params.extend([list(everywhere), count, index])
        if originator_id is not None:
            sql += SQL(" ORDER BY e.originator_version")
        elif not originator_ids or limit is not None:
            sql += SQL(" ORDER BY e.notification_id")
        if limit is not None:
            sql += SQL(" LIMIT %s")
            params.append(limit)
        # Tuples, not the pool's dict rows: a read may return a great many.
        with (self.datastore.get_connection() as conn,
              conn.cursor(row_factory=tuple_row) as curs):
            curs.execute(sql, params)
            rows = curs.fetchall()
        return [FactRow(StoredEvent(originator, version, topic,
                                    state if type(state) is bytes else bytes(state)),
                        position, recorded_at)
                for position, originator, version, topic, state, recorded_at in rows]

    @reconnecting
    def position_at(self, moment: datetime) -> int:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(SQL("SELECT position FROM {} WHERE recorded_at <= %s "
                             "ORDER BY recorded_at DESC, position DESC LIMIT 1")
                         .format(self._recorded), (moment,))
            row = curs.fetchone()
            return row["position"] if row else 0

    @reconnecting
    def stream_names(self, prefix: str) -> list[str]:
        sql = SQL("SELECT stream FROM {} WHERE stream >= %s").format(self._streams)
        params = [prefix]
        if (bound := prefix_bound(prefix)) is not None:
            sql += SQL(" AND stream < %s")
            params.append(bound)
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(sql + SQL(" ORDER BY stream"), params)
            return [row["stream"] for row in curs.fetchall()]

    # Reads for auditing: the tables as they are, each on its own, in one snapshot.
    @reconnecting
    def extent(self) -> Extent:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SELECT (SELECT min(notification_id) FROM {e}) AS el, "
                             "(SELECT max(notification_id) FROM {e}) AS eh, "
                             "(SELECT min(position) FROM {r}) AS rl, "
                             "(SELECT max(position) FROM {r}) AS rh")
                         .format(e=self._events, r=self._recorded))
            row = curs.fetchone()
        return extent_of([row["el"], row["rl"]], [row["eh"], row["rh"]])

    @reconnecting
    def select_span(self, after: int, up_to: int) -> Span:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            curs.execute(SQL("SELECT notification_id, originator_id, originator_version, topic, "
                             "state FROM {} WHERE notification_id > %s AND notification_id <= %s")
                         .format(self._events), (after, up_to))
            events = {row["notification_id"]: _stored(row) for row in curs.fetchall()}
            curs.execute(SQL("SELECT position, recorded_at, {}, {}, {} FROM {} "
                             "WHERE position > %s AND position <= %s").format(
                                 *map(Identifier, SIDE_COLUMNS), self._recorded), (after, up_to))
            recorded = {row["position"]: (row["recorded_at"], row[CHAIN_COLUMN],
                                          bytes(row[SALT_COLUMN]), bytes(row[TREE_COLUMN]))
                        for row in curs.fetchall()}
        return Span(events, recorded)

    @reconnecting
    def select_tree(self, positions: Sequence[int]) -> dict[int, tuple[bytes, bytes]]:
        """(salt, tree column) of each position held."""
        if not positions:
            return {}
        with (self.datastore.get_connection() as conn,
              conn.cursor(row_factory=tuple_row) as curs):
            curs.execute(SQL("SELECT position, {}, {} FROM {} WHERE position = ANY(%s)").format(
                Identifier(SALT_COLUMN), Identifier(TREE_COLUMN), self._recorded),
                (list(positions),))
            return {p: (bytes(salt), bytes(column)) for p, salt, column in curs.fetchall()}

    @reconnecting
    def select_link(self, position: int | None) -> LogRow | None:
        sql = SQL("SELECT position, recorded_at, {} FROM {} ").format(
            Identifier(CHAIN_COLUMN), self._recorded)
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            if position is None:
                curs.execute(sql + SQL("ORDER BY position DESC LIMIT 1"))
            else:
                curs.execute(sql + SQL("WHERE position = %s"), (position,))
            row = curs.fetchone()
        return LogRow(row["position"], row["recorded_at"], row[CHAIN_COLUMN]) if row else None

    @reconnecting
    def select_stream_index(self) -> list[tuple[str, int]]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(SQL("SELECT stream, first_position FROM {}").format(self._streams))
            return [(row["stream"], row["first_position"]) for row in curs.fetchall()]


def _stored(row: Any) -> StoredEvent:
    return StoredEvent(row["originator_id"], row["originator_version"], row["topic"],
                       bytes(row["state"]))


class PostgresFactsFactory(PostgresFactory):
    application_recorder_class = PostgresRecorder

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        # The pool has not connected yet: every connection it makes gets the URL's libpq
        # options (all its hosts, target_session_attrs, connect_timeout, ...).
        pool = self.datastore.pool
        assert isinstance(pool.kwargs, dict)
        pool.kwargs.update(parse_qsl(self.env.get(LIBPQ_SETTING) or ""))
        pool.reconnect_timeout = RECONNECT_SECONDS
