"""A batch's rows written on PostgreSQL in one statement per kind of change, not one per row.

A rebuild writes hundreds of thousands of rows, and psycopg's `executemany` runs a statement
per row on the server: that was a third of a PostgreSQL rebuild. Here each column travels as
one array and `unnest` turns the arrays back into rows. SQLite runs in process, where
`executemany` costs little: it keeps it (projections.projector).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from operator import attrgetter
from typing import Any

from projections import rows as r
from projections.store import Cursor

# Column types, as in rows.Tables.create_ddl; jsonb travels as text and is cast per row.
_INTERVAL_TYPES = ("text", "date", "date", "text", "text", "text", "text", "text", "text",
                   "bigint", "bigint")
_PATIENT_TYPES = {"stage": "integer", "changed_at": "bigint"} | {
    c: "date" for c in ("enrolled_on", "started_on", "ended_on", "assessed_on")}
_PATIENT_VALUES = attrgetter(*r.PATIENT_COLUMNS)
_to_json = json.JSONEncoder(ensure_ascii=False).encode


def write(cur: Cursor, t: r.Tables, closes: Sequence[tuple[int, str, int, date]],
          inserts: Sequence[r.IntervalRow], patients: Sequence[r.PatientRow]) -> None:
    """closes: (known_to, patient_id, known_from, start) of rows still open."""
    if closes:
        cur.run(_close(t), _columns(closes))
    if inserts:
        cur.run(_insert(t), _columns([
            (x.patient_id, x.start, x.end, x.kind.value, x.party, x.hf_id, x.rhf_id,
             _to_json(list(x.basis)), x.reason, x.known_from, x.known_to) for x in inserts]))
    if patients:
        cur.run(_upsert(t), _columns([_PATIENT_VALUES(p) for p in patients]))


def _columns(rows: Sequence[tuple[Any, ...]]) -> list[list[Any]]:
    return [list(column) for column in zip(*rows)]


def _arrays(types: Sequence[str]) -> str:
    return ", ".join(f"?::{x}[]" for x in types)


def _close(t: r.Tables) -> str:
    return (f"UPDATE {t.intervals} AS i SET known_to = x.known_to "
            f"FROM unnest({_arrays(('bigint', 'text', 'bigint', 'date'))}) "
            "AS x(known_to, patient_id, known_from, start_on) "
            "WHERE i.patient_id = x.patient_id AND i.known_from = x.known_from "
            "AND i.start_on = x.start_on AND i.known_to IS NULL")


def _insert(t: r.Tables) -> str:
    columns = ", ".join(r.INTERVAL_COLUMNS)
    values = columns.replace("basis", "basis::jsonb")
    return (f"INSERT INTO {t.intervals} ({columns}) SELECT {values} "
            f"FROM unnest({_arrays(_INTERVAL_TYPES)}) AS x({columns})")


def _upsert(t: r.Tables) -> str:
    columns = ", ".join(r.PATIENT_COLUMNS)
    types = [_PATIENT_TYPES.get(c, "text") for c in r.PATIENT_COLUMNS]
    updates = ", ".join(f"{c} = excluded.{c}" for c in r.PATIENT_COLUMNS[1:])
    return (f"INSERT INTO {t.patients} ({columns}) SELECT * "
            f"FROM unnest({_arrays(types)}) AS x({columns}) "
            f"ON CONFLICT (patient_id) DO UPDATE SET {updates}")
