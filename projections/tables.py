"""The read models' tables, described once: columns, keys, kinds of values; DDL and SQL from that.

Every table is one row dataclass (its fields are the columns, in order) and is either
- bitemporal: the last two columns are `known_from` and `known_to`, log positions. A row says
  what was the answer from position `known_from` until `known_to` superseded it (NULL: still
  the answer); "as known at K" is `known_from <= K AND (known_to IS NULL OR known_to > K)`.
  Rows are never updated but to close them. `key` identifies a row among the open ones;
- current: what holds now, replaced whole per owner (no history: tenancy, the due dates).

Rows are grouped by `owner` (a patient, an agreement, a party): the projector loads, compares
and replaces them per owner. A `TableSet` names one copy of every table: the live one, a
rebuild's, or a verify's scratch copy.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import date
from functools import cached_property
from operator import attrgetter
from types import MemberDescriptorType
from typing import Any

from domain.financing import PayerKind
from projections.store import Database, check_name

KNOWN = ("known_from", "known_to")
to_json = json.JSONEncoder(ensure_ascii=False).encode
_SQL_TYPES = {"text": "TEXT", "int": "BIGINT", "kind": "TEXT", "json": "json", "periods": "json",
              "pairs": "json", "date": "date"}
_ARRAY_TYPES = {"text": "text", "int": "bigint", "kind": "text", "json": "text", "periods": "text",
                "pairs": "text", "date": "date"}


@dataclass(frozen=True)
class Table:
    base: str  # the live table is <prefix>_<base>
    row: type
    owner: str
    key: tuple[str, ...]
    kinds: Mapping[str, str] = field(default_factory=dict)  # column -> kind; default text
    bitemporal: bool = True
    indexes: tuple[tuple[str, ...], ...] = ()  # of column names
    not_null: tuple[str, ...] = ()
    renames: Mapping[str, str] = field(default_factory=dict)  # field -> column, if they differ

    # Worked out once (every query names them; dataclasses.fields is not cheap).
    @cached_property
    def fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in dataclass_fields(self.row))

    @cached_property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.renames.get(f, f) for f in self.fields)

    def column(self, name: str) -> str:
        return self.renames.get(name, name)

    def kind(self, name: str) -> str:
        return self.kinds.get(name, "int" if name in KNOWN else "text")

    @property
    def primary_key(self) -> tuple[str, ...]:
        key = tuple(map(self.column, self.key))
        return (*key, "known_from") if self.bitemporal else key

    def content(self) -> Callable[[Any], Any]:
        """What a row says, without when it was known."""
        return attrgetter(*(f for f in self.fields if f not in KNOWN))

    def key_of(self) -> Callable[[Any], Any]:
        get = attrgetter(*self.key)
        return get if len(self.key) > 1 else (lambda row: (get(row),))


@dataclass(frozen=True)
class TableSet:
    """One copy of every read model's tables; `name` is its row in projection_tracking."""

    name: str
    prefix: str
    tables: tuple[Table, ...]

    def __post_init__(self) -> None:
        check_name(self.prefix)

    def of(self, table: Table) -> str:
        return f"{self.prefix}_{table.base}"

    def create_ddl(self, db: Database) -> list[str]:
        out = []
        for t in self.tables:
            name = self.of(t)
            columns = ", ".join(
                f"{c} {_sql_type(db, t.kind(f))}"
                + (" NOT NULL" if f in t.not_null or c in t.primary_key else "")
                for f, c in zip(t.fields, t.columns))
            out.append(f"CREATE TABLE IF NOT EXISTS {name} ({columns}, CONSTRAINT {name}_pk "
                       f"PRIMARY KEY ({', '.join(t.primary_key)}))")
        return out

    def indexes(self) -> list[tuple[str, str, tuple[str, ...]]]:
        """The queries' indexes: (name, table, columns)."""
        return [(f"{self.of(t)}_{'_'.join(cols)}", self.of(t), cols)
                for t in self.tables for cols in t.indexes]

    def index_ddl(self) -> list[str]:
        """The queries' indexes: made once a replay has filled the tables (it writes faster
        without them). An index keeps its name when its table is renamed: on SQLite, which
        cannot rename an index, live tables may hold indexes named after the rebuild's set
        that made them (projections.maintenance)."""
        return [index_ddl(*index) for index in self.indexes()]

    def drop_ddl(self) -> list[str]:
        return [f"DROP TABLE IF EXISTS {self.of(t)}" for t in self.tables]

    def rename_ddl(self, to: TableSet, db: Database) -> list[str]:
        out = []
        for t in self.tables:
            mine, theirs = self.of(t), to.of(t)
            out.append(f"ALTER TABLE {mine} RENAME TO {theirs}")
            if db.postgres:  # the primary key's index keeps its name: give it the new one
                out.append(f"ALTER TABLE {theirs} RENAME CONSTRAINT {mine}_pk TO {theirs}_pk")
        return out


def _sql_type(db: Database, kind: str) -> str:
    sql = _SQL_TYPES[kind]
    if sql == "json":
        return db.json_type
    return db.date_type if sql == "date" else sql


def array_type(kind: str) -> str:
    return _ARRAY_TYPES[kind]


# --- values to and from the database --------------------------------------------------------


class Codec:
    """A table's rows to and from one database's values, converters worked out once."""

    def __init__(self, db: Database, table: Table) -> None:
        self.table = table
        ins = [_to_db(db, table.kind(f)) for f in table.fields]
        outs = [_from_db(db, table.kind(f)) for f in table.fields]
        self._in = [(i, f) for i, f in enumerate(ins) if f is not None]
        self._values = attrgetter(*table.fields)
        self.from_db = _decoder(table.row, outs)
        self._key = [_to_db(db, table.kind(name)) for name in table.key]

    def key_to_db(self, key: tuple[Any, ...]) -> list[Any]:
        """A key's values, as the database holds them."""
        return [convert(v) if convert is not None and v is not None else v
                for v, convert in zip(key, self._key)]

    def to_db(self, row: Any) -> list[Any]:
        values = list(self._values(row))
        for i, convert in self._in:
            if values[i] is not None:
                values[i] = convert(values[i])
        return values

    from_db: Callable[[Sequence[Any]], Any]  # a row as the database returns it -> the row


def _decoder(row: type, outs: Sequence[Callable[[Any], Any] | None]
             ) -> Callable[[Sequence[Any]], Any]:
    """A function from a database row (its columns in the table's order) to the row dataclass,
    each column's converter called in line, the row filled as `builder` fills it. Statements
    read tens of thousands of rows through it: a loop over the columns took half of a cost
    line's 4.7 us, and a frozen dataclass's `__init__` most of the rest (2.6 us at M now)."""
    names = [f.name for f in dataclass_fields(row)]
    if len(outs) != len(names):
        raise ValueError(f"{row.__name__}: {len(outs)} converters for {len(names)} fields")
    scope: dict[str, Any] = {}
    values = []
    for i, convert in enumerate(outs):
        if convert is None:
            values.append(f"v[{i}]")
        else:
            scope[f"c{i}"] = convert
            values.append(f"None if v[{i}] is None else c{i}(v[{i}])")
    return _generated(row, "v", values, scope)


def builder(row: type) -> Callable[..., Any]:
    """`row`'s constructor for every field given in order, without its `__init__`: a frozen
    dataclass's sets each field with `object.__setattr__` (1.9 us a worklist item of 14
    fields). A slotted row is filled through its slots' own setters, a row with a `__dict__`
    through it (0.5 us), as `__init__` fills them; a row with a `__post_init__`, or fields of
    another kind, is left to its `__init__`. Generated once, as `dataclasses` generates
    `__init__`."""
    given = [f"a{i}" for i in range(len(dataclass_fields(row)))]  # no field's name: no clash
    return _generated(row, ", ".join(given), given, {})


def _generated(row: type, parameters: str, values: Sequence[str], scope: dict[str, Any]
               ) -> Callable[..., Any]:
    names = [f.name for f in dataclass_fields(row)]
    found = [next((k.__dict__[name] for k in row.__mro__ if name in k.__dict__), None)
             for name in names]
    scope.update(row=row, new=object.__new__)
    if hasattr(row, "__post_init__"):
        body = [f"return row({', '.join(values)})"]
    elif all(isinstance(x, MemberDescriptorType) for x in found):  # slots
        for i, slot in enumerate(found):
            scope[f"s{i}"] = slot.__set__  # type: ignore[union-attr]
        body = ["o = new(row)", *(f"s{i}(o, {v})" for i, v in enumerate(values)), "return o"]
    elif row.__dictoffset__ and not any(hasattr(type(x), "__set__") for x in found):
        body = ["o = new(row)", "d = o.__dict__",
                *(f"d[{name!r}] = {v}" for name, v in zip(names, values)), "return o"]
    else:
        body = [f"return row({', '.join(values)})"]
    exec(f"def make({parameters}):\n    " + "\n    ".join(body), scope)  # noqa: S102
    make: Callable[..., Any] = scope["make"]
    return make


def codecs(db: Database, ts: TableSet) -> dict[str, Codec]:
    """Every table's codec, by its base name."""
    return {t.base: Codec(db, t) for t in ts.tables}


def _to_db(db: Database, kind: str) -> Callable[[Any], Any] | None:
    if kind == "date":
        return None if db.postgres else date.isoformat
    if kind == "kind":
        return attrgetter("value")
    if kind in ("json", "pairs"):  # as text on both: PostgreSQL's bulk writes cast it
        return lambda v: to_json(list(v)) if v else "[]"  # most are empty (a line's gap basis)
    if kind == "periods":
        return lambda v: to_json([[s.isoformat(), hf, rhf] for s, hf, rhf in v])
    return None


_KINDS = {k.value: k for k in PayerKind}
_NONE: tuple[Any, ...] = ()


def _from_db(db: Database, kind: str) -> Callable[[Any], Any] | None:
    # Every statement reads tens of thousands of rows through these: each is the cheapest
    # conversion of what the database returns (psycopg gives dates and lists already).
    if kind == "date":
        return None if db.postgres else date.fromisoformat
    if kind == "int":
        return int
    if kind == "kind":
        return _KINDS.__getitem__
    if kind == "json":  # text on both (projections.store._json_as_text)
        return lambda v: _NONE if v == "[]" else tuple(json.loads(v))
    if kind == "periods":
        return lambda v: tuple((date.fromisoformat(s), hf, rhf) for s, hf, rhf in db.json_out(v))
    if kind == "pairs":  # a tuple of pairs, such as (currency, minor units)
        return lambda v: tuple((a, b) for a, b in db.json_out(v))
    return None


# --- SQL ------------------------------------------------------------------------------------


def select(ts: TableSet, t: Table) -> str:
    return f"SELECT {', '.join(t.columns)} FROM {ts.of(t)}"


def known_at(t: Table, at: int | None, alias: str = "") -> tuple[str, list[Any]]:
    """The condition for rows as known at position `at` (None: now)."""
    if not t.bitemporal:
        return "1 = 1", []
    p = f"{alias}." if alias else ""
    if at is None:
        return f"{p}known_to IS NULL", []
    return f"{p}known_from <= ? AND ({p}known_to IS NULL OR {p}known_to > ?)", [at, at]


def insert(ts: TableSet, t: Table) -> str:
    return (f"INSERT INTO {ts.of(t)} ({', '.join(t.columns)}) "
            f"VALUES ({', '.join('?' * len(t.columns))})")


def close(ts: TableSet, t: Table) -> str:
    """Close the open row of a key (a key has at most one)."""
    where = " AND ".join(f"{t.column(k)} = ?" for k in t.key)
    return f"UPDATE {ts.of(t)} SET known_to = ? WHERE {where} AND known_to IS NULL"


def delete_owner(ts: TableSet, t: Table) -> str:
    return f"DELETE FROM {ts.of(t)} WHERE {t.column(t.owner)} = ?"


def index_ddl(name: str, table: str, columns: tuple[str, ...]) -> str:
    return f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({', '.join(columns)})"


def quoted(name: str) -> str:
    """A name as an SQL identifier, whatever it holds (one found in the schema, say)."""
    return '"' + name.replace('"', '""') + '"'
