"""Cohorts: opening, stage decisions, closing; group exemptions and permanent financing."""

from __future__ import annotations

from fastapi import APIRouter

from application import queries
from application.access import DECISION_FORUM, TRIAL_OFFICE
from api.deps import READ_PROBLEMS, CohortId, PartiesReader, ServiceDep
from api.routes.common import post_command
from api.routes.present import cohort_out
from api.schemas.requests import (
    ClosureIn,
    CohortIn,
    ExemptionIn,
    ExemptionRevocationIn,
    PermanentFinancingIn,
    StageDecisionIn,
)
from api.schemas.responses import CohortOut

router = APIRouter(tags=["cohorts"])

post_command(router, "/v1/cohorts", CohortIn, [TRIAL_OFFICE],
             summary="Open a cohort (stage 1, or expansion on partner-trial evidence)")


@router.get("/v1/cohorts", response_model=list[CohortOut], responses=READ_PROBLEMS,
            summary="Cohorts (a partner sees those under its agreements)")
def cohorts(actor: PartiesReader, service: ServiceDep) -> list[CohortOut]:
    return [cohort_out(c) for c in queries.cohorts(service, actor)]


@router.get("/v1/cohorts/{cohort_id}", response_model=CohortOut, responses=READ_PROBLEMS,
            summary="One cohort: stage, patients per stage, exemptions, permanent financing")
def cohort(cohort_id: CohortId, actor: PartiesReader, service: ServiceDep) -> CohortOut:
    return cohort_out(queries.cohort(service, actor, cohort_id))


post_command(router, "/v1/cohorts/{cohort_id}/stage-decisions", StageDecisionIn, [TRIAL_OFFICE],
             summary="Open the next stage (2, or 3: the expansion cohort)",
             description="Stage 2 needs >= 1 of the first 8 with benefit at 16 weeks; an "
                         "expansion cohort >= 5 of the first 24, or partner-trial evidence.")
post_command(router, "/v1/cohorts/{cohort_id}/closure", ClosureIn, [TRIAL_OFFICE],
             summary="Close a cohort")
post_command(router, "/v1/cohorts/{cohort_id}/exemptions", ExemptionIn, [DECISION_FORUM],
             summary="Grant a group exemption (gruppeunntak) for the cohort",
             description="Only for a drug already introduced in Norway for an indication.")
post_command(router, "/v1/cohorts/{cohort_id}/exemption-revocations", ExemptionRevocationIn,
             [DECISION_FORUM], summary="Revoke a group exemption from a date")
post_command(router, "/v1/cohorts/{cohort_id}/permanent-financing", PermanentFinancingIn,
             [DECISION_FORUM], summary="Record the RHFs' decision on permanent financing")
