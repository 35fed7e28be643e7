"""A statement's sheets as tables for a page: cells formatted for the reader's locale by kind
(money with the row's currency, numbers, dates), header titles as msgids."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reports.export import Kind, Sheet


@dataclass(frozen=True)
class Cell:
    value: Any
    kind: str  # text | int | date | money | currency
    currency: str | None = None

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "money")


@dataclass(frozen=True)
class SheetView:
    name: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    totals: tuple[tuple[Cell, ...], ...]


def sheet_views(sheets: Sequence[Sheet]) -> list[SheetView]:
    return [SheetView(s.name, tuple(s.headers), tuple(_row(s, r) for r in s.rows),
                      tuple(_row(s, r) for r in s.totals())) for s in sheets]


def _row(sheet: Sheet, row: tuple[Any, ...]) -> tuple[Cell, ...]:
    currency = next((row[i] for i, c in enumerate(sheet.columns) if c.kind is Kind.CURRENCY),
                    None)
    return tuple(Cell(v, _kind(c.kind, v), currency if c.kind is Kind.MONEY else None)
                 for v, c in zip(row, sheet.columns))


def _kind(kind: Kind, value: Any) -> str:
    # a count in a column of changes (packs, days) beside amounts: a number, not money
    return "int" if kind is Kind.MONEY and isinstance(value, int) else kind.value
