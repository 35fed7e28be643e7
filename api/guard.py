"""Input guard, before any routing: national identity numbers are refused in every path, query
parameter, idempotency header and body (the number is never echoed); bodies are size-limited;
JSON text must be valid Unicode (a lone surrogate cannot be stored)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.imports import lines_of
from api.problems import Problem, national_id, response
from domain.identity import find_national_id, looks_like_national_id, may_hold_national_id

SCANNED_HEADERS = (b"idempotency-key", b"x-request-id")
IMPORT_PATH = "/v1/imports"


def check_url(scope: Scope) -> None:
    """What the guard refuses in a request's path, query and scanned headers (raises the
    Problem): all it checks of a request without a body (also api.fastpath's check)."""
    if looks_like_national_id(unquote(scope.get("path", ""))):
        raise national_id("the URL path")
    query = scope.get("query_string", b"").decode("latin-1")
    text = unquote(query)  # every name and value of the query is a piece of it
    if may_hold_national_id(text) and (
            find_national_id(parse_qsl(query, keep_blank_values=True)) is not None
            or looks_like_national_id(text)):
        raise national_id("a query parameter")
    for name, value in scope.get("headers", []):
        if name in SCANNED_HEADERS and looks_like_national_id(value.decode("latin-1")):
            raise national_id(f"the {name.decode()} header")


class InputGuard:
    def __init__(self, app: ASGIApp, *, base_uri: str, max_body: int, max_import: int) -> None:
        self.app = app
        self.base_uri = base_uri
        self.max_body = max_body
        self.max_import = max_import

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            check_url(scope)
            body = await self._body(scope, receive)
            self._check_body(scope, body)
        except Problem as problem:
            await response(problem, Request(scope), self.base_uri)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _body(self, scope: Scope, receive: Receive) -> bytes:
        limit = self.max_import if scope.get("path") == IMPORT_PATH else self.max_body
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise Problem(413, "payload-too-large", f"the body is larger than {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _check_body(self, scope: Scope, body: bytes) -> None:
        if not body:
            return
        text = body.decode("utf-8", errors="replace")
        if scope.get("path") == IMPORT_PATH:
            for number, line in enumerate(lines_of(text), start=1):
                self._check_json_text(line, f"line {number}")
        else:
            self._check_json_text(text, "the body")

    def _check_json_text(self, text: str, where: str) -> None:
        try:
            value: Any = json.loads(text)
            found = find_national_id(value)
        except RecursionError:
            raise Problem(422, "malformed-json", f"{where} is nested too deeply") from None
        except ValueError:
            pass  # not JSON: the raw text is still scanned below; the route refuses it
        else:
            if found is not None:
                raise national_id(f"field '{found}' in {where}")
            if not all(_storable(s) for s in _strings(value)):
                raise Problem(422, "invalid-text", f"{where} holds text that is not valid "
                              "Unicode (a lone surrogate escape such as \\ud800)")
        if looks_like_national_id(text):
            raise national_id(where)


def _strings(value: Any, depth: int = 0) -> Iterator[str]:
    if depth > 64:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, depth + 1)


def _storable(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _replay(body: bytes, original: Receive) -> Receive:
    """The body read above, then whatever the client does next (a disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await original()

    return receive
