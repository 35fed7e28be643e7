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

from domain.financing import Case, Interval, Payer, PayerKind, timeline
from domain.values import Outcome
from reports.export import Column, Kind, Sheet
from reports.statements import Known, Period, Priced, Scope, priced, value_of
from reports.statements_company import dispensation_dict
from reports.statements_lines import Line, text, totals_dict


class Gap(StrEnum):
    BENEFIT_WITHOUT_EXEMPTION = "benefit-without-exemption"
    TREATED_WITHOUT_BENEFIT = "treated-without-benefit"
    ASSESSMENT_MISSING = "assessment-missing"
    DISPENSED_AFTER_END = "dispensed-after-end"
    DISPENSED_AFTER_PROGRESSION = "dispensed-after-progression"
    DISPENSED_WITHOUT_PAYER = "dispensed-without-payer"


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
    dispensations: tuple[Priced, ...]  # the packs at stake, in the period

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


def worklist(known: Known, period: Period, scope: Scope) -> Worklist:
    known.check(scope)
    items: list[WorkItem] = []
    for case in known.cases:
        if scope.sees_case(case):
            dispensed = priced(known, case, period, scope)
            items += _interval_items(case, period, scope, dispensed)
            items += _dispensation_items(case, dispensed)
    items.sort(key=lambda i: (i.since, i.patient_id, i.gap.value))
    return Worklist(period, scope, known.about(), tuple(items))


def _interval_items(case: Case, period: Period, scope: Scope,
                    dispensed: list[Priced]) -> list[WorkItem]:
    """Gap intervals (merged across transfers) that the scope sees and that meet the period."""
    out: list[WorkItem] = []
    for interval in timeline(case):
        gap = _interval_gap(case, interval.payer)
        if gap is None:
            continue
        for start, end in scope.spans(case, (interval.start, interval.end or date.max)):
            if period.clip(start, end) is None:
                continue
            until = None if end == date.max else end
            last = out[-1] if out else None
            if last and last.gap is gap and last.until is not None and (start - last.until).days == 1:
                out[-1] = _item(case, gap, last.since, until, interval, dispensed)
            else:
                out.append(_item(case, gap, start, until, interval, dispensed))
    return out


def _interval_gap(case: Case, payer: Payer) -> Gap | None:
    if payer.kind is PayerKind.PENDING:
        return Gap.ASSESSMENT_MISSING
    if payer.kind is PayerKind.TREATING_HF:
        a = case.patient.assessment
        benefit = a is not None and a.outcome.is_benefit
        return Gap.BENEFIT_WITHOUT_EXEMPTION if benefit else Gap.TREATED_WITHOUT_BENEFIT
    return None


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


def _item(case: Case, gap: Gap, since: date, until: date | None, interval: Interval,
          dispensed: list[Priced]) -> WorkItem:
    payer = interval.payer
    at_stake = tuple(d for d in dispensed if d.on >= since and (until is None or d.on <= until)
                     and d.payer.kind is payer.kind)
    hf = payer.hf_id
    return WorkItem(gap, case.patient.patient_id, case.patient.cohort_id, since, until, hf,
                    case.rhf_of(hf) if hf else None, payer.reason,
                    RESOLVE[gap].format(cohort=case.patient.cohort_id, ref=""), payer.basis,
                    at_stake)


def _dispensation_items(case: Case, dispensed: list[Priced]) -> list[WorkItem]:
    p = case.patient
    out = []
    for d in dispensed:
        gap, detail = _dispensation_gap(case, d)
        if gap is None:
            continue
        hf = p.hf_on(d.on).value
        out.append(WorkItem(gap, p.patient_id, p.cohort_id, d.on, d.on, hf, case.rhf_of(hf),
                            f"{d.packs} pack(s) dispensed on {d.on}: {detail}",
                            RESOLVE[gap].format(cohort=p.cohort_id, ref=d.ref),
                            (d.last_ref, *d.payer.basis), (d,)))
    return out


def _dispensation_gap(case: Case, d: Priced) -> tuple[Gap | None, str]:
    p = case.patient
    if p.ended is not None and d.on > p.ended.ended_on:
        return Gap.DISPENSED_AFTER_END, f"treatment ended {p.ended.ended_on} ({p.ended.reason.value})"
    a = p.assessment
    if a is not None and a.outcome is Outcome.PROGRESSIVE_DISEASE and d.on > a.assessed_on:
        return Gap.DISPENSED_AFTER_PROGRESSION, f"progressive disease assessed {a.assessed_on}"
    if d.payer.kind is PayerKind.NOBODY:
        return Gap.DISPENSED_WITHOUT_PAYER, d.payer.reason
    return None, ""


def _item_dict(i: WorkItem) -> dict[str, Any]:
    return {"gap": i.gap.value, "patient_id": i.patient_id, "cohort_id": i.cohort_id,
            "since": i.since.isoformat(), "until": text(i.until) or None,
            "hf_id": i.hf_id, "rhf_id": i.rhf_id, "detail": i.detail, "resolve": i.resolve,
            "basis": list(i.basis), "packs": i.packs,
            "value": totals_dict(value_of(i.dispensations)),
            "dispensations": [dispensation_dict(d) for d in i.dispensations]}


# --- company coverage ending soon -----------------------------------------------------------


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
        if kind is PayerKind.TREATING_HF:
            return f"financing gap: {self.then.reason}"
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


def upcoming(known: Known, period: Period, scope: Scope) -> Upcoming:
    """Company coverage whose last day falls in the period (today .. today + N days) and after
    which someone else pays (a patient whose treatment simply ends is not listed)."""
    known.check(scope)
    endings = []
    for case in known.cases:
        intervals = timeline(case)
        for interval, following in zip(intervals, intervals[1:]):
            end, then = interval.end, following.payer
            if (interval.payer.kind is not PayerKind.COMPANY or end is None or end not in period
                    or then.kind in (PayerKind.COMPANY, PayerKind.NOBODY)
                    or not scope.sees_on(case, end)):
                continue
            hf = case.patient.hf_on(end).value
            endings.append(CoverageEnding(
                case.patient.patient_id, case.patient.cohort_id, case.agreement.company_id,
                case.rhf_of(hf), hf, end, (end - period.start).days, then))
    endings.sort(key=lambda e: (e.rhf_id, e.last_covered_on, e.patient_id))
    return Upcoming(period, scope, known.about(), tuple(endings))
