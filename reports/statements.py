"""Statements: what the drug cost and who bore it, for a period, as the ledger knew it at a log
position, showing only what the caller may see.

Every statement is a pure function of a `Source` (the rows as known at one log position: the
read models, or a replay of the log: reports.source), a `Period` (inclusive dates) and a
`Scope`. Who paid on each date and what each dispensation cost were worked out with
`domain.financing` and `domain.costing` when the rows were made: a dispensation is priced at the
price in force on its dispensing date (report 4.3: "if the price of a drug changes, it changes
for IMPRESS patients too"). Money is summed per currency (`domain.money.Totals`), never across
currencies.

The statements themselves live in `statements_company` (company obligations),
`statements_public` (public cost) and `statements_restate` (restatement); the financing-gap
worklist in `reports.worklist`, upcoming coverage ends in `reports.upcoming`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from domain.money import Totals
from projections.rows import CostLine, IntervalRow, PatientRow
from reports.scope import Scope, ScopeKind, check
from reports.source import Known, Rows, Source

if TYPE_CHECKING:
    from application.ledger import Ledger

__all__ = ["Known", "Period", "Rows", "Scope", "ScopeKind", "Source", "check", "known_at"]

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


# --- the facts as known at one position, replayed ---------------------------------------


def known_at(ledger: Ledger, position: int | None = None) -> Known:
    """The facts as known at a log position (default: everything recorded so far)."""
    at = ledger.position(position=position)
    cases = tuple(ledger.cases(up_to=at))
    ws = ledger.workspace(up_to=at)
    agreements = [s.partition("/")[2] for s in ledger.log.streams("agreement/")]
    return Known(
        position=at,
        cases=cases,
        workspace=ws,
        agreement_ids=tuple(a for a in agreements if ws.agreement(a).exists),
        recorded_at=recorded_at(ledger, at),
    )


def recorded_at(ledger: Ledger, position: int) -> datetime | None:
    if position <= 0:
        return None
    fact = next(iter(ledger.log.read(after=position - 1, up_to=position, batch=1)), None)
    return fact.recorded_at if fact else None


# --- dispensations, costed -----------------------------------------------------------------


def in_order(lines: Iterable[CostLine]) -> list[CostLine]:
    """Per patient, in the order the dispensations were recorded."""
    return sorted(lines, key=lambda x: (x.patient_id, x.seq))


def value_of(items: Iterable[CostLine]) -> Totals:
    return Totals(v for v in (x.value for x in items) if v is not None)


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
