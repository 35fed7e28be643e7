"""Statements (company obligations, public cost, restatements), the financing-gap worklist and
upcoming coverage ends: JSON, CSV or XLSX, by `format` or by the Accept header.

A partner's statements are scoped to its company and an RHF officer's to its region, whatever
they ask for; asking for another's answers 404. Others may narrow with `company` or `rhf`.
"""

from __future__ import annotations

import io
import json
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from api import deps
from application.access import AUDITOR, PARTNER, PROCUREMENT, RHF_FINANCE, TRIAL_OFFICE
from api.deps import READ_PROBLEMS, ServiceDep
from api.problems import Problem
from api.routes.whopays import KnownAt, Position
from api.schemas.types import Day, Slug
from domain import errors as err
from domain.values import Actor
from reports import export
from reports.statements import Known, Period, Scope
from reports.statements import known_at as facts_at
from reports.statements_company import company_statement as build_company_statement
from reports.statements_public import By, public_cost
from reports.statements_restate import StatementKind, restate
from reports.worklist import upcoming as upcoming_statement
from reports.worklist import worklist as worklist_statement

router = APIRouter(tags=["statements"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Statements = Annotated[Actor, Depends(deps.role(PROCUREMENT, RHF_FINANCE, PARTNER, AUDITOR))]
Worklists = Annotated[Actor, Depends(deps.role(TRIAL_OFFICE, PROCUREMENT, RHF_FINANCE, PARTNER,
                                               AUDITOR))]
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


def scope_for(actor: Actor, company: str | None, rhf: str | None) -> Scope:
    if company is not None and rhf is not None:
        raise Problem(422, "invalid-request", "give company or rhf, not both")
    if actor.role == PARTNER:
        if rhf is not None or company not in (None, actor.organisation):
            raise err.UnknownCompany(company or actor.organisation)
        return Scope.company(actor.organisation)
    if actor.role == RHF_FINANCE:
        if company is not None or rhf not in (None, actor.organisation):
            raise err.NotFound("regional health authority", rhf or actor.organisation)
        return Scope.rhf(actor.organisation)
    if company is not None:
        return Scope.company(company)
    return Scope.rhf(rhf) if rhf is not None else Scope.everything()


def known(service: Any, known_at: Any, position: int | None) -> Known:
    return facts_at(service.ledger, service.ledger.position(deps.moment(known_at, "known_at"),
                                                            position))


def period(start: date, end: date) -> Period:
    if end < start:
        raise Problem(422, "invalid-request", f"the period ends ({end}) before it starts ({start})")
    return Period(start, end)


def answer(statement: Any, fmt: str | None, request: Request, name: str) -> Response:
    accept = request.headers.get("accept", "")
    fmt = fmt or ("xlsx" if XLSX in accept else "csv" if "text/csv" in accept else "json")
    if fmt == "json":
        body = json.dumps(statement.to_dict(), default=str, ensure_ascii=False)
        return Response(body, media_type="application/json")
    if fmt == "csv":
        out = io.StringIO()
        for i, sheet in enumerate(statement.sheets()):
            if i:
                out.write("\n")
            export.write_csv(sheet, out)
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{name}.xlsx"
        export.write_xlsx(statement.sheets(), path, export.about(statement))
        data = path.read_bytes()
    return Response(data, media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})


@router.get("/v1/statements/company", response_class=Response, responses=OUTPUTS,
            summary="Company obligations: slots, coverage, packs at the company's cost, grants")
def company_statement(request: Request, actor: Statements, service: ServiceDep, start: From,
                      end: To, company: Company = None, rhf: Rhf = None,
                      known_at: KnownAt = None, position: Position = None,
                      fmt: Format = None) -> Response:
    facts = known(service, known_at, position)
    scope = facts.check(scope_for(actor, company, rhf))
    return answer(build_company_statement(facts, period(start, end), scope), fmt, request,
                  "company-statement")


@router.get("/v1/statements/public-cost", response_class=Response, responses=OUTPUTS,
            summary="Public cost per RHF and HF, per month or quarter")
def public_cost_statement(request: Request, actor: Statements, service: ServiceDep,
                          start: From, end: To, by: Grain = "quarter", company: Company = None,
                          rhf: Rhf = None, known_at: KnownAt = None, position: Position = None,
                          fmt: Format = None) -> Response:
    facts = known(service, known_at, position)
    scope = facts.check(scope_for(actor, company, rhf))
    return answer(public_cost(facts, period(start, end), scope, By(by)), fmt, request,
                  "public-cost")


@router.get("/v1/statements/{kind}/restatement", response_class=Response, responses=OUTPUTS,
            summary="What changed in a statement since it was issued, and the facts that did it")
def restatement(request: Request, kind: Literal["company", "public-cost"], actor: Statements,
                service: ServiceDep, start: From, end: To,
                issued_position: Annotated[int, Query(ge=0, le=2**53, description="The log "
                                           "position printed on the issued statement.")],
                by: Grain = "quarter", company: Company = None, rhf: Rhf = None,
                known_at: KnownAt = None, position: Position = None,
                fmt: Format = None) -> Response:
    now = service.ledger.position(deps.moment(known_at, "known_at"), position)
    if issued_position > now:
        raise Problem(422, "invalid-request", f"the statement was issued at position "
                      f"{issued_position}, after the moment it is compared with ({now})")
    scope = known(service, None, now).check(scope_for(actor, company, rhf))
    result = restate(service.ledger, StatementKind(kind), period(start, end), scope,
                     issued=issued_position, now=now, by=By(by))
    return answer(result, fmt, request, f"{kind}-restatement")


@router.get("/v1/worklist", response_class=Response, responses=OUTPUTS,
            summary="Financing gaps: who carries a cost nobody has decided on, and since when")
def worklist(request: Request, actor: Worklists, service: ServiceDep,
             start: Annotated[Day | None, Query(alias="from")] = None,
             end: Annotated[Day | None, Query(alias="to")] = None, company: Company = None,
             rhf: Rhf = None, known_at: KnownAt = None, position: Position = None,
             fmt: Format = None) -> Response:
    facts = known(service, known_at, position)
    scope = facts.check(scope_for(actor, company, rhf))
    last = end or service.ledger.clock()
    first = start or min([c.patient.enrolled_on for c in facts.cases if c.patient.enrolled_on]
                         + [last])
    return answer(worklist_statement(facts, period(first, last), scope), fmt, request,
                  "worklist")


@router.get("/v1/upcoming", response_class=Response, responses=OUTPUTS,
            summary="Company coverage ending in the next days, per RHF, and who pays next")
def upcoming(request: Request, actor: Worklists, service: ServiceDep,
             days: Annotated[int, Query(ge=0, le=3660)] = 90,
             on: Annotated[Day | None, Query(description="Count from (default today).")] = None,
             company: Company = None, rhf: Rhf = None, known_at: KnownAt = None,
             position: Position = None, fmt: Format = None) -> Response:
    facts = known(service, known_at, position)
    scope = facts.check(scope_for(actor, company, rhf))
    first = on or service.ledger.clock()
    return answer(upcoming_statement(facts, period(first, first + timedelta(days=days)), scope),
                  fmt, request, "upcoming")
