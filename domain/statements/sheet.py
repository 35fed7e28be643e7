"""A statement as tables: a `Sheet` is a titled grid with typed columns (money beside its
currency, never summed across currencies). What a statement's tables say is part of the
statement (its people-facing form); writing them as CSV or XLSX is `reports.export`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    TEXT = "text"
    INT = "int"
    DATE = "date"
    MONEY = "money"
    CURRENCY = "currency"


@dataclass(frozen=True)
class Column:
    title: str
    kind: Kind = Kind.TEXT
    total: bool = False  # summed in the totals rows (money amounts, packs)


@dataclass(frozen=True)
class Sheet:
    name: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]

    @property
    def headers(self) -> list[str]:
        return [c.title for c in self.columns]

    def totals(self) -> list[tuple[Any, ...]]:
        """One row per currency (or one row, if the sheet has no currency column) summing the
        columns marked `total`; the first column says which total it is."""
        if not any(c.total for c in self.columns):
            return []
        currency = next((i for i, c in enumerate(self.columns) if c.kind is Kind.CURRENCY), None)
        groups: dict[str, list[tuple[Any, ...]]] = {}
        for row in self.rows:
            key = (row[currency] or "") if currency is not None else ""
            groups.setdefault(key, []).append(row)
        out = []
        for key in sorted(groups):
            label = f"Total {key}" if key else ("Total, no price" if currency is not None else "Total")
            row = self._total_row(groups[key], label, currency, key)
            if key or any(v for v, c in zip(row, self.columns) if c.total):
                out.append(row)  # rows with no currency and nothing to sum need no total
        return out

    def _total_row(self, rows: list[tuple[Any, ...]], label: str, currency: int | None,
                   key: str) -> tuple[Any, ...]:
        cells: list[Any] = [None] * len(self.columns)
        for i, column in enumerate(self.columns):
            if column.total:
                zero: Any = Decimal("0.00") if column.kind is Kind.MONEY else 0
                cells[i] = sum((row[i] for row in rows if row[i] is not None), zero)
        if currency is not None:
            cells[currency] = key or None
        cells[0] = label
        return tuple(cells)
