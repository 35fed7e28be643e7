"""How the PostgreSQL recorder appends: one transaction, pipelined, so that an append waits on
the network twice whatever the size of the batch.

1. BEGIN, the library's lock statements (the EXCLUSIVE table lock that serialises writers, so
   positions are gap-free and in commit order), then one query for everything the writer must
   read under the lock (a Head: the last side row, the events table's last position, the
   store's clock, which of the batch's streams would be left with a version gap, the Merkle
   tree's frontier columns) that also NOTIFYs subscribers. Wait.
2. The positions (last + n), the recorded time, the chain hashes, the salts and the tree's
   columns are computed here; the events, the side rows and the new streams are inserted, and
   COMMIT. Wait.

BEGIN and COMMIT are sent as statements, not through psycopg's transaction(), so that the
COMMIT travels with the inserts: after an error the server skips the rest up to the sync,
COMMIT included, and the error is raised at that sync, inside the datastore's connection
block, which translates it as for any statement (a taken version: IntegrityError).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import StoredEvent
from psycopg.pq import TransactionStatus
from psycopg.sql import SQL, Identifier

from eventstore.facts import StorageError
from eventstore.reconnect import reconnecting
from eventstore.writer import (
    CHAIN_COLUMN,
    SIDE_COLUMNS,
    TREE_COLUMN,
    Append,
    Head,
    LogRow,
    Probe,
    SideRow,
    append_of,
    gap_probes,
    plan,
)


_FRONTIER = ("FROM {recorded} t WHERE t.position = ANY(ARRAY(SELECT (r.position >> b) << b "
             "FROM generate_series(0, 62) AS b WHERE (r.position >> b) & 1 = 1)) "
             "ORDER BY t.position")


class PostgresAppend:
    """The append half of PostgresRecorder (a mixin: it uses the recorder's datastore, table
    identifiers and channel name, and the library's _lock_table)."""

    datastore: Any
    channel_name: str
    _lock_statement: Callable[[], str]
    lock_table_statements: list[Any]
    _events: Identifier
    _recorded: Identifier
    _streams: Identifier

    def _append_statements(self) -> None:
        """The append's statements, made text once rather than composed at every append. The
        arrays go in binary (%b): the same values, dumped many times faster than as text (a
        bytea as hex, a time as ISO text) for a large batch."""
        ids = Identifier(self.datastore.originator_id_type)
        chain = Identifier(CHAIN_COLUMN)
        # The library's lock statements, its SET LOCAL lock_timeout become a set_config()
        # that also asks for generic plans for the (prepared) statements that follow: their
        # plans do not depend on the values, and planning again would be done under the lock.
        # The EXCLUSIVE lock is taken through impress_lock_log() (postgres_schema), which the
        # runtime role may call though it may not lock the table itself, and which marks the
        # transaction as the ledger's append for the INSERT guard.
        self.lock_table_statements = [
            SQL("SELECT set_config('lock_timeout', {}, true), "
                "set_config('plan_cache_mode', 'force_generic_plan', true)").format(
                    f"{self.datastore.lock_timeout}s").as_string(),
            self._lock_statement(),
        ]
        # pg_notify with an empty payload is what the library's NOTIFY sends. The frontier:
        # the columns at the last position with its lowest 0, 1, 2... set bits cleared
        # (domain.merkle.frontier_positions), in position order.
        self._head_statement = SQL(
            "SELECT (SELECT MAX(notification_id) FROM {events}) AS last_event, "
            "clock_timestamp() AS now, r.position, r.recorded_at, r.{chain}, "
            "ARRAY(SELECT p.n FROM unnest(%b::{ids}[], %b::bigint[]) WITH ORDINALITY "
            "AS p(id, version, n) WHERE NOT EXISTS (SELECT FROM {events} e "
            "WHERE e.originator_id = p.id AND e.originator_version = p.version)) AS missing, "
            f"ARRAY(SELECT t.position {_FRONTIER}) AS frontier_at, "
            f"ARRAY(SELECT t.{{tree}} {_FRONTIER}) AS frontier, "
            "pg_notify({channel}, '') AS notified "
            "FROM (SELECT) AS one LEFT JOIN (SELECT position, recorded_at, {chain} FROM "
            "{recorded} ORDER BY position DESC LIMIT 1) AS r ON true"
        ).format(events=self._events, recorded=self._recorded, ids=ids, chain=chain,
                 tree=Identifier(TREE_COLUMN), channel=self.channel_name).as_string()
        # Positions are the last + n under the table lock, not from the sequence: a sequence
        # leaves a gap behind every rolled-back insert (a version conflict, for one).
        self._insert_statement = SQL(
            "INSERT INTO {} (originator_id, originator_version, topic, state, notification_id) "
            "SELECT * FROM unnest(%b::{}[], %b::bigint[], %b::text[], %b::bytea[], %b::bigint[])"
        ).format(self._events, ids).as_string()
        self._log_rows_statement = SQL(
            "INSERT INTO {} (position, recorded_at, {}, {}, {}) SELECT * FROM "
            "unnest(%b::bigint[], %b::timestamptz[], %b::text[], %b::bytea[], %b::bytea[])"
        ).format(self._recorded, *map(Identifier, SIDE_COLUMNS)).as_string()
        self._streams_statement = SQL(
            "INSERT INTO {} (stream, first_position) SELECT * FROM "
            "unnest(%b::text[], %b::bigint[])").format(self._streams).as_string()

    def insert_events(self, stored_events: Sequence[StoredEvent],
                      **kwargs: Any) -> Sequence[int] | None:
        append = append_of(stored_events, kwargs)
        positions: list[int] = self._insert(stored_events, append, gap_probes(stored_events, append))
        return positions

    @reconnecting
    def _insert(self, stored: Sequence[StoredEvent], append: Append,
                probes: Sequence[Probe]) -> list[int]:
        # Not the library's insert_events: it catches errors raised in its hooks and then
        # leaves its transaction block normally, i.e. COMMITs. Here any error rolls back.
        committing = False
        with self.datastore.get_connection() as conn:
            try:
                with conn.pipeline() as pipeline, conn.cursor() as curs:
                    curs.execute("BEGIN")
                    self._lock_table(curs)  # type: ignore[attr-defined]  # first, as every writer does
                    head = self._read_head(curs, probes, pipeline)  # the first wait
                    last = head.last_event or 0
                    # plan() checks that the side rows end where the events do.
                    positions = list(range(last + 1, last + 1 + len(stored)))
                    planned = plan(append, stored, positions, probes, head)
                    self._insert_rows(curs, stored, positions)
                    self._insert_log_rows(curs, planned.rows)
                    if planned.streams:
                        self._insert_streams(curs, planned.streams)
                    committing = True  # from here the COMMIT may reach the server
                    curs.execute("COMMIT")
                    pipeline.sync()  # the second wait
            except BaseException as e:
                self._after_failure(conn, e, committing=committing)
                raise
        append.recorded_at = planned.recorded_at
        return positions

    def _after_failure(self, conn: Any, error: BaseException, *, committing: bool) -> None:
        """Leaves the connection idle, or closed; refuses a retry that could store twice."""
        if conn.broken or conn.closed:
            if committing:
                # The COMMIT may have been applied: a retry would be refused as a version
                # conflict even though the batch is stored. Not an OperationalError, so the
                # retry decorator lets it through.
                raise StorageError("the connection was lost while committing: the append may "
                                   f"or may not be stored ({error})") from error
            return  # nothing was committed: retried
        if conn.pgconn.transaction_status != TransactionStatus.IDLE:
            try:
                conn.rollback()
            except psycopg.Error:
                conn.close()  # the pool discards it; the original error is raised

    def _read_head(self, c: Any, probes: Sequence[Probe], pipeline: Any) -> Head:
        c.execute(self._head_statement, ([p.originator_id for p in probes],
                                         [p.version for p in probes]))
        pipeline.sync()
        row = c.fetchone()
        previous = (LogRow(row["position"], row["recorded_at"], row[CHAIN_COLUMN])
                    if row["position"] is not None else None)
        missing = frozenset(n - 1 for n in row["missing"])  # ordinals count from 1
        frontier = {p: bytes(c) for p, c in zip(row["frontier_at"], row["frontier"], strict=True)}
        return Head(previous, row["now"], missing, row["last_event"] or 0, frontier)

    def _insert_rows(self, c: Any, stored: Sequence[StoredEvent], positions: list[int]) -> None:
        c.execute(self._insert_statement, (
            [s.originator_id for s in stored], [s.originator_version for s in stored],
            [s.topic for s in stored], [s.state for s in stored], positions))

    def _insert_log_rows(self, c: Any, rows: list[SideRow]) -> None:
        c.execute(self._log_rows_statement, ([r.position for r in rows],
                                             [r.recorded_at for r in rows],
                                             [r.chain_hash for r in rows],
                                             [r.salt for r in rows], [r.tree for r in rows]))

    def _insert_streams(self, c: Any, rows: list[tuple[str, int]]) -> None:
        c.execute(self._streams_statement, ([s for s, _ in rows], [p for _, p in rows]))
