"""RFC 9457 problem details: every refusal is `application/problem+json` with its own type.

The type URI is the configured base plus a slug: the domain refusal's stable `code`
(`stage-full`, `drug-not-introduced`, ...) or one of the API's own (`concurrent-modification`,
`national-identity-number`, `invalid-request`, ...). The status follows the refusal's kind:
unknown id 404, input that can never be right 422, input contradicting what is recorded 409.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.schemas.types import CONTROL_CHARACTER
from domain import errors as err
from domain.identity import NationalIdRefused as IdentityNationalIdRefused
from domain.identity import looks_like_national_id
from eventstore import DATABASE_UNAVAILABLE, ConcurrentModification, LogInconsistent, StorageError
from projections.view import ViewBehind

PROBLEM_JSON = "application/problem+json"
NATIONAL_ID = "national-identity-number"
CONTROL = "control-character"

_STATUS_OF_KIND = {"not_found": 404, "invalid": 422, "conflict": 409, "forbidden": 403}

_TITLES = {
    "concurrent-modification": "Changed by someone else at the same time",
    NATIONAL_ID: "National identity number refused",
    "invalid-request": "Invalid request",
    "malformed-json": "Malformed JSON",
    "unauthenticated": "Authentication required",
    "forbidden": "Not allowed for your role",
    "not-found": "Not found",
    "method-not-allowed": "Method not allowed",
    "idempotency-key-reused": "Idempotency key reused with a different request",
    "invalid-idempotency-key": "Invalid Idempotency-Key",
    "storage-unavailable": "The ledger's database is unavailable",
    "payload-too-large": "Request body too large",
    "unsupported-media-type": "Unsupported media type",
    "import-refused": "Import refused: nothing was recorded",
    "import-already-recorded": "This import was recorded already: nothing was recorded",
    "internal-error": "Internal error",
    CONTROL: "Control character in text",
    "log-inconsistent": "The ledger's log needs an operator",
}

log = structlog.get_logger("impress.api")


class Problem(Exception):
    """Raised anywhere in the API to answer with a problem document."""

    def __init__(
        self,
        status: int,
        slug: str,
        detail: str,
        *,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.detail = detail
        self.title = title or title_of(slug)
        self.headers = headers or {}
        self.extra = extra or {}


def title_of(slug: str) -> str:
    return _TITLES.get(slug) or slug.replace("-", " ").capitalize()


def from_refusal(refusal: err.Refused) -> Problem:
    if refusal.code == "national-id-refused":
        return Problem(422, NATIONAL_ID, refusal.message)
    return Problem(_STATUS_OF_KIND.get(refusal.kind, 409), refusal.code, refusal.message)


def concurrent(exc: ConcurrentModification) -> Problem:
    return Problem(
        409,
        "concurrent-modification",
        f"{', '.join(exc.streams)} changed while this request was being decided; nothing was "
        "recorded. Retrying the same request is safe.",
        extra={"retryable": True},
    )


def behind(exc: Exception, head: int) -> Problem:
    """The read models have not reached the position asked for in time (read your writes):
    503, unless the log itself has not (a position no write answered with)."""
    asked = getattr(exc, "asked", 0)
    if asked > head:
        return Problem(422, "position-not-recorded", f"log position {asked} is not recorded: "
                       f"the log ends at {head}")
    return Problem(503, "read-models-behind", f"{exc}; ask again shortly",
                   headers={"Retry-After": "1"})


def national_id(where: str) -> Problem:
    field = where if not looks_like_national_id(where) else "<redacted>"
    return Problem(
        422,
        NATIONAL_ID,
        f"{field} looks like a Norwegian national identity number (fødselsnummer or D-number); "
        "the ledger stores pseudonymous study IDs only (such as IMP-0042). Remove it and try again.",
    )


def response(problem: Problem, request: Request, base_uri: str) -> JSONResponse:
    body: dict[str, Any] = {
        "type": base_uri + problem.slug,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.url.path if not looks_like_national_id(request.url.path) else None,
        **problem.extra,
    }
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    request.state.outcome = problem.slug
    return JSONResponse(
        {k: v for k, v in body.items() if v is not None},
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # No "input": it would echo what the client sent, and that must never reach a log or a body.
    return [
        {"loc": [str(part) for part in e.get("loc", ())], "msg": str(e.get("msg", "")),
         "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]


def _from_validation(exc: RequestValidationError) -> Problem:
    errors = _validation_errors(exc)
    if any(e["type"] == "json_invalid" for e in errors):
        return Problem(422, "malformed-json", "the request body is not valid JSON",
                       extra={"errors": errors})
    controls = [e for e in errors if e["type"] == CONTROL_CHARACTER]
    if controls:
        where = ", ".join(".".join(e["loc"]) for e in controls[:5])
        return Problem(422, CONTROL, f"{where}: {controls[0]['msg']}", extra={"errors": errors})
    summary = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5])
    if looks_like_national_id(summary):
        summary = "see errors"
        errors = [{**e, "msg": "invalid value"} for e in errors]
    return Problem(422, "invalid-request", summary or "invalid request", extra={"errors": errors})


def _from_http(exc: StarletteHTTPException) -> Problem:
    if exc.status_code == 400:  # FastAPI could not read the body (e.g. not UTF-8): bad input
        return Problem(422, "malformed-json", "the request body could not be read as JSON")
    slugs = {404: "not-found", 405: "method-not-allowed", 401: "unauthenticated",
             403: "forbidden", 413: "payload-too-large", 415: "unsupported-media-type"}
    slug = slugs.get(exc.status_code, f"http-{exc.status_code}")
    detail = exc.detail if isinstance(exc.detail, str) else title_of(slug)
    if exc.status_code == 404 and detail == "Not Found":
        detail = "no such resource in this API; see /docs"
    return Problem(exc.status_code, slug, detail, headers=dict(exc.headers or {}))


def install(app: FastAPI, base_uri: str) -> None:
    """Register the handlers that turn every error into a problem document."""

    def answer(request: Request, problem: Problem) -> JSONResponse:
        return response(problem, request, base_uri)

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return answer(request, exc)

    async def on_refused(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, err.Refused)
        return answer(request, from_refusal(exc))

    async def on_national_id(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, IdentityNationalIdRefused)
        return answer(request, national_id(f"field {exc.field!r}"))

    async def on_concurrent(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ConcurrentModification)
        return answer(request, concurrent(exc))

    async def on_storage(request: Request, exc: Exception) -> JSONResponse:
        log.error("storage_error", error=type(exc).__name__)
        return answer(request, Problem(503, "storage-unavailable",
                                       "the ledger's database did not answer; try again shortly",
                                       headers={"Retry-After": "2"}))

    async def on_inconsistent(request: Request, exc: Exception) -> JSONResponse:
        log.error("log_inconsistent", error=str(exc))
        return answer(request, Problem(
            500, "log-inconsistent", "the ledger's log holds a row it did not write, so nothing "
            "can be recorded until an operator removes it; nothing was recorded"))

    async def on_behind(request: Request, exc: Exception) -> JSONResponse:
        return answer(request, behind(exc, request.app.state.service.ledger.head()))

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return answer(request, _from_validation(exc))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return answer(request, _from_http(exc))

    async def on_anything(request: Request, exc: Exception) -> JSONResponse:
        # Never the exception's text or a traceback with it: it can quote the request.
        log.error("unhandled_error", error=type(exc).__name__)
        return answer(request, Problem(500, "internal-error",
                                       "the ledger failed to answer; nothing was recorded twice"))

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(err.Refused, on_refused)
    app.add_exception_handler(IdentityNationalIdRefused, on_national_id)
    app.add_exception_handler(ConcurrentModification, on_concurrent)
    app.add_exception_handler(StorageError, on_storage)
    for unavailable in DATABASE_UNAVAILABLE:  # met outside the event store's own calls too
        app.add_exception_handler(unavailable, on_storage)
    app.add_exception_handler(LogInconsistent, on_inconsistent)
    app.add_exception_handler(ViewBehind, on_behind)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_anything)
