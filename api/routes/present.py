"""Folded state and stored facts -> response schemas."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from api.schemas.responses import (
    ActorOut,
    AgreementOut,
    CohortOut,
    CompanyOut,
    DatedIntOut,
    DatedMoneyOut,
    DecisionOut,
    DrugOut,
    ExemptionOut,
    HfPeriodOut,
    HistoryFactOut,
    LogFactOut,
    PatientOut,
    PayerOut,
    PriceOut,
    SlotsOut,
    WithheldOut,
)
from api.schemas.types import MoneyOut
from application.access import View
from domain import codec
from domain import state as st
from domain.financing import Payer
from application.ledger import Fact
from audit.history import linked


def company_out(c: st.Company) -> CompanyOut:
    return CompanyOut(company_id=c.company_id, name=c.name, ref=c.ref)


def drug_out(d: st.Drug) -> DrugOut:
    return DrugOut(
        drug_id=d.drug_id, brand=d.brand, generic=d.generic, company_id=d.company_id, ref=d.ref,
        prices=[PriceOut(since=p.since, value=MoneyOut.of(p.value), ref=p.ref,
                         pack=d.packs.get(p.ref)) for p in d.prices],
        decisions=[DecisionOut(decision=x.decision.value, case_ref=x.case_ref,
                               indication=x.indication, decided_on=x.decided_on, ref=x.ref)
                   for x in d.decisions],
    )


def agreement_out(a: st.Agreement) -> AgreementOut:
    return AgreementOut(
        agreement_id=a.agreement_id, company_id=a.company_id, signed_on=a.signed_on, ref=a.ref,
        grants=[DatedMoneyOut(since=g.since, value=MoneyOut.of(g.value), ref=g.ref)
                for g in a.grants],
        coverage_weeks=[DatedIntOut(since=w.since, value=w.value, ref=w.ref) for w in a.coverage],
        slots=[SlotsOut(drug_id=drug, slots=s.value, used=a.used.get(drug, 0), since=s.since,
                        ref=s.ref) for drug, s in sorted(a.slots.items())],
    )


def cohort_out(c: st.Cohort) -> CohortOut:
    by_stage = {str(stage): n for stage, n in c.admissions.by_stage().items()}
    return CohortOut(
        cohort_id=c.cohort_id, drug_id=c.drug_id, agreement_id=c.agreement_id,
        indication=c.indication, molecular_profile=c.molecular_profile, opened_on=c.opened_on,
        stage=c.stage, expansion_size=c.expansion_size, evidence_ref=c.evidence_ref,
        closed_on=c.closed.since if c.closed else None, patients_by_stage=by_stage,
        exemptions=[ExemptionOut(exemption_ref=x.exemption_ref, effective_from=x.effective_from,
                                 decided_on=x.decided_on, revoked_from=x.revoked_from, ref=x.ref)
                    for x in c.exemptions],
        permanent_financing=[{"effective_from": t.since.isoformat(), "decision": t.value.value,
                              "ref": t.ref} for t in c.permanent],
        ref=c.ref,
    )


def patient_out(p: st.Patient) -> PatientOut:
    grant: dict[str, Any] | None = None
    if p.grant is not None:
        g = p.grant
        grant = {"amount": g.amount.to_dict(), "due_from": g.due_from.isoformat(),
                 "hf_id": g.hf_id, "ref": g.ref, "paid": g.paid.to_dict(),
                 "outstanding": g.outstanding.to_dict(),
                 "invoices": [codec.encode(i) for i in g.invoices],
                 "payments": [codec.encode(x) for x in g.payments]}
    return PatientOut(
        patient_id=p.patient_id, cohort_id=p.cohort_id, agreement_id=p.agreement_id,
        drug_id=p.drug_id, stage=p.stage, enrolled_on=p.enrolled_on, treating_hf=p.hf_id,
        hf_periods=[HfPeriodOut(since=h.since, hf_id=h.value, ref=h.ref) for h in p.hf_periods],
        started_on=p.started.since if p.started else None,
        assessment=({"assessed_on": p.assessment.assessed_on.isoformat(),
                     "outcome": p.assessment.outcome.value, "ref": p.assessment.ref}
                    if p.assessment else None),
        ended=({"ended_on": p.ended.ended_on.isoformat(), "reason": p.ended.reason.value,
                "ref": p.ended.ref} if p.ended else None),
        dispensations=[{"ref": d.ref, "drug_id": d.drug_id, "packs": d.packs,
                        "dispensed_on": d.dispensed_on.isoformat(), "in_force": d.last_ref}
                       for d in p.dispensations],
        grant=grant, ref=p.ref,
    )


def payer_out(p: Payer, view: View) -> PayerOut:
    basis = view.redact(p.basis)
    withheld = basis.to_dict()
    return PayerOut(kind=p.kind.value, party=p.party, treating_hf=p.hf_id,
                    reason=view.scrub_text(p.reason), basis=list(basis.shown),
                    basis_withheld=WithheldOut(**withheld) if withheld else None)


def actor_out(actor: dict[str, Any]) -> ActorOut:
    names = ("subject", "role", "organisation", "request_id", "triggered_by")
    return ActorOut(**{k: actor.get(k) for k in names})


def history_out(facts: list[Fact], view: View,
                later: Sequence[Fact] = ()) -> list[HistoryFactOut]:
    """Every fact with its actor and recorded time; corrections and retractions linked both ways
    (with `later`, the facts after these that correct or retract one: audit.history.linked).
    What the actor may not see inside a fact (another region's patient in a stage decision's
    basis) is withheld and counted (application.access)."""
    return [
        HistoryFactOut(
            ref=row.ref, position=row.fact.position,
            stream=row.fact.stream, version=row.fact.version, type=row.fact.type,
            valid_on=row.fact.valid_on, recorded_at=row.fact.recorded_at,
            actor=actor_out(view.scrub(row.fact.actor)), data=view.scrub(row.fact.data),
            corrects=row.fact.data.get("corrects"), corrected_by=list(row.corrected_by),
            retracts=row.fact.data.get("retracts"), retracted_by=list(row.retracted_by),
        )
        for row in linked(facts, later)
    ]


def log_fact_out(f: Fact, view: View) -> LogFactOut:
    return LogFactOut(position=f.position, stream=f.stream, version=f.version, type=f.type,
                      schema_version=f.schema, valid_on=f.valid_on, recorded_at=f.recorded_at,
                      actor=view.scrub(f.actor), data=view.scrub(f.data))
