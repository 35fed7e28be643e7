"""Company coverage ending soon, per RHF, and who pays next: from the who-pays intervals.

A patient's company coverage ends in the period when a company interval's last day falls in it
and the next interval (the day after) is someone else's: the public side, the treating health
trust (a financing gap) or pending an assessment. A patient whose treatment simply ends is not
listed. An RHF sees the endings of the patients its health trusts treat on that last day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from domain.financing import Payer, PayerKind
from domain.statements.compute import UNKNOWN_RHF
from reports.export import Column, Kind, Sheet
from reports.statements import DAY, Period, Scope, Source, about, check


@dataclass(frozen=True)
class CoverageEnding:
    patient_id: str
    cohort_id: str
    company_id: str
    rhf_id: str
    hf_id: str
    last_covered_on: date
    days_left: int
    then: Payer  # who pays from the next day, as known now

    @property
    def next_step(self) -> str:
        kind = self.then.kind
        if kind is PayerKind.PENDING:
            return f"record the 16-week assessment (company covers through {self.last_covered_on})"
        if kind is PayerKind.PUBLIC:
            return f"{self.then.party} takes over"
        if kind is PayerKind.TREATING_HF:  # the reason says so itself ("financing gap: ...")
            reason = self.then.reason
            return reason if reason.startswith("financing gap") else f"financing gap: {reason}"
        return self.then.reason


@dataclass(frozen=True)
class Upcoming:
    title = "Company coverage ending"
    period: Period
    scope: Scope
    known: dict[str, Any]
    endings: tuple[CoverageEnding, ...]  # ordered by RHF, then date

    def to_dict(self) -> dict[str, Any]:
        by_rhf: dict[str, list[dict[str, Any]]] = {}
        for e in self.endings:
            by_rhf.setdefault(e.rhf_id, []).append({
                "patient_id": e.patient_id, "cohort_id": e.cohort_id, "company_id": e.company_id,
                "hf_id": e.hf_id, "last_covered_on": e.last_covered_on.isoformat(),
                "days_left": e.days_left, "then": e.then.kind.value, "then_party": e.then.party,
                "next_step": e.next_step})
        return {"statement": "upcoming-coverage-ends", "period": self.period.to_dict(),
                "scope": self.scope.to_dict(), "known_at": self.known, "by_rhf": by_rhf}

    def sheets(self) -> list[Sheet]:
        columns = (Column("RHF"), Column("HF"), Column("Patient"), Column("Cohort"),
                   Column("Company"), Column("Company covers through", Kind.DATE),
                   Column("Days left", Kind.INT), Column("Then"), Column("Next step"))
        rows = tuple((e.rhf_id, e.hf_id, e.patient_id, e.cohort_id, e.company_id,
                      e.last_covered_on, e.days_left, e.then.kind.value, e.next_step)
                     for e in self.endings)
        return [Sheet("Upcoming", columns, rows)]


def upcoming(source: Source, period: Period, scope: Scope) -> Upcoming:
    """Company coverage whose last day falls in the period (today .. today + N days) and after
    which someone else pays (a patient whose treatment simply ends is not listed)."""
    check(source, scope)
    who = scope.who()
    span = (period.start, period.end)
    ending = [iv for iv in source.intervals(kinds=(PayerKind.COMPANY,), ending=span,
                                            **who)
              if iv.kind is PayerKind.COMPANY and iv.end is not None and iv.end in period
              and scope.sees(iv)]
    following = {(iv.patient_id, iv.start): iv
                 for iv in source.intervals(patients=sorted({iv.patient_id for iv in ending}))}
    endings = []
    for iv in ending:
        assert iv.end is not None
        then = following.get((iv.patient_id, iv.end + DAY))
        if then is None or then.kind in (PayerKind.COMPANY, PayerKind.NOBODY):
            continue
        endings.append(CoverageEnding(
            iv.patient_id, iv.cohort_id, iv.company_id, iv.rhf_id or UNKNOWN_RHF, iv.hf_id or "",
            iv.end, (iv.end - period.start).days, then.payer))
    endings.sort(key=lambda e: (e.rhf_id, e.last_covered_on, e.patient_id))
    return Upcoming(period, scope, about(source), tuple(endings))
