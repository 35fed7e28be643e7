"""Who pays for a patient's drug on a date, as known now or at an earlier moment."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BeforeValidator

from api import deps
from application import queries
from api.deps import READ_PROBLEMS, PatientId, PatientReader, ServiceDep
from api.routes.present import payer_out
from api.schemas.responses import IntervalOut, PayerRowOut, PayersOut, TimelineOut, WhoPaysOut
from api.schemas.types import Day

router = APIRouter(tags=["who pays"])


def _plus_restored(value: Any) -> Any:
    # An unencoded '+' in a query string arrives as a space: "2024-03-01T12:00:00 01:00".
    if isinstance(value, str):
        return re.sub(r" ([0-9]{2}:?[0-9]{2})$", r"+\1", value)
    return value


On = Annotated[Day, Query(description="The date asked about (YYYY-MM-DD).",
                          examples=["2023-10-02"])]
KnownAt = Annotated[datetime | None, BeforeValidator(_plus_restored), Query(
    description="Answer as the ledger knew it at this moment (ISO 8601; without an offset: "
                "Oslo time). Default: now.", examples=["2023-10-15T12:00:00Z"])]
Position = Annotated[int | None, Query(ge=0, le=2**53, description="Answer as of this log "
                                       "position instead of a moment.")]


@router.get("/v1/patients/{patient_id}/payer", response_model=WhoPaysOut, responses=READ_PROBLEMS,
            summary="Who pays for the patient's drug on a date, and why",
            description="The answer names the recorded facts it rests on (`basis`). With "
                        "`known_at`, the answer the ledger would have given at that moment.")
def who_pays(patient_id: PatientId, on: On, actor: PatientReader, service: ServiceDep,
             known_at: KnownAt = None, position: Position = None) -> WhoPaysOut:
    answer = queries.who_pays(service, actor, patient_id, on,
                              position=deps.known_position(service, known_at, position))
    return WhoPaysOut(patient_id=patient_id, on=answer.on,
                      known_at_position=answer.known_at_position,
                      payer=payer_out(answer.payer, service.view(actor)))


@router.get("/v1/patients/{patient_id}/timeline", response_model=TimelineOut,
            responses=READ_PROBLEMS, summary="The patient's payers over time, from enrolment on")
def payer_timeline(patient_id: PatientId, actor: PatientReader, service: ServiceDep,
                   known_at: KnownAt = None, position: Position = None) -> TimelineOut:
    at = deps.known_position(service, known_at, position)
    intervals = queries.timeline(service, actor, patient_id, at)
    view = service.view(actor)
    return TimelineOut(patient_id=patient_id, known_at_position=at, intervals=[
        IntervalOut(start=i.start, end=i.end, payer=payer_out(i.payer, view)) for i in intervals])


@router.get("/v1/payers", response_model=PayersOut, responses=READ_PROBLEMS,
            summary="Who pays on a date, for every patient visible to you",
            description="An RHF officer sees the patients of its region; a partner its own.")
def payers(on: On, actor: PatientReader, service: ServiceDep, known_at: KnownAt = None,
           position: Position = None) -> PayersOut:
    at = deps.known_position(service, known_at, position)
    view = service.view(actor)
    rows = [PayerRowOut(patient_id=r.patient_id, payer=payer_out(r.payer, view))
            for r in queries.payers(service, actor, on, at)]
    return PayersOut(on=on, known_at_position=at, patients=rows)



