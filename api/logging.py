"""One structured JSON log line per request: request id, actor, route, outcome, latency.

Never the payload: no body, no query string, no concrete path (the route template is logged,
e.g. /v1/patients/{patient_id}/payer), so nothing a client sent can leak into the logs.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from pathlib import Path
import traceback
from collections.abc import MutableMapping
from typing import Any
from uuid import uuid4

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.identity import looks_like_national_id

REQUEST_ID_HEADER = b"x-request-id"
PLAIN_PATHS = frozenset({"/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"})
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def configure(level: str = "INFO") -> None:
    """JSON lines on stdout. Called by create_app; harmless to call twice."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            without_text,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=False,
    )


def without_text(logger: Any, method: str, event: MutableMapping[str, Any]
                 ) -> MutableMapping[str, Any]:
    """A structlog processor: an exception is logged as its types and frames (file, line,
    function), never its message or locals, which can quote what a client sent."""
    exc_info = event.pop("exc_info", None)
    if exc_info:
        exc = exc_info[1] if isinstance(exc_info, tuple) else exc_info
        if isinstance(exc, BaseException):
            event.update(safe_exception(exc))
    event.pop("exception", None)
    return event


def safe_exception(exc: BaseException) -> dict[str, Any]:
    chain: list[str] = []
    frames: list[str] = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 5:
        chain.append(type(seen).__name__)
        seen = seen.__cause__ or seen.__context__
    for frame in traceback.extract_tb(exc.__traceback__)[-15:]:
        frames.append(f"{'/'.join(Path(frame.filename).parts[-2:])}:{frame.lineno}:{frame.name}")
    return {"error": chain[0], "error_chain": chain, "frames": frames}


def request_id_from(scope: Scope) -> str:
    """The client's X-Request-ID if it is a plain token, else a new one."""
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER:
            text: str = value.decode("latin-1")
            if _CLIENT_ID.fullmatch(text) and not looks_like_national_id(text):
                return text
    return new_request_id()


_LETTERS = str.maketrans("0123456789abcdef", "abcdefghijklmnop")


def new_request_id() -> str:
    """A random id of 32 letters a-p (a UUID4's hex digits spelled as letters). The id is stored
    with every fact, and about one random hex id in 300 holds 11 digits that pass the national
    identity number checks: an id without digits never does, and needs no check."""
    return uuid4().hex.translate(_LETTERS)


def _plain(path: str | None) -> str:
    return path if path in PLAIN_PATHS else "unmatched"


_LOG = structlog.get_logger("impress.api")


def log_request(scope: Scope, status: int, started: float) -> None:
    """The request's log line, when it has been answered (also api.fastpath's)."""
    route = scope.get("route")
    state = scope.get("state", {})
    actor = state.get("actor")
    _LOG.info(
        "request",
        request_id=state.get("request_id"),
        method=scope.get("method"),
        route=getattr(route, "path", None) or _plain(scope.get("path")),
        status=status,
        outcome=state.get("outcome") or ("ok" if status < 400 else "error"),
        latency_ms=round((time.perf_counter() - started) * 1000, 2),
        actor_subject=getattr(actor, "subject", None),
        actor_role=getattr(actor, "role", None),
        actor_organisation=getattr(actor, "organisation", None),
    )


def log_unhandled(request_id: str, exc: Exception) -> None:
    """An exception no handler answered: its types and frames, never its text."""
    _LOG.error("unhandled_error", request_id=request_id, **safe_exception(exc))


class RequestLog:
    """The outermost middleware (only the who-pays fast path stands in front of it, ADR 0038):
    gives each request its id, and logs it when it is answered."""

    def __init__(self, app: ASGIApp, *, base_uri: str = "") -> None:
        self.app = app
        self.base_uri = base_uri

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        answered = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status, answered = message["status"], True
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER, request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # Answered already (500, problem+json) by api.problems; not raised on to the server,
            # whose own log would print the exception's text, which can quote the request.
            log_unhandled(request_id, exc)
            if not answered:
                await self._internal_error(scope, receive, send_with_id)
        finally:
            log_request(scope, status, started)

    async def _internal_error(self, scope: Scope, receive: Receive, send: Send) -> None:
        from starlette.requests import Request

        from api.problems import Problem, response

        problem = Problem(500, "internal-error",
                          "the ledger failed to answer; nothing was recorded twice")
        await response(problem, Request(scope), self.base_uri)(scope, receive, send)
