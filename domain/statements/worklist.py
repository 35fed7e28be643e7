"""The financing-gap worklist's items, worked out from rows (ADR 0026).

A worklist item is something someone must do for the money to be right, with the date it has
been so since and what would resolve it:
- benefit at 16 weeks but no group exemption in force: the treating HF carries the cost;
- no benefit at 16 weeks but still on treatment: the treating HF carries the cost;
- past the company's 16 weeks with no assessment recorded: who pays is pending;
- a dispensation after the end of treatment, or after progression was assessed;
- a dispensation on a date nobody pays for (before treatment started).
Each dispensation appears once, under the first of its three kinds that applies.

`patient_items` builds one patient's items for a period and scope (a replay builds every
worklist so). `work_item_rows` builds the rows the read models keep: every item of the whole
history, as everyone sees it and as each RHF does (a transfer between regions splits an item
that everyone sees whole), with the packs and value at stake over the item's own span and
what tells a query whether a period clips it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from domain.costing import Costed, DispensationGap
from domain.financing import PayerKind
from domain.money import Totals
from domain.statements.period import Period
from domain.statements.rows import CostLine, IntervalRow, PatientRow, WorkItemRow, money
from domain.statements.scope import Scope
from domain.values import Outcome

UNKNOWN_RHF = "unknown-rhf"  # as domain.financing.Case.rhf_of
GAP_KINDS = (PayerKind.PENDING, PayerKind.TREATING_HF)

Value = tuple[tuple[str, int], ...]  # (currency, minor units), by currency


class Gap(StrEnum):
    BENEFIT_WITHOUT_EXEMPTION = "benefit-without-exemption"
    TREATED_WITHOUT_BENEFIT = "treated-without-benefit"
    ASSESSMENT_MISSING = "assessment-missing"
    DISPENSED_AFTER_END = DispensationGap.AFTER_END.value
    DISPENSED_AFTER_PROGRESSION = DispensationGap.AFTER_PROGRESSION.value
    DISPENSED_WITHOUT_PAYER = DispensationGap.WITHOUT_PAYER.value


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
    packs: int  # of the dispensations at stake, in the period
    value: Value  # theirs, priced
    order: int = 0  # among a patient's items of one day and gap: the dispensation's seq
    dispensations: tuple[CostLine, ...] | None = None  # those at stake, if asked for

    @property
    def totals(self) -> Totals:
        return totals_of(self.value)

    def sort_key(self) -> tuple[date, str, str, int]:
        return (self.since, self.patient_id, self.gap.value, self.order)


def totals_of(value: Value) -> Totals:
    return Totals(money(minor, currency) for currency, minor in value)


def value_sum(lines: Iterable[CostLine]) -> Value:
    """The priced lines' value per currency, in minor units (as period.value_of)."""
    sums: dict[str, int] = {}
    for x in lines:
        if x.value_minor is not None and x.currency is not None:
            sums[x.currency] = sums.get(x.currency, 0) + x.value_minor
    return tuple(sorted(sums.items()))


def add_values(values: Iterable[Value]) -> Value:
    sums: dict[str, int] = {}
    for value in values:
        for currency, minor in value:
            sums[currency] = sums.get(currency, 0) + minor
    return tuple(sorted(sums.items()))


# --- one patient's items, for a period and scope ---------------------------------------------


def at_stake(line: CostLine) -> bool:
    """Whether a dispensation is at stake in some item (seen_lines, before the period)."""
    return line.payer_kind in GAP_KINDS or bool(line.gap)


def costed_at_stake(c: Costed) -> bool:
    """`at_stake` of the line a costing gives (compute.cost_lines' `staked`), known before
    the line is made."""
    return c.payer.kind in GAP_KINDS or c.gap is not None


def seen_intervals(intervals: Iterable[IntervalRow], period: Period | None, scope: Scope
                   ) -> list[IntervalRow]:
    """The gap intervals the worklist of the period and scope reads, by start."""
    return sorted((iv for iv in intervals if iv.kind in GAP_KINDS and scope.sees(iv)
                   and (period is None or period.clip(iv.start, iv.end))),
                  key=lambda iv: iv.start)


def seen_lines(lines: Iterable[CostLine], period: Period | None, scope: Scope) -> list[CostLine]:
    """The dispensations the worklist of the period and scope reads, in recorded order."""
    return sorted((d for d in lines if at_stake(d) and (period is None or d.on in period) and scope.sees(d)),
                  key=lambda d: (d.patient_id, d.seq))


def patient_items(p: PatientRow, intervals: list[IntervalRow], dispensed: list[CostLine]
                  ) -> list[WorkItem]:
    """The patient's items from its gap intervals (by start) and dispensations (in order) as
    seen_intervals and seen_lines chose them."""
    return _interval_items(p, intervals, dispensed) + _dispensation_items(p, dispensed)


def _interval_items(p: PatientRow, intervals: list[IntervalRow], dispensed: list[CostLine]
                    ) -> list[WorkItem]:
    """Gap intervals, merged across transfers."""
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


def _item(p: PatientRow, gap: Gap, since: date, until: date | None, interval: IntervalRow,
          dispensed: list[CostLine]) -> WorkItem:
    at_stake = tuple(d for d in dispensed if d.on >= since and (until is None or d.on <= until)
                     and d.payer_kind is interval.kind)
    hf = interval.hf_id
    return WorkItem(gap, p.patient_id, p.cohort_id, since, until, hf,
                    (interval.rhf_id or UNKNOWN_RHF) if hf else None, interval.reason,
                    RESOLVE[gap].format(cohort=p.cohort_id, ref=""), interval.basis,
                    sum(d.packs for d in at_stake), value_sum(at_stake), 0, at_stake)


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
                            (d.last_ref, *d.gap_basis), d.packs, value_sum((d,)), d.seq, (d,)))
    return out


# --- the rows the read models keep -------------------------------------------------------------

ALL, RHF, BOTH = "all", "rhf", "both"  # who an item row is for: everyone, its RHF, or both


def work_item_rows(p: PatientRow, intervals: Sequence[IntervalRow], lines: Sequence[CostLine],
                   at: int) -> list[WorkItemRow]:
    """Every item of the patient's whole history as everyone sees it, and as each RHF does;
    an item both see alike is one row (`seen_by` BOTH)."""
    gaps = [x for x in intervals if x.kind in GAP_KINDS]
    stakes = [x for x in lines if at_stake(x)]
    if not gaps and not stakes:  # most patients, most of the time: nothing to resolve
        return []
    everyone = _whole(p, gaps, stakes, Scope.everything())
    rhfs = {x.rhf_id for x in gaps} | {x.rhf_id for x in stakes}
    if len(rhfs) == 1 and None not in rhfs and Scope.rhf(str(*rhfs)).sees_patient(p):
        # the region sees every row everyone does: the same items
        return [_row(item, spans, BOTH, p.company_id, at) for item, spans in everyone]
    regional: dict[tuple[str, str], tuple[WorkItem, Spans]] = {}
    for rhf in sorted(r for r in rhfs if r):
        scope = Scope.rhf(rhf)
        if scope.sees_patient(p):
            regional.update(((rhf, _id(i)), (i, spans)) for i, spans in _whole(p, gaps, stakes,
                                                                              scope))
    out = []
    for item, spans in everyone:
        mine = regional.get((item.rhf_id or "", _id(item)))
        both = mine is not None and mine[0] == item
        if both:
            del regional[(item.rhf_id or "", _id(item))]
        out.append(_row(item, spans, BOTH if both else ALL, p.company_id, at))
    out += [_row(item, spans, RHF, p.company_id, at)
            for _, (item, spans) in sorted(regional.items(), key=lambda kv: kv[0])]
    return out


Spans = tuple[date | None, date]


def _whole(p: PatientRow, intervals: Sequence[IntervalRow], lines: Sequence[CostLine],
           scope: Scope) -> list[tuple[WorkItem, Spans]]:
    chosen = seen_intervals(intervals, None, scope)
    return [(i, _spans_of(i, chosen)) for i in patient_items(p, chosen,
                                                             seen_lines(lines, None, scope))]


def _spans_of(item: WorkItem, chosen: Sequence[IntervalRow]) -> Spans:
    """(the end of the item's first interval, the start of its last): a period that ends
    before the last starts, or starts after the first ends, sees a shorter item."""
    if _of_dispensation(item):
        return item.since, item.since
    members = [iv for iv in chosen if iv.start >= item.since
               and (item.until is None or (iv.end is not None and iv.end <= item.until))]
    return members[0].end, members[-1].start


DISPENSATION_GAPS = frozenset(Gap(g.value) for g in DispensationGap)


def _of_dispensation(item: WorkItem) -> bool:
    return item.gap in DISPENSATION_GAPS


def _id(item: WorkItem) -> str:
    if _of_dispensation(item):
        assert item.dispensations
        return item.dispensations[0].ref
    return f"{item.gap.value}/{item.since.isoformat()}"


def _row(item: WorkItem, spans: Spans, seen_by: str, company_id: str,
         at: int) -> WorkItemRow:
    days = [d.on for d in item.dispensations or ()]
    return WorkItemRow(item.patient_id, seen_by, _id(item), item.gap.value, item.cohort_id,
                       company_id, item.since, item.until, item.hf_id, item.rhf_id, item.detail,
                       item.resolve, item.basis, item.order, item.packs, item.value,
                       min(days, default=None), max(days, default=None), spans[0], spans[1],
                       at, None)


def item_of_row(row: WorkItemRow) -> WorkItem:
    return WorkItem(Gap(row.gap), row.patient_id, row.cohort_id, row.since, row.until,
                    row.hf_id, row.rhf_id, row.detail, row.resolve, row.basis, row.packs,
                    row.value, row.seq)


def clipped(row: WorkItemRow, period: Period) -> bool:
    """Whether the period sees less of the item than its whole span (clips)."""
    return clips(period.start, period.end, row.first_on, row.last_on, row.first_end,
                 row.last_start)


def clips(first: Any, last: Any, first_on: Any, last_on: Any, first_end: Any,
          last_start: Any) -> bool:
    """Whether the period from `first` to `last` sees less of an item than its whole span: a
    dispensation at stake outside it, or an interval of the item (it starts after the first
    interval ends, or ends before the last starts): the item, seen in the period, is worked
    out again. Dates, or their ISO text (as SQLite keeps them: they sort alike)."""
    if first_end is not None and first_end < first:
        return True
    if last_start > last:
        return True
    return first_on is not None and (first_on < first or last_on > last)
