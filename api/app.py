"""The HTTP API: `create_app(settings, ledger=None)` builds everything; importing connects nothing.

    uvicorn --factory api.app:app_from_environment      (what `impress-ledger serve` runs)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.types import Receive, Scope, Send

from api import logging as request_logging
from api import problems, solver
from api.auth import Authenticator
from api.deps import BEARER, known_query_only
from api.fastpath import FastWhoPays
from api.guard import InputGuard
from api.problems import PROBLEM_JSON
from api.routes import ROUTERS
from api.served import Served
from api.settings import Settings
from application.ledger import Ledger
from application.runtime import tune_collector

DESCRIPTION = """\
Who pays for each IMPRESS-Norway patient's drug, on any date, as known now or at any earlier
moment, with the recorded facts each answer rests on.

* **Authentication**: an OpenID Connect bearer token (`Authorization: Bearer <JWT>`). Locally:
  `impress-ledger token --role trial_office --org impress`.
* **Commands** answer `201` with the log position and the facts recorded. Send an
  `Idempotency-Key` header: a retry with the same key returns the first result (header
  `Idempotent-Replayed: true`) and records nothing new.
* **Errors** are RFC 9457 `application/problem+json`, one `type` per refusal. `409` with type
  `concurrent-modification` means nothing was recorded and a retry is safe.
* **Read your writes**: a command's answer carries its log `position`. Every read takes a
  minimum position, as the query parameter `min_position` or the header
  `Impress-Min-Position`: the answer waits (at most `IMPRESS_READ_WAIT_SECONDS`, default 2 s)
  until the read models have reached it, else `503` `read-models-behind` with `Retry-After`.
  Without one, a read answers from what the read models hold now (a write of a moment ago may
  not be in it yet). Every answer names the position it is as known at.
* National identity numbers are refused everywhere; patients are known by study ID only.
"""


class LedgerApi(FastAPI):
    """FastAPI, with the plain who-pays request answered in front of all its layers and the
    app's (api.fastpath, ADR 0038)."""

    def __init__(self, *, problem_base_uri: str, **options: Any) -> None:
        super().__init__(**options)
        self.fast_path = FastWhoPays(super().__call__, api=self, base_uri=problem_base_uri)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.fast_path(scope, receive, send)


def create_app(settings: Settings | None = None, ledger: Ledger | None = None, *,
               authenticator: Authenticator | None = None, configure_logging: bool = True) -> FastAPI:
    """The application: a ledger (opened from settings unless given), authentication, routes."""
    settings = settings or Settings()
    tune_collector()
    solver.install()
    if configure_logging:
        request_logging.configure()
    auth = authenticator or Authenticator(settings)
    owned = ledger is None
    ledger = ledger or Ledger.open(settings.database_url, create_tables=settings.create_tables,
                                   cache_streams=settings.cache_streams)
    service = Served(ledger, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.open_async()
        if settings.warm_up:
            service.warm_up()
        yield
        await service.close_async()
        service.close()
        if owned:
            ledger.close()

    app = LedgerApi(problem_base_uri=settings.problem_base_uri,
                    title="IMPRESS financing ledger", version="1", description=DESCRIPTION,
                    lifespan=lifespan, generate_unique_id_function=lambda route: route.name,
                    # FastAPI's /docs and /redoc load their scripts from a CDN; the web pages
                    # serve Swagger UI from the app itself (web.pages.docs, ADR 0020).
                    docs_url=None, redoc_url=None,
                    dependencies=[Depends(known_query_only)])
    app.state.settings, app.state.service, app.state.auth = settings, service, auth
    for router in ROUTERS:
        app.include_router(router)
    problems.install(app, settings.problem_base_uri)
    app.add_middleware(InputGuard, base_uri=settings.problem_base_uri,
                       max_body=settings.max_body_bytes, max_import=settings.max_import_bytes)
    app.add_middleware(request_logging.RequestLog,
                       base_uri=settings.problem_base_uri)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def app_from_environment() -> FastAPI:
    """The factory uvicorn calls in each worker: settings from IMPRESS_* variables."""
    return create_app(Settings())


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with error answers declared as application/problem+json."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description,
                         routes=app.routes)
    _declare_bearer(schema)
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for status, answer in operation.get("responses", {}).items():
                content = answer.get("content", {})
                if status[0] in "45" and "application/json" in content:
                    content[PROBLEM_JSON] = content.pop("application/json")
    app.openapi_schema = schema
    return schema


def _declare_bearer(schema: dict[str, Any]) -> None:
    """The bearer scheme on every operation that needs a token: those that may answer 401."""
    schema.setdefault("components", {}).setdefault("securitySchemes", {}).update(BEARER)
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            if "401" in operation.get("responses", {}):
                operation["security"] = [{name: []} for name in BEARER]
