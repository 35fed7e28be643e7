"""The financing-gap worklist, and company coverage ending soon.

A worklist item is something someone must do for the money to be right, with the date it has
been so since and what would resolve it:
- benefit at 16 weeks but no group exemption in force: the treating HF carries the cost;
- no benefit at 16 weeks but still on treatment: the treating HF carries the cost;
- past the company's 16 weeks with no assessment recorded: who pays is pending;
- a dispensation after the end of treatment, or after progression was assessed;
- a dispensation on a date nobody pays for (before treatment started).
Each dispensation appears once, under the first of its three kinds that applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from domain.costing import DispensationGap
from domain.financing import PayerKind
from domain.values import Outcome
from domain.statements.compute import UNKNOWN_RHF
from projections.rows import CostLine, IntervalRow, PatientRow
from reports.export import Column, Kind, Sheet
from reports.statements import Period, Scope, Source, about, check, in_order, value_of
from domain.statements.text import Line, dispensation_dict, text, totals_dict
from reports.upcoming import CoverageEnding, Upcoming, upcoming

__all__ = ["CoverageEnding", "Gap", "Upcoming", "WorkItem", "Worklist", "upcoming", "worklist"]


class Gap(StrEnum):
    BENEFIT_WITHOUT_EXEMPTION = "benefit-without-exemption"
    TREATED_WITHOUT_BENEFIT = "treated-without-benefit"
    ASSESSMENT_MISSING = "assessment-missing"
    DISPENSED_AFTER_END = DispensationGap.AFTER_END.value
    DISPENSED_AFTER_PROGRESSION = DispensationGap.AFTER_PROGRESSION.value
    DISPENSED_WITHOUT_PAYER = DispensationGap.WITHOUT_PAYER.value


@dataclass(frozen=True)
class WorkItem:
    gap: Gap
    patient_id: str
    cohort_id: str
    since: date
    until: date | None  # None: still open
    hf_id: str | None
    rhf_id: str | None
    detail: str
    resolve: str
    basis: tuple[str, ...]
    dispensations: tuple[CostLine, ...]  # the packs at stake, in the period

    @property
    def packs(self) -> int:
        return sum(d.packs for d in self.dispensations)


@dataclass(frozen=True)
class Worklist:
    title = "Financing-gap worklist"
    period: Period
    scope: Scope
    known: dict[str, Any]
    items: tuple[WorkItem, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "statement": "financing-gap-worklist",
            "period": self.period.to_dict(), "scope": self.scope.to_dict(),
            "known_at": self.known,
            "items": [_item_dict(i) for i in self.items],
            "totals": {"items": len(self.items),
                       "patients": len({i.patient_id for i in self.items}),
                       "packs": sum(i.packs for i in self.items),
                       "value": totals_dict(value_of(d for i in self.items
                                                     for d in i.dispensations))},
        }

    def sheets(self) -> list[Sheet]:
        columns = (Column("Gap"), Column("Patient"), Column("Cohort"), Column("RHF"),
                   Column("HF"), Column("Since", Kind.DATE), Column("Until", Kind.DATE),
                   Column("Packs", Kind.INT), Column("Detail"), Column("To resolve"))
        rows = tuple((i.gap.value, i.patient_id, i.cohort_id, i.rhf_id, i.hf_id, i.since,
                      i.until, i.packs, i.detail, i.resolve) for i in self.items)
        return [Sheet("Worklist", columns, rows)]

    def lines(self) -> list[Line]:
        return [Line("worklist", (i.gap.value, i.patient_id, i.since.isoformat()),
                     {"until": text(i.until), "packs": text(i.packs), "resolve": i.resolve},
                     frozenset({i.patient_id})) for i in self.items]


GAP_KINDS = (PayerKind.PENDING, PayerKind.TREATING_HF)


def worklist(source: Source, period: Period, scope: Scope) -> Worklist:
    check(source, scope)
    who = scope.who()
    span = (period.start, period.end)
    intervals: dict[str, list[IntervalRow]] = {}
    for iv in source.intervals(kinds=GAP_KINDS, span=span, **who):
        if iv.kind in GAP_KINDS and scope.sees(iv) and period.clip(iv.start, iv.end):
            intervals.setdefault(iv.patient_id, []).append(iv)
    dispensed: dict[str, list[CostLine]] = {}
    for d in in_order(source.cost_lines(span=span, kinds=GAP_KINDS, gaps=True,
                                        **who)):
        if (d.payer_kind in GAP_KINDS or d.gap) and d.on in period and scope.sees(d):
            dispensed.setdefault(d.patient_id, []).append(d)
    items: list[WorkItem] = []
    for p in sorted(source.patients(sorted(intervals.keys() | dispensed.keys())),
                    key=lambda x: x.patient_id):
        if scope.sees_patient(p):
            mine = dispensed.get(p.patient_id, [])
            items += _interval_items(p, sorted(intervals.get(p.patient_id, []),
                                               key=lambda x: x.start), mine)
            items += _dispensation_items(p, mine)
    items.sort(key=lambda i: (i.since, i.patient_id, i.gap.value))
    return Worklist(period, scope, about(source), tuple(items))


def _interval_items(p: PatientRow, intervals: list[IntervalRow], dispensed: list[CostLine]
                    ) -> list[WorkItem]:
    """Gap intervals meeting the period, merged across transfers."""
    out: list[WorkItem] = []
    for interval in intervals:
        gap = _interval_gap(p, interval)
        start, until = interval.start, interval.end
        last = out[-1] if out else None
        if last and last.gap is gap and last.until is not None and (start - last.until).days == 1:
            out[-1] = _item(p, gap, last.since, until, interval, dispensed)
        else:
            out.append(_item(p, gap, start, until, interval, dispensed))
    return out


def _interval_gap(p: PatientRow, interval: IntervalRow) -> Gap:
    if interval.kind is PayerKind.PENDING:
        return Gap.ASSESSMENT_MISSING
    outcome = p.assessment_outcome
    benefit = outcome is not None and Outcome(outcome).is_benefit
    return Gap.BENEFIT_WITHOUT_EXEMPTION if benefit else Gap.TREATED_WITHOUT_BENEFIT


RESOLVE = {
    Gap.ASSESSMENT_MISSING: "record the 16-week assessment (or the end of treatment)",
    Gap.BENEFIT_WITHOUT_EXEMPTION: "a group exemption for cohort {cohort} "
                                   "(or a decision of permanent financing)",
    Gap.TREATED_WITHOUT_BENEFIT: "record the end of treatment, or correct the 16-week assessment",
    Gap.DISPENSED_AFTER_END: "correct or void the dispensation {ref}, "
                             "or correct the end of treatment",
    Gap.DISPENSED_AFTER_PROGRESSION: "correct or void the dispensation {ref}, "
                                     "or record the end of treatment",
    Gap.DISPENSED_WITHOUT_PAYER: "correct or void the dispensation {ref}, "
                                 "or record (or correct) the treatment start",
}


def _item(p: PatientRow, gap: Gap, since: date, until: date | None, interval: IntervalRow,
          dispensed: list[CostLine]) -> WorkItem:
    at_stake = tuple(d for d in dispensed if d.on >= since and (until is None or d.on <= until)
                     and d.payer_kind is interval.kind)
    hf = interval.hf_id
    return WorkItem(gap, p.patient_id, p.cohort_id, since, until, hf,
                    (interval.rhf_id or UNKNOWN_RHF) if hf else None, interval.reason,
                    RESOLVE[gap].format(cohort=p.cohort_id, ref=""), interval.basis, at_stake)


def _dispensation_items(p: PatientRow, dispensed: list[CostLine]) -> list[WorkItem]:
    out = []
    for d in dispensed:
        if not d.gap:
            continue
        gap = Gap(d.gap)
        out.append(WorkItem(gap, p.patient_id, p.cohort_id, d.on, d.on, d.hf_id,
                            d.rhf_id or UNKNOWN_RHF,
                            f"{d.packs} pack(s) dispensed on {d.on}: {d.gap_detail}",
                            RESOLVE[gap].format(cohort=p.cohort_id, ref=d.ref),
                            (d.last_ref, *d.gap_basis), (d,)))
    return out


def _item_dict(i: WorkItem) -> dict[str, Any]:
    return {"gap": i.gap.value, "patient_id": i.patient_id, "cohort_id": i.cohort_id,
            "since": i.since.isoformat(), "until": text(i.until) or None,
            "hf_id": i.hf_id, "rhf_id": i.rhf_id, "detail": i.detail, "resolve": i.resolve,
            "basis": list(i.basis), "packs": i.packs,
            "value": totals_dict(value_of(i.dispensations)),
            "dispensations": [dispensation_dict(d) for d in i.dispensations]}
