"""History: every fact about a patient, cohort or agreement with its actor and recorded time;
and the raw log for auditors."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import StringConstraints

from application.access import View
from api.deps import (
    READ_PROBLEMS,
    AgreementId,
    Auditor,
    CohortId,
    PartiesReader,
    PatientId,
    PatientReader,
    ServiceDep,
)
from api.routes.present import history_out, log_fact_out
from api.schemas.responses import HistoryOut, LogPageOut
from domain import errors as err
from eventstore import StoredFact

router = APIRouter(tags=["history"])
FactType = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Za-z]{1,63}$")]


def _patients_visible(view: View, facts: list[StoredFact]) -> list[StoredFact]:
    """Facts naming a patient the actor may not see are left out (an RHF sees its region)."""
    return [f for f in facts
            if not isinstance(f.data.get("patient_id"), str) or view.patient_id(f.data["patient_id"])]


@router.get("/v1/patients/{patient_id}/history", response_model=HistoryOut,
            responses=READ_PROBLEMS, summary="Every recorded fact about a patient",
            description="With actor and recorded time; a correction names the fact it "
                        "supersedes (`corrects`), which names it back (`corrected_by`).")
def patient_history(patient_id: PatientId, actor: PatientReader,
                    service: ServiceDep) -> HistoryOut:
    view = service.view(actor)
    found = view.ws.patient(patient_id)
    if not found.exists or not view.patient(found):
        raise err.UnknownPatient(patient_id)
    stream = f"patient/{patient_id}"
    return HistoryOut(stream=stream, facts=history_out(service.ledger.history(stream)))


@router.get("/v1/cohorts/{cohort_id}/history", response_model=HistoryOut,
            responses=READ_PROBLEMS, summary="Every recorded fact about a cohort")
def cohort_history(cohort_id: CohortId, actor: PartiesReader, service: ServiceDep) -> HistoryOut:
    view = service.view(actor)
    found = view.ws.cohort(cohort_id)
    if not found.exists or not view.cohort(found):
        raise err.UnknownCohort(cohort_id)
    stream = f"cohort/{cohort_id}"
    facts = _patients_visible(view, service.ledger.history(stream))
    return HistoryOut(stream=stream, facts=history_out(facts))


@router.get("/v1/agreements/{agreement_id}/history", response_model=HistoryOut,
            responses=READ_PROBLEMS, summary="Every recorded fact about an agreement")
def agreement_history(agreement_id: AgreementId, actor: PartiesReader,
                      service: ServiceDep) -> HistoryOut:
    view = service.view(actor)
    found = view.ws.agreement(agreement_id)
    if not found.exists or not view.agreement(found):
        raise err.UnknownAgreement(agreement_id)
    stream = f"agreement/{agreement_id}"
    facts = _patients_visible(view, service.ledger.history(stream))
    return HistoryOut(stream=stream, facts=history_out(facts))


@router.get("/v1/log", response_model=LogPageOut, responses=READ_PROBLEMS,
            summary="The raw log, in commit order (auditors)",
            description="Page with `after` (a position) and `limit`; `next_after` is null at "
                        "the end. Every fact as stored: data, valid date, actor, recorded time.")
def raw_log(actor: Auditor, service: ServiceDep,
            after: Annotated[int, Query(ge=0, le=2**53)] = 0,
            limit: Annotated[int, Query(ge=1, le=1000)] = 100,
            fact_type: Annotated[list[FactType] | None, Query(
                alias="type", description="Only these fact types, e.g. AssessmentCorrected")] = None,
            ) -> LogPageOut:
    log = service.ledger.log
    types = (fact_type or [])[:50]
    facts = []
    for fact in log.read(after=after, types=types, batch=limit + 1):
        facts.append(fact)
        if len(facts) > limit:
            break
    more = len(facts) > limit
    facts = facts[:limit]
    return LogPageOut(head=log.head(), next_after=facts[-1].position if more else None,
                      facts=[log_fact_out(f) for f in facts])
