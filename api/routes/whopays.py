"""Who pays for a patient's drug on a date, as known now or at an earlier moment."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BeforeValidator

from api import deps
from api.deps import READ_PROBLEMS, MinPosition, PatientId, PatientReader, ServiceDep
from api.problems import Problem
from api.served import Served
from api.routes.present import payer_out
from api.schemas.responses import IntervalOut, PayerRowOut, PayersOut, TimelineOut, WhoPaysOut
from api.schemas.types import STUDY_ID_PATTERN, Day
from domain.values import Actor
from projections import queries
from projections.payers import PAGE

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
async def who_pays(patient_id: PatientId, on: On, actor: PatientReader, service: ServiceDep,
                   min_position: MinPosition, known_at: KnownAt = None,
                   position: Position = None) -> WhoPaysOut:
    return await answer(service, actor, patient_id, on, min_position=min_position,
                        known_at=known_at, position=position)


async def answer(service: Served, actor: Actor, patient_id: str, on: date, *,
                 min_position: int | None, known_at: datetime | None, position: int | None
                 ) -> WhoPaysOut:
    """The route's answer, once its arguments are validated (also api.fastpath's)."""
    found = await service.who_pays(actor, patient_id, on, min_position=min_position,
                                   at=await asked_position(service, known_at, position))
    view = service.view(actor).judged([patient_id])
    return WhoPaysOut(patient_id=patient_id, on=found.on,
                      known_at_position=found.known_at_position,
                      payer=payer_out(found.payer, view))


@router.get("/v1/patients/{patient_id}/timeline", response_model=TimelineOut,
            responses=READ_PROBLEMS, summary="The patient's payers over time, from enrolment on")
async def payer_timeline(patient_id: PatientId, actor: PatientReader, service: ServiceDep,
                         min_position: MinPosition, known_at: KnownAt = None,
                         position: Position = None) -> TimelineOut:
    at, intervals = await service.read(queries.timeline, service.models, actor, patient_id,
                                       at=await asked_position(service, known_at, position),
                                       min_position=min_position, wait=service.wait)
    view = service.view(actor).judged([patient_id])
    return TimelineOut(patient_id=patient_id, known_at_position=at, intervals=[
        IntervalOut(start=i.start, end=i.end, payer=payer_out(i.payer, view)) for i in intervals])


@router.get("/v1/payers", response_model=PayersOut, responses=READ_PROBLEMS,
            summary="Who pays on a date, for every patient visible to you, a page at a time",
            description="An RHF officer sees the patients of its region; a partner its own. "
                        "Pages follow the patient id: ask for the next page with `after` = "
                        "the page's `next_after` (null on the last page).")
def payers(on: On, actor: PatientReader, service: ServiceDep, min_position: MinPosition,
           known_at: KnownAt = None, position: Position = None,
           after: Annotated[str | None, Query(pattern=STUDY_ID_PATTERN, description="The last "
                                              "patient of the previous page.")] = None,
           limit: Annotated[int, Query(ge=1, le=PAGE)] = PAGE) -> PayersOut:
    at = asked_position_now(service, known_at, position)
    page = queries.payers(service.models, actor, on, at=at, min_position=min_position,
                          after=after, limit=limit, wait=service.wait)
    view = service.view(actor).judged(r.patient_id for r in page.rows)
    rows = [PayerRowOut(patient_id=r.patient_id, payer=payer_out(r.payer, view))
            for r in page.rows]
    return PayersOut(on=on, known_at_position=page.position, patients=rows,
                     next_after=page.after)


def asked_position_now(service: Served, known_at: datetime | None, position: int | None
                       ) -> int | None:
    """The log position a moment or a position asks for; None: what the read models hold."""
    if known_at is not None and position is not None:
        raise Problem(422, "invalid-request", "give known_at or position, not both")
    if known_at is None and position is None:
        return None
    return service.ledger.position(deps.moment(known_at, "known_at"), position)


async def asked_position(service: Served, known_at: datetime | None, position: int | None
                         ) -> int | None:
    """The same from an `async def` endpoint: the log is read in the thread pool, and only if
    a moment or a position was asked for (as known now reads no log)."""
    if known_at is None and position is None:
        return None
    return await run_in_threadpool(asked_position_now, service, known_at, position)
