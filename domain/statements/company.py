"""The company obligations statement: what a pharma partner owes for a period.

Per agreement and drug: patient slots agreed, used (patients enrolled by the period's end) and
left. Per patient: stage, treating health trust(s), treatment dates, the company's coverage
within the period, the packs dispensed on dates the company was the payer and their value at
the price in force on each dispensing date, and the per-patient grant: committed, invoiced and
paid within the period, outstanding at the period's end. Totals per currency.

An RHF sees the patient lines for the dates its health trusts treated the patient, and grants
paid to its health trusts; it sees no agreement lines (slot usage is national, not regional).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from dataclasses import dataclass
from datetime import date
from typing import Any

from domain.financing import PayerKind
from domain.money import Money, Totals
from domain.statements.rows import (CostLine, GrantRow, MovementRow, PatientRow, SlotUse,
                                    money)
from domain.statements.sheet import Sheet
from domain.statements.period import (Period, about, clipped, hf_spans, in_order, merge,
                                      value_of)
from domain.statements.scope import Scope, ScopeKind, check
from domain.statements.source import CostSums, Source, at_company_cost, sums_of
from domain.statements.text import (Line, dispensation_dict, money_dict, price_of,
                                     span_text, text, totals_dict)


@dataclass(frozen=True)
class AgreementLine:
    agreement_id: str
    company_id: str
    drug_id: str
    slots_agreed: int
    patients: tuple[str, ...]  # enrolled under the agreement for the drug by the period's end
    enrolled_in_period: int

    @property
    def slots_used(self) -> int:
        return len(self.patients)

    @property
    def slots_left(self) -> int:
        return self.slots_agreed - self.slots_used


@dataclass(frozen=True)
class GrantLine:
    patient_id: str
    hf_id: str
    due_from: date
    committed: Money  # falling due within the period
    invoiced: Money  # invoiced within the period
    paid: Money  # paid within the period
    outstanding: Money  # committed by the period's end, less paid by then
    to_settle: str = ""  # after a change of the grant's basis (ADR 0014): what to settle


@dataclass(frozen=True)
class PatientLine:
    patient_id: str
    company_id: str
    agreement_id: str
    cohort_id: str
    drug_id: str
    stage: int
    hfs: tuple[str, ...]
    started_on: date | None
    ended_on: date | None
    coverage: tuple[tuple[date, date], ...]
    dispensations: tuple[CostLine, ...]  # at the company's cost
    grant: GrantLine | None

    @property
    def packs(self) -> int:
        return sum(d.packs for d in self.dispensations)

    @property
    def value(self) -> Totals:
        return value_of(self.dispensations)


@dataclass(frozen=True)
class CompanyStatement:
    title = "Company obligations"
    period: Period
    scope: Scope
    known: dict[str, Any]
    agreements: tuple[AgreementLine, ...]
    patients: tuple[PatientLine, ...]

    @property
    def dispensations(self) -> tuple[CostLine, ...]:
        return tuple(d for p in self.patients for d in p.dispensations)

    @property
    def grants(self) -> tuple[GrantLine, ...]:
        return tuple(p.grant for p in self.patients if p.grant is not None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "statement": "company-obligations",
            "period": self.period.to_dict(),
            "scope": self.scope.to_dict(),
            "known_at": self.known,
            "agreements": [_agreement_dict(a) for a in self.agreements],
            "patients": [_patient_dict(p) for p in self.patients],
            "totals": self.totals(),
        }

    def totals(self) -> dict[str, Any]:
        """The statement's totals, as `to_dict` gives them (without the rest of it)."""
        return _totals(sums_of(self.dispensations), self.grants)

    def sheets(self) -> list[Sheet]:
        from domain.statements.company_sheets import sheets  # the shapes, apart from the rules

        return sheets(self)

    def lines(self, only: Collection[str] | None = None) -> list[Line]:
        """Every line; with `only`, the lines of one patient only for those patients (the
        agreements' lines all the same)."""
        out = [Line("agreement", (a.agreement_id, a.drug_id),
                    {"slots agreed": text(a.slots_agreed), "slots used": text(a.slots_used),
                     "slots left": text(a.slots_left), "enrolled in period": text(a.enrolled_in_period)},
                    frozenset(a.patients)) for a in self.agreements]
        for p in self.patients:
            if only is not None and p.patient_id not in only:
                continue
            values = {"stage": text(p.stage), "treating HF": text(p.hfs),
                      "started": text(p.started_on), "ended": text(p.ended_on),
                      "company coverage": span_text(p.coverage), "packs": text(p.packs),
                      "value": text(p.value)}
            out.append(Line("patient", (p.patient_id,), values, frozenset({p.patient_id})))
            for d in p.dispensations:
                out.append(Line("dispensation", (d.ref,),
                                {"patient": d.patient_id, "dispensed on": text(d.on),
                                 "packs": text(d.packs), "pack": text(d.pack),
                                 "price": text(price_of(d)),
                                 "value": text(d.value)}, frozenset({p.patient_id})))
            if p.grant is not None:
                out.append(Line("grant", (p.patient_id,),
                                {c: text(getattr(p.grant, c)) for c in GRANT_COLUMNS}
                                | {"to settle": p.grant.to_settle}, frozenset({p.patient_id})))
        return out


GRANT_COLUMNS = ("committed", "invoiced", "paid", "outstanding")


def company_statement(source: Source, period: Period, scope: Scope) -> CompanyStatement:
    check(source, scope)
    who = scope.who()
    agreements = [] if scope.kind is ScopeKind.RHF else _agreement_lines(source, period, scope)
    span, company = (period.start, period.end), (PayerKind.COMPANY,)
    coverage: dict[str, list[tuple[date, date]]] = {}
    for interval, part in clipped(source.intervals(kinds=company, span=span, **who),
                                  period, scope):
        if interval.kind is PayerKind.COMPANY:
            coverage.setdefault(interval.patient_id, []).append(part)
    at_cost: dict[str, list[CostLine]] = {}
    for d in in_order(source.cost_lines(span=span, kinds=company, **who)):
        if at_company_cost(d, span, scope):
            at_cost.setdefault(d.patient_id, []).append(d)
    granted = _granted(source, period, scope)
    # a patient with nothing in the period has no line: its row is not read (at M, 8 700
    # patients have grants, 900 a line)
    ids = sorted(coverage.keys() | at_cost.keys() | granted.keys())
    patients = []
    for p in sorted(source.patients(ids), key=lambda x: x.patient_id):
        if not scope.sees_patient(p):
            continue
        line = _patient_line(p, period, scope, merge(coverage.get(p.patient_id, ())),
                             tuple(at_cost.get(p.patient_id, ())), granted.get(p.patient_id))
        if line is not None:
            patients.append(line)
    return CompanyStatement(period, scope, about(source), tuple(agreements), tuple(patients))


def company_totals(source: Source, period: Period, scope: Scope) -> dict[str, Any]:
    """The totals of the statement `company_statement` gives (`CompanyStatement.totals`),
    without its lines: the source sums the lines at the company's cost (a partner's overview
    over its whole history reads no line; at national scale they are hundreds of thousands).
    The grants are the statement's own."""
    check(source, scope)
    return _totals(source.company_cost(span=(period.start, period.end), scope=scope),
                   _granted(source, period, scope).values())


def _totals(costs: CostSums, grants: Iterable[GrantLine]) -> dict[str, Any]:
    grants = tuple(grants)
    return {
        "packs": costs.packs,
        "value": totals_dict(costs.value),
        "grants": {c: totals_dict(Totals(getattr(g, c) for g in grants))
                   for c in GRANT_COLUMNS},
    }


def _granted(source: Source, period: Period, scope: Scope) -> dict[str, GrantLine]:
    """Each patient's grant line for the period, of the grants the scope sees (a patient with
    nothing granted, invoiced, paid or outstanding in it has none)."""
    grants = {g.patient_id: g for g in source.grants(until=period.end, **scope.who())
              if scope.sees(g)}
    moves: dict[str, list[MovementRow]] = {}
    for m in source.movements(sorted(grants)):
        moves.setdefault(m.patient_id, []).append(m)
    return {pid: found for pid, g in grants.items()
            if (found := _grant_line(g, moves.get(pid, []), period)) is not None}


def _agreement_lines(source: Source, period: Period, scope: Scope) -> list[AgreementLine]:
    """Slots used are counted from the agreement's own record of them (PatientSlotUsed, one per
    enrolment, recorded with it), so that a line rests on the agreement's stream alone."""
    slots = sorted((s for s in source.slots(company=scope.company_id)
                    if scope.sees_company(s.company_id)),
                   key=lambda s: (s.agreement_id, s.drug_id))
    enrolled: dict[tuple[str, str], list[SlotUse]] = {}
    for u in source.slot_uses(sorted({s.agreement_id for s in slots})):
        if u.enrolled_on <= period.end:
            enrolled.setdefault((u.agreement_id, u.drug_id), []).append(u)
    out = []
    for s in slots:
        mine = enrolled.get((s.agreement_id, s.drug_id), [])
        out.append(AgreementLine(s.agreement_id, s.company_id, s.drug_id, s.slots,
                                 tuple(sorted(u.patient_id for u in mine)),
                                 sum(1 for u in mine if u.enrolled_on in period)))
    return out


def _patient_line(p: PatientRow, period: Period, scope: Scope,
                  coverage: list[tuple[date, date]], at_cost: tuple[CostLine, ...],
                  grant: GrantLine | None) -> PatientLine | None:
    if not (coverage or at_cost or grant):
        return None
    hfs = tuple(dict.fromkeys(hf for start, end, hf, rhf in hf_spans(p)
                              if period.clip(start, end) and scope.sees_rhf(rhf)
                              and scope.sees_hf(hf)))
    return PatientLine(
        p.patient_id, p.company_id, p.agreement_id, p.cohort_id, p.drug_id, p.stage, hfs,
        p.started_on,
        # an end after the period is not part of this period's statement (nor of its restatement)
        p.ended_on if p.ended_on and p.ended_on <= period.end else None,
        tuple(coverage), at_cost, grant)


def _grant_line(grant: GrantRow, moves: list[MovementRow], period: Period) -> GrantLine | None:
    amount = grant.amount
    zero = Money.zero(amount.currency)
    invoices = [m for m in moves if m.kind == "invoice"]
    payments = [m for m in moves if m.kind == "payment"]
    committed = amount if grant.due_from in period else zero
    invoiced = _sum((i for i in invoices if i.on in period), zero)
    paid = _sum((x for x in payments if x.on in period), zero)
    paid_by_end = _sum((x for x in payments if x.on <= period.end), zero)
    outstanding = amount - paid_by_end if grant.due_from <= period.end else zero
    if all(m.amount == 0 for m in (committed, invoiced, paid, outstanding)):
        return None
    return GrantLine(grant.patient_id, grant.hf_id, grant.due_from, committed, invoiced, paid,
                     outstanding, grant.to_settle)


def _sum(moves: Any, zero: Money) -> Money:
    """Summed in minor units (exact); a movement in another currency is refused, as Money
    refuses to add it."""
    total = 0
    for m in moves:
        if m.currency != zero.currency:
            return zero + money(m.amount_minor, m.currency)  # raises
        total += m.amount_minor
    return money(total, zero.currency)


# --- shapes -----------------------------------------------------------------------------------


def _agreement_dict(a: AgreementLine) -> dict[str, Any]:
    return {"agreement_id": a.agreement_id, "company_id": a.company_id, "drug_id": a.drug_id,
            "slots_agreed": a.slots_agreed, "slots_used": a.slots_used,
            "slots_left": a.slots_left, "enrolled_in_period": a.enrolled_in_period,
            "patients": list(a.patients)}


def _patient_dict(p: PatientLine) -> dict[str, Any]:
    g = p.grant
    return {
        "patient_id": p.patient_id, "company_id": p.company_id, "agreement_id": p.agreement_id,
        "cohort_id": p.cohort_id, "drug_id": p.drug_id, "stage": p.stage,
        "treating_hfs": list(p.hfs),
        "started_on": text(p.started_on) or None, "ended_on": text(p.ended_on) or None,
        "company_coverage": [{"from": s.isoformat(), "to": e.isoformat()} for s, e in p.coverage],
        "packs": p.packs, "value": totals_dict(p.value),
        "dispensations": [dispensation_dict(d) for d in p.dispensations],
        "grant": None if g is None else {
            "hf_id": g.hf_id, "due_from": g.due_from.isoformat(),
            **{c: money_dict(getattr(g, c)) for c in GRANT_COLUMNS}, "to_settle": g.to_settle},
    }
