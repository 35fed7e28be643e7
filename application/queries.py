"""What an actor may read about parties, patients and who pays: the query functions that the
API's routes and the web pages both call, so each question is answered in one place (and moves
to the read models in one place, issue 11).

Each function filters through the actor's view (application.access): what the actor may not see
is refused as unknown, exactly as if it did not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from application.access import View
from application.ledger import Answer
from application.service import Service
from domain import errors as err
from domain import state as st
from domain.financing import Interval, Payer, payer_on
from domain.values import Actor
from eventstore import StoredFact


def _ids(service: Service, prefix: str) -> list[str]:
    return [s.partition("/")[2] for s in service.ledger.log.streams(prefix)]


# --- reference data and parties ---------------------------------------------------------------


def health_trusts(service: Service) -> list[st.HealthTrust]:
    return list(service.ledger.workspace().registry().trusts.values())


def companies(service: Service, actor: Actor) -> list[st.Company]:
    view = service.view(actor)
    return [view.ws.company(i) for i in _ids(service, "company/") if view.company(i)]


def company(service: Service, actor: Actor, company_id: str) -> st.Company:
    view = service.view(actor)
    found = view.ws.company(company_id)
    if not found.exists or not view.company(company_id):
        raise err.UnknownCompany(company_id)
    return found


def drugs(service: Service, actor: Actor) -> list[st.Drug]:
    view = service.view(actor)
    found = [view.ws.drug(i) for i in _ids(service, "drug/")]
    return [d for d in found if d.exists and view.drug(d)]


def drug(service: Service, actor: Actor, drug_id: str) -> st.Drug:
    view = service.view(actor)
    found = view.ws.drug(drug_id)
    if not found.exists or not view.drug(found):
        raise err.UnknownDrug(drug_id)
    return found


def agreements(service: Service, actor: Actor) -> list[st.Agreement]:
    view = service.view(actor)
    found = [view.ws.agreement(i) for i in _ids(service, "agreement/")]
    return [a for a in found if a.exists and view.agreement(a)]


def agreement(service: Service, actor: Actor, agreement_id: str) -> st.Agreement:
    view = service.view(actor)
    found = view.ws.agreement(agreement_id)
    if not found.exists or not view.agreement(found):
        raise err.UnknownAgreement(agreement_id)
    return found


def cohorts(service: Service, actor: Actor) -> list[st.Cohort]:
    view = service.view(actor)
    found = [view.ws.cohort(i) for i in _ids(service, "cohort/")]
    return [c for c in found if c.exists and view.cohort(c)]


def cohort(service: Service, actor: Actor, cohort_id: str) -> st.Cohort:
    view = service.view(actor)
    found = view.ws.cohort(cohort_id)
    if not found.exists or not view.cohort(found):
        raise err.UnknownCohort(cohort_id)
    return found


# --- patients ---------------------------------------------------------------------------------


def patients(service: Service, actor: Actor) -> list[st.Patient]:
    view = service.view(actor)
    found = [view.ws.patient(i) for i in _ids(service, "patient/")]
    return [p for p in found if p.exists and view.patient(p)]


def patient(service: Service, actor: Actor, patient_id: str) -> st.Patient:
    view = service.view(actor)
    found = view.ws.patient(patient_id)
    if not found.exists or not view.patient(found):
        raise err.UnknownPatient(patient_id)
    return found


def visible_patient(service: Service, actor: Actor, patient_id: str) -> None:
    """Refuse a patient the actor may not see (or that does not exist) as unknown."""
    if not service.view(actor).patient_id(patient_id):
        raise err.UnknownPatient(patient_id)


def who_pays(service: Service, actor: Actor, patient_id: str, on: date, *,
             known_at: datetime | None = None, position: int | None = None) -> Answer:
    visible_patient(service, actor, patient_id)
    return service.ledger.who_pays(patient_id, on, known_at=known_at, position=position)


def timeline(service: Service, actor: Actor, patient_id: str,
             at: int) -> tuple[Interval, ...]:
    """The patient's payers over time as known at log position `at`."""
    visible_patient(service, actor, patient_id)
    return service.ledger.timeline(patient_id, position=at)


@dataclass(frozen=True)
class PayerRow:
    patient_id: str
    payer: Payer


def payers(service: Service, actor: Actor, on: date, at: int) -> list[PayerRow]:
    """Who pays on a date for every patient the actor may see, as known at position `at`."""
    view = service.view(actor)
    return [PayerRow(case.patient.patient_id, payer_on(case, on))
            for case in service.ledger.cases(up_to=at) if view.patient_id(case.patient.patient_id)]


# --- history ------------------------------------------------------------------------------------


def _patients_visible(view: View, facts: list[StoredFact]) -> list[StoredFact]:
    """Facts naming a patient the actor may not see are left out (an RHF sees its region)."""
    return [f for f in facts
            if not isinstance(f.data.get("patient_id"), str) or view.patient_id(f.data["patient_id"])]


def patient_history(service: Service, actor: Actor, patient_id: str) -> list[StoredFact]:
    patient(service, actor, patient_id)
    return service.ledger.history(f"patient/{patient_id}")


def cohort_history(service: Service, actor: Actor, cohort_id: str) -> list[StoredFact]:
    cohort(service, actor, cohort_id)
    return _patients_visible(service.view(actor), service.ledger.history(f"cohort/{cohort_id}"))


def agreement_history(service: Service, actor: Actor, agreement_id: str) -> list[StoredFact]:
    agreement(service, actor, agreement_id)
    return _patients_visible(service.view(actor),
                             service.ledger.history(f"agreement/{agreement_id}"))
