"""Prior-period adjustments: what late or corrected facts changed in closed periods, carried in
the statement of the first open period (ADR 0022).

For each closed period, the statement of that period is restated between the baseline (the
position the last closed period's figures were booked at: what earlier statements already
carried) and the position asked about; each patient's figures (public days, packs, money per
currency, grants) are then worked out at the baseline, after each fact that changed the
patient's lines, and now, so every change of a figure is attributed to the fact that made it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from domain.books import StatementKind
from domain.state import Closure
from domain.statements.sheet import Column, Kind, Sheet
from domain.statements.period import Period, per_currency
from domain.statements.scope import Scope
from domain.statements.source import Source
from domain.statements.company import CompanyStatement
from domain.statements.text import Line
from domain.statements.public import By, PublicCostStatement
from domain.statements.restate import Cause, Sources, build, restate

Figure = tuple[str, str | None]  # (what, currency or None for a count)
Figures = defaultdict[Figure, Decimal]
COUNTS = ("public days", "packs")


class PatientSources(Sources, Protocol):
    def patient_at(self, patient_id: str, position: int, since: int) -> Source:
        """One patient's rows as known at `position` (rows known since `since` suffice)."""
        ...


@dataclass(frozen=True)
class Adjustment:
    """One figure of one patient in a closed period, changed by one fact."""

    period: str  # the closed period it belongs to
    patient_id: str
    what: str  # public cost | public days | packs | drug at the company's cost | grant ...
    change: Decimal
    currency: str | None  # None: a count (days, packs)
    fact: Cause

    @property
    def is_money(self) -> bool:
        return self.currency is not None

    def line(self) -> Line:
        unit = self.currency or ""
        return Line("adjustment",
                    (self.period, self.patient_id, str(self.fact.position), self.what, unit),
                    {"change": f"{unit} {self.change:.2f}" if unit else str(int(self.change)),
                     "fact": f"{self.fact.stream}@{self.fact.version}", "type": self.fact.type,
                     "about": self.fact.valid_on or "", "why": self.fact.why},
                    frozenset({self.patient_id}))

    def to_dict(self) -> dict[str, Any]:
        f = self.fact
        return {"period": self.period, "patient_id": self.patient_id, "what": self.what,
                "change": str(self.change if self.is_money else int(self.change)),
                "currency": self.currency,
                "fact": {"position": f.position, "ref": f"{f.stream}@{f.version}", "type": f.type,
                         "valid_on": f.valid_on, "recorded_at": f.recorded_at, "actor": f.actor,
                         "why": f.why, "reason": f.reason}}


def adjustments(sources: PatientSources, kind: StatementKind, scope: Scope,
                closures: Sequence[Closure], baseline: int, now: int) -> tuple[Adjustment, ...]:
    out: list[Adjustment] = []
    for closure in closures:
        period = Period(closure.start, closure.end)
        restated = restate(sources, kind, period, scope, issued=baseline, now=now, by=By.MONTH)
        for patient in sorted({p for c in restated.causes for p in c.patients}):
            causes = [c for c in restated.causes if patient in c.patients]
            out += _attributed(sources, kind, scope, closure.period, period, patient, causes,
                               baseline)
    return tuple(out)


def _attributed(sources: PatientSources, kind: StatementKind, scope: Scope, label: str,
                period: Period, patient: str, causes: Iterable[Cause],
                baseline: int) -> list[Adjustment]:
    def at(position: int) -> Figures:
        source = sources.patient_at(patient, position, baseline)
        return figures(build(kind, source, period, scope, By.MONTH), patient)

    out = []
    previous = at(baseline)
    for cause in sorted(causes, key=lambda c: c.position):
        current = at(cause.position)
        for what, currency in sorted(previous.keys() | current.keys(), key=str):
            change = current[(what, currency)] - previous[(what, currency)]
            if change:
                out.append(Adjustment(label, patient, what, change, currency, cause))
        previous = current
    return out


def figures(statement: PublicCostStatement | CompanyStatement, patient: str) -> Figures:
    """The patient's figures in a statement: what an adjustment carries."""
    found: Figures = defaultdict(Decimal)
    if isinstance(statement, PublicCostStatement):
        mine = [c for c in statement.contributions if c.patient_id == patient]
        found["public days", None] += Decimal(sum(c.public_days for c in mine))
        _dispensed(found, [d for c in mine for d in c.dispensations], "public cost")
        return found
    for p in statement.patients:
        if p.patient_id == patient:
            _dispensed(found, p.dispensations, "drug at the company's cost")
            if p.grant is not None:
                for column in ("committed", "invoiced", "paid"):
                    money = getattr(p.grant, column)
                    found[f"grant {column}", money.currency] += money.amount
    return found


def _dispensed(found: Figures, lines: Sequence[Any], what: str) -> None:
    for packs, value, currency in per_currency(lines):
        found["packs", None] += Decimal(packs)
        if currency is not None and value is not None:
            found[what, currency] += value


def sheet(items: Sequence[Adjustment]) -> Sheet:
    columns = (Column("Closed period"), Column("Patient"), Column("What"),
               Column("Change", Kind.INT), Column("Amount", Kind.MONEY, total=True),
               Column("Currency", Kind.CURRENCY), Column("Fact"), Column("Position", Kind.INT),
               Column("Type"), Column("About", Kind.DATE), Column("Recorded at"),
               Column("Why"))
    rows = tuple((a.period, a.patient_id, a.what,
                  None if a.is_money else int(a.change), a.change if a.is_money else None,
                  a.currency, f"{a.fact.stream}@{a.fact.version}", a.fact.position, a.fact.type,
                  _day(a.fact.valid_on), a.fact.recorded_at, a.fact.why) for a in items)
    return Sheet("Adjustments", columns, rows)


def _day(text: str | None) -> Any:
    from datetime import date

    return date.fromisoformat(text) if text else None
