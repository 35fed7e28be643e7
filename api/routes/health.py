"""Liveness and readiness (no token needed), and who the caller is."""

from __future__ import annotations

import structlog
from fastapi import APIRouter

from api.deps import READ_PROBLEMS, AnyRole, ServiceDep
from api.problems import Problem
from api.schemas.responses import HealthOut, MeOut, ReadyOut
from application.ledger import StorageError

router = APIRouter(tags=["health"])
log = structlog.get_logger("impress.api")


@router.get("/health", response_model=HealthOut, summary="Liveness: the process answers",
            responses={422: READ_PROBLEMS[422]})
async def health() -> HealthOut:
    return HealthOut(status="ok")


@router.get("/ready", response_model=ReadyOut, summary="Readiness: the ledger's database answers",
            responses={422: READ_PROBLEMS[422], 503: READ_PROBLEMS[503]})
def ready(service: ServiceDep) -> ReadyOut:
    try:
        return ReadyOut(status="ready", head=service.ledger.ready())
    except StorageError as e:
        # The reason names hosts and ports: for the operator's log, not for anyone who asks.
        log.warning("not_ready", reason=str(e))
        raise Problem(503, "storage-unavailable", "the ledger's database does not answer",
                      headers={"Retry-After": "2"}) from None


@router.get("/v1/me", response_model=MeOut, responses=READ_PROBLEMS,
            summary="The actor your token stands for: subject, role, organisation")
async def me(actor: AnyRole) -> MeOut:
    return MeOut(subject=actor.subject, role=actor.role, organisation=actor.organisation)
