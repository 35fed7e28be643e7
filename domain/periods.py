"""Statement periods: calendar months, quarters and half-years, and how they are written.

A period is written `2024M03` (March 2024), `2024Q1` or `2024H1`; `2024-03` is read as the
month too. The label is part of a statement's number (`PC-helse-vest-2024Q1-1`), so it never
contains a hyphen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from domain import errors as err


class Grain(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    HALF = "half-year"

    @property
    def months(self) -> int:
        return {Grain.MONTH: 1, Grain.QUARTER: 3, Grain.HALF: 6}[self]

    @property
    def letter(self) -> str:
        return {Grain.MONTH: "M", Grain.QUARTER: "Q", Grain.HALF: "H"}[self]


_LABEL = re.compile(r"(?P<year>[0-9]{4})(?:(?P<letter>[MQH])(?P<index>[0-9]{1,2})"
                    r"|-(?P<month>[0-9]{2}))")


@dataclass(frozen=True, order=True)
class StatementPeriod:
    """One calendar month, quarter or half-year: `start` to `end`, both inclusive."""

    start: date
    end: date
    grain: Grain

    @classmethod
    def of(cls, grain: Grain, year: int, index: int) -> StatementPeriod:
        """The `index`-th (from 1) month, quarter or half-year of `year`."""
        count = 12 // grain.months
        if not 1 <= index <= count or not 1 <= year <= 9998:
            raise err.InvalidPeriod(f"{year}{grain.letter}{index}")
        first = date(year, (index - 1) * grain.months + 1, 1)
        return cls(first, _months_later(first, grain.months) - timedelta(days=1), grain)

    @classmethod
    def parse(cls, text: str) -> StatementPeriod:
        found = _LABEL.fullmatch(text.strip())
        if found is None:
            raise err.InvalidPeriod(text)
        year = int(found["year"])
        if found["month"] is not None:
            return cls.of(Grain.MONTH, year, int(found["month"]))
        grain = next(g for g in Grain if g.letter == found["letter"])
        return cls.of(grain, year, int(found["index"]))

    @classmethod
    def containing(cls, grain: Grain, on: date) -> StatementPeriod:
        return cls.of(grain, on.year, (on.month - 1) // grain.months + 1)

    @property
    def index(self) -> int:
        return (self.start.month - 1) // self.grain.months + 1

    @property
    def label(self) -> str:
        width = 2 if self.grain is Grain.MONTH else 1
        return f"{self.start.year}{self.grain.letter}{self.index:0{width}d}"

    def following(self) -> StatementPeriod:
        """The next period of the same grain."""
        return StatementPeriod.containing(self.grain, self.end + timedelta(days=1))

    def overlaps(self, start: date, end: date) -> bool:
        return self.start <= end and start <= self.end

    def __contains__(self, on: object) -> bool:
        return isinstance(on, date) and self.start <= on <= self.end

    def __str__(self) -> str:
        return self.label


def _months_later(first: date, months: int) -> date:
    year, month = divmod(first.month - 1 + months, 12)
    return date(first.year + year, month + 1, 1)
