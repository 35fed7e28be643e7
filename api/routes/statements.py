"""Statements (company obligations, public cost, restatements), the financing-gap worklist and
upcoming coverage ends: JSON, CSV or XLSX, by `format` or by the Accept header.

A partner's statements are scoped to its company and an RHF officer's to its region, whatever
they ask for; asking for another's answers 404. Others may narrow with `company` or `rhf`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from api import deps
from application import access
from api.deps import READ_PROBLEMS, MinPosition, ServiceDep
from api.routes.whopays import KnownAt, Position
from api.schemas.types import Day, Slug
from domain.values import Actor
from reports import export, queries
from reports.statements_public import By
from reports.statements_restate import StatementKind

router = APIRouter(tags=["statements"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Statements = Annotated[Actor, Depends(deps.role(*access.READ_STATEMENTS))]
Worklists = Annotated[Actor, Depends(deps.role(*access.READ_WORKLISTS))]
From = Annotated[Day, Query(alias="from", description="First day of the period.")]
To = Annotated[Day, Query(alias="to", description="Last day of the period, inclusive.")]
Company = Annotated[Slug | None, Query(description="Only what this company may see.")]
Rhf = Annotated[Slug | None, Query(description="Only this RHF's patients, on the dates they "
                                                "were treated there.")]
Format = Annotated[Literal["json", "csv", "xlsx"] | None, Query(
    alias="format", description="json, csv or xlsx; default: by the Accept header, else json.")]
Grain = Annotated[Literal["month", "quarter"], Query(description="Rows per month or quarter.")]
OUTPUTS = {200: {"description": "The statement.", "content": {
    "application/json": {"schema": {"type": "object"}},
    "text/csv": {"schema": {"type": "string"}},
    XLSX: {"schema": {"type": "string", "format": "binary"}}}}, **READ_PROBLEMS}


def at(service: Any, known_at: Any, position: int | None) -> int | None:
    """The log position a statement is as known at: a moment, a position, or None: the one
    the read models have reached."""
    if known_at is None and position is None:
        return None
    return int(service.ledger.position(deps.moment(known_at, "known_at"), position))


def answer(statement: Any, fmt: str | None, request: Request, name: str) -> Response:
    # The one tenancy rule on everything the statement names (application.access, ADR 0016).
    statement = request.app.state.service.view(request.state.actor).statement(statement)
    accept = request.headers.get("accept", "")
    fmt = fmt or ("xlsx" if XLSX in accept else "csv" if "text/csv" in accept else "json")
    if fmt == "json":
        body = json.dumps(statement.to_dict(), default=str, ensure_ascii=False)
        return Response(body, media_type="application/json")
    if fmt == "csv":
        return Response(export.csv_text(statement.sheets()), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    return Response(export.xlsx_bytes(statement), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})


@router.get("/v1/statements/company", response_class=Response, responses=OUTPUTS,
            summary="Company obligations: slots, coverage, packs at the company's cost, grants")
def company_statement(request: Request, actor: Statements, service: ServiceDep, start: From,
                      end: To, min_position: MinPosition, company: Company = None, rhf: Rhf = None,
                      known_at: KnownAt = None, position: Position = None,
                      fmt: Format = None) -> Response:
    statement = queries.company_obligations(service.sources(min_position), actor, start, end,
                                            company=company, rhf=rhf, at=at(service, known_at, position))
    return answer(statement, fmt, request, "company-statement")


@router.get("/v1/statements/public-cost", response_class=Response, responses=OUTPUTS,
            summary="Public cost per RHF and HF, per month or quarter")
def public_cost_statement(request: Request, actor: Statements, service: ServiceDep,
                          start: From, end: To, min_position: MinPosition,
                          by: Grain = "quarter", company: Company = None,
                          rhf: Rhf = None, known_at: KnownAt = None, position: Position = None,
                          fmt: Format = None) -> Response:
    statement = queries.public_cost_statement(service.sources(min_position), actor, start,
                                              end, By(by), company=company, rhf=rhf,
                                              at=at(service, known_at, position))
    return answer(statement, fmt, request, "public-cost")


@router.get("/v1/statements/{kind}/restatement", response_class=Response, responses=OUTPUTS,
            summary="What changed in a statement since it was issued, and the facts that did it")
def restatement(request: Request, kind: Literal["company", "public-cost"], actor: Statements,
                service: ServiceDep, start: From, end: To, min_position: MinPosition,
                issued_position: Annotated[int, Query(ge=0, le=2**53, description="The log "
                                           "position printed on the issued statement.")],
                by: Grain = "quarter", company: Company = None, rhf: Rhf = None,
                known_at: KnownAt = None, position: Position = None,
                fmt: Format = None) -> Response:
    result = queries.restatement(service.sources(min_position), actor, StatementKind(kind),
                                 start, end, issued_position, By(by), company=company, rhf=rhf,
                                 at=at(service, known_at, position))
    return answer(result, fmt, request, f"{kind}-restatement")


@router.get("/v1/worklist", response_class=Response, responses=OUTPUTS,
            summary="Financing gaps: who carries a cost nobody has decided on, and since when")
def worklist(request: Request, actor: Worklists, service: ServiceDep,
             min_position: MinPosition, start: Annotated[Day | None, Query(alias="from")] = None,
             end: Annotated[Day | None, Query(alias="to")] = None, company: Company = None,
             rhf: Rhf = None, known_at: KnownAt = None, position: Position = None,
             fmt: Format = None) -> Response:
    statement = queries.financing_gaps(service.sources(min_position), actor,
                                       service.ledger.clock(), start, end, company=company,
                                       rhf=rhf, at=at(service, known_at, position))
    return answer(statement, fmt, request, "worklist")


@router.get("/v1/upcoming", response_class=Response, responses=OUTPUTS,
            summary="Company coverage ending in the next days, per RHF, and who pays next")
def upcoming(request: Request, actor: Worklists, service: ServiceDep,
             min_position: MinPosition, days: Annotated[int, Query(ge=0, le=3660)] = 90,
             on: Annotated[Day | None, Query(description="Count from (default today).")] = None,
             company: Company = None, rhf: Rhf = None, known_at: KnownAt = None,
             position: Position = None, fmt: Format = None) -> Response:
    statement = queries.coverage_ending(service.sources(min_position), actor,
                                        on or service.ledger.clock(), days, company=company,
                                        rhf=rhf, at=at(service, known_at, position))
    return answer(statement, fmt, request, "upcoming")
