"""The daily tick over HTTP, for a scheduler with its own role (docs/scheduler.md).

`POST /v1/tick` records what the passage of time has made true (company coverage ended, public
takeovers, grants falling due) for the patients the due-date index names. Idempotent: a second
tick the same day records nothing. Only the `scheduler` role may call it, and it reads nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api import deps
from api.deps import WRITE_PROBLEMS, ServiceDep
from api.routes.common import receipt_out
from api.schemas.responses import ReceiptOut
from application import access
from domain.values import Actor

router = APIRouter(tags=["scheduler"])
Scheduler = Annotated[Actor, Depends(deps.role(*access.TICK))]


@router.post("/v1/tick", response_model=ReceiptOut, responses=WRITE_PROBLEMS,
             summary="Record what the passage of time has made true (daily; idempotent)",
             description="For a scheduler (role `scheduler`): brings the read models up to the "
                         "log, then reconciles the patients with something due by today "
                         "(Oslo time). The facts it records are the ledger's own, each naming "
                         "its basis; a second call the same day records nothing.")
def tick(actor: Scheduler, service: ServiceDep) -> ReceiptOut:
    from projections.due import DueIndex
    from projections.whopays import WhoPaysView

    ledger = service.ledger
    models = WhoPaysView(ledger.log.url)
    try:
        receipt = ledger.tick(due=DueIndex(ledger, models))
    finally:
        models.close()
    return receipt_out(receipt)
