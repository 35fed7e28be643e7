"""The ledger in the browser: the HTTP API (api.app) plus server-rendered pages, their static
files and offline API docs, in one FastAPI application (ADR 0020).

    uvicorn --factory web.app:app_from_environment      (what `impress-ledger serve` runs)
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from api.app import create_app as create_api
from api.auth import Authenticator
from application.ledger import Ledger
from web import errors
from web.oidc import OidcSignIn
from web.pages import ROUTERS
from web.security import SecurityHeaders
from web.session import PageSessions
from web.settings import WebSettings

STATIC = Path(__file__).parent / "static"
SESSION_COOKIE = "impress_session"


def create_app(settings: WebSettings | None = None, ledger: Ledger | None = None, *,
               authenticator: Authenticator | None = None,
               configure_logging: bool = True) -> FastAPI:
    settings = settings or WebSettings()
    auth = authenticator or Authenticator(settings)
    app = create_api(settings, ledger, authenticator=auth, configure_logging=configure_logging)
    app.state.oidc = OidcSignIn(settings, auth)
    for router in ROUTERS:
        app.include_router(router, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    errors.install(app)
    app.add_middleware(PageSessions, secret_key=settings.signing_key(),
                       session_cookie=SESSION_COOKIE, max_age=int(settings.session_hours * 3600),
                       same_site="lax", https_only=settings.secure_cookies)
    app.add_middleware(SecurityHeaders, form_targets=_form_targets(settings))
    return app


def app_from_environment() -> FastAPI:
    """The factory uvicorn calls in each worker: settings from IMPRESS_* variables."""
    return create_app(WebSettings())


def _form_targets(settings: WebSettings) -> tuple[str, ...]:
    """Origins a page may send the browser to after a form (sign-out at the issuer)."""
    if settings.auth_mode == "oidc" and settings.oidc_issuer:
        from urllib.parse import urlsplit

        parts = urlsplit(settings.oidc_issuer)
        return (f"{parts.scheme}://{parts.netloc}",)
    return ()
