"""The overview, one per role: the figures each user opens the ledger for, on a date (default
today), each from the same query functions the API answers with."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from application import access, queries
from projections import queries as who_pays
from api.served import Served as Service
from audit import verify
from domain.financing import PayerKind
from domain.values import Actor
from reports import queries as reports
from domain.statements.public import By
from domain.statements.worklist import Gap
from web.pages import common
from web.pages.common import ServiceDep, day
from web.render import page
from web.session import SignedIn

router = APIRouter()
TAKEOVER_DAYS = 30


def month_of(on: date) -> tuple[date, date]:
    first = on.replace(day=1)
    return first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def quarter_of(on: date) -> tuple[date, date]:
    first = date(on.year, 3 * ((on.month - 1) // 3) + 1, 1)
    return first, month_of(date(first.year, first.month + 2, 1))[1]


@router.get("/")
def overview(request: Request, actor: SignedIn, service: ServiceDep,
             on: Annotated[str | None, Query()] = None) -> Response:
    today = day(on, "the date") or service.ledger.clock()
    figures = FIGURES[actor.role](service, actor, today) if actor.role in FIGURES else {}
    return page(request, "pages/overview.html", actor=actor, on=today, limit=common.SHOWN, **figures)


def _rhf_finance(service: Service, actor: Actor, on: date) -> dict[str, Any]:
    sources = service.current()
    month, quarter = month_of(on), quarter_of(on)
    worklist = reports.financing_gaps(sources, actor, on, end=on)
    public_now = who_pays.paid_by(service.models, actor, on, PayerKind.PUBLIC.value,
                                  actor.organisation, min_position=service.ledger.head(),
                                  wait=service.wait)
    takeovers = reports.coverage_ending(sources, actor, on, TAKEOVER_DAYS)
    return {
        "month": month, "quarter": quarter,
        "month_cost": {"totals": reports.public_cost_statement(sources, actor, *month,
                                                               By.MONTH).totals()},
        "quarter_cost": {"totals": reports.public_cost_statement(sources, actor, *quarter,
                                                                 By.QUARTER).totals()},
        "public_now": public_now, "summary": reports.gap_summary(worklist, on),
        "takeovers": [e for e in takeovers.endings if e.then.kind is PayerKind.PUBLIC],
        "takeover_days": TAKEOVER_DAYS,
    }


def _partner(service: Service, actor: Actor, on: date) -> dict[str, Any]:
    groups = who_pays.patient_groups(service.models, actor, min_position=service.ledger.head(),
                                     wait=service.wait)
    first = min([g.first_enrolled for g in groups if g.first_enrolled] + [on])
    return {"patient_count": sum(g.patients for g in groups), "by_cohort": groups,
            "since": first,
            "sums": reports.company_obligation_totals(service.current(), actor, first, on)}


def _trial_office(service: Service, actor: Actor, on: date) -> dict[str, Any]:
    sources = service.current()
    # of the worklist, the assessments only (the national worklist is tens of thousands)
    pending = reports.financing_gaps(sources, actor, on, end=on, gaps=(Gap.ASSESSMENT_MISSING,))
    coming = reports.coverage_ending(sources, actor, on, TAKEOVER_DAYS)
    return {
        "cohorts": queries.cohorts(service, actor),
        "assessments_due": pending.items,
        "assessments_coming": [e for e in coming.endings if e.then.kind is PayerKind.PENDING],
        "starts_missing": who_pays.not_started(service.models, actor,
                                               min_position=service.ledger.head(),
                                               wait=service.wait),
        "takeover_days": TAKEOVER_DAYS,
    }


def _procurement(service: Service, actor: Actor, on: date) -> dict[str, Any]:
    quarter, sources = quarter_of(on), service.current()
    return {"agreements": queries.agreements(service, actor), "quarter": quarter,
            "quarter_cost": {"totals": reports.public_cost_statement(sources, actor, *quarter,
                                                                     By.QUARTER).totals()},
            "summary": reports.gap_summary(reports.financing_gaps(sources, actor, on, end=on),
                                           on)}


def _decision_forum(service: Service, actor: Actor, on: date) -> dict[str, Any]:
    return {"cohorts": queries.cohorts(service, actor), "drugs": queries.drugs(service, actor)}


def _auditor(service: Service, actor: Actor, on: date) -> dict[str, Any]:
    return {"digest": verify.digest(service.ledger.log)}  # the auditor's view reads the log


FIGURES = {
    access.RHF_FINANCE: _rhf_finance, access.PARTNER: _partner,
    access.TRIAL_OFFICE: _trial_office, access.PROCUREMENT: _procurement,
    access.DECISION_FORUM: _decision_forum, access.AUDITOR: _auditor,
}
