"""One router per resource. Others may append theirs to ROUTERS; `create_app` includes them all."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes import (
    agreements,
    audit,
    books,
    cohorts,
    health,
    history,
    imports,
    patients,
    proofs,
    reference,
    statements,
    tick,
    whopays,
)

ROUTERS: list[APIRouter] = [
    health.router,
    reference.router,
    agreements.router,
    cohorts.router,
    patients.router,
    whopays.router,
    history.router,
    imports.router,
    statements.router,
    books.router,
    tick.router,
    audit.router,
    proofs.router,
]
