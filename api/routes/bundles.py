"""Statement bundles a partner verifies alone (ADR 0023, docs/proofs.md section 8): a statement's
lines, the facts they rest on with one multiproof of them all to the latest signed tree head, and
consistency proofs from the heads the caller archived (`archived`). `impress-verify bundle`
checks it offline and builds the statement again from the facts. With `earlier`, a bundle that
rests on one the caller verified and kept (impress-bundle-v3, ADR 0031): the agreement streams'
facts up to that head are left out, the caller's verifier has them in its store.

The usual tenancy: a partner gets its own company's bundles, an RHF officer its region's; a
statement that names patients or companies the caller may not see cannot be given whole (403);
supporting facts the caller may not see are named as withheld, not given.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import Field

from api import deps
from api.deps import MinPosition, ServiceDep, problems
from api.problems import Problem
from api.routes.books import Number
from api.routes.proofs import ConsistencyOut, HeadIn
from api.routes.statements import Company, From, Grain, Hf, PeriodLabel, Rhf, Statements, To, span
from api.routes.whopays import KnownAt, Position
from api.schemas.responses import Out
from audit import bundles, proofs
from domain.books import StatementKind
from domain.statements.scope import check
from domain.statements.public import By
from domain.values import Actor
from proofs.bundle import BUNDLE_FORMAT, RESTING_FORMAT, Bundle
from reports import books_queries, queries
from reports.books import Books

router = APIRouter(tags=["proofs"])
BUNDLE_PROBLEMS = problems(401, 403, 404, 409, 422, 503)  # 409: beyond the latest signed head
Size = Annotated[int, Field(ge=1, le=2**53)]
Archived = Annotated[list[Size] | None, Query(description=(
    "The size of a head you archived (repeatable): the bundle carries a consistency proof from "
    "it to the bundle's head."))]
EarlierAt = Annotated[Size | None, Query(description=(
    "The known_at of a bundle you verified and kept (impress-verify bundle --store): a signed "
    "head's size. The bundle (impress-bundle-v3) then leaves out the facts up to it of the "
    "agreement streams it rests on, and carries a consistency proof from that head."))]


class BundleFactOut(Out):
    leaf_index: int = Field(description="The fact's position - 1.")
    fact: dict[str, Any] = Field(description="The fact's canonical object (impress-chain-v1).")
    salt: str = Field(pattern=r"^[0-9a-f]{64}$")


class BundleLineOut(Out):
    key: list[str]
    section: str
    values: dict[str, str]
    rests_on: list[str] = Field(description="The streams the line rests on (every fact of "
                                "each up to known_at).")


class BundleScopeOut(Out):
    kind: str = Field(examples=["company"])
    party: str | None
    region: str | None


class BundleStatementOut(Out):
    kind: str = Field(examples=["company"])
    scope: BundleScopeOut
    from_: str = Field(alias="from")
    to: str
    period: str | None = Field(examples=["2024Q1"])
    by: str
    known_at: int = Field(description="The log position the statement is as known at.")
    number: str | None = Field(description="The number it was issued under.")
    since: int | None = Field(description="A restatement: from this position to known_at.")
    rests_on: list[str]
    lines_format: str
    lines: list[BundleLineOut]
    lines_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    restatement: dict[str, Any] | None


class WithheldOut(Out):
    stream: str
    versions: list[int]


class MomentOut(Out):
    position: int
    recorded_at: str


class EarlierOut(Out):
    known_at: int = Field(description="The known_at of the bundle this one rests on.")
    head: HeadIn = Field(description="The signed head of that size.")
    streams: list[str] = Field(description="The streams whose facts up to known_at are left "
                               "out (the verifier's store holds them).")
    consistency: ConsistencyOut = Field(description="From that head to this bundle's head.")


class BundleOut(Out):
    format: str = Field(examples=[BUNDLE_FORMAT, RESTING_FORMAT])
    head: HeadIn
    earlier: EarlierOut | None = Field(None, description="impress-bundle-v3 only: the bundle "
                                       "this one rests on (docs/proofs.md section 8.5).")
    statement: BundleStatementOut
    facts: list[BundleFactOut]
    multiproof: list[str] = Field(description="The tree nodes that, with the facts' leaves, "
                                  "lead to the head's root (docs/proofs.md section 8.4).")
    withheld: list[WithheldOut]
    moments: list[MomentOut]
    consistency: list[ConsistencyOut]


OUTPUT: dict[int | str, Any] = {200: {"model": BundleOut, "description": "The bundle."},
                                **BUNDLE_PROBLEMS}


@router.get("/v1/statements/issued/{number}/bundle", response_class=Response, responses=OUTPUT,
            summary="An issued statement as a bundle you verify offline (impress-verify bundle)")
def issued_bundle(number: Number, actor: Statements, service: ServiceDep,
                  min_position: MinPosition, archived: Archived = None,
                  earlier: EarlierAt = None) -> Response:
    return _answer(service, actor, lambda: _issued(service, actor, number, archived,
                                                   min_position=min_position, earlier=earlier))


@router.get("/v1/statements/issued/{number}/restatement/bundle", response_class=Response,
            responses=OUTPUT, summary="What changed since an issued statement, as a bundle")
def restatement_bundle(number: Number, actor: Statements, service: ServiceDep,
                       min_position: MinPosition, known_at: KnownAt = None,
                       position: Position = None, archived: Archived = None,
                       earlier: EarlierAt = None) -> Response:
    at = _at(service, known_at, position)
    return _answer(service, actor, lambda: _issued(service, actor, number, archived,
                                                   restated=True, at=at,
                                                   min_position=min_position, earlier=earlier))


@router.get("/v1/statements/{kind}/bundle", response_class=Response, responses=OUTPUT,
            summary="A statement as a bundle you verify offline (impress-verify bundle)",
            description="A period's statement as the books keep it (`period`), or a span of "
                        "dates (`from`, `to`, `by`), as known at the latest signed head (or an "
                        "earlier position).")
def statement_bundle(kind: Literal["company", "public-cost"], actor: Statements,
                     service: ServiceDep, min_position: MinPosition, start: From = None,
                     end: To = None,
                     period: PeriodLabel = None, by: Grain = "quarter", company: Company = None,
                     rhf: Rhf = None, hf: Hf = None, known_at: KnownAt = None,
                     position: Position = None, archived: Archived = None,
                     earlier: EarlierAt = None) -> Response:
    span(start, end, period)
    at = _at(service, known_at, position)

    def build() -> Bundle:
        ledger, sources = service.ledger, service.sources(min_position)
        source = sources.at(None)
        scope = check(source, queries.scope_for(actor, company, rhf, hf, source.regions()))
        dates = None if start is None or end is None else queries.period(start, end)
        spec = bundles.asked_spec(ledger, StatementKind(kind), scope, label=period,
                                  period=dates,
                                  by=By.MONTH if period else By(by), at=at)
        return bundles.make(ledger, service.view(actor), spec, sources, Books(ledger),
                            archived=archived or (), earlier=earlier)

    return _answer(service, actor, build)


def _at(service: ServiceDep, known_at: Any, position: int | None) -> int | None:
    if known_at is None and position is None:
        return None  # the latest signed head's
    return deps.known_position(service, known_at, position)


def _issued(service: ServiceDep, actor: Actor, number: str, archived: list[int] | None, *,
            restated: bool = False, at: int | None = None,
            min_position: int | None = None, earlier: int | None = None) -> Bundle:
    ledger = service.ledger
    books = Books(ledger)
    books_queries.readable(ledger, actor, number)
    spec, issued_at = bundles.issued_spec(ledger, books, number, restated=restated, at=at)
    return bundles.make(ledger, service.view(actor), spec, service.sources(min_position), books,
                        issued_at=issued_at, archived=archived or (), earlier=earlier)


def _answer(service: ServiceDep, actor: Actor, build: Any) -> Response:
    try:
        found = build()
    except bundles.NoSignedHead as e:
        raise Problem(404, "no-signed-head", str(e)) from None
    except bundles.NotYetSigned as e:
        raise Problem(409, "not-yet-signed", str(e)) from None
    except bundles.UnknownEarlier as e:
        raise Problem(422, "unknown-earlier-head", str(e)) from None
    except bundles.NotWhole as e:
        raise Problem(403, "forbidden", str(e)) from None
    except proofs.OutOfRange as e:
        raise Problem(422, "tree-size-out-of-range", str(e)) from None
    return Response(found.to_json(),
                    media_type="application/json")
