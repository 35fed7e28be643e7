"""Statements: company obligations and public cost by month or quarter per RHF and HF, the
restatement since an earlier statement with the late or corrected facts named, and downloads
as XLSX and as CSV (Norwegian Excel's variant, or RFC 4180)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from application import access
from api.served import Served as Service
from domain.values import Actor
from reports import export
from reports import queries as reports
from reports.statements_public import By
from reports.statements_restate import StatementKind
from web.pages.common import ServiceDep, day, position
from web.render import page
from web.session import SignedIn
from web.sheets import sheet_views

router = APIRouter()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Text = Annotated[str | None, Query(max_length=64)]
Kind = Annotated[Literal["public-cost", "company"], Query()]
Grain = Annotated[Literal["month", "quarter"], Query()]


@dataclass(frozen=True)
class Asked:
    kind: str
    start: date
    end: date
    by: str
    rhf: str
    company: str
    at: int | None
    issued: int | None

    def query(self) -> str:
        from urllib.parse import urlencode

        values = {"kind": self.kind, "from": self.start.isoformat(), "to": self.end.isoformat(),
                  "by": self.by, "rhf": self.rhf, "company": self.company,
                  "at": "" if self.at is None else self.at,
                  "issued": "" if self.issued is None else self.issued}
        return urlencode({k: v for k, v in values.items() if v != ""})


def asked(service: Service, kind: str, start: str | None, end: str | None, by: str,
          rhf: str | None, company: str | None, at: str | None, issued: str | None) -> Asked:
    today = service.ledger.clock()
    return Asked(kind, day(start, "from") or date(today.year, 1, 1),
                 day(end, "to") or date(today.year, 12, 31), by, rhf or "", company or "",
                 position(at), position(issued))


def build(service: Service, actor: Actor, a: Asked) -> Any:
    sources, rhf, company = service.current(), a.rhf or None, a.company or None
    view = service.view(actor)  # the one tenancy rule (application.access, ADR 0016)
    if a.kind == "company":
        return view.statement(reports.company_obligations(sources, actor, a.start, a.end,
                                                          rhf=rhf, company=company, at=a.at))
    return view.statement(reports.public_cost_statement(sources, actor, a.start, a.end,
                                                        By(a.by), rhf=rhf, company=company,
                                                        at=a.at))


def restated(service: Service, actor: Actor, a: Asked) -> Any:
    if a.issued is None:
        return None
    return service.view(actor).statement(reports.restatement(
        service.current(), actor, StatementKind(a.kind), a.start, a.end, a.issued, By(a.by),
        rhf=a.rhf or None, company=a.company or None, at=a.at))


@router.get("/statements")
def statements(request: Request, actor: SignedIn, service: ServiceDep, kind: Kind = "public-cost",
               start: Annotated[str | None, Query(alias="from")] = None,
               end: Annotated[str | None, Query(alias="to")] = None, by: Grain = "quarter",
               rhf: Text = None, company: Text = None, at: Text = None,
               issued: Text = None) -> Response:
    _may_read(actor)
    a = asked(service, kind, start, end, by, rhf, company, at, issued)
    statement = build(service, actor, a)
    restatement = restated(service, actor, a)
    return page(request, "pages/statements.html", actor=actor, a=a, statement=statement,
                totals=statement.to_dict()["totals"], sheets=sheet_views(statement.sheets()),
                restatement=restatement,
                restated=sheet_views(restatement.sheets()) if restatement else None,
                scoped=actor.role in (access.PARTNER, access.RHF_FINANCE),
                head=service.ledger.position())


@router.get("/statements/download")
def download(actor: SignedIn, service: ServiceDep, kind: Kind = "public-cost",
             start: Annotated[str | None, Query(alias="from")] = None,
             end: Annotated[str | None, Query(alias="to")] = None, by: Grain = "quarter",
             rhf: Text = None, company: Text = None, at: Text = None, issued: Text = None,
             fmt: Annotated[Literal["xlsx", "csv", "csv-nb"], Query(alias="format")] = "xlsx",
             ) -> Response:
    _may_read(actor)
    a = asked(service, kind, start, end, by, rhf, company, at, issued)
    statement = restated(service, actor, a) or build(service, actor, a)
    name = f"{kind}{'-restatement' if a.issued is not None else ''}-{a.start}-{a.end}"
    return file_answer(statement, fmt, name)


def file_answer(statement: Any, fmt: str, name: str) -> Response:
    if fmt == "xlsx":
        return Response(export.xlsx_bytes(statement), media_type=XLSX,
                        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    variant = export.CsvVariant.EXCEL_NB if fmt == "csv-nb" else export.CsvVariant.RFC4180
    return Response(export.csv_text(statement.sheets(), variant).encode("utf-8"),
                    media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


def _may_read(actor: Actor) -> None:
    from api.problems import Problem

    if actor.role not in access.READ_STATEMENTS:
        raise Problem(403, "forbidden", f"the role {actor.role} does not read statements")
