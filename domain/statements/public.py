"""The public cost statement: what the public side took over, per RHF and health trust, per
month or quarter.

A patient is "taken over" in a row when the public payer (the RHF of the health trust treating
the patient that day) paid on at least one day of the row's month or quarter, within the
period; `public days` counts those days. Dispensations at public cost are the ones whose
dispensing date the public payer paid, priced at the price in force on that date. Each row
keeps its patients' contributions, so a restatement can name the patients whose share changed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cached_property
from operator import attrgetter
from typing import Any

from domain.financing import PayerKind
from domain.money import Totals
from domain.statements.rows import CostLine
from domain.statements.sheet import Column, Kind, Sheet
from domain.statements.period import (DAY, Period, about, clipped, in_order, per_currency,
                                      value_of)
from domain.statements.scope import Scope, check
from domain.statements.source import Source
from domain.statements.text import Line, dispensation_dict, text, totals_dict


class By(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"


@dataclass(frozen=True)
class Bucket:
    label: str  # 2024-01 or 2024-Q1
    start: date  # clipped to the period
    end: date


def buckets(period: Period, by: By) -> list[Bucket]:
    out, start = [], period.start
    while start <= period.end:
        first_month = start.month if by is By.MONTH else 3 * ((start.month - 1) // 3) + 1
        months = 1 if by is By.MONTH else 3
        year, month = divmod(first_month - 1 + months, 12)
        following = date(start.year + year, month + 1, 1)
        label = (f"{start.year}-{start.month:02d}" if by is By.MONTH
                 else f"{start.year}-Q{(first_month - 1) // 3 + 1}")
        out.append(Bucket(label, start, min(following - DAY, period.end)))
        start = following
    return out


@dataclass(frozen=True)
class Contribution:
    """One patient's share of one row."""

    bucket: Bucket
    rhf_id: str
    hf_id: str
    patient_id: str
    public_days: int
    dispensations: tuple[CostLine, ...]


@dataclass(frozen=True)
class CostRow:
    bucket: Bucket
    rhf_id: str
    hf_id: str
    contributions: tuple[Contribution, ...]

    @property
    def patients(self) -> tuple[str, ...]:
        return tuple(c.patient_id for c in self.contributions if c.public_days)

    @property
    def public_days(self) -> int:
        return sum(c.public_days for c in self.contributions)

    # worked out once: a row holds thousands of dispensations, read by every shape
    @cached_property
    def dispensations(self) -> tuple[CostLine, ...]:
        return tuple(d for c in self.contributions for d in c.dispensations)

    @cached_property
    def packs(self) -> int:
        return sum(d.packs for d in self.dispensations)

    @cached_property
    def value(self) -> Totals:
        return value_of(self.dispensations)


@dataclass(frozen=True)
class PublicCostStatement:
    title = "Public cost"
    period: Period
    scope: Scope
    known: dict[str, Any]
    by: By
    rows: tuple[CostRow, ...]

    @property
    def contributions(self) -> tuple[Contribution, ...]:
        return tuple(c for r in self.rows for c in r.contributions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "statement": "public-cost",
            "period": self.period.to_dict(),
            "scope": self.scope.to_dict(),
            "known_at": self.known,
            "by": self.by.value,
            "rows": [_row_dict(r) for r in self.rows],
            "totals": self.totals(),
        }

    def totals(self) -> dict[str, Any]:
        """The statement's totals, as `to_dict` gives them (without the rest of it)."""
        dispensed = [d for r in self.rows for d in r.dispensations]
        return {
            "patients": len({p for r in self.rows for p in r.patients}),
            "public_days": sum(r.public_days for r in self.rows),
            "packs": sum(d.packs for d in dispensed),
            "value": totals_dict(value_of(dispensed)),
        }

    def sheets(self) -> list[Sheet]:
        return [_cost_sheet(self), _patient_sheet(self)]

    def shares(self, patients: Collection[str]) -> dict[str, list[Contribution]]:
        """The contributions of each of these patients, in the order of the rows."""
        out: dict[str, list[Contribution]] = {}
        for c in self.contributions:
            if c.patient_id in patients:
                out.setdefault(c.patient_id, []).append(c)
        return out

    def replacing(self, patients: Collection[str], theirs: PublicCostStatement
                  ) -> PublicCostStatement:
        """This statement with the shares of `patients` taken from `theirs` (the statement of
        those patients only, as known at another position, which it is then as known at): the
        same statement as one built whole at that position, since a row adds up its patients'
        shares and a patient's share reads only its own rows."""
        if (theirs.period, theirs.scope, theirs.by) != (self.period, self.scope, self.by):
            raise ValueError("a share of another statement")
        rows: dict[tuple[date, str, str], list[Contribution]] = {}
        grid: dict[date, Bucket] = {}
        for r in self.rows:
            rows[(r.bucket.start, r.rhf_id, r.hf_id)] = [
                c for c in r.contributions if c.patient_id not in patients]
            grid[r.bucket.start] = r.bucket
        touched = set()
        for c in theirs.contributions:
            if c.patient_id in patients:
                key = (c.bucket.start, c.rhf_id, c.hf_id)
                rows.setdefault(key, []).append(c)
                grid[c.bucket.start] = c.bucket
                touched.add(key)
        for key in touched:
            rows[key].sort(key=attrgetter("patient_id"))
        return PublicCostStatement(self.period, self.scope, theirs.known, self.by, tuple(
            CostRow(grid[start], rhf, hf, tuple(c))
            for (start, rhf, hf), c in sorted(rows.items()) if c))

    def lines(self, only: Collection[str] | None = None) -> list[Line]:
        """Every line; with `only`, the lines of one patient only for those patients (the
        lines of many patients all the same)."""
        out = []
        for r in self.rows:
            key = (r.bucket.label, r.rhf_id, r.hf_id)
            out.append(Line("public cost", key,
                            {"patients": text(r.patients), "public days": text(r.public_days),
                             "packs": text(r.packs), "value": text(r.value)},
                            frozenset(c.patient_id for c in r.contributions)))
            for c in r.contributions:
                if only is not None and c.patient_id not in only:
                    continue
                out.append(Line("patient", (*key, c.patient_id),
                                {"public days": text(c.public_days),
                                 "packs": text(sum(d.packs for d in c.dispensations)),
                                 "value": text(value_of(c.dispensations))},
                                frozenset({c.patient_id})))
        return out


def public_cost(source: Source, period: Period, scope: Scope, by: By = By.QUARTER,
                patient: str | None = None, *, patients: Collection[str] | None = None
                ) -> PublicCostStatement:
    """The statement; with `patient`, only that patient's share of it; with `patients`, only
    theirs (what `PublicCostStatement.replacing` takes)."""
    if patient is not None:
        patients = {patient} if patients is None else set(patients) & {patient}
    check(source, scope)
    who = scope.who()
    grid = buckets(period, by)
    month_of = {(b.start.year, m): i for i, b in enumerate(grid)  # buckets start on months
                for m in range(b.start.month, b.end.month + 1)}
    span, public = (period.start, period.end), (PayerKind.PUBLIC,)
    # each row's patients' shares: (bucket, rhf, hf) -> patient -> [public days, lines]
    shares: dict[tuple[int, str, str], dict[str, list[Any]]] = defaultdict(dict)
    for interval, (start, end) in clipped(source.intervals(kinds=public, span=span, **who),
                                          period, scope):
        pid = interval.patient_id
        if interval.kind is not PayerKind.PUBLIC or (patients is not None
                                                     and pid not in patients):
            continue
        rhf, hf = interval.party or "", interval.hf_id or ""
        # the buckets tile the period, so every one from the first to the last day's meets it
        for i in range(month_of[(start.year, start.month)], month_of[(end.year, end.month)] + 1):
            bucket = grid[i]
            first, last = max(start, bucket.start), min(end, bucket.end)
            share = shares[(i, rhf, hf)].setdefault(pid, [0, []])
            share[0] += (last - first).days + 1
    first_day, last_day, sees, paid = period.start, period.end, scope.sees, PayerKind.PUBLIC
    lines = source.cost_lines(span=span, kinds=public, **who)  # tens of thousands
    if patients is not None:
        lines = [d for d in lines if d.patient_id in patients]
    for d in in_order(lines):
        on = d.on
        if d.payer_kind is paid and first_day <= on <= last_day and sees(d):
            row = shares[(month_of[(on.year, on.month)], d.party or "", d.hf_id or "")]
            found = row.get(d.patient_id)
            if found is None:
                found = row[d.patient_id] = [0, []]
            found[1].append(d)
    return PublicCostStatement(period, scope, about(source), by, tuple(
        CostRow(grid[i], rhf, hf, tuple(
            Contribution(grid[i], rhf, hf, pid, days, tuple(dispensed))
            for pid, (days, dispensed) in sorted(row.items())))
        for (i, rhf, hf), row in sorted(shares.items())))


# --- shapes -----------------------------------------------------------------------------------


def _row_dict(r: CostRow) -> dict[str, Any]:
    return {
        "period": r.bucket.label, "from": r.bucket.start.isoformat(), "to": r.bucket.end.isoformat(),
        "rhf_id": r.rhf_id, "hf_id": r.hf_id, "patients": list(r.patients),
        "public_days": r.public_days, "packs": r.packs, "value": totals_dict(r.value),
        "dispensations": [dispensation_dict(d) for d in r.dispensations],
    }


def _cost_sheet(s: PublicCostStatement) -> Sheet:
    columns = (Column("Period"), Column("From", Kind.DATE), Column("To", Kind.DATE),
               Column("RHF"), Column("HF"), Column("Patients taken over", Kind.INT),
               Column("Public days", Kind.INT), Column("Packs", Kind.INT, total=True),
               Column("Value", Kind.MONEY, total=True), Column("Currency", Kind.CURRENCY))
    rows = []
    for r in s.rows:
        for n, (packs, value, currency) in enumerate(per_currency(r.dispensations)):
            head = (len(r.patients), r.public_days) if n == 0 else (None, None)
            rows.append((r.bucket.label, r.bucket.start, r.bucket.end, r.rhf_id, r.hf_id, *head,
                         packs, value, currency))
    return Sheet("Public cost", columns, tuple(rows))


def _patient_sheet(s: PublicCostStatement) -> Sheet:
    columns = (Column("Period"), Column("RHF"), Column("HF"), Column("Patient"),
               Column("Public days", Kind.INT), Column("Packs", Kind.INT, total=True),
               Column("Value", Kind.MONEY, total=True), Column("Currency", Kind.CURRENCY))
    rows = []
    for c in s.contributions:
        for packs, value, currency in per_currency(c.dispensations):
            rows.append((c.bucket.label, c.rhf_id, c.hf_id, c.patient_id, c.public_days,
                         packs, value, currency))
    return Sheet("Patients", columns, tuple(rows))
