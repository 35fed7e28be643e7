"""FastAPI dependencies: the service, the authenticated actor in an allowed role, path
parameters, the Idempotency-Key header, the minimum log position of a read, and the documented
error answers of each operation.

The dependencies that do no I/O are `async def`: FastAPI runs a plain `def` dependency in the
thread pool, and a hand-off per dependency cost about half the server's CPU on a who-pays read
(docs/benchmarks.md, ADR 0021). Only verifying a token not seen before may fetch the issuer's
keys: that one goes to the thread pool.

FastAPI solves every dependency of a route on each request, at some 10 us apiece: the actor in
a role is one dependency, not three (ADR 0029). The bearer scheme is declared in the OpenAPI
document (`BEARER`, on every operation that may answer 401) rather than as a dependency that
would parse the header again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Header, Path, Query, Request
from fastapi.concurrency import run_in_threadpool

from application import access
from application.idempotency import KEY_PATTERN
from api.problems import Problem
from api.schemas.types import FIRST_DAY, LAST_DAY, SLUG_PATTERN, STUDY_ID_PATTERN
from api.served import Served
from domain.values import Actor

OSLO = ZoneInfo("Europe/Oslo")
# The security scheme of every operation that needs a token (api.app puts it in the document).
BEARER = {"HTTPBearer": {"type": "http", "scheme": "bearer",
                         "description": "An OpenID Connect access token (JWT)."}}


async def known_query_only(request: Request) -> None:
    """Unknown query parameters are refused: a typo such as `know_at` must not silently answer
    "as known now"."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    allowed = getattr(route, "impress_query_names", None)
    if allowed is None:  # worked out once per route
        allowed = frozenset(_query_names(dependant))
        setattr(route, "impress_query_names", allowed)  # noqa: B010
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


async def get_service(request: Request) -> Served:
    service: Served = request.app.state.service
    return service


ServiceDep = Annotated[Served, Depends(get_service)]


async def authenticated(request: Request) -> Actor:
    """The actor the request's bearer token stands for (401 if none or not valid)."""
    header = request.headers.get("authorization")
    auth = request.app.state.auth
    actor: Actor | None = auth.known(header, request.state.request_id)
    if actor is None:  # a token not verified before: may fetch the issuer's keys
        actor = await run_in_threadpool(auth.actor, header, request.state.request_id)
    assert actor is not None
    request.state.actor = actor
    return actor


def role(*roles: str) -> Callable[..., Awaitable[Actor]]:
    """A dependency: the authenticated actor, if its role is one of `roles` (else 403)."""
    allowed = frozenset(roles)

    async def check(request: Request) -> Actor:
        actor = await authenticated(request)
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


async def idempotency_key(
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

MIN_POSITION_HEADER = "Impress-Min-Position"
MIN_POSITION_DOC = ("Read your writes: answer only once the read models have reached this log "
                    "position (a command's `position`), waiting a little (503 "
                    "`read-models-behind` with Retry-After if not in time). Also as the "
                    f"header {MIN_POSITION_HEADER}; the larger of the two counts.")


async def min_position(
    query: Annotated[int | None, Query(alias="min_position", ge=0, le=2**53,
                                       description=MIN_POSITION_DOC)] = None,
    header: Annotated[str | None, Header(alias=MIN_POSITION_HEADER,
                                         description=MIN_POSITION_DOC)] = None,
) -> int | None:
    """The minimum log position a read must reflect, from the query or the header."""
    asked = [query] if query is not None else []
    if header is not None:
        text = header.strip()
        if not text.isdigit() or int(text) > 2**53:
            raise Problem(422, "invalid-request",
                          f"{MIN_POSITION_HEADER} must be a log position: a whole number")
        asked.append(int(text))
    return max(asked) if asked else None


MinPosition = Annotated[int | None, Depends(min_position)]


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


def known_position(service: Served, known_at: datetime | None, position: int | None) -> int:
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
    503: "The database (or the identity provider) is unavailable, or the read models did not "
         "reach `min_position` in time; retry later (Retry-After).",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented problem answers of an operation (media type fixed up in api.app)."""
    return {s: {"model": _problem_model(), "description": PROBLEM_STATUSES[s]} for s in statuses}


def _problem_model() -> Any:
    from api.schemas.responses import ProblemOut

    return ProblemOut


READ_PROBLEMS = problems(401, 403, 404, 422, 503)
WRITE_PROBLEMS = problems(401, 403, 404, 409, 422, 503)
