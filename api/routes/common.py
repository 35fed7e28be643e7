"""What every command endpoint does: authenticate in an allowed role, validate the body, build
the command with the ids from the path, record it (idempotently), answer with the receipt."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from api import deps
from api.schemas import Body
from api.schemas.responses import FactOut, ReceiptOut
from api.served import Served
from application.ledger import Fact, Receipt
from domain.values import Actor

REPLAYED = "Idempotent-Replayed"


def fact_out(fact: Fact) -> FactOut:
    return FactOut(position=fact.position, stream=fact.stream, version=fact.version,
                   type=fact.type, recorded_at=fact.recorded_at)


def receipt_out(receipt: Receipt) -> ReceiptOut:
    return ReceiptOut(position=receipt.position, facts=[fact_out(f) for f in receipt.facts])


def mark(receipt: Receipt, response: Response) -> Receipt:
    if receipt.replayed:
        response.headers[REPLAYED] = "true"
    return receipt


_PATH_TYPES = {
    "patient_id": deps.PatientId, "drug_id": deps.DrugId, "agreement_id": deps.AgreementId,
    "cohort_id": deps.CohortId, "company_id": deps.CompanyId,
}


def post_command(router: APIRouter, path: str, body: type[Body], roles: Sequence[str], *,
                 summary: str, description: str | None = None) -> None:
    """Add `POST path`: records `body.COMMAND` for an actor in one of `roles`."""
    path_names = list(body.PATH)

    def endpoint(**kwargs: Any) -> ReceiptOut:
        service: Served = kwargs["service"]
        command = kwargs["body"].command(**{name: kwargs[name] for name in path_names})
        receipt = service.record([command], kwargs["actor"], kwargs["key"])
        return receipt_out(mark(receipt, kwargs["response"]))

    params = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=_PATH_TYPES[name])
              for name in path_names]
    params += [
        inspect.Parameter("body", inspect.Parameter.KEYWORD_ONLY, annotation=body),
        inspect.Parameter("actor", inspect.Parameter.KEYWORD_ONLY,
                          annotation=Annotated[Actor, Depends(deps.role(*roles))]),
        inspect.Parameter("service", inspect.Parameter.KEYWORD_ONLY, annotation=deps.ServiceDep),
        inspect.Parameter("key", inspect.Parameter.KEYWORD_ONLY, annotation=deps.IdempotencyKey),
        inspect.Parameter("response", inspect.Parameter.KEYWORD_ONLY, annotation=Response),
    ]
    signature = inspect.Signature(params, return_annotation=ReceiptOut)
    endpoint.__signature__ = signature  # type: ignore[attr-defined]
    endpoint.__name__ = body.COMMAND.__name__
    who = ", ".join(roles)
    doc = (body.COMMAND.__doc__ or "").strip()
    if doc.startswith(body.COMMAND.__name__ + "("):
        doc = ""  # the dataclass's generated signature, not prose
    router.add_api_route(
        path, endpoint, methods=["POST"], status_code=201, response_model=ReceiptOut,
        responses=deps.WRITE_PROBLEMS, summary=summary, operation_id=body.COMMAND.__name__,
        description=(description or doc) +
        f"\n\nRecords `{body.COMMAND.__name__}`. Roles: {who}.",
    )
