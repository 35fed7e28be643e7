"""One router per area of the pages; web.app includes them all."""

from __future__ import annotations

from fastapi import APIRouter

from web.pages import audit, cohorts, docs, overview, patients, record, signin, statements, worklist

ROUTERS: list[APIRouter] = [
    signin.router, docs.router, overview.router, patients.router, cohorts.router,
    statements.router, worklist.router, audit.router, record.router,
]
