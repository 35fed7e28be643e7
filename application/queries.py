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
from domain.financing import Case, Interval, Payer, payer_on
from domain.values import EXPANSION, STAGE_1, STAGE_2, STAGE_LIMITS, Actor
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


# --- one patient's picture, as known at two moments ---------------------------------------------


def case(service: Service, actor: Actor, patient_id: str, at: int) -> Case:
    """The patient's case (patient, cohort, agreement, registry) as known at position `at`."""
    visible_patient(service, actor, patient_id)
    return service.ledger.case(patient_id, up_to=at)


@dataclass(frozen=True)
class Change:
    before: tuple[Interval, ...]
    after: tuple[Interval, ...]
    facts: list[StoredFact]  # recorded after `before`'s position, up to `after`'s, that it reads


def changes_between(service: Service, actor: Actor, patient_id: str, before: int,
                    after: int) -> Change:
    """The patient's payers as known at two positions, and the facts recorded in between in
    the streams the answer reads (the patient's, its cohort's, its agreement's)."""
    if before > after:
        before, after = after, before
    visible_patient(service, actor, patient_id)
    old = service.ledger.timeline(patient_id, position=before) if _exists_at(
        service, patient_id, before) else ()
    new = service.ledger.timeline(patient_id, position=after)
    known = service.ledger.case(patient_id, up_to=after).patient
    streams = (f"patient/{patient_id}", f"cohort/{known.cohort_id}",
               f"agreement/{known.agreement_id}")
    facts = sorted((f for s in streams for f in service.ledger.log.stream(s, up_to=after)
                    if f.position > before), key=lambda f: f.position)
    return Change(old, new, _patients_visible(service.view(actor), facts))


def _exists_at(service: Service, patient_id: str, at: int) -> bool:
    return bool(service.ledger.log.stream(f"patient/{patient_id}", up_to=at))


# --- a cohort's progress through the stages ------------------------------------------------------


@dataclass(frozen=True)
class StageProgress:
    stage: int
    enrolled: int
    places: int | None  # None: the expansion cohort's size is open
    assessed: int  # 16-week assessments recorded
    benefit: int  # of which with benefit (response or stable disease)


def cohort_progress(service: Service, actor: Actor, cohort_id: str) -> list[StageProgress]:
    """Patients and 16-week benefit per stage (counts over the whole cohort, no patient ids)."""
    found = cohort(service, actor, cohort_id)
    ws = service.ledger.workspace()
    out = []
    for stage in (STAGE_1, STAGE_2, EXPANSION):
        admitted = [pid for pid, s in found.admitted if s == stage]
        assessments = [a for a in (ws.patient(pid).assessment for pid in admitted) if a]
        places = (STAGE_LIMITS[stage] - (STAGE_LIMITS[STAGE_1] if stage == STAGE_2 else 0)
                  if stage in STAGE_LIMITS else found.expansion_size)
        out.append(StageProgress(stage, len(admitted), places, len(assessments),
                                 sum(1 for a in assessments if a.outcome.is_benefit)))
    return out
