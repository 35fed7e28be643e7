"""Who pays, answered without FastAPI's routing and dependency solving (ADR 0033).

`GET /v1/patients/{patient_id}/payer` is the question partners, pages and the RHFs' systems ask
most. FastAPI's layers (routing, dependency solving, exception middleware, response validation)
cost about as much CPU as the answer itself. This middleware sits inside the request log and the
input guard and answers the plain form of that one request itself, calling exactly what the
route calls (`api.routes.whopays.answer`) and serializing with the route's own response field.

It answers only what it can answer as the route would, and hands everything else to FastAPI
untouched: any other path or method, a parameter the route would validate or refuse (unknown,
repeated, `known_at`, anything not in its plain form), a token this process has not verified
before, a role the route refuses. A read for a `min_position` waits as the route's does. A
refusal the answer itself raises (unknown patient, tenancy, a position not reached in time) is
rendered as the app's exception handlers render it; anything else is handed to FastAPI to
answer from scratch.
`tests/api/test_fastpath.py` asks drawn requests both ways and compares status, headers and
bytes.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI
from fastapi.routing import APIRoute, serialize_response
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api import deps
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


class FastWhoPays:
    """ASGI middleware: the plain who-pays request answered directly (see the module)."""

    def __init__(self, app: ASGIApp, *, api: FastAPI, base_uri: str) -> None:
        self.app = app
        self.api = api
        self.base_uri = base_uri
        self.route = next(r for r in router.routes
                          if isinstance(r, APIRoute) and r.name == ROUTE_NAME)
        assert self.route.response_field is not None
        self.response_field = self.route.response_field

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        matched = PATH.fullmatch(scope["path"])
        asked = _plain(matched.group(1), scope) if matched else None
        if asked is None:
            await self.app(scope, receive, send)
            return
        await self._answer(asked, scope, receive, send)

    async def _answer(self, asked: dict[str, Any], scope: Scope, receive: Receive,
                      send: Send) -> None:
        state = self.api.state
        service = state.service
        actor = state.auth.known(asked.pop("authorization"), scope["state"]["request_id"])
        if actor is None or actor.role not in access.READ_PATIENTS:
            await self.app(scope, receive, send)  # verify the token or refuse: the route does
            return
        scope["route"], scope["state"]["actor"] = self.route, actor  # as FastAPI sets them
        try:
            out = await answer(service, actor, known_at=None, **asked)
        except (Problem, err.Refused, ViewBehind) as refused:
            problem = (refused if isinstance(refused, Problem)
                       else from_refusal(refused) if isinstance(refused, err.Refused)
                       else behind(refused, service.ledger.head()))  # as api.problems's handlers
            await response(problem, Request(scope), self.base_uri)(scope, receive, send)
            return
        except Exception:  # noqa: BLE001 - FastAPI's handlers answer it, from scratch
            await self.app(scope, receive, send)
            return
        body = await serialize_response(field=self.response_field, response_content=out,
                                        dump_json=True)
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})


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
