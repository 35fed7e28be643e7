"""Worklist and upcoming: financing gaps (since when, what would resolve them), pending
assessments, dispensations nobody should pay for, and company coverage ending soon with who
takes over; filters by RHF and HF."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from api.problems import Problem
from application import access
from reports import queries as reports
from web.pages import common
from web.pages.common import ServiceDep, day
from web.pages.statements import file_answer
from web.render import page
from web.session import SignedIn

router = APIRouter()
Text = Annotated[str | None, Query(max_length=64)]



@router.get("/worklist")
def worklist(request: Request, actor: SignedIn, service: ServiceDep, rhf: Text = None,
             hf: Text = None, on: Text = None,
             days: Annotated[int, Query(ge=0, le=3660)] = 90) -> Response:
    if actor.role not in access.READ_WORKLISTS:
        raise Problem(403, "forbidden", f"the role {actor.role} does not read worklists")
    today = day(on, "the date") or service.ledger.clock()
    scoped = actor.role in (access.PARTNER, access.RHF_FINANCE)
    region, trust = None if scoped else rhf or None, hf or None
    sources = service.current()
    # The actor's own scope (an RHF officer's region, a partner's company), judged in the
    # queries: the figures count every item; only the items shown are withheld from, by the
    # one tenancy rule (application.access, ADR 0016): a region's worklist at national scale is
    # tens of thousands of items, of which a page shows the first `SHOWN` of each kind.
    items = reports.financing_gaps(sources, actor, today, end=today, rhf=region, hf=trust)
    coming = reports.coverage_ending(sources, actor, today, days, rhf=region, hf=trust)
    summary = reports.gap_summary(items, today)
    view, limit = service.view(actor), common.SHOWN
    trusts = common.trusts_of(service, actor)
    return page(request, "pages/worklist.html", actor=actor, summary=summary,
                listed={kind: view.scrub_record(getattr(summary, kind)[:limit])
                       for kind in ("gaps", "pending", "dispensations")},
                endings=view.scrub_record(coming.endings[:limit]),
                endings_count=len(coming.endings), on=today, days=days,
                rhfs=sorted({(t.rhf_id, t.rhf_name) for t in trusts}),
                hfs=sorted((t.hf_id, t.name) for t in trusts), rhf=rhf or "", hf=hf or "",
                scoped=scoped, limit=limit)


@router.get("/worklist/download")
def download(actor: SignedIn, service: ServiceDep, rhf: Text = None, hf: Text = None,
             on: Text = None, fmt: Annotated[str, Query(alias="format",
                                                        pattern="^(xlsx|csv|csv-nb)$")] = "xlsx",
             ) -> Response:
    if actor.role not in access.READ_WORKLISTS:
        raise Problem(403, "forbidden", f"the role {actor.role} does not read worklists")
    scoped = actor.role in (access.PARTNER, access.RHF_FINANCE)
    items = service.view(actor).statement(reports.financing_gaps(
        service.current(), actor, service.ledger.clock(), end=day(on, "the date"),
        rhf=None if scoped else rhf or None, hf=hf or None))
    return file_answer(items, fmt, "worklist")
