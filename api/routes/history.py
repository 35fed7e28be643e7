"""History: every fact about a patient, cohort or agreement with its actor and recorded time;
and the raw log for auditors."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import StringConstraints

from application import queries
from audit import history as audit_history
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

router = APIRouter(tags=["history"])
FactType = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Za-z]{1,63}$")]


@router.get("/v1/patients/{patient_id}/history", response_model=HistoryOut,
            responses=READ_PROBLEMS, summary="Every recorded fact about a patient",
            description="With actor and recorded time; a correction names the fact it "
                        "supersedes (`corrects`), which names it back (`corrected_by`).")
def patient_history(patient_id: PatientId, actor: PatientReader,
                    service: ServiceDep) -> HistoryOut:
    facts = queries.patient_history(service, actor, patient_id)
    return HistoryOut(stream=f"patient/{patient_id}", facts=history_out(facts, service.view(actor)))


@router.get("/v1/cohorts/{cohort_id}/history", response_model=HistoryOut,
            responses=READ_PROBLEMS, summary="Every recorded fact about a cohort")
def cohort_history(cohort_id: CohortId, actor: PartiesReader, service: ServiceDep) -> HistoryOut:
    facts = queries.cohort_history(service, actor, cohort_id)
    return HistoryOut(stream=f"cohort/{cohort_id}", facts=history_out(facts, service.view(actor)))


@router.get("/v1/agreements/{agreement_id}/history", response_model=HistoryOut,
            responses=READ_PROBLEMS, summary="Every recorded fact about an agreement")
def agreement_history(agreement_id: AgreementId, actor: PartiesReader,
                      service: ServiceDep) -> HistoryOut:
    facts = queries.agreement_history(service, actor, agreement_id)
    return HistoryOut(stream=f"agreement/{agreement_id}", facts=history_out(facts, service.view(actor)))


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
    page = audit_history.log_page(service.ledger.log, after, limit, (fact_type or [])[:50])
    view = service.view(actor)
    return LogPageOut(head=page.head, next_after=page.next_after,
                      facts=[log_fact_out(f, view) for f in page.facts])
