"""The financing-gap worklist (the items: domain.statements.worklist), and company coverage
ending soon.

From the read models the items are their rows (projections: work_items, ADR 0026), with the
packs and value at stake; an item the period clips (a dispensation at stake, or an interval of
the item, outside it) and the rest of its patient's items are worked out again from the
patient's intervals and cost lines in the period. Any other source (a replay of the log)
works every item out from its rows. The dispensations at stake are listed only if asked for:
they are read and worked out then, as from a replay.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Protocol, runtime_checkable

from domain.statements import worklist as wl
from domain.statements.rows import CostLine
from domain.statements.scope import ScopeKind
from domain.statements.text import Line, dispensation_dict, text, totals_dict
from domain.statements.worklist import GAP_KINDS, Gap, WorkItem, add_values, totals_of
from reports.export import Column, Kind, Sheet
from reports.statements import Period, Scope, Source, about, check
from reports.upcoming import CoverageEnding, Upcoming, upcoming

__all__ = ["CoverageEnding", "Gap", "Upcoming", "WorkItem", "Worklist", "upcoming", "worklist"]


@dataclass(frozen=True)
class Worklist:
    title = "Financing-gap worklist"
    period: Period
    scope: Scope
    known: dict[str, Any]
    items: tuple[WorkItem, ...]
    dispensations: bool = False  # each item lists its dispensations at stake

    def to_dict(self) -> dict[str, Any]:
        return {
            "statement": "financing-gap-worklist",
            "period": self.period.to_dict(), "scope": self.scope.to_dict(),
            "known_at": self.known,
            "items": [self._item_dict(i) for i in self.items],
            "totals": {"items": len(self.items),
                       "patients": len({i.patient_id for i in self.items}),
                       "packs": sum(i.packs for i in self.items),
                       "value": totals_dict(totals_of(add_values(i.value
                                                                 for i in self.items)))},
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

    def _item_dict(self, i: WorkItem) -> dict[str, Any]:
        out: dict[str, Any] = {"gap": i.gap.value, "patient_id": i.patient_id, "cohort_id": i.cohort_id,
                               "since": i.since.isoformat(), "until": text(i.until) or None,
                               "hf_id": i.hf_id, "rhf_id": i.rhf_id, "detail": i.detail,
                               "resolve": i.resolve, "basis": list(i.basis), "packs": i.packs,
                               "value": totals_dict(i.totals)}
        if self.dispensations:
            out["dispensations"] = [dispensation_dict(d) for d in i.dispensations or ()]
        return out


@runtime_checkable
class ItemSource(Protocol):
    """A source that keeps the work items (projections.source.ReadSource)."""

    def work_items(self, *, span: tuple[Any, Any], seen_by: Any, company: str | None = None,
                   rhf: str | None = None, gaps: Collection[Gap] | None = None
                   ) -> tuple[list[WorkItem], set[str]]: ...


def worklist(source: Source, period: Period, scope: Scope, *,
             dispensations: bool = False, gaps: Collection[Gap] | None = None) -> Worklist:
    """The items of the period the scope sees (with `dispensations`: each with its
    dispensations at stake; with `gaps`, only the items of those kinds: the worklist's items
    of those kinds, read without the others)."""
    check(source, scope)
    kept = (isinstance(source, ItemSource) and not dispensations
            and scope.kind is not ScopeKind.HF)
    items = _kept(source, period, scope, gaps) if kept else _worked_out(source, period, scope)
    if gaps is not None:
        items = [i for i in items if i.gap in gaps]
    if not dispensations:
        items = [i if i.dispensations is None else _without(i) for i in items]
    items.sort(key=_ORDER)
    return Worklist(period, scope, about(source), tuple(items), dispensations)


_ORDER = attrgetter("since", "patient_id", "gap", "order")  # as WorkItem.sort_key


def _without(i: WorkItem) -> WorkItem:
    return WorkItem(i.gap, i.patient_id, i.cohort_id, i.since, i.until, i.hf_id, i.rhf_id,
                    i.detail, i.resolve, i.basis, i.packs, i.value, i.order)


def _kept(source: Any, period: Period, scope: Scope,
          gaps: Collection[Gap] | None = None) -> list[WorkItem]:
    """The items from the read models' rows (of `gaps`, and maybe others); those of a patient
    with an item the period clips worked out again."""
    regional = scope.kind is ScopeKind.RHF
    items, again = source.work_items(span=(period.start, period.end),
                                     seen_by=(wl.RHF, wl.BOTH) if regional else (wl.ALL, wl.BOTH),
                                     gaps=gaps, **scope.who())
    if again:
        items += _worked_out(source, period, scope, again)
    return list(items)


def _worked_out(source: Source, period: Period, scope: Scope,
                patients: set[str] | None = None) -> list[WorkItem]:
    """The items worked out from the intervals and cost lines in the period (of `patients`,
    if given)."""
    who = scope.who()
    span = (period.start, period.end)
    among = sorted(patients) if patients is not None else None
    intervals: dict[str, list[Any]] = {}
    for iv in wl.seen_intervals(source.intervals(kinds=GAP_KINDS, span=span, patients=among,
                                                 **who), period, scope):
        intervals.setdefault(iv.patient_id, []).append(iv)
    dispensed: dict[str, list[CostLine]] = {}
    lines = source.cost_lines(span=span, kinds=GAP_KINDS, gaps=True, patients=among, **who)
    for d in wl.seen_lines(lines, period, scope):
        dispensed.setdefault(d.patient_id, []).append(d)
    items: list[WorkItem] = []
    mine = sorted(intervals.keys() | dispensed.keys())
    if patients is not None:
        mine = [p for p in mine if p in patients]
    for p in sorted(source.patients(mine), key=lambda x: x.patient_id):
        if scope.sees_patient(p):
            items += wl.patient_items(p, intervals.get(p.patient_id, []),
                                      dispensed.get(p.patient_id, []))
    return items
