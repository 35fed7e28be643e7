"""What every statement is made of: a period (inclusive dates), spans clipped to it, a patient's
treating health trusts over time, dispensations in order and their value per currency (money is
summed per currency, never across: `domain.money.Totals`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from operator import attrgetter
from typing import Any

from domain.money import Totals
from domain.statements.rows import CostLine, IntervalRow, PatientRow
from domain.statements.scope import Scope
from domain.statements.source import Source, sums_of

DAY = timedelta(days=1)


# --- periods --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """From `start` to `end`, both inclusive."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"the period ends ({self.end}) before it starts ({self.start})")

    def __contains__(self, on: object) -> bool:
        return isinstance(on, date) and self.start <= on <= self.end

    def clip(self, start: date, end: date | None) -> tuple[date, date] | None:
        """The part of [start, end] (end None: open) inside the period, if any."""
        return overlap((start, end), (self.start, self.end))

    def to_dict(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}

    def __str__(self) -> str:
        return f"{self.start} to {self.end}"


def overlap(a: tuple[date, date | None], b: tuple[date, date | None]) -> tuple[date, date] | None:
    """The overlap of two inclusive spans (None as an end: open); None if they do not meet.
    At least one of the two must have an end."""
    start = max(a[0], b[0])
    ends = [e for e in (a[1], b[1]) if e is not None]
    end = min(ends)
    return (start, end) if start <= end else None


def days_in(span: tuple[date, date]) -> int:
    return (span[1] - span[0]).days + 1


def merge(spans: Iterable[tuple[date, date]]) -> list[tuple[date, date]]:
    """Join spans that touch or overlap (a transfer splits a payer's interval in two)."""
    out: list[tuple[date, date]] = []
    for start, end in sorted(spans):
        if out and (start - out[-1][1]).days <= 1:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


# --- what a caller may see -----------------------------------------------------------------


def hf_spans(p: PatientRow) -> Iterator[tuple[date, date | None, str, str | None]]:
    """(from, to, hf_id, rhf_id) for each health trust that treated the patient; the first one
    also covers the dates before enrolment, as `Patient.hf_on` does."""
    periods = p.hf_periods
    for i, (since, hf, rhf) in enumerate(periods):
        start = date.min if i == 0 else since
        end = periods[i + 1][0] - DAY if i + 1 < len(periods) else None
        yield start, end, hf, rhf


def about(source: Source) -> dict[str, Any]:
    moment = source.recorded_at.isoformat() if source.recorded_at else None
    return {"position": source.position, "recorded_at": moment}


# --- dispensations, costed -----------------------------------------------------------------


_BY_PATIENT_AND_SEQ = attrgetter("patient_id", "seq")


def in_order(lines: Iterable[CostLine]) -> list[CostLine]:
    """Per patient, in the order the dispensations were recorded."""
    return sorted(lines, key=_BY_PATIENT_AND_SEQ)


def value_of(items: Iterable[CostLine]) -> Totals:
    """The priced lines' value, summed in minor units per currency (exact, like Money's sum:
    one Money per currency instead of one per line)."""
    return sums_of(items).value


def per_currency(items: Sequence[CostLine]) -> list[tuple[int, Decimal | None, str | None]]:
    """(packs, value, currency) per currency; unpriced packs apart; one empty row if none."""
    groups: dict[str | None, list[CostLine]] = {}
    for d in items:
        groups.setdefault(d.currency if d.value_minor is not None else None, []).append(d)
    if not groups:
        return [(0, None, None)]
    out = []
    for currency in sorted(groups, key=lambda c: c or "~"):
        packs = sum(d.packs for d in groups[currency])
        value = sum((v.amount for d in groups[currency] if (v := d.value)), Decimal("0.00"))
        out.append((packs, value if currency else None, currency))
    return out


def clipped(intervals: Iterable[IntervalRow], period: Period, scope: Scope
            ) -> Iterator[tuple[IntervalRow, tuple[date, date]]]:
    """Each interval the scope sees, with its part inside the period."""
    for interval in intervals:
        if scope.sees(interval) and (part := period.clip(interval.start, interval.end)):
            yield interval, part
