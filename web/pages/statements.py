"""Statements: a period's statement as the books keep it (closed periods as booked, the first
open one with the adjustments of the closed ones) or any span as known at a position, per RHF,
health trust or company; the scope's books (statements issued, periods closed) with the forms
to issue, close and reopen; the restatement since an issued statement; and downloads: XLSX, and
each table as CSV (Norwegian Excel's variant by default for bokmål readers, RFC 4180 too).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from api.problems import Problem
from application import access
from api.served import Served as Service
from domain import errors as err
from domain.books import StatementKind
from domain.periods import Grain, StatementPeriod
from domain.values import Actor
from reports import books_queries, files
from reports.bookkeeping import close, reopen
from reports import queries as reports
from reports.export import CsvVariant, slug
from domain.statements.periods import PeriodStatement
from domain.statements.public import By
from web.pages import common
from web.pages.common import ServiceDep, day, position
from web.render import page
from web.session import CheckedForm, SignedIn, lang_of
from web.sheets import sheet_views

router = APIRouter()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Text = Annotated[str | None, Query(max_length=64)]
Kind = Annotated[Literal["public-cost", "company"], Query()]
Grain_ = Annotated[Literal["month", "quarter"], Query()]
FileFormat = Literal["xlsx", "csv", "csv-nb", "zip", "zip-nb"]


@dataclass(frozen=True)
class Asked:
    kind: str
    period: str  # a month, quarter or half-year ("" with a span of from and to)
    start: date
    end: date
    by: str
    rhf: str
    hf: str
    company: str
    patient: str
    at: int | None
    issued: int | None  # restate since the statement issued at this position
    since: str  # restate since this issued statement (a number)

    def query(self, **changed: Any) -> str:
        a = replace(self, **changed)
        values = {"kind": a.kind, "period": a.period, "by": a.by, "rhf": a.rhf, "hf": a.hf,
                  "company": a.company, "patient": a.patient, "since": a.since,
                  "at": "" if a.at is None else a.at,
                  "issued": "" if a.issued is None else a.issued}
        if not a.period:
            values |= {"from": a.start.isoformat(), "to": a.end.isoformat()}
        return urlencode({k: v for k, v in values.items() if v != ""})


def asked(service: Service, kind: str, label: str | None, start: str | None, end: str | None,
          by: str, rhf: str | None, hf: str | None, company: str | None, patient: str | None,
          at: str | None, issued: str | None, since: str | None) -> Asked:
    first, last = day(start, "from"), day(end, "to")
    period = None
    if label or first is None or last is None:
        period = StatementPeriod.parse(label) if label else last_quarter(service.ledger.clock())
        first, last = period.start, period.end
    return Asked(kind, period.label if period else "", first, last, by, rhf or "", hf or "",
                 company or "", patient or "", position(at), position(issued), since or "")


def last_quarter(today: date) -> StatementPeriod:
    """The last quarter that has ended: what a finance officer reports on by default."""
    this = StatementPeriod.containing(Grain.QUARTER, today)
    return StatementPeriod.containing(Grain.QUARTER, this.start - timedelta(days=1))


def build(service: Service, actor: Actor, a: Asked) -> Any:
    """The statement asked for, as the actor may see it (the one tenancy rule, ADR 0016)."""
    return service.view(actor).statement(built(service, actor, a))


def built(service: Service, actor: Actor, a: Asked) -> Any:
    """The statement asked for, of the actor's scope, before anything in it is withheld: only
    for figures and for rows that go through the actor's View before they are shown."""
    # as recorded by now: a page after a form shows what the form recorded
    ledger, sources, at = service.ledger, service.current(), a.at
    party = {"rhf": a.rhf or None, "company": a.company or None}
    kind = StatementKind(a.kind)
    if a.period:
        found: Any = books_queries.statement(ledger, sources, actor, kind, a.period,
                                             hf=a.hf or None, at=at, **party)
    elif kind is StatementKind.COMPANY:
        found = reports.company_obligations(sources, actor, a.start, a.end, at=at, **party)
    else:
        found = reports.public_cost_statement(sources, actor, a.start, a.end, By(a.by),
                                              hf=a.hf or None, patient=a.patient or None,
                                              at=at, **party)
    return found


def restated(service: Service, actor: Actor, a: Asked) -> Any:
    """The restatement asked for (if any), as the actor may see it."""
    found = restated_built(service, actor, a)
    return None if found is None else service.view(actor).statement(found)


def restated_built(service: Service, actor: Actor, a: Asked) -> Any:
    ledger, sources, at = service.ledger, service.current(), a.at
    if a.since:
        found: Any = books_queries.since(ledger, sources, actor, a.since, at)
    elif a.issued is not None:
        found = reports.restatement(sources, actor, StatementKind(a.kind), a.start, a.end,
                                    a.issued, By(a.by), rhf=a.rhf or None, hf=a.hf or None,
                                    company=a.company or None, at=at)
    else:
        return None
    return found


def books_of(service: Service, actor: Actor, a: Asked) -> tuple[Any, bool]:
    """The scope's books (if it has one) and whether the actor keeps them."""
    try:
        key = books_queries.key_for(service.ledger, actor, StatementKind(a.kind),
                                    company=a.company or None, rhf=a.rhf or None,
                                    hf=a.hf or None)
    except err.InvalidInput:
        return None, False
    keeps = access.keeps_books(actor, service.ledger.workspace(), key.statement.value,
                               key.party_kind.value, key.party)
    return (key, books_queries.book(service.ledger, actor, key)), keeps


@router.get("/statements")
def statements(request: Request, actor: SignedIn, service: ServiceDep, kind: Kind = "public-cost",
               period: Text = None, start: Annotated[str | None, Query(alias="from")] = None,
               end: Annotated[str | None, Query(alias="to")] = None, by: Grain_ = "quarter",
               rhf: Text = None, hf: Text = None, company: Text = None, patient: Text = None,
               at: Text = None, issued: Text = None, since: Text = None,
               done: Text = None) -> Response:
    _may_read(actor)
    a = asked(service, kind, period, start, end, by, rhf, hf, company, patient, at, issued,
              since)
    return _render(request, service, actor, a, done or "")


def _render(request: Request, service: Service, actor: Actor, a: Asked, done: str,
            refused: str = "") -> Response:
    # A page shows the statement's figures and the first SHOWN rows of each table (the
    # downloads hold them all): at M a region's year by month is 28 000 rows of patients. Only
    # what is shown goes through the actor's View; figures are sums, which withholding leaves
    # as they are.
    view = service.view(actor)
    found, again = built(service, actor, a), restated_built(service, actor, a)
    text = None if view.sees_everything else view.scrub_text
    sheets = found.sheets()
    book, keeps = books_of(service, actor, a)
    return page(request, "pages/statements.html", 422 if refused else 200, actor=actor, a=a,
                statement=view.statement(found), totals=view.scrub(found.totals()),
                adjustment_totals=view.scrub(found.adjustment_totals()
                                             if isinstance(found, PeriodStatement) else None),
                sheets=sheet_views(sheets, common.SHOWN, text),
                tables=[(slug(x.name), x.name) for x in sheets],
                restatement=view.statement(again) if again is not None else None,
                restated=sheet_views(again.sheets(), common.SHOWN, text) if again else None,
                scoped=actor.role in (access.PARTNER, access.RHF_FINANCE),
                head=service.ledger.position(), book=book, keeps=keeps, done=done,
                refused=refused, nb=lang_of(request) == "nb",
                idempotency_key=str(uuid.uuid4()))


@router.get("/statements/download")
def download(request: Request, actor: SignedIn, service: ServiceDep, kind: Kind = "public-cost",
             period: Text = None, start: Annotated[str | None, Query(alias="from")] = None,
             end: Annotated[str | None, Query(alias="to")] = None, by: Grain_ = "quarter",
             rhf: Text = None, hf: Text = None, company: Text = None, patient: Text = None,
             at: Text = None, issued: Text = None, since: Text = None,
             table: Annotated[str | None, Query(max_length=40, pattern="^[a-z-]+$")] = None,
             fmt: Annotated[FileFormat, Query(alias="format")] = "xlsx") -> Response:
    _may_read(actor)
    a = asked(service, kind, period, start, end, by, rhf, hf, company, patient, at, issued,
              since)
    statement = restated(service, actor, a) or build(service, actor, a)
    name = "-".join(x for x in (kind, "restatement" if a.since or a.issued is not None else "",
                                a.period or f"{a.start}-{a.end}") if x)
    return file_answer(statement, fmt, name, table)


def file_answer(statement: Any, fmt: str, name: str, table: str | None = None) -> Response:
    """A statement as a file: XLSX, one table as CSV, or every table as CSV in a zip."""
    if fmt == "xlsx":
        return _attachment(files.xlsx_bytes(statement), XLSX, f"{name}.xlsx")
    variant = CsvVariant.EXCEL_NB if fmt.endswith("-nb") else CsvVariant.RFC4180
    if fmt.startswith("zip"):
        return _attachment(files.zip_bytes(statement, variant, name), "application/zip",
                           f"{name}.zip")
    try:
        sheet = files.one_table(statement, table)
    except ValueError as e:
        raise Problem(422, "choose-a-table", str(e)) from None
    return _attachment(files.csv_bytes(sheet, variant), "text/csv; charset=utf-8",
                       f"{name}-{table or files.table_names(statement)[0]}.csv")


def _attachment(body: bytes, media_type: str, filename: str) -> Response:
    return Response(body, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# --- issuing, closing, reopening (ADR 0022) ---------------------------------------------------


@router.post("/statements/books")
def keep_books(request: Request, actor: SignedIn, service: ServiceDep,
               form: CheckedForm) -> Response:
    """Issue the period's statement, close the period, or reopen it (the form's `action`);
    then back to the period's statement, which says what was done (a refusal says why, and
    nothing was recorded)."""
    _may_read(actor)
    action, kind = str(form.get("action", "")), str(form.get("kind", ""))
    party = {k: str(form.get(k) or "")[:64] or None for k in ("rhf", "hf", "company")}
    label, key = str(form.get("period", ""))[:16], str(form.get("idempotency_key", "")) or None
    if action not in ("issue", "close", "reopen") or kind not in ("public-cost", "company"):
        raise Problem(422, "bad-input", "no such action")
    back = {"kind": kind, "period": label, **{k: v for k, v in party.items() if v}}
    try:
        book = books_queries.key_for(service.ledger, actor, StatementKind(kind), **party)
        period = books_queries.period_of(label)
        if action == "issue":
            back["done"] = books_queries.issue(service.ledger, service, service.current, actor,
                                               book, label, key).fact.number
        elif action == "close":
            close(service, actor, book, period, key)
            back["done"] = "closed"
        else:
            reopen(service, actor, book, period, str(form.get("reason", "")), key)
            back["done"] = "reopened"
    except err.Refused as refusal:
        a = asked(service, kind, label if _label(label) else None, None, None, "quarter",
                  party["rhf"], party["hf"], party["company"], None, None, None, None)
        return _render(request, service, actor, a, "", refusal.message)
    return RedirectResponse(f"/statements?{urlencode(back)}", status_code=303)


def _label(text: str) -> bool:
    try:
        StatementPeriod.parse(text)
    except err.InvalidPeriod:
        return False
    return True


def _may_read(actor: Actor) -> None:
    if actor.role not in access.READ_STATEMENTS:
        raise Problem(403, "forbidden", f"the role {actor.role} does not read statements")
