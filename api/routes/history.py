"""History: every fact about a patient, cohort or agreement with its actor and recorded time;
and the raw log for auditors."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import StringConstraints

from application import queries
from application.access import View
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


HISTORY_PAGE = 500
"""Facts a history answers at most by default (and 1 000 at most when asked): at M an
agreement's stream holds 37 000 facts, 20 MB of JSON."""
PAGED: dict[int | str, dict[str, Any]] = {200: {"headers": {"Link": {
    "description": "The next page: `<url>; rel=\"next\"` (absent on the last page).",
    "schema": {"type": "string"}}}}}
PAGING = ("A page at a time, in version order: at most `limit` facts after the version "
          "`after`. The next page's address is in the `Link` header (`rel=\"next\"`, absent "
          "on the last page) and its `after` in `next_after`. A fact's `corrected_by` and "
          "`retracted_by` name its corrections wherever they are in the stream.")
After = Annotated[int, Query(ge=0, le=2**53, description="The last version of the previous "
                                                         "page (0: from the first fact).")]
Limit = Annotated[int, Query(ge=1, le=1000, description="At most this many facts.")]


def _page(request: Request, response: Response, view: View, stream: str,
          page: queries.HistoryPage) -> HistoryOut:
    if page.next_after is not None:
        following = request.url.include_query_params(after=page.next_after)
        response.headers["Link"] = f'<{following}>; rel="next"'
    return HistoryOut(stream=stream, facts=history_out(page.facts, view, page.later),
                      next_after=page.next_after)


@router.get("/v1/patients/{patient_id}/history", response_model=HistoryOut,
            responses={**READ_PROBLEMS, **PAGED}, summary="Every recorded fact about a patient",
            description="With actor and recorded time; a correction names the fact it "
                        "supersedes (`corrects`), which names it back (`corrected_by`). "
                        + PAGING)
def patient_history(request: Request, response: Response, patient_id: PatientId,
                    actor: PatientReader, service: ServiceDep, after: After = 0,
                    limit: Limit = HISTORY_PAGE) -> HistoryOut:
    page = queries.patient_history(service, actor, patient_id, after, limit)
    return _page(request, response, service.view(actor), f"patient/{patient_id}", page)


@router.get("/v1/cohorts/{cohort_id}/history", response_model=HistoryOut,
            responses={**READ_PROBLEMS, **PAGED}, summary="Every recorded fact about a cohort",
            description="Facts naming a patient you may not see are left out. " + PAGING)
def cohort_history(request: Request, response: Response, cohort_id: CohortId,
                   actor: PartiesReader, service: ServiceDep, after: After = 0,
                   limit: Limit = HISTORY_PAGE) -> HistoryOut:
    page = queries.cohort_history(service, actor, cohort_id, after, limit)
    return _page(request, response, service.view(actor), f"cohort/{cohort_id}", page)


@router.get("/v1/agreements/{agreement_id}/history", response_model=HistoryOut,
            responses={**READ_PROBLEMS, **PAGED},
            summary="Every recorded fact about an agreement",
            description="Facts naming a patient you may not see are left out. " + PAGING)
def agreement_history(request: Request, response: Response, agreement_id: AgreementId,
                      actor: PartiesReader, service: ServiceDep, after: After = 0,
                      limit: Limit = HISTORY_PAGE) -> HistoryOut:
    page = queries.agreement_history(service, actor, agreement_id, after, limit)
    return _page(request, response, service.view(actor), f"agreement/{agreement_id}", page)


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
