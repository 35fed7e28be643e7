"""Errors on pages are pages; errors on the API stay problem+json.

The API's handlers (api.problems) are wrapped: for a page path the same exception becomes an
HTML page with the same status. Whatever an actor may not see answers the very 404 page that an
unknown id or an unknown address gets, so a partner cannot tell another company's patient from
one that does not exist.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.problems import Problem, behind, from_refusal
from domain import errors as err
from eventstore import DATABASE_UNAVAILABLE, StorageError
from projections.view import ViewBehind
from web.i18n import N_
from web.render import page
from web.session import CsrfRefused, SignInRequired

API_PATHS = ("/v1/", "/health", "/ready", "/openapi.json", "/static/")
log = structlog.get_logger("impress.web")
Handler = Callable[[Request, Any], Any]


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(API_PATHS)


def not_found(request: Request) -> Response:
    return page(request, "error.html", 404, code=404, title=N_("Not found"),
                detail=N_("There is nothing here, or it is not yours to see."), message=None)


def error_page(request: Request, exc: Exception) -> Response:
    if isinstance(exc, SignInRequired):
        target = f"/sign-in?next={request.url.path}"
        if request.headers.get("hx-request") == "true":
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    if isinstance(exc, CsrfRefused):
        return page(request, "error.html", 403, code=403, title=N_("Form refused"),
                    detail=N_("The form did not carry this session's token: it is older than "
                              "your sign-in, or it did not come from this site. Nothing was "
                              "recorded. Open the page again and resend."), message=None)
    if isinstance(exc, err.Refused):
        exc = from_refusal(exc)
    if isinstance(exc, ViewBehind):
        exc = behind(exc, request.app.state.service.ledger.head())
    if isinstance(exc, StarletteHTTPException):
        exc = Problem(exc.status_code, "http", str(exc.detail))
    if isinstance(exc, RequestValidationError):
        exc = Problem(422, "invalid-request", "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
            for e in exc.errors()[:5]))
    if isinstance(exc, Problem):
        if exc.status == 404:
            return not_found(request)
        title = {401: N_("Sign-in required"), 403: N_("Not for your role"),
                 409: N_("Refused"), 422: N_("Invalid input"),
                 503: N_("The ledger's database is unavailable")}.get(exc.status, N_("Error"))
        return page(request, "error.html", exc.status, code=exc.status, title=title,
                    detail=None, message=exc.detail)
    if isinstance(exc, (StorageError, *DATABASE_UNAVAILABLE)):
        return page(request, "error.html", 503, status=503,
                    title=N_("The ledger's database is unavailable"),
                    detail=N_("Try again shortly."), message=None)
    log.exception("page_error", error=type(exc).__name__)
    return page(request, "error.html", 500, code=500, title=N_("Error"),
                detail=N_("The ledger failed to answer this page."), message=None)


def install(app: FastAPI) -> None:
    """Wrap every API handler so that page paths get pages; add the pages' own exceptions."""
    for exc_class, handler in list(app.exception_handlers.items()):
        app.add_exception_handler(exc_class, _for_pages(handler))
    for exc_class in (SignInRequired, CsrfRefused):
        app.add_exception_handler(exc_class, _for_pages(None))


def _for_pages(api_handler: Handler | None) -> Handler:
    async def handle(request: Request, exc: Any) -> Any:
        if is_page(request) or api_handler is None:
            return error_page(request, exc)
        answer = api_handler(request, exc)
        return await answer if isinstance(answer, Awaitable) else answer

    return handle
