"""Who pays, answered in front of every layer of the app (ADR 0033, ADR 0038).

`GET /v1/patients/{patient_id}/payer` is the question partners, pages and the RHFs' systems ask
most. FastAPI's layers (routing, dependency solving, exception middleware, response validation)
cost about as much CPU as the answer itself, and each ASGI layer around them (FastAPI's own,
the hardening headers, the sessions, the request log, the input guard) a little more. This is
the app's outermost layer (`api.app.LedgerApi` calls it first): it answers the plain form of
that one request itself, calling exactly what the route calls (`api.routes.whopays.answer`)
and serializing with the route's own response field, and does each layer's part in that
answer with the layer's own pieces: the guard's check of the URL and headers, the request id
and log line, the headers the layers outside the log add on the API's paths. It stands in only
for the layers it knows: if the app has another, it answers nothing.

It answers only what it can answer as the route would, and hands everything else to FastAPI
untouched: any other path or method, a parameter the route would validate or refuse (unknown,
repeated, `known_at`, anything not in its plain form), a body, a request the guard refuses, a
token this process has not verified before, a role the route refuses, a request FastAPI's
telemetry would record. A read for a `min_position` waits as the route's does. A refusal the
answer itself raises (unknown patient, tenancy, a position not reached in time) is rendered as
the app's exception handlers render it; anything else is handed to FastAPI to answer from
scratch. `tests/api/test_fastpath.py` asks drawn requests both ways, on the API and on the web
app `serve` runs, and compares status, headers, bytes and the log line.
"""

from __future__ import annotations

import re
import time
from datetime import date
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI
from fastapi.routing import APIRoute, serialize_response
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api import deps
from api.guard import InputGuard, check_url
from api.logging import (REQUEST_ID_HEADER, RequestLog, log_request, log_unhandled,
                         request_id_from)
from api.problems import Problem, behind, from_refusal, response
from api.routes.whopays import answer, router
from api.schemas.types import FIRST_DAY, LAST_DAY, STUDY_ID_PATTERN
from application import access
from domain import errors as err
from projections.view import ViewBehind

PATH = re.compile(r"/v1/patients/([^/]+)/payer")
ROUTE_NAME = "who_pays"
PLAIN_PARAMETERS = frozenset({"on", "min_position", "position"})
_STUDY_ID = re.compile(STUDY_ID_PATTERN)
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_WHOLE = re.compile(r"[0-9]{1,16}")
_MIN_POSITION_HEADER = deps.MIN_POSITION_HEADER.lower().encode()
_BODY_HEADERS = (b"content-length", b"transfer-encoding")
ANSWER_HEADERS = "api_answer_headers"  # a layer's headers on an answer on the API's paths


class FastWhoPays:
    """The app's outermost ASGI layer: the plain who-pays request answered directly, with each
    of the app's layers' part in it done here (see the module); every other request handed to
    FastAPI (`app`: FastAPI's own `__call__`)."""

    def __init__(self, app: ASGIApp, *, api: FastAPI, base_uri: str) -> None:
        self.app = app
        self.api = api
        self.base_uri = base_uri
        self.route = next(r for r in router.routes
                          if isinstance(r, APIRoute) and r.name == ROUTE_NAME)
        assert self.route.response_field is not None
        self.response_field = self.route.response_field
        self._telemetry = api._native_telemetry
        self._outer: list[tuple[bytes, bytes]] | None = None
        self._checked = False  # the app's layers, at the first request (they are all added)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or self._outer_headers() is None:
            await self.app(scope, receive, send)
            return
        matched = PATH.fullmatch(scope["path"])
        asked = _plain(matched.group(1), scope) if matched else None
        if asked is None or self._telemetry.enabled():
            await self.app(scope, receive, send)
            return
        try:
            check_url(scope)
        except Problem:
            await self.app(scope, receive, send)  # the guard refuses it
            return
        await self._answer(asked, scope, receive, send)

    def _outer_headers(self) -> list[tuple[bytes, bytes]] | None:
        """What the layers outside the request log add to an answer on the API's paths, if this
        one may stand in for every layer of the app: the request log and the input guard
        innermost, and outside them only layers that say what they add there
        (`ANSWER_HEADERS`, e.g. web.security.SecurityHeaders's). None if it may not: then
        every request goes to FastAPI."""
        if not self._checked:
            self._checked = True
            layers = self.api.user_middleware  # the outermost first
            outer = layers[:-2]
            inner: list[object] = [m.cls for m in layers[-2:]]
            if (inner == [RequestLog, InputGuard]
                    and not self.api.root_path
                    and all(hasattr(m.cls, ANSWER_HEADERS) for m in outer)):
                self._outer = [header for m in reversed(outer)  # the innermost adds first
                               for header in getattr(m.cls, ANSWER_HEADERS)(*m.args, **m.kwargs)]
        return self._outer

    async def _answer(self, asked: dict[str, Any], scope: Scope, receive: Receive,
                      send: Send) -> None:
        started = time.perf_counter()
        request_id = request_id_from(scope)
        state = self.api.state
        service = state.service
        actor = state.auth.known(asked.pop("authorization"), request_id)
        if actor is None or actor.role not in access.READ_PATIENTS:
            await self.app(scope, receive, send)  # verify the token or refuse: the route does
            return
        scope["app"], scope["route"] = self.api, self.route  # as FastAPI sets them
        scope.setdefault("state", {}).update(request_id=request_id, actor=actor)
        try:
            out = await answer(service, actor, known_at=None, **asked)
        except (Problem, err.Refused, ViewBehind) as refused:
            problem = (refused if isinstance(refused, Problem)
                       else from_refusal(refused) if isinstance(refused, err.Refused)
                       else behind(refused, service.ledger.head()))  # as api.problems's handlers
            refusal = response(problem, Request(scope), self.base_uri)
            await self._send(send, scope, refusal.status_code, refusal.raw_headers,
                             bytes(refusal.body), request_id, started)
            return
        except Exception:  # noqa: BLE001 - FastAPI's handlers answer it, from scratch
            await self.app(scope, receive, send)
            return
        body = await serialize_response(field=self.response_field, response_content=out,
                                        dump_json=True)
        await self._send(send, scope, 200, [(b"content-length", str(len(body)).encode()),
                                            (b"content-type", b"application/json")],
                         body, request_id, started)

    async def _send(self, send: Send, scope: Scope, status: int,
                    headers: list[tuple[bytes, bytes]], body: bytes, request_id: str,
                    started: float) -> None:
        """The answer, with what the request log and the outer layers add to it, and its
        log line."""
        assert self._outer is not None  # else FastAPI answers every request
        try:
            await send({"type": "http.response.start", "status": status, "headers": [
                *headers, (REQUEST_ID_HEADER, request_id.encode()), *self._outer]})
            await send({"type": "http.response.body", "body": body})
        except Exception as exc:  # as the request log: never raised on to the server
            log_unhandled(request_id, exc)
        finally:
            log_request(scope, status, started)


class _NotPlain(Exception):
    """A part of the request is not in its plain form: FastAPI answers it."""


def _plain(patient_id: str, scope: Scope) -> dict[str, Any] | None:
    """The route's arguments, if the request is in the plain form whose values the route's
    validation would give just as well; else None (FastAPI answers it)."""
    try:
        return _arguments(patient_id, scope)
    except _NotPlain:
        return None


def _arguments(patient_id: str, scope: Scope) -> dict[str, Any]:
    if not _STUDY_ID.fullmatch(patient_id):
        raise _NotPlain
    pairs = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
    given = dict(pairs)
    if len(given) != len(pairs) or not given.keys() <= PLAIN_PARAMETERS or "on" not in given:
        raise _NotPlain
    floor = _whole(given.get("min_position"))
    authorization, header = None, None
    for name, value in scope["headers"]:
        if name == b"authorization" and authorization is None:
            authorization = value.decode("latin-1")
        elif name == _MIN_POSITION_HEADER and header is None:
            header = _whole(value.decode("latin-1").strip())
        elif name in (b"authorization", _MIN_POSITION_HEADER):
            raise _NotPlain  # sent twice: the route's rules
        elif name in _BODY_HEADERS and value != b"0":
            raise _NotPlain  # a body: the guard reads and checks it
    if header is not None:
        floor = header if floor is None else max(floor, header)
    return {"patient_id": patient_id, "on": _day(given["on"]), "min_position": floor,
            "position": _whole(given.get("position")), "authorization": authorization}


def _day(text: str) -> date:
    if not _DAY.fullmatch(text):
        raise _NotPlain
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise _NotPlain from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise _NotPlain
    return day


def _whole(text: str | None) -> int | None:
    """A position (None if not given), in plain form and bounds."""
    if text is None:
        return None
    if not _WHOLE.fullmatch(text) or int(text) > 2**53:
        raise _NotPlain
    return int(text)
