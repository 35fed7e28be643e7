"""Where a statement's rows come from: the read models (projections.source.ReadSource, SQL), or
rows held in memory (`Rows`): a replay of the log (`Known`), or one patient's rows at each
position a restatement looks at.

Every statement is built from rows as known at one log position (domain.statements.rows:
intervals, patients, cost lines, grants, slots). A source may hand back more rows than asked for (`Rows`
filters only by position); the statements filter precisely themselves, so the two kinds of
source give the same statement.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cached_property
from typing import Any, Protocol

from domain.financing import Case, PayerKind, timeline
from domain.money import Totals
from domain.workspace import Workspace
from domain.statements import compute as cp
from domain.statements.rows import (CostLine, GrantRow, IntervalRow, MovementRow, PatientRow,
                                    SlotRow, SlotUse, money)
from domain.statements.scope import Scope, check

Span = tuple[date, date]


class Source(Protocol):
    """Rows as known at `position`, at least those meeting the arguments."""

    @property
    def position(self) -> int: ...
    @property
    def recorded_at(self) -> datetime | None: ...
    def company_exists(self, company_id: str) -> bool: ...
    def rhf_ids(self) -> set[str]: ...
    def regions(self) -> dict[str, str]:
        """Every health trust's RHF."""
        ...
    def intervals(self, *, kinds: Collection[PayerKind] | None = None, span: Span | None = None,
                  company: str | None = None, rhf: str | None = None,
                  patients: Collection[str] | None = None,
                  ending: Span | None = None) -> list[IntervalRow]: ...
    def cost_lines(self, *, span: Span, kinds: Collection[PayerKind] | None = None,
                   gaps: bool = False, company: str | None = None,
                   rhf: str | None = None,
                   patients: Collection[str] | None = None) -> list[CostLine]: ...
    def patients(self, ids: Collection[str] | None = None, *,
                 agreements: Collection[str] | None = None) -> list[PatientRow]: ...
    def grants(self, *, until: date, company: str | None = None,
               rhf: str | None = None) -> list[GrantRow]: ...
    def movements(self, patients: Collection[str]) -> list[MovementRow]: ...
    def slots(self, *, company: str | None = None) -> list[SlotRow]: ...
    def slot_uses(self, agreements: Collection[str]) -> list[SlotUse]:
        """The patient slots used under these agreements, in the order they were used."""
        ...
    def first_enrolment(self) -> date | None: ...
    def company_cost(self, *, span: Span, scope: Scope) -> CostSums:
        """The packs and value of the lines `at_company_cost` keeps (summed by the source: a
        figure at national scale, without reading the lines)."""
        ...


@dataclass(frozen=True)
class CostSums:
    """Packs dispensed, and their value in minor units per currency (of the priced lines)."""

    packs: int
    value_minor: dict[str, int]

    @property
    def value(self) -> Totals:
        return Totals(money(v, c) for c, v in self.value_minor.items())


def at_company_cost(line: CostLine, span: Span, scope: Scope) -> bool:
    """A line of the company obligations statement: dispensed in the span, on a date its own
    company paid for it, and seen by the scope."""
    return (line.payer_kind is PayerKind.COMPANY and line.party == line.company_id
            and span[0] <= line.on <= span[1] and scope.sees(line))


def sums_of(lines: Iterable[CostLine]) -> CostSums:
    packs, value = 0, dict[str, int]()  # exact: minor units, one sum per currency
    for x in lines:
        packs += x.packs
        if x.value_minor is not None and x.currency is not None:
            value[x.currency] = value.get(x.currency, 0) + x.value_minor
    return CostSums(packs, value)


def uses_of(patients: Iterable[PatientRow]) -> list[SlotUse]:
    """The slots the patients' enrolments used (each enrolment uses one, recorded with it),
    in the order of enrolment."""
    return [SlotUse(p.agreement_id, p.drug_id, p.patient_id, p.enrolled_on)
            for p in sorted(patients, key=lambda p: (p.enrolled_at, p.patient_id))
            if p.enrolled_on is not None]


@dataclass
class Rows:
    """Rows held in memory, as known at `position` (rows known later, or no longer, are left
    out). Hands back every row it holds: the statements filter."""

    position: int
    recorded_at: datetime | None = None
    companies: set[str] = field(default_factory=set)
    rhfs: set[str] = field(default_factory=set)
    trusts: dict[str, str] = field(default_factory=dict)  # each health trust's RHF
    tables: dict[str, list[Any]] = field(default_factory=dict)

    def at(self, position: int) -> Rows:
        """The same rows as known at an earlier position."""
        def known(rows: list[Any]) -> list[Any]:
            return [x for x in rows if x.known_from <= position
                    and (x.known_to is None or x.known_to > position)]
        return replace(self, position=position,
                       tables={k: known(v) for k, v in self.tables.items()})

    def _of(self, table: str) -> list[Any]:
        return self.tables.get(table, [])

    def company_exists(self, company_id: str) -> bool:
        return company_id in self.companies

    def check(self, scope: Scope) -> Scope:
        return check(self, scope)

    def rhf_ids(self) -> set[str]:
        return set(self.rhfs)

    def regions(self) -> dict[str, str]:
        return dict(self.trusts)

    def intervals(self, **_: Any) -> list[IntervalRow]:
        return list(self._of("intervals"))

    def cost_lines(self, **_: Any) -> list[CostLine]:
        return list(self._of("cost_lines"))

    def patients(self, ids: Collection[str] | None = None, **_: Any) -> list[PatientRow]:
        return [p for p in self._of("patients") if ids is None or p.patient_id in ids]

    def grants(self, **_: Any) -> list[GrantRow]:
        return list(self._of("grants"))

    def movements(self, patients: Collection[str]) -> list[MovementRow]:
        return [m for m in self._of("grant_movements") if m.patient_id in patients]

    def slots(self, **_: Any) -> list[SlotRow]:
        return list(self._of("agreement_slots"))

    def slot_uses(self, agreements: Collection[str]) -> list[SlotUse]:
        return uses_of(p for p in self._of("patients") if p.agreement_id in agreements)

    def first_enrolment(self) -> date | None:
        return min((p.enrolled_on for p in self._of("patients") if p.enrolled_on), default=None)

    def company_cost(self, *, span: Span, scope: Scope) -> CostSums:
        return sums_of(x for x in self._of("cost_lines") if at_company_cost(x, span, scope))


class Known(Rows):
    """A replay: every row worked out from the patients' cases as known at one position, with
    the functions the projector uses (domain.statements.compute), so a statement built from it is
    the statement the read models give, rebuilt from the log without them."""

    def __init__(self, position: int, cases: tuple[Case, ...], workspace: Workspace,
                 agreement_ids: tuple[str, ...], recorded_at: datetime | None = None) -> None:
        super().__init__(position, recorded_at)
        self.cases, self.workspace, self.agreement_ids = cases, workspace, agreement_ids

    @classmethod
    def from_workspace(cls, ws: Workspace, patient_ids: Iterable[str],
                       agreement_ids: Iterable[str], position: int,
                       recorded_at: datetime | None = None) -> Known:
        from domain.derive import case_of

        cases = tuple(case_of(ws, p) for p in patient_ids if ws.patient(p).exists)
        agreements = tuple(a for a in agreement_ids if ws.agreement(a).exists)
        return cls(position, cases, ws, agreements, recorded_at)

    def company_exists(self, company_id: str) -> bool:
        return self.workspace.company(company_id).exists

    def rhf_ids(self) -> set[str]:
        return {t.rhf_id for t in self.workspace.registry().trusts.values()}

    def regions(self) -> dict[str, str]:
        return {hf: t.rhf_id for hf, t in self.workspace.registry().trusts.items()}

    def _of(self, table: str) -> list[Any]:
        return self._rows[table]

    @cached_property
    def _rows(self) -> dict[str, list[Any]]:
        at, ws = self.position, self.workspace
        out: dict[str, list[Any]] = {"intervals": [], "patients": [], "cost_lines": [],
                                     "grants": [], "grant_movements": []}
        for case in self.cases:
            intervals = timeline(case)
            out["intervals"] += cp.interval_rows(case, at, intervals)
            out["patients"].append(cp.patient_row(case, self._enrolment_order(case), at))
            out["cost_lines"] += cp.cost_lines(case, ws.drug, at, intervals)
            grants, moves = cp.grant_rows(case, at)
            out["grants"] += grants
            out["grant_movements"] += moves
        out["agreement_slots"] = [s for a in self.agreement_ids
                                  for s in cp.slot_rows(ws.agreement(a), at)]
        return out

    def _enrolment_order(self, case: Case) -> int:
        """Where the patient's slot stands in its agreement's: the order of enrolment, as the
        read models' `enrolled_at` (a log position) gives it."""
        order = self._orders.get(case.agreement.agreement_id)
        if order is None:
            order = self._orders[case.agreement.agreement_id] = {
                pid: i for i, pid in enumerate(case.agreement.patients)}
        return order.get(case.patient.patient_id, len(order))

    @cached_property
    def _orders(self) -> dict[str, dict[str, int]]:
        return {}


class BundleKnown(Known):
    """A replay of a statement bundle's facts, which hold each agreement's stream whole but not
    the streams of every patient enrolled under it (ADR 0024): slots used are read from the
    agreements' own PatientSlotUsed facts, one per enrolment, recorded in the same transaction
    as the enrolment. At every position between transactions this is what the patients give."""

    def slot_uses(self, agreements: Collection[str]) -> list[SlotUse]:
        found = []
        for agreement_id in sorted(agreements):
            agreement = self.workspace.agreement(agreement_id)
            for drug_id, ids in sorted(agreement.slot_patients.items()):
                found += [SlotUse(agreement_id, drug_id, p, on)
                          for p, on in zip(ids, agreement.enrolled.get(drug_id, ()))]
        return found
