"""Reference data and agreements: health trusts, companies, drugs, prices, decisions, agreements."""

from __future__ import annotations

from datetime import date

from domain import checks
from domain import commands as c
from domain import errors as err
from domain import events as ev
from domain import state as st
from domain.view import REGISTRY, Facts, View


def register_health_trust(view: View, cmd: c.RegisterHealthTrust) -> Facts:
    checks.slug("health trust id", cmd.hf_id)
    checks.slug("regional health authority id", cmd.rhf_id)
    if cmd.hf_id in view.registry().trusts:
        raise err.AlreadyRecorded("health trust", cmd.hf_id)
    return [(
        REGISTRY,
        ev.HealthTrustRegistered(
            hf_id=cmd.hf_id,
            name=checks.text("name", cmd.name),
            rhf_id=cmd.rhf_id,
            rhf_name=checks.text("RHF name", cmd.rhf_name),
            registered_on=checks.happened(view, "the registration", cmd.registered_on),
        ),
    )]


def register_company(view: View, cmd: c.RegisterCompany) -> Facts:
    checks.slug("company id", cmd.company_id)
    if view.company(cmd.company_id).exists:
        raise err.AlreadyRecorded("company", cmd.company_id)
    return [(
        f"company/{cmd.company_id}",
        ev.CompanyRegistered(
            company_id=cmd.company_id,
            name=checks.text("company name", cmd.name),
            registered_on=checks.happened(view, "the registration", cmd.registered_on),
        ),
    )]


def register_drug(view: View, cmd: c.RegisterDrug) -> Facts:
    checks.slug("drug id", cmd.drug_id)
    if view.drug(cmd.drug_id).exists:
        raise err.AlreadyRecorded("drug", cmd.drug_id)
    checks.company(view, cmd.company_id)
    return [(
        f"drug/{cmd.drug_id}",
        ev.DrugRegistered(
            drug_id=cmd.drug_id,
            brand=checks.text("brand name", cmd.brand),
            generic=checks.text("generic name", cmd.generic),
            company_id=cmd.company_id,
            registered_on=checks.happened(view, "the registration", cmd.registered_on),
        ),
    )]


def set_price(view: View, cmd: c.SetPrice) -> Facts:
    checks.drug(view, cmd.drug_id)
    if cmd.price_per_pack.amount <= 0:
        raise err.InvalidInput("a price per pack must be more than zero")
    return [(
        f"drug/{cmd.drug_id}",
        ev.PriceSet(
            drug_id=cmd.drug_id, price_per_pack=cmd.price_per_pack,
            effective_from=cmd.effective_from, pack=checks.pack(cmd.pack),
        ),
    )]


def record_introduction_decision(view: View, cmd: c.RecordIntroductionDecision) -> Facts:
    drug = checks.drug(view, cmd.drug_id)
    checks.case_ref(cmd.case_ref)
    if any(d.case_ref == cmd.case_ref for d in drug.decisions):
        raise err.AlreadyRecorded("decision", cmd.case_ref)
    return [(
        f"drug/{cmd.drug_id}",
        ev.IntroductionDecided(
            drug_id=cmd.drug_id,
            decision=cmd.decision,
            case_ref=cmd.case_ref,
            indication=checks.text("indication", cmd.indication),
            decided_on=checks.happened(view, "Beslutningsforum's decision", cmd.decided_on),
        ),
    )]


def sign_agreement(view: View, cmd: c.SignAgreement) -> Facts:
    checks.slug("agreement id", cmd.agreement_id)
    if view.agreement(cmd.agreement_id).exists:
        raise err.AlreadyRecorded("agreement", cmd.agreement_id)
    checks.company(view, cmd.company_id)
    checks.at_least("company coverage weeks", cmd.coverage_weeks, 1)
    if cmd.grant_per_patient.amount < 0:
        raise err.InvalidInput("the per-patient grant cannot be negative")
    return [(
        f"agreement/{cmd.agreement_id}",
        ev.AgreementSigned(
            agreement_id=cmd.agreement_id,
            company_id=cmd.company_id,
            signed_on=checks.happened(view, "the signing", cmd.signed_on),
            grant_per_patient=cmd.grant_per_patient,
            coverage_weeks=cmd.coverage_weeks,
        ),
    )]


def contribute_drug(view: View, cmd: c.ContributeDrug) -> Facts:
    agreement = checks.agreement(view, cmd.agreement_id)
    drug = checks.drug(view, cmd.drug_id)
    if drug.company_id != agreement.company_id:
        raise err.DrugOfAnotherCompany(cmd.drug_id, drug.company_id, agreement.company_id)
    if cmd.drug_id in agreement.slots:
        raise err.AlreadyRecorded("contribution of drug", cmd.drug_id)
    checks.at_least("patient slots", cmd.patient_slots, 1)
    return [(
        f"agreement/{cmd.agreement_id}",
        ev.DrugContributed(
            agreement_id=cmd.agreement_id,
            drug_id=cmd.drug_id,
            patient_slots=cmd.patient_slots,
            effective_from=cmd.effective_from,
        ),
    )]


def amend_agreement(view: View, cmd: c.AmendAgreement) -> Facts:
    agreement = checks.agreement(view, cmd.agreement_id)
    reason = checks.reason("the amendment", cmd.reason)
    changes = (cmd.grant_per_patient, cmd.coverage_weeks, cmd.patient_slots)
    if all(x is None for x in changes):
        raise err.InvalidInput("an amendment must change the grant, the coverage weeks or slots")
    if (cmd.drug_id is None) != (cmd.patient_slots is None):
        raise err.InvalidInput("a change of slots names both the drug and the new number of slots")
    if cmd.coverage_weeks is not None:
        checks.at_least("company coverage weeks", cmd.coverage_weeks, 1)
    if cmd.grant_per_patient is not None:
        current = agreement.grants[0].value
        if cmd.grant_per_patient.currency != current.currency:
            raise err.CurrencyDiffers(current.currency, cmd.grant_per_patient.currency)
        if cmd.grant_per_patient.amount < 0:
            raise err.InvalidInput("the per-patient grant cannot be negative")
    if cmd.drug_id is not None and cmd.patient_slots is not None:
        if cmd.drug_id not in agreement.slots:
            raise err.DrugNotContributed(cmd.agreement_id, cmd.drug_id)
        used = _enrolled_while_in_force(agreement, cmd.drug_id, cmd.effective_from)
        checks.at_least(f"patient slots (already used: {used})", cmd.patient_slots, max(used, 1))
    if agreement.signed_on and cmd.effective_from < agreement.signed_on:
        raise err.DateOutOfOrder(
            "the amendment", cmd.effective_from, "the signing", agreement.signed_on
        )
    return [(
        f"agreement/{cmd.agreement_id}",
        ev.AgreementAmended(
            agreement_id=cmd.agreement_id,
            effective_from=cmd.effective_from,
            reason=reason,
            grant_per_patient=cmd.grant_per_patient,
            coverage_weeks=cmd.coverage_weeks,
            drug_id=cmd.drug_id,
            patient_slots=cmd.patient_slots,
        ),
    )]


def _enrolled_while_in_force(agreement: st.Agreement, drug_id: str, since: date) -> int:
    """The patients enrolled by the last day a term from `since` would be in force (until the
    next term already recorded): the slots it sets must hold them all."""
    until = next((t.since for t, _ in agreement.slot_windows(drug_id) if t.since > since), None)
    if until is None:
        return agreement.used.get(drug_id, 0)
    return agreement.enrolled_before(drug_id, until)
