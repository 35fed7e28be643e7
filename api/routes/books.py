"""Issued statements and closed periods (ADR 0022): issue a period's statement, close and reopen
periods, list a scope's books, produce an issued statement again, restate since a number.

An RHF's finance officer keeps its public-cost books (its RHF's and its health trusts'),
hospital procurement the companies' obligations; a partner reads its own company's books.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import Field, model_validator

from api import deps
from api.deps import READ_PROBLEMS, WRITE_PROBLEMS, IdempotencyKey, MinPosition, ServiceDep
from api.routes.common import fact_out, mark, receipt_out
from api.problems import Problem
from api.routes.statements import (Company, Format, Hf, Rhf, Statements, Table,
                                   Variant, answer, at, outputs)
from api.routes.whopays import KnownAt, Position
from api.schemas import statements as out
from api.schemas.responses import ReceiptOut
from api.schemas.types import Reason, Schema, Slug
from application import access
from domain import commands as c
from domain.books import BookKey, StatementKind
from domain.statement_lines import document
from domain.values import Actor
from application.ledger import Receipt
from reports import books_queries
from reports.bookkeeping import book_dict, close, reopen
from domain.statements.periods import issued_dict

router = APIRouter(tags=["issued statements"])

ISSUED_OUTPUTS = outputs(out.PublicCostOut | out.CompanyStatementOut,  # type: ignore[arg-type]
                         "The issued statement, produced again as it was issued.")
ISSUED_OUTPUTS[200]["content"]["text/plain"] = {"schema": {"type": "string"}}

Keepers = Annotated[Actor, Depends(deps.role(*access.COMMAND_ROLES[c.IssueStatement]))]
Number = Annotated[str, Path(pattern=r"^(PC|CO)-[a-z0-9][a-z0-9-]*-[0-9]{4}(M[0-9]{2}|Q[1-4]|H[12])"
                                     r"-[1-9][0-9]{0,5}$", max_length=100,
                             examples=["PC-helse-vest-2024Q1-1"],
                             description="An issued statement's number.")]
PERIOD = r"^[0-9]{4}(M[0-9]{2}|-[0-9]{2}|Q[1-4]|H[12])$"


class ScopeIn(Schema):
    """Whose statement: a company (company obligations), an RHF or a health trust (public
    cost). An RHF officer or a partner may name only its own."""

    statement: Literal["public-cost", "company"] = Field(examples=["public-cost"])
    company: Slug | None = None
    rhf: Slug | None = Field(default=None, examples=["helse-vest"])
    hf: Slug | None = None

    @model_validator(mode="after")
    def one_party(self) -> ScopeIn:
        if sum(x is not None for x in (self.company, self.rhf, self.hf)) != 1:
            raise ValueError("name one party: company, rhf or hf")
        return self


class PeriodIn(ScopeIn):
    period: str = Field(pattern=PERIOD, examples=["2024Q1"],
                        description="A month (2024M03), quarter (2024Q1) or half-year (2024H1).")


class ReopenIn(PeriodIn):
    reason: Reason


def key_of(service: ServiceDep, actor: Actor, body: ScopeIn) -> BookKey:
    return books_queries.key_for(service.ledger, actor, StatementKind(body.statement),
                                 company=body.company, rhf=body.rhf, hf=body.hf)


@router.post("/v1/statements/issued", status_code=201, response_model=out.IssueReceiptOut,
             responses=WRITE_PROBLEMS, summary="Issue a period's statement",
             description="Builds the period's statement as known now (closed periods' "
                         "adjustments included), numbers it (PC-helse-vest-2024Q1-1; a re-issue "
                         "is -2 and names what it supersedes) and records StatementIssued with "
                         "the position and the hash of its lines. Roles: rhf_finance (its "
                         "region's public cost), procurement (companies' obligations).")
def issue(body: PeriodIn, actor: Keepers, service: ServiceDep, key: IdempotencyKey,
          response: Response) -> out.IssueReceiptOut:
    issued = books_queries.issue(service.ledger, service, service.current, actor,
                                 key_of(service, actor, body), body.period, key)
    if issued.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return out.IssueReceiptOut(issued=out.IssuedOut.model_validate(issued_dict(issued.fact)),
                               position=issued.receipt.position,
                               facts=[fact_out(f) for f in issued.receipt.facts])


@router.post("/v1/statements/closures", status_code=201, response_model=ReceiptOut,
             responses=WRITE_PROBLEMS, summary="Close a period on its latest issued statement",
             description="Periods close in order. The closed period's figures are the statement "
                         "it booked; what changes later shows as adjustments in the first open "
                         "period's statement. Roles: rhf_finance, procurement (their books).")
def close_period(body: PeriodIn, actor: Keepers, service: ServiceDep, key: IdempotencyKey,
                 response: Response) -> ReceiptOut:
    recorded = close(Marking(service, response), actor, key_of(service, actor, body),
                     books_queries.period_of(body.period), key)
    return receipt_out(recorded)


@router.post("/v1/statements/reopenings", status_code=201, response_model=ReceiptOut,
             responses=WRITE_PROBLEMS, summary="Reopen the last closed period, saying why")
def reopen_period(body: ReopenIn, actor: Keepers, service: ServiceDep, key: IdempotencyKey,
                  response: Response) -> ReceiptOut:
    recorded = reopen(Marking(service, response), actor, key_of(service, actor, body),
                      books_queries.period_of(body.period), body.reason, key)
    return receipt_out(recorded)


class Marking:
    """The service, marking a replayed answer (an Idempotency-Key seen before)."""

    def __init__(self, service: ServiceDep, response: Response) -> None:
        self.service, self.response = service, response

    def record(self, commands: Sequence[c.Command], actor: Actor,
               key: str | None = None) -> Receipt:
        return mark(self.service.record(commands, actor, key), self.response)


@router.get("/v1/statements/books", response_model=out.BookOut, responses=READ_PROBLEMS,
            summary="A scope's books: statements issued, periods closed, reopenings")
def books(actor: Statements, service: ServiceDep,
          statement: Annotated[StatementKind, Query()], company: Company = None,
          rhf: Rhf = None, hf: Hf = None, known_at: KnownAt = None,
          position: Position = None) -> out.BookOut:
    key = books_queries.key_for(service.ledger, actor, statement, company=company, rhf=rhf,
                                hf=hf)
    found = books_queries.book(service.ledger, actor, key, at(service, known_at, position))
    return out.BookOut.model_validate(book_dict(found, key))


@router.get("/v1/statements/issued/{number}", response_class=Response,
            responses=ISSUED_OUTPUTS, summary="An issued statement, produced again byte for byte",
            description="format=lines gives its canonical lines (docs/statements.md), whose "
                        "SHA-256 is the `lines_hash` it was issued with; only to an actor from "
                        "whom nothing in them is withheld.")
def issued_statement(request: Request, number: Number, actor: Statements,
                     service: ServiceDep, min_position: MinPosition,
                     fmt: Annotated[Literal["json", "csv", "zip", "xlsx", "lines"] | None,
                                    Query(alias="format")] = None,
                     table: Table = None, variant: Variant = None) -> Response:
    found = books_queries.issued(service.ledger, service.sources(min_position), actor, number)
    if fmt == "lines":
        lines = found.canonical_lines()
        view = service.view(actor)
        # the hash covers every byte: the lines are given whole, or not at all (ADR 0016)
        if any(view.scrub(x.to_json()) != x.to_json() for x in lines):
            raise Problem(403, "forbidden", f"{number} names patients or companies you may not "
                          "see: its lines cannot be given whole; ask for format=json")
        return Response(document(lines), media_type="text/plain; charset=utf-8")
    model = out.PublicCostOut if found.kind is StatementKind.PUBLIC_COST else \
        out.CompanyStatementOut
    return answer(found, fmt, request, number, model, table=table, variant=variant)


@router.get("/v1/statements/issued/{number}/restatement", response_class=Response,
            responses=outputs(out.RestatementOut, "What changed since it was issued."),
            summary="What changed in an issued statement since it was issued, and which facts")
def issued_restatement(request: Request, number: Number, actor: Statements,
                       service: ServiceDep, min_position: MinPosition, known_at: KnownAt = None,
                       position: Position = None, fmt: Format = None, table: Table = None,
                       variant: Variant = None) -> Response:
    result = books_queries.since(service.ledger, service.sources(min_position), actor, number,
                                 at(service, known_at, position))
    return answer(result, fmt, request, f"{number}-restatement", out.RestatementOut,
                  table=table, variant=variant)
