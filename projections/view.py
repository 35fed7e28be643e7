"""Reading the read models: where they are in the log, waiting for a position, and rows as known
now or at an earlier position. Every query of the read side goes through a `ReadModels`.

A query takes an optional minimum position (a write's `Receipt.position`: read your writes): it
waits, bounded, until the read models reflect it, and raises `ViewBehind` if they do not in
time. Asked as known at a position the models have not reached, it raises `ViewBehind` too.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from projections import rows as r
from projections import tables as tb
from projections.projector import create_tables
from projections.store import TRACKING, Database, read_tracking

WAIT = 5.0  # seconds a query waits for its minimum position by default
ANY_POSITION = -1  # `ReadModels.rows(at=ANY_POSITION)`: rows as known at any position


class ViewBehind(LookupError):
    """Asked for a position the read models have not reached yet (wait_for it first)."""

    def __init__(self, asked: int, reached: int) -> None:
        self.asked, self.reached = asked, reached
        super().__init__(f"the read models have read the log up to position {reached}, "
                         f"not yet {asked}")


class ReadModels:
    """Queries on the live read models. Thread-safe; opens no more than a few connections."""

    def __init__(self, url: str, *, create: bool = True) -> None:
        self.url = url
        self.db = Database(url)
        self.tables = r.LIVE
        self._codecs = {t.base: tb.Codec(self.db, t) for t in self.tables.tables}
        if create:
            create_tables(self.db, self.tables)

    # --- where the read models are ----------------------------------------------------------

    def position(self) -> int:
        """The last log position the read models reflect."""
        with self.db.reading() as cur:
            return read_tracking(cur, self.tables.name)[0]

    def wait_for(self, position: int, timeout: float = WAIT) -> bool:
        """Wait until the read models reflect `position` (a Receipt's); False on timeout.
        Something must be following the log: a ViewRunner, or catch_up called by the writer."""
        deadline = time.monotonic() + timeout
        pause = 0.005
        while True:
            if self.position() >= position:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, 0.1)

    def reached(self, min_position: int | None = None, timeout: float = WAIT) -> int:
        """The position the read models reflect, once it is at least `min_position` (waiting,
        bounded); raises ViewBehind if it does not get there in time."""
        if min_position is not None and not self.wait_for(min_position, timeout):
            raise ViewBehind(min_position, self.position())
        return self.position()

    def as_of(self, known_at_position: int | None, min_position: int | None = None) -> int | None:
        """The position to read at (None: what the models hold now), after waiting for
        `min_position`; refuses a position the models have not reached."""
        if min_position is not None or known_at_position is not None:
            reached = self.reached(min_position)
            if known_at_position is not None and known_at_position > reached:
                raise ViewBehind(known_at_position, reached)
        return known_at_position

    # --- rows -------------------------------------------------------------------------------

    def rows(self, table: tb.Table, at: int | None, where: str = "", params: Sequence[Any] = (),
             order: str = "", limit: int | None = None, alias: str = "") -> list[Any]:
        """Rows of a table as known at `at` (None: now) meeting a condition on its columns."""
        known, known_params = (("1 = 1", []) if at == ANY_POSITION
                               else tb.known_at(table, at, alias))
        sql = f"{tb.select(self.tables, table)}{' ' + alias if alias else ''} WHERE {known}"
        if where:
            sql += f" AND ({where})"
        if order:
            sql += f" ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        codec = self._codecs[table.base]
        with self.db.reading() as cur:
            return [codec.from_db(x) for x in cur.rows(sql, [*known_params, *params])]

    def first(self, at: int | None, *asks: tuple[tb.Table, str, Sequence[Any], str]
              ) -> tuple[int, list[Any]]:
        """In one statement (one snapshot, one round trip): the position the read models have
        reached, and for each ask (table, condition on its columns under its alias, params,
        alias) the first row meeting it as known at `at` (None: now, which in the same snapshot
        is as known at that position), or None."""
        sql, params = self._first_sql(at, asks)
        return self._first_found(self.db.one(sql, params), asks)

    async def first_async(self, at: int | None, *asks: tuple[tb.Table, str, Sequence[Any], str]
                          ) -> tuple[int, list[Any]]:
        """`first`, awaited in the event loop (Database.open_async first)."""
        sql, params = self._first_sql(at, asks)
        return self._first_found(await self.db.one_async(sql, params), asks)

    def _first_sql(self, at: int | None, asks: Sequence[tuple[tb.Table, str, Sequence[Any], str]]
                   ) -> tuple[str, list[Any]]:
        columns, joins, params = [], [], []
        for table, where, values, alias in asks:
            known, known_params = tb.known_at(table, at, alias)
            columns += [f"{alias}.{c}" for c in table.columns]
            joins.append(f"LEFT JOIN {self.tables.of(table)} {alias} ON {known} AND ({where})")
            params += [*known_params, *values]
        sql = (f"SELECT (SELECT position FROM {TRACKING} WHERE name = ?), {', '.join(columns)} "
               f"FROM (SELECT 1 AS one) base {' '.join(joins)} LIMIT 1")
        return sql, [self.tables.name, *params]

    def _first_found(self, row: tuple[Any, ...] | None,
                     asks: Sequence[tuple[tb.Table, str, Sequence[Any], str]]
                     ) -> tuple[int, list[Any]]:
        assert row is not None
        found, start = [], 1
        for table, *_ in asks:
            values = row[start:start + len(table.columns)]
            start += len(table.columns)
            found.append(None if values[table.columns.index(table.key[0])] is None
                         else self._codecs[table.base].from_db(values))
        return int(row[0] or 0), found

    def tuples(self, table: tb.Table, columns: Sequence[str], at: int | None, where: str = "",
               params: Sequence[Any] = (), alias: str = "t", order: str = ""
               ) -> list[tuple[Any, ...]]:
        """Some columns of the rows `rows` would read, as stored: what a question that needs a
        few columns asks (a bundle's tenancy check, an agreement's slot uses: tens of thousands
        of patients, whose rows `rows` would decode whole)."""
        return self._selected(table, [f"{alias}.{c}" for c in columns], at, where, params,
                              alias, f" ORDER BY {order}" if order else "")

    def count(self, table: tb.Table, at: int | None, where: str = "",
              params: Sequence[Any] = (), alias: str = "t") -> int:
        """How many rows `rows` would read."""
        known, known_params = tb.known_at(table, at, alias)
        sql = f"SELECT COUNT(*) FROM {self.tables.of(table)} {alias} WHERE {known}"
        if where:
            sql += f" AND ({where})"
        row = self.db.one(sql, [*known_params, *params])
        return int(row[0]) if row else 0

    def grouped(self, table: tb.Table, select: Sequence[str], group: Sequence[str],
                at: int | None, where: str = "", params: Sequence[Any] = (),
                alias: str = "t") -> list[tuple[Any, ...]]:
        """`select` (the `group` columns, then aggregates of the columns, under `alias`) of the
        rows `rows` would read, one tuple per group, as stored (dates as the database holds
        them): figures summed by the database, without reading the rows."""
        return self._selected(table, select, at, where, params, alias,
                              f" GROUP BY {', '.join(group)}" if group else "")

    def _selected(self, table: tb.Table, select: Sequence[str], at: int | None, where: str,
                  params: Sequence[Any], alias: str, tail: str) -> list[tuple[Any, ...]]:
        known, known_params = (("1 = 1", []) if at == ANY_POSITION
                               else tb.known_at(table, at, alias))
        sql = f"SELECT {', '.join(select)} FROM {self.tables.of(table)} {alias} WHERE {known}"
        if where:
            sql += f" AND ({where})"
        with self.db.reading() as cur:
            return [tuple(x) for x in cur.rows(sql + tail, [*known_params, *params])]

    def values(self, table: tb.Table, column: str, at: int | None, where: str = "",
               params: Sequence[Any] = (), alias: str = "t") -> list[Any]:
        """The distinct values of one column of the rows `rows` would read, in order."""
        known, known_params = tb.known_at(table, at, alias)
        sql = (f"SELECT DISTINCT {alias}.{column} FROM {self.tables.of(table)} {alias} "
               f"WHERE {known}")
        if where:
            sql += f" AND ({where})"
        with self.db.reading() as cur:
            return [x[0] for x in cur.rows(f"{sql} ORDER BY 1", [*known_params, *params])]

    def treated_at(self, periods: str) -> str:
        """A patient's treating health trusts (`periods`: its `hf_periods` column) include the
        one given as the condition's parameter."""
        if self.db.postgres:
            return f"EXISTS (SELECT 1 FROM jsonb_array_elements({periods}) h WHERE h->>1 = ?)"
        return (f"EXISTS (SELECT 1 FROM json_each({periods}) h "
                "WHERE json_extract(h.value, '$[1]') = ?)")

    def name(self, table: tb.Table) -> str:
        return self.tables.of(table)

    def among(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """`column` is one of `values`, as one parameter whatever their number."""
        if self.db.postgres:
            return f"{column} = ANY(?::text[])", [list(values)]
        return f"{column} IN (SELECT value FROM json_each(?))", [tb.to_json(list(values))]

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
