"""Statements, worklists and upcoming coverage ends for an actor: the query functions that the
API's routes and the web pages both call, so each is built in one place, from the read models
(`sources`: reports.readmodels.ReadModelSources, or a replay's sources for the auditor).

A partner's statements are scoped to its company and an RHF officer's to its region, whatever
they ask for; asking for another's is refused as unknown. Others may narrow with `company` or
`rhf`. `at` is the log position the answer is as known at (the caller resolves a moment;
None: the position the read models have reached).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from application.access import PARTNER, RHF_FINANCE
from domain import errors as err
from domain.known import not_found_or_not_yours
from domain.values import Actor
from domain.money import Totals
from domain.statements.scope import check
from domain.statements.source import Source
from domain.statements.worklist import add_values, totals_of
from reports.statements import Period, Scope
from domain.statements.company import CompanyStatement, company_statement, company_totals
from domain.statements.public import By, PublicCostStatement, public_cost
from reports.statements_restate import Restatement, Sources, StatementKind, restate
from reports.worklist import Gap, Upcoming, WorkItem, Worklist, upcoming, worklist


class InvalidRequest(err.InvalidInput):
    """A statement asked for in a way that can never be answered (code `invalid-request`)."""


def scope_for(actor: Actor, company: str | None = None, rhf: str | None = None,
              hf: str | None = None, regions: dict[str, str] | None = None) -> Scope:
    """The scope an actor asks for, narrowed to what it may see. `regions` (each health
    trust's RHF) is needed to ask for a health trust."""
    if sum(x is not None for x in (company, rhf, hf)) > 1:
        raise InvalidRequest("give one of company, rhf or hf")
    region = (regions or {}).get(hf or "")
    if hf is not None and region is None and actor.role != RHF_FINANCE:
        raise err.UnknownHealthTrust(hf)
    if actor.role == PARTNER:
        if rhf is not None or hf is not None or company not in (None, actor.organisation):
            raise not_found_or_not_yours("company", company or rhf or hf or "",
                                         actor.organisation)
        return Scope.company(actor.organisation)
    if actor.role == RHF_FINANCE:
        if (company is not None or rhf not in (None, actor.organisation)
                or (hf is not None and region != actor.organisation)):
            what = ("company" if company else "health trust" if hf
                    else "regional health authority")
            raise not_found_or_not_yours(what, company or hf or rhf or "", actor.organisation)
        return Scope.hf(hf, actor.organisation) if hf else Scope.rhf(actor.organisation)
    if company is not None:
        return Scope.company(company)
    if hf is not None and region is not None:
        return Scope.hf(hf, region)
    return Scope.rhf(rhf) if rhf is not None else Scope.everything()


def period(start: date, end: date) -> Period:
    if end < start:
        raise InvalidRequest(f"the period ends ({end}) before it starts ({start})")
    return Period(start, end)


def _scoped(sources: Sources, actor: Actor, company: str | None, rhf: str | None,
            at: int | None, hf: str | None = None) -> tuple[Source, Scope]:
    source = sources.at(at)
    return source, check(source, scope_for(actor, company, rhf, hf, source.regions()))


def company_obligations(sources: Sources, actor: Actor, start: date, end: date, *,
                        company: str | None = None, rhf: str | None = None,
                        at: int | None = None) -> CompanyStatement:
    source, scope = _scoped(sources, actor, company, rhf, at)
    return company_statement(source, period(start, end), scope)


def company_obligation_totals(sources: Sources, actor: Actor, start: date, end: date, *,
                              company: str | None = None, rhf: str | None = None,
                              at: int | None = None) -> dict[str, Any]:
    """The totals of `company_obligations`, without building the statement."""
    source, scope = _scoped(sources, actor, company, rhf, at)
    return company_totals(source, period(start, end), scope)


def public_cost_statement(sources: Sources, actor: Actor, start: date, end: date,
                          by: By = By.QUARTER, *, company: str | None = None,
                          rhf: str | None = None, hf: str | None = None,
                          patient: str | None = None,
                          at: int | None = None) -> PublicCostStatement:
    source, scope = _scoped(sources, actor, company, rhf, at, hf)
    return public_cost(source, period(start, end), scope, by, patient)


def restatement(sources: Sources, actor: Actor, kind: StatementKind, start: date, end: date,
                issued: int, by: By = By.QUARTER, *, company: str | None = None,
                rhf: str | None = None, hf: str | None = None,
                at: int | None = None) -> Restatement:
    source, scope = _scoped(sources, actor, company, rhf, at, hf)
    if issued > source.position:
        raise InvalidRequest(f"the statement was issued at position {issued}, after the moment "
                             f"it is compared with ({source.position})")
    return restate(sources, kind, period(start, end), scope, issued=issued,
                   now=source.position, by=by)


def financing_gaps(sources: Sources, actor: Actor, today: date, start: date | None = None,
                   end: date | None = None, *, company: str | None = None,
                   rhf: str | None = None, hf: str | None = None,
                   at: int | None = None, dispensations: bool = False,
                   gaps: Collection[Gap] | None = None) -> Worklist:
    """The worklist from `start` (default: the first enrolment) to `end` (default: today);
    with `hf`, only the items at that health trust; with `dispensations`, each item's
    dispensations at stake; with `gaps`, only the items of those kinds."""
    source, scope = _scoped(sources, actor, company, rhf, at)
    last = end or today
    first = start or min(last, source.first_enrolment() or last)
    found = worklist(source, period(first, last), scope, dispensations=dispensations,
                     gaps=gaps)
    return replace(found, items=tuple(i for i in found.items if i.hf_id == hf)) if hf else found


def coverage_ending(sources: Sources, actor: Actor, on: date, days: int = 90, *,
                    company: str | None = None, rhf: str | None = None,
                    hf: str | None = None, at: int | None = None) -> Upcoming:
    """Company coverage whose last day falls from `on` to `days` later; with `hf`, only the
    patients at that health trust."""
    source, scope = _scoped(sources, actor, company, rhf, at)
    found = upcoming(source, period(on, on + timedelta(days=days)), scope)
    return replace(found, endings=tuple(e for e in found.endings if e.hf_id == hf)) if hf else found


@dataclass(frozen=True)
class GapSummary:
    """The worklist in figures: financing gaps (the treating HF carries the cost), assessments
    pending, and the dispensations nobody should pay for."""

    gaps: tuple[WorkItem, ...]
    pending: tuple[WorkItem, ...]
    dispensations: tuple[WorkItem, ...]
    gap_days: int
    gap_value: Totals


GAP_KINDS = (Gap.BENEFIT_WITHOUT_EXEMPTION, Gap.TREATED_WITHOUT_BENEFIT)


def gap_summary(worklist: Worklist, today: date) -> GapSummary:
    gaps = tuple(i for i in worklist.items if i.gap in GAP_KINDS)
    days = sum(((i.until or today) - i.since).days + 1 for i in gaps if i.since <= today)
    return GapSummary(gaps, tuple(i for i in worklist.items if i.gap is Gap.ASSESSMENT_MISSING),
                      tuple(i for i in worklist.items
                            if i.gap not in GAP_KINDS and i.gap is not Gap.ASSESSMENT_MISSING),
                      days, totals_of(add_values(i.value for i in gaps)))
