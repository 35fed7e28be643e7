"""FastAPI dependencies: the service, the authenticated actor in an allowed role, path
parameters, the Idempotency-Key header, and the documented error answers of each operation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Header, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from application import access
from application.idempotency import KEY_PATTERN
from api.problems import Problem
from api.schemas.types import FIRST_DAY, LAST_DAY, SLUG_PATTERN, STUDY_ID_PATTERN
from application.service import Service
from domain.values import Actor

OSLO = ZoneInfo("Europe/Oslo")
bearer = HTTPBearer(auto_error=False, description="An OpenID Connect access token (JWT).")


def known_query_only(request: Request) -> None:
    """Unknown query parameters are refused: a typo such as `know_at` must not silently answer
    "as known now"."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    allowed = _query_names(dependant)
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        names = ", ".join(repr(n[:40]) for n in unknown[:5])
        raise Problem(422, "unknown-query-parameter",
                      f"unknown query parameter {names}; this operation takes "
                      f"{', '.join(sorted(allowed)) or 'none'}")


def _query_names(dependant: Any) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]


def authenticated(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor:
    header = request.headers.get("authorization")
    actor: Actor = request.app.state.auth.actor(header, request.state.request_id)
    request.state.actor = actor
    return actor


def role(*roles: str) -> Callable[..., Actor]:
    """A dependency: the authenticated actor, if its role is one of `roles` (else 403)."""
    allowed = frozenset(roles)

    def check(actor: Annotated[Actor, Depends(authenticated)]) -> Actor:
        if actor.role not in allowed:
            raise Problem(403, "forbidden",
                          f"the role {actor.role} may not do this (allowed: "
                          f"{', '.join(sorted(allowed))})")
        return actor

    return check


AnyRole = Annotated[Actor, Depends(authenticated)]
ReferenceReader = Annotated[Actor, Depends(role(*access.READ_REFERENCE))]
PartiesReader = Annotated[Actor, Depends(role(*access.READ_PARTIES))]
PatientReader = Annotated[Actor, Depends(role(*access.READ_PATIENTS))]
Auditor = Annotated[Actor, Depends(role(*access.READ_LOG))]
Importer = Annotated[Actor, Depends(role(*access.IMPORT))]


def idempotency_key(
    key: Annotated[str | None, Header(
        alias="Idempotency-Key", json_schema_extra={"maxLength": 200, "pattern": KEY_PATTERN.pattern},
        description="Any unique printable ASCII text (e.g. a UUID). A retry with the same key "
                    "returns the first result and records nothing new.",
        examples=["9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"])] = None,
) -> str | None:
    if key is not None and not KEY_PATTERN.fullmatch(key):
        raise Problem(422, "invalid-idempotency-key",
                      "Idempotency-Key must be 1 to 200 printable ASCII characters, no spaces")
    return key


IdempotencyKey = Annotated[str | None, Depends(idempotency_key)]


def _slug(example: str, what: str) -> Any:
    return Annotated[str, Path(pattern=SLUG_PATTERN, max_length=64, examples=[example],
                               description=f"The {what}'s id: lower-case letters, digits, hyphens.")]


PatientId = Annotated[str, Path(pattern=STUDY_ID_PATTERN, examples=["IMP-0042"],
                                description="Pseudonymous study ID.")]
CompanyId = _slug("astrazeneca", "company")
DrugId = _slug("lynparza", "drug")
AgreementId = _slug("astrazeneca-impress", "agreement")
CohortId = _slug("olaparib-brca", "cohort")


def moment(value: datetime | None, what: str) -> datetime | None:
    """A moment from a query: naive means Oslo time; bounded like every date of the API."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=OSLO)
    lowest = datetime.combine(FIRST_DAY, time(), OSLO)
    highest = datetime.combine(LAST_DAY, time.max, OSLO)
    if not lowest <= value <= highest:
        raise Problem(422, "invalid-request",
                      f"{what} must lie between {FIRST_DAY} and {LAST_DAY}")
    return value


def known_position(service: Service, known_at: datetime | None, position: int | None) -> int:
    """The log position an answer is as known at: a moment or a position (not both), or now."""
    if known_at is not None and position is not None:
        raise Problem(422, "invalid-request", "give known_at or position, not both")
    return service.ledger.position(moment(known_at, "known_at"), position)


PROBLEM_STATUSES = {
    400: "Bad request",
    401: "No valid bearer token.",
    403: "The token's role may not do this.",
    404: "Unknown id, or not visible to this actor (tenancy).",
    409: "Contradicts what is recorded, or changed concurrently (retry is safe).",
    422: "Invalid input: malformed JSON, a schema error, an impossible date, a national "
         "identity number, a reused Idempotency-Key.",
    503: "The database (or the identity provider) is unavailable; retry later.",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented problem answers of an operation (media type fixed up in api.app)."""
    return {s: {"model": _problem_model(), "description": PROBLEM_STATUSES[s]} for s in statuses}


def _problem_model() -> Any:
    from api.schemas.responses import ProblemOut

    return ProblemOut


READ_PROBLEMS = problems(401, 403, 404, 422, 503)
WRITE_PROBLEMS = problems(401, 403, 404, 409, 422, 503)
