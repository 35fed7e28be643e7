"""A statement's sheets as tables for a page: cells formatted for the reader's locale by kind
(money with the row's currency, numbers, dates), header titles as msgids."""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    rows: tuple[tuple[Cell, ...], ...]  # the first `limit` of the sheet's rows
    totals: tuple[tuple[Cell, ...], ...]  # of all its rows
    count: int  # how many rows the sheet holds


def sheet_views(sheets: Sequence[Sheet], limit: int | None = None,
                text: Callable[[str], str] | None = None) -> list[SheetView]:
    """The sheets' first `limit` rows (None: all), each text cell through `text` (the actor's
    View.scrub_text: what it may not see is withheld), and the totals of all their rows."""
    return [SheetView(s.name, tuple(s.headers),
                      tuple(_row(s, _shown(r, text)) for r in s.rows[:limit]),
                      tuple(_row(s, r) for r in s.totals()), len(s.rows)) for s in sheets]


def _shown(row: tuple[Any, ...], text: Callable[[str], str] | None) -> tuple[Any, ...]:
    return row if text is None else tuple(text(c) if isinstance(c, str) else c for c in row)


def _row(sheet: Sheet, row: tuple[Any, ...]) -> tuple[Cell, ...]:
    currency = next((row[i] for i, c in enumerate(sheet.columns) if c.kind is Kind.CURRENCY),
                    None)
    return tuple(Cell(v, _kind(c.kind, v), currency if c.kind is Kind.MONEY else None)
                 for v, c in zip(row, sheet.columns))


def _kind(kind: Kind, value: Any) -> str:
    # a count in a column of changes (packs, days) beside amounts: a number, not money
    return "int" if kind is Kind.MONEY and isinstance(value, int) else kind.value
