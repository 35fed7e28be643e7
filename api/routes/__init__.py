"""One router per resource. Others may append theirs to ROUTERS; `create_app` includes them all."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes import (
    agreements,
    audit,
    books,
    bundles,
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

# The most asked first: a request is matched against the routes in this order (about 8 us a
# route), and who-pays is the question asked most (ADR 0021).
ROUTERS: list[APIRouter] = [
    health.router,
    whopays.router,
    reference.router,
    agreements.router,
    cohorts.router,
    patients.router,
    history.router,
    imports.router,
    statements.router,
    books.router,
    bundles.router,
    tick.router,
    audit.router,
    proofs.router,
]
