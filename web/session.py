"""Who is signed in, and the form token that proves a POST came from one of our pages.

The session is Starlette's signed cookie (itsdangerous): HttpOnly, Secure, SameSite=Lax,
holding the actor (subject, role, organisation), the language and the CSRF token; nothing
secret. Signing in starts a fresh session (a session fixed before sign-in is worthless);
signing out empties it.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.datastructures import FormData
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import Receive, Scope, Send

from domain.values import Actor
from web.i18n import language

ACTOR, CSRF, LANG = "actor", "csrf", "lang"
CSRF_FIELD, CSRF_HEADER = "csrf_token", "x-csrf-token"
API_PREFIX = "/v1/"  # the HTTP API's routes (api.routes): no session there


class SignInRequired(Exception):
    """No one is signed in: the page answers with the way to the sign-in page."""


class CsrfRefused(Exception):
    """A POST without this session's form token: forged, or from a page of an older session."""


class PageSessions(SessionMiddleware):
    """Starlette's session middleware, for the pages only. The API answers bearer tokens and
    never reads the session: its answers neither read nor renew the cookie (a who-pays read
    paid for the cookie's parsing and signing on every request)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    @staticmethod
    def api_answer_headers(**settings: Any) -> list[tuple[bytes, bytes]]:
        """What this layer adds to an answer on the API's paths: nothing, it passes them
        through (api.fastpath answers in front of it, ADR 0038)."""
        return []


def _session(request: Request) -> dict[str, Any]:
    """The session, or nothing (an error page drawn outside the session middleware)."""
    return request.session if "session" in request.scope else {}


def csrf_token(request: Request) -> str:
    if "session" not in request.scope:
        return ""
    token = request.session.get(CSRF)
    if not isinstance(token, str):
        token = request.session[CSRF] = secrets.token_urlsafe(32)
    return token


def lang_of(request: Request) -> str:
    return language(_session(request).get(LANG))


def signed_in(request: Request) -> Actor | None:
    found = _session(request).get(ACTOR)
    if not isinstance(found, dict):
        return None
    request_id = getattr(request.state, "request_id", None)
    actor = Actor(subject=str(found["subject"]), role=str(found["role"]),
                  organisation=str(found["organisation"]), request_id=request_id)
    request.state.actor = actor  # for the request log line, as the API does
    return actor


def sign_in(request: Request, actor: Actor) -> None:
    lang = request.session.get(LANG)
    request.session.clear()
    request.session[ACTOR] = {"subject": actor.subject, "role": actor.role,
                              "organisation": actor.organisation}
    if lang:
        request.session[LANG] = lang
    csrf_token(request)


def sign_out(request: Request) -> None:
    lang = request.session.get(LANG)
    request.session.clear()
    if lang:
        request.session[LANG] = lang


def current_actor(request: Request) -> Actor:
    actor = signed_in(request)
    if actor is None:
        raise SignInRequired()
    return actor


SignedIn = Annotated[Actor, Depends(current_actor)]


async def checked_form(request: Request) -> FormData:
    """The POSTed form, if it carries this session's token (field, or header for htmx)."""
    form = await request.form()
    sent: Any = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    expected = request.session.get(CSRF)
    if not (isinstance(sent, str) and isinstance(expected, str)
            and hmac.compare_digest(sent.encode(), expected.encode())):
        raise CsrfRefused()
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]
