"""The company obligations statement as sheets (CSV, XLSX, tables): agreements, patients,
dispensations at the company's cost, grants."""

from __future__ import annotations

from domain.statements.sheet import Column, Kind, Sheet
from domain.statements.period import per_currency
from domain.statements.company import GRANT_COLUMNS, CompanyStatement
from domain.statements.text import price_of, span_text, text


def sheets(s: CompanyStatement) -> list[Sheet]:
    return [_agreement_sheet(s), _patient_sheet(s), _dispensation_sheet(s), _grant_sheet(s)]


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
    rows = tuple((d.patient_id, d.on, d.drug_id, d.hf_id, d.packs, d.pack,
                  price.amount if (price := price_of(d)) else None,
                  value.amount if (value := d.value) else None, d.currency if price else None,
                  d.last_ref)
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
