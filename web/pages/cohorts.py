"""Cohorts: the list, and one cohort's stage progress (8 -> 24 -> expansion) with benefit at
16 weeks, its group exemptions over time, and its patients."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from application import access, queries
from projections import queries as who_pays
from domain.values import EXPANSION_RULE, STAGE_2_RULE
from web.pages.common import ServiceDep
from web.render import page
from web.session import SignedIn

router = APIRouter()


@router.get("/cohorts")
def cohort_list(request: Request, actor: SignedIn, service: ServiceDep) -> Response:
    return page(request, "pages/cohorts.html", actor=actor,
                cohorts=queries.cohorts(service, actor))


@router.get("/cohorts/{cohort_id}")
def cohort_page(request: Request, cohort_id: str, actor: SignedIn,
                service: ServiceDep) -> Response:
    cohort = queries.cohort(service, actor, cohort_id)
    patients = (who_pays.patient_rows(service.models, actor, "p.cohort_id = ?", [cohort_id],
                                      min_position=service.ledger.head(), wait=service.wait)
                if actor.role in access.READ_PATIENTS else None)
    return page(request, "pages/cohort.html", actor=actor, cohort=cohort,
                progress=queries.cohort_progress(service, actor, cohort_id), patients=patients,
                rules={2: STAGE_2_RULE, 3: EXPANSION_RULE})
