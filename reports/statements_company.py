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

from dataclasses import dataclass
from datetime import date
from typing import Any

from domain.financing import Case, PayerKind, timeline
from domain.money import Money, Totals
from domain.state import Grant
from reports.export import Column, Kind, Sheet
from reports.statements import (
    Known,
    Period,
    Priced,
    Scope,
    ScopeKind,
    hf_spans,
    merge,
    per_currency,
    priced,
    value_of,
    visible_intervals,
)
from reports.statements_lines import Line, money_dict, span_text, text, totals_dict


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
    dispensations: tuple[Priced, ...]  # at the company's cost
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
    def dispensations(self) -> tuple[Priced, ...]:
        return tuple(d for p in self.patients for d in p.dispensations)

    @property
    def grants(self) -> tuple[GrantLine, ...]:
        return tuple(p.grant for p in self.patients if p.grant is not None)

    def grant_totals(self, column: str) -> Totals:
        return Totals(getattr(g, column) for g in self.grants)

    def to_dict(self) -> dict[str, Any]:
        return {
            "statement": "company-obligations",
            "period": self.period.to_dict(),
            "scope": self.scope.to_dict(),
            "known_at": self.known,
            "agreements": [_agreement_dict(a) for a in self.agreements],
            "patients": [_patient_dict(p) for p in self.patients],
            "totals": {
                "packs": sum(p.packs for p in self.patients),
                "value": totals_dict(value_of(self.dispensations)),
                "grants": {c: totals_dict(self.grant_totals(c)) for c in GRANT_COLUMNS},
            },
        }

    def sheets(self) -> list[Sheet]:
        return [_agreement_sheet(self), _patient_sheet(self), _dispensation_sheet(self),
                _grant_sheet(self)]

    def lines(self) -> list[Line]:
        out = [Line("agreement", (a.agreement_id, a.drug_id),
                    {"slots agreed": text(a.slots_agreed), "slots used": text(a.slots_used),
                     "slots left": text(a.slots_left), "enrolled in period": text(a.enrolled_in_period)},
                    frozenset(a.patients)) for a in self.agreements]
        for p in self.patients:
            values = {"stage": text(p.stage), "treating HF": text(p.hfs),
                      "started": text(p.started_on), "ended": text(p.ended_on),
                      "company coverage": span_text(p.coverage), "packs": text(p.packs),
                      "value": text(p.value)}
            out.append(Line("patient", (p.patient_id,), values, frozenset({p.patient_id})))
            for d in p.dispensations:
                out.append(Line("dispensation", (d.ref,),
                                {"patient": d.patient_id, "dispensed on": text(d.on),
                                 "packs": text(d.packs), "pack": text(d.pack),
                                 "price": text(d.price and d.price.value),
                                 "value": text(d.value)}, frozenset({p.patient_id})))
            if p.grant is not None:
                out.append(Line("grant", (p.patient_id,),
                                {c: text(getattr(p.grant, c)) for c in GRANT_COLUMNS}
                                | {"to settle": p.grant.to_settle}, frozenset({p.patient_id})))
        return out


GRANT_COLUMNS = ("committed", "invoiced", "paid", "outstanding")


def company_statement(known: Known, period: Period, scope: Scope) -> CompanyStatement:
    known.check(scope)
    agreements = [] if scope.kind is ScopeKind.RHF else _agreement_lines(known, period, scope)
    patients = [line for case in known.cases
                if scope.sees_case(case) and (line := _patient_line(known, case, period, scope))]
    return CompanyStatement(period, scope, known.about(), tuple(agreements), tuple(patients))


def _agreement_lines(known: Known, period: Period, scope: Scope) -> list[AgreementLine]:
    out = []
    for agreement_id in known.agreement_ids:
        agreement = known.agreement(agreement_id)
        if not scope.sees_company(agreement.company_id):
            continue
        for drug_id, slots in sorted(agreement.slots.items()):
            # the patients themselves, so a restatement names a late enrolment as the cause
            enrolled = [c.patient for c in known.cases if c.patient.agreement_id == agreement_id
                        and c.patient.drug_id == drug_id and c.patient.enrolled_on is not None
                        and c.patient.enrolled_on <= period.end]
            out.append(AgreementLine(
                agreement_id, agreement.company_id, drug_id, slots.value,
                tuple(p.patient_id for p in enrolled),
                sum(1 for p in enrolled if p.enrolled_on in period)))
    return out


def _patient_line(known: Known, case: Case, period: Period, scope: Scope) -> PatientLine | None:
    p, company = case.patient, case.agreement.company_id
    coverage = merge(part for interval, part in visible_intervals(case, timeline(case), period, scope)
                     if interval.payer.kind is PayerKind.COMPANY)
    at_cost = tuple(d for d in priced(known, case, period, scope)
                    if d.payer.kind is PayerKind.COMPANY and d.payer.party == company)
    grant = _grant_line(case, p.grant, period, scope) if p.grant is not None else None
    if not (coverage or at_cost or grant):
        return None
    hfs = tuple(dict.fromkeys(hf for start, end, hf in hf_spans(case)
                              if (clip := period.clip(start, end)) and scope.spans(case, clip)))
    return PatientLine(
        p.patient_id, company, p.agreement_id, p.cohort_id, p.drug_id, p.stage, hfs,
        p.started.since if p.started else None,
        # an end after the period is not part of this period's statement (nor of its restatement)
        p.ended.ended_on if p.ended and p.ended.ended_on <= period.end else None,
        tuple(coverage), at_cost, grant)


def _grant_line(case: Case, grant: Grant, period: Period, scope: Scope) -> GrantLine | None:
    if scope.kind is ScopeKind.RHF and case.rhf_of(grant.hf_id) != scope.party:
        return None
    zero = Money.zero(grant.amount.currency)
    committed = grant.amount if grant.due_from in period else zero
    invoiced = _sum((i.amount for i in grant.invoices if i.invoiced_on in period), zero)
    paid = _sum((x.amount for x in grant.payments if x.paid_on in period), zero)
    paid_by_end = _sum((x.amount for x in grant.payments if x.paid_on <= period.end), zero)
    outstanding = grant.amount - paid_by_end if grant.due_from <= period.end else zero
    if all(m.amount == 0 for m in (committed, invoiced, paid, outstanding)):
        return None
    return GrantLine(case.patient.patient_id, grant.hf_id, grant.due_from, committed, invoiced,
                     paid, outstanding, grant.settlement())


def _sum(amounts: Any, zero: Money) -> Money:
    total = zero
    for m in amounts:
        total = total + m
    return total


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


def dispensation_dict(d: Priced) -> dict[str, Any]:
    return {"ref": d.ref, "in_force": d.last_ref, "dispensed_on": d.on.isoformat(),
            "drug_id": d.drug_id, "packs": d.packs, "pack": d.pack, "payer": d.payer.kind.value,
            "party": d.payer.party, "hf_id": d.payer.hf_id,
            "price_per_pack": money_dict(d.price.value if d.price else None),
            "price_ref": d.price.ref if d.price else None, "value": money_dict(d.value)}


def _agreement_sheet(s: CompanyStatement) -> Sheet:
    columns = (Column("Agreement"), Column("Company"), Column("Drug"),
               Column("Slots agreed", Kind.INT), Column("Slots used", Kind.INT),
               Column("Slots left", Kind.INT), Column("Enrolled in period", Kind.INT))
    rows = tuple((a.agreement_id, a.company_id, a.drug_id, a.slots_agreed, a.slots_used,
                  a.slots_left, a.enrolled_in_period) for a in s.agreements)
    return Sheet("Agreements", columns, rows)


def _patient_sheet(s: CompanyStatement) -> Sheet:
    columns = (Column("Patient"), Column("Company"), Column("Agreement"), Column("Cohort"),
               Column("Drug"), Column("Stage", Kind.INT), Column("Treating HF"),
               Column("Started", Kind.DATE), Column("Ended", Kind.DATE),
               Column("Company coverage"), Column("Packs", Kind.INT, total=True),
               Column("Value", Kind.MONEY, total=True), Column("Currency", Kind.CURRENCY))
    rows = []
    for p in s.patients:
        head = (p.patient_id, p.company_id, p.agreement_id, p.cohort_id, p.drug_id, p.stage,
                text(p.hfs), p.started_on, p.ended_on, span_text(p.coverage))
        for packs, value, currency in per_currency(p.dispensations):
            rows.append((*head, packs, value, currency))
    return Sheet("Patients", columns, tuple(rows))


def _dispensation_sheet(s: CompanyStatement) -> Sheet:
    columns = (Column("Patient"), Column("Dispensed on", Kind.DATE), Column("Drug"),
               Column("Treating HF"), Column("Packs", Kind.INT, total=True), Column("Pack"),
               Column("Price per pack", Kind.MONEY), Column("Value", Kind.MONEY, total=True),
               Column("Currency", Kind.CURRENCY), Column("Fact"))
    rows = tuple((d.patient_id, d.on, d.drug_id, d.payer.hf_id, d.packs, d.pack,
                  d.price.value.amount if d.price else None,
                  d.value.amount if d.value else None,
                  d.price.value.currency if d.price else None, d.last_ref)
                 for d in s.dispensations)
    return Sheet("Dispensations", columns, rows)


def _grant_sheet(s: CompanyStatement) -> Sheet:
    columns = (Column("Patient"), Column("Treating HF"), Column("Due from", Kind.DATE),
               *(Column(c.title(), Kind.MONEY, total=True) for c in GRANT_COLUMNS),
               Column("Currency", Kind.CURRENCY), Column("To settle"))
    rows = tuple((g.patient_id, g.hf_id, g.due_from,
                  *(getattr(g, c).amount for c in GRANT_COLUMNS), g.committed.currency,
                  g.to_settle)
                 for g in s.grants)
    return Sheet("Grants", columns, rows)
