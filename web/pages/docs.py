"""The API's documentation, served offline: Swagger UI at /docs, from the vendored files under
/static/vendor (FastAPI's own pages load them from a CDN, which a closed hospital network cannot
reach). ReDoc is left out: its bundle loads its logo from the vendor's CDN (ADR 0020)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from web.render import page

router = APIRouter()


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    return page(request, "docs/swagger.html", openapi_url=request.app.openapi_url)

