"""Statements (company obligations, public cost, restatements), the financing-gap worklist and
upcoming coverage ends: JSON, one CSV table, a zip of every table, or XLSX, by `format` or by
the Accept header. CSV is Norwegian Excel's variant (semicolons, decimal comma, UTF-8 with BOM)
for a reader whose Accept-Language prefers Norwegian, RFC 4180 otherwise, or as `csv` says.

A partner's statements are scoped to its company and an RHF officer's to its region, whatever
they ask for; asking for another's answers 404 (not found, or not yours). Others may narrow with
`company`, `rhf` or `hf`. `period` (2024Q1) asks for the period's statement as the books keep
it (ADR 0022); `from` and `to` for any span, as known at the position asked.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BeforeValidator

from api import deps
from api.deps import READ_PROBLEMS, MinPosition, ServiceDep
from api.problems import Problem
from api.routes.whopays import KnownAt, Position, _plus_restored
from api.schemas import statements as out
from api.schemas.types import Day, Slug
from application import access
from domain.books import StatementKind
from domain.values import Actor
from reports import books_queries, files, queries
from reports.export import CsvVariant
from domain.statements.public import By

router = APIRouter(tags=["statements"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ZIP = "application/zip"
Statements = Annotated[Actor, Depends(deps.role(*access.READ_STATEMENTS))]
Worklists = Annotated[Actor, Depends(deps.role(*access.READ_WORKLISTS))]
From = Annotated[Day | None, Query(alias="from", description="First day of the span (with "
                                                             "`to`; or give `period`).")]
To = Annotated[Day | None, Query(alias="to", description="Last day of the span, inclusive.")]
PeriodLabel = Annotated[str | None, Query(
    alias="period", pattern=r"^[0-9]{4}(M[0-9]{2}|-[0-9]{2}|Q[1-4]|H[12])$",
    description="A month (2024M03), quarter (2024Q1) or half-year (2024H1): the period's "
                "statement as the books keep it: closed, as booked; the first open one, with "
                "the adjustments of the closed ones.", examples=["2024Q1"])]
Company = Annotated[Slug | None, Query(description="Only what this company may see.")]
Rhf = Annotated[Slug | None, Query(description="Only this RHF's patients, on the dates they "
                                                "were treated there.")]
Hf = Annotated[Slug | None, Query(description="Only this health trust's patients, on the dates "
                                               "they were treated there.")]
Format = Annotated[Literal["json", "csv", "zip", "xlsx"] | None, Query(
    alias="format", description="json, csv (one table: `table`), zip (every table as CSV) or "
                                "xlsx; default: by the Accept header, else json.")]
Table = Annotated[str | None, Query(max_length=40, pattern=r"^[a-z-]+$", description=(
    "With format=csv: the table (public-cost, patients, agreements, dispensations, grants, "
    "adjustments, changes, facts, worklist, upcoming); needed when the answer has several."))]
Variant = Annotated[CsvVariant | None, Query(alias="csv", description=(
    "excel-nb (semicolons, decimal comma, UTF-8 with BOM) or rfc4180 (commas, decimal point); "
    "default: excel-nb when Accept-Language prefers Norwegian."))]
Grain = Annotated[Literal["month", "quarter"], Query(description="Rows per month or quarter "
                                                     "(a period's statement is by month).")]
IssuedAt = Annotated[datetime | None, BeforeValidator(_plus_restored), Query(
    description="When the statement was issued (ISO 8601; without an offset: Oslo time).",
    examples=["2024-04-03T09:00:00+02:00"])]
Patient = Annotated[str | None, Query(pattern=r"^IMP-[0-9]{4,6}$",
                                      description="Only this patient's share.")]


def outputs(model: type[Any], description: str = "The statement.") -> dict[int | str, Any]:
    return {200: {"model": model, "description": description, "content": {
        "text/csv": {"schema": {"type": "string"}},
        ZIP: {"schema": {"type": "string", "format": "binary"}},
        XLSX: {"schema": {"type": "string", "format": "binary"}}}}, **READ_PROBLEMS}


def at(service: Any, known_at: Any, position: int | None) -> int | None:
    """The log position an answer is as known at: a moment or a position (not both), or None:
    the one the read models have reached."""
    if known_at is None and position is None:
        return None
    return deps.known_position(service, known_at, position)


def answer(statement: Any, fmt: str | None, request: Request, name: str, model: type[Any],
           *, table: str | None = None, variant: CsvVariant | None = None) -> Response:
    # The one tenancy rule on everything the statement names (application.access, ADR 0016).
    statement = request.app.state.service.view(request.state.actor).statement(statement)
    accept = request.headers.get("accept", "")
    fmt = fmt or ("xlsx" if XLSX in accept else "zip" if ZIP in accept
                  else "csv" if "text/csv" in accept else "json")
    if fmt == "json":
        return Response(out.out(model, json.dumps(statement.to_dict(), default=str)),
                        media_type="application/json")
    if fmt == "xlsx":
        return _file(files.xlsx_bytes(statement), XLSX, f"{name}.xlsx")
    chosen = variant or (CsvVariant.EXCEL_NB if files.accepts_norwegian(
        request.headers.get("accept-language", "")) else CsvVariant.RFC4180)
    if fmt == "zip":
        return _file(files.zip_bytes(statement, chosen, name), ZIP, f"{name}.zip")
    try:
        sheet = files.one_table(statement, table)
    except ValueError as e:
        raise Problem(422, "choose-a-table", f"{e}: give table=, or format=zip",
                      extra={"tables": files.table_names(statement)}) from None
    return _file(files.csv_bytes(sheet, chosen), "text/csv; charset=utf-8",
                 f"{name}-{table or files.table_names(statement)[0]}.csv")


def _file(body: bytes, media_type: str, filename: str) -> Response:
    return Response(body, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def span(start: Any, end: Any, label: str | None) -> None:
    if label is not None and (start is not None or end is not None):
        raise Problem(422, "invalid-request", "give period, or from and to, not both")
    if label is None and (start is None or end is None):
        raise Problem(422, "invalid-request", "give the period: period=2024Q1, or from and to")


@router.get("/v1/statements/company", response_class=Response,
            responses=outputs(out.CompanyStatementOut),
            summary="Company obligations: slots, coverage, packs at the company's cost, grants")
def company_statement(request: Request, actor: Statements, service: ServiceDep,
                      min_position: MinPosition, start: From = None, end: To = None,
                      period: PeriodLabel = None, company: Company = None, rhf: Rhf = None,
                      known_at: KnownAt = None, position: Position = None, fmt: Format = None,
                      table: Table = None, variant: Variant = None) -> Response:
    span(start, end, period)
    sources, position = service.sources(min_position), at(service, known_at, position)
    if period is not None:
        found: Any = books_queries.statement(service.ledger, sources, actor,
                                             StatementKind.COMPANY, period, company=company,
                                             rhf=rhf, at=position)
    else:
        assert start is not None and end is not None  # span() says so
        found = queries.company_obligations(sources, actor, start, end, company=company,
                                            rhf=rhf, at=position)
    return answer(found, fmt, request, "company-statement", out.CompanyStatementOut,
                  table=table, variant=variant)


@router.get("/v1/statements/public-cost", response_class=Response,
            responses=outputs(out.PublicCostOut),
            summary="Public cost per RHF and HF, per month or quarter")
def public_cost_statement(request: Request, actor: Statements, service: ServiceDep,
                          min_position: MinPosition, start: From = None, end: To = None,
                          period: PeriodLabel = None, by: Grain = "quarter",
                          company: Company = None, rhf: Rhf = None, hf: Hf = None,
                          patient: Patient = None, known_at: KnownAt = None,
                          position: Position = None, fmt: Format = None, table: Table = None,
                          variant: Variant = None) -> Response:
    span(start, end, period)
    sources, position = service.sources(min_position), at(service, known_at, position)
    if period is not None:
        if patient is not None:
            raise Problem(422, "invalid-request", "patient narrows a span (from and to); a "
                          "period's statement is kept whole")
        found: Any = books_queries.statement(service.ledger, sources, actor,
                                             StatementKind.PUBLIC_COST, period, company=company,
                                             rhf=rhf, hf=hf, at=position)
    else:
        assert start is not None and end is not None  # span() says so
        found = queries.public_cost_statement(sources, actor, start, end, By(by),
                                              company=company, rhf=rhf, hf=hf, patient=patient,
                                              at=position)
    return answer(found, fmt, request, "public-cost", out.PublicCostOut, table=table,
                  variant=variant)


@router.get("/v1/statements/{kind}/restatement", response_class=Response,
            responses=outputs(out.RestatementOut, "What changed, and the facts that did it."),
            summary="What changed in a statement since it was issued, and the facts that did it",
            description="Give when it was issued: `issued_position` (printed on it) or "
                        "`issued_at` (a moment). For an issued statement by its number, see "
                        "/v1/statements/issued/{number}/restatement.")
def restatement(request: Request, kind: Literal["company", "public-cost"], actor: Statements,
                service: ServiceDep, start: Annotated[Day, Query(alias="from")],
                end: Annotated[Day, Query(alias="to")], min_position: MinPosition,
                issued_position: Annotated[int | None, Query(ge=0, le=2**53, description=(
                    "The log position printed on the issued statement."))] = None,
                issued_at: IssuedAt = None,
                by: Grain = "quarter", company: Company = None, rhf: Rhf = None, hf: Hf = None,
                known_at: KnownAt = None, position: Position = None, fmt: Format = None,
                table: Table = None, variant: Variant = None) -> Response:
    if (issued_position is None) == (issued_at is None):
        raise Problem(422, "invalid-request", "say when the statement was issued: "
                      "issued_position or issued_at (one of them)")
    issued = at(service, issued_at, issued_position)
    assert issued is not None  # one of them was given
    result = queries.restatement(service.sources(min_position), actor, StatementKind(kind),
                                 start, end, issued, By(by), company=company, rhf=rhf, hf=hf,
                                 at=at(service, known_at, position))
    return answer(result, fmt, request, f"{kind}-restatement", out.RestatementOut,
                  table=table, variant=variant)


@router.get("/v1/worklist", response_class=Response, responses=outputs(out.WorklistOut),
            summary="Financing gaps: who carries a cost nobody has decided on, and since when")
def worklist(request: Request, actor: Worklists, service: ServiceDep,
             min_position: MinPosition, start: Annotated[Day | None, Query(alias="from")] = None,
             end: Annotated[Day | None, Query(alias="to")] = None, company: Company = None,
             rhf: Rhf = None, known_at: KnownAt = None, position: Position = None,
             fmt: Format = None, variant: Variant = None,
             dispensations: Annotated[bool, Query(description=(
                 "List each item's dispensations at stake, costed (slower: at national scale "
                 "tens of thousands); narrow the period or scope to read them."))] = False,
             ) -> Response:
    statement = queries.financing_gaps(service.sources(min_position), actor,
                                       service.ledger.clock(), start, end, company=company,
                                       rhf=rhf, at=at(service, known_at, position),
                                       dispensations=dispensations)
    return answer(statement, fmt, request, "worklist", out.WorklistOut, variant=variant)


@router.get("/v1/upcoming", response_class=Response, responses=outputs(out.UpcomingOut),
            summary="Company coverage ending in the next days, per RHF, and who pays next")
def upcoming(request: Request, actor: Worklists, service: ServiceDep,
             min_position: MinPosition, days: Annotated[int, Query(ge=0, le=3660)] = 90,
             on: Annotated[Day | None, Query(description="Count from (default today).")] = None,
             company: Company = None, rhf: Rhf = None, known_at: KnownAt = None,
             position: Position = None, fmt: Format = None,
             variant: Variant = None) -> Response:
    statement = queries.coverage_ending(service.sources(min_position), actor,
                                        on or service.ledger.clock(), days, company=company,
                                        rhf=rhf, at=at(service, known_at, position))
    return answer(statement, fmt, request, "upcoming", out.UpcomingOut, variant=variant)
