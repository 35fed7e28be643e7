"""A batch's changes, and how they are written: one transaction with the tracking row.

On PostgreSQL each kind of change of each table is one statement: every column travels as one
array and `unnest` turns the arrays back into rows (psycopg's `executemany` runs a statement per
row on the server: that was a third of a PostgreSQL rebuild). SQLite runs in process, where
`executemany` costs little: it keeps it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from projections import tables as tb
from projections.store import Cursor, Database


@dataclass
class Changes:
    """What a batch does to one table. A key has at most one open row: a row is closed by its
    key alone (`known_to IS NULL`)."""

    inserts: dict[tuple[Any, ...], Any] = field(default_factory=dict)  # (*key, known_from)
    opened: dict[tuple[Any, ...], int] = field(default_factory=dict)  # key -> known_from, open
    closes: dict[tuple[Any, ...], int] = field(default_factory=dict)  # key -> known_to
    replaced: dict[Any, list[Any]] = field(default_factory=dict)  # owner -> its rows now


@dataclass
class Batch:
    """The changes a run of facts makes, to be written in one transaction."""

    after: int  # the tracking position the batch starts from
    generation: int
    to: int = 0  # the position of its last fact
    changes: dict[str, Changes] = field(default_factory=dict)

    def of(self, table: tb.Table) -> Changes:
        found = self.changes.get(table.base)
        if found is None:
            found = self.changes[table.base] = Changes()
        return found

    def insert(self, table: tb.Table, key: tuple[Any, ...], row: Any) -> None:
        changes = self.of(table)
        changes.inserts[(*key, row.known_from)] = row
        changes.opened[key] = row.known_from

    def close(self, table: tb.Table, key: tuple[Any, ...], at: int) -> None:
        """Close the open row of a key at position `at`."""
        changes = self.of(table)
        known_from = changes.opened.pop(key, None)
        if known_from is not None:  # inserted earlier in this batch: insert it closed
            k = (*key, known_from)
            changes.inserts[k] = replace(changes.inserts[k], known_to=at)
        else:
            changes.closes[key] = at

    def replace(self, table: tb.Table, owner: Any, rows: list[Any]) -> None:
        self.of(table).replaced[owner] = rows

    def __len__(self) -> int:
        return sum(len(c.inserts) + len(c.closes) + len(c.replaced) for c in self.changes.values())


def write(cur: Cursor, db: Database, ts: tb.TableSet, batch: Batch,
          codecs: dict[str, tb.Codec]) -> None:
    """Every change of the batch, table by table (closes before inserts)."""
    for table in ts.tables:
        changes = batch.changes.get(table.base)
        if not changes:
            continue
        codec = codecs[table.base]
        closes = [[at, *codec.key_to_db(key)] for key, at in changes.closes.items()]
        inserts = [codec.to_db(row) for row in changes.inserts.values()]
        inserts += [codec.to_db(row) for rows in changes.replaced.values() for row in rows]
        owners = list(changes.replaced)
        if db.postgres:
            _postgres(cur, ts, table, closes, owners, inserts)
        else:
            cur.many(tb.close(ts, table), closes)
            cur.many(tb.delete_owner(ts, table), [[o] for o in owners])
            cur.many(tb.insert(ts, table), inserts)


def _postgres(cur: Cursor, ts: tb.TableSet, t: tb.Table, closes: list[list[Any]],
              owners: list[Any], inserts: list[list[Any]]) -> None:
    name = ts.of(t)
    if closes:
        key = [t.column(k) for k in t.key]
        types = ["bigint", *(tb.array_type(t.kind(k)) for k in t.key)]
        match = " AND ".join(f"i.{c} = x.{c}" for c in key)
        cur.run(f"UPDATE {name} AS i SET known_to = x.known_to FROM unnest({_arrays(types)}) "
                f"AS x(known_to, {', '.join(key)}) WHERE {match} AND i.known_to IS NULL",
                _columns(closes))
    if owners:
        cur.run(f"DELETE FROM {name} WHERE {t.column(t.owner)} = ANY(?::text[])", (owners,))
    if inserts:
        columns = ", ".join(t.columns)
        values = ", ".join(f"{c}::jsonb" if t.kind(f) in ("json", "periods", "pairs") else c
                           for f, c in zip(t.fields, t.columns))
        types = [tb.array_type(t.kind(f)) for f in t.fields]
        cur.run(f"INSERT INTO {name} ({columns}) SELECT {values} "
                f"FROM unnest({_arrays(types)}) AS x({columns})", _columns(inserts))


def _columns(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    return [list(column) for column in zip(*rows)]


def _arrays(types: Sequence[str]) -> str:
    return ", ".join(f"?::{x}[]" for x in types)
