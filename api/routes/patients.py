"""Patients: enrolment, treatment, transfers, assessments, dispensations, corrections, grants."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from application import queries
from application.access import PARTNER, TRIAL_OFFICE
from api.deps import READ_PROBLEMS, MinPosition, PatientId, PatientReader, ServiceDep
from api.schemas.types import STUDY_ID_PATTERN
from projections import queries as read
from projections.payers import PAGE
from api.routes.common import post_command
from api.routes.present import patient_out
from api.schemas import requests as rq
from api.schemas.responses import PatientOut

router = APIRouter(tags=["patients"])
T = [TRIAL_OFFICE]

post_command(router, "/v1/patients", rq.EnrolmentIn, T,
             summary="Enrol a patient (pseudonymous study ID) in a cohort at a health trust")


PAGED: dict[int | str, dict[str, Any]] = {200: {"headers": {
    "Link": {"description": "The next page: `<url>; rel=\"next\"` (absent on the last page).",
             "schema": {"type": "string"}},
    "X-Total-Count": {"description": "How many patients the whole list holds.",
                      "schema": {"type": "integer"}}}}}


@router.get("/v1/patients", response_model=list[PatientOut],
            responses={**READ_PROBLEMS, **PAGED},
            summary="Patients visible to you (partner: under your agreements; RHF: your region)",
            description="A page at a time, by patient id: at most `limit` patients after the "
                        "patient `after`. The next page's address is in the `Link` header "
                        "(`rel=\"next\"`, absent on the last page), and how many patients "
                        "the whole list holds in `X-Total-Count`. The list is the read models' "
                        "(give `min_position` to see your own write); each patient as the log "
                        "holds it now.")
def patients(request: Request, response: Response, actor: PatientReader, service: ServiceDep,
             min_position: MinPosition,
             after: Annotated[str | None, Query(pattern=STUDY_ID_PATTERN, description="The "
                                                "last patient of the previous page.")] = None,
             limit: Annotated[int, Query(ge=1, le=PAGE)] = PAGE) -> list[PatientOut]:
    page = read.patients(service.models, actor, after=after, limit=limit,
                         min_position=min_position, wait=service.wait)
    response.headers["X-Total-Count"] = str(page.total)
    if page.after is not None:
        following = request.url.include_query_params(after=page.after)
        response.headers["Link"] = f'<{following}>; rel="next"'
    view = service.view(actor).judged(row.patient_id for row in page.rows)
    return [patient_out(queries.patient_in(view, row.patient_id))
            for row in page.rows]


@router.get("/v1/patients/{patient_id}", response_model=PatientOut, responses=READ_PROBLEMS,
            summary="One patient as currently known")
def patient(patient_id: PatientId, actor: PatientReader, service: ServiceDep) -> PatientOut:
    return patient_out(queries.patient(service, actor, patient_id))


P = "/v1/patients/{patient_id}"
post_command(router, f"{P}/treatment-start", rq.TreatmentStartIn, T, summary="Start treatment")
post_command(router, f"{P}/treatment-end", rq.TreatmentEndIn, T, summary="End treatment")
post_command(router, f"{P}/transfers", rq.TransferIn, T,
             summary="The patient is treated by another health trust from a date")
post_command(router, f"{P}/assessments", rq.AssessmentIn, T,
             summary="Record the 16-week assessment",
             description="Benefit (response or stable disease) lets the public side take over "
                         "after the company's weeks, where a group exemption is in force.")
post_command(router, f"{P}/dispensations", rq.DispensationIn, T,
             summary="Record packs dispensed on a date")
post_command(router, f"{P}/corrections/treatment-start", rq.TreatmentStartCorrectionIn, T,
             summary="Correct the treatment start (the wrong fact stays in history)")
post_command(router, f"{P}/corrections/assessment", rq.AssessmentCorrectionIn, T,
             summary="Correct the 16-week assessment")
post_command(router, f"{P}/corrections/treatment-end", rq.TreatmentEndCorrectionIn, T,
             summary="Correct the end of treatment")
post_command(router, f"{P}/corrections/enrolment-hf", rq.EnrolmentHfCorrectionIn, T,
             summary="Correct the health trust of enrolment")
post_command(router, f"{P}/corrections/dispensation", rq.DispensationCorrectionIn, T,
             summary="Correct a dispensation (0 packs voids it)")
post_command(router, f"{P}/grant/invoices", rq.GrantInvoiceIn, T,
             summary="Record that the per-patient grant was invoiced to the company")
post_command(router, f"{P}/grant/payments", rq.GrantPaymentIn, [TRIAL_OFFICE, PARTNER],
             summary="Record a payment of the per-patient grant",
             description="A partner records payments for its own patients only.")
