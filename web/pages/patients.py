"""Patients: the list, and one patient's page: who pays over time as a picture that redraws as
known at any earlier moment, what changed between two moments and the facts that changed it,
and every fact with its valid date, recorded time, actor and correction links."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from api.schemas.types import STUDY_ID_PATTERN
from api.served import Served
from application import access, queries
from application.ledger import Fact
from audit.history import linked
from domain import errors as err
from domain.financing import Interval
from domain.values import Actor
from projections import queries as who_pays
from web.pages import common
from web.pages.common import ServiceDep, moment, position
from web.picture import picture
from web.render import page, partial
from web.session import SignedIn

router = APIRouter()
Text = Annotated[str | None, Query(max_length=40)]


@router.get("/patients")
def patient_list(request: Request, actor: SignedIn, service: ServiceDep,
                 cohort: Text = None, hf: Text = None,
                 after: Annotated[str | None, Query(pattern=STUDY_ID_PATTERN)] = None
                 ) -> Response:
    """The patients the actor may see, from the read models, a page at a time (by patient id)
    with the whole list's count: a region at national scale is tens of thousands."""
    found = who_pays.patients(service.models, actor, cohort=cohort or None, hf=hf or None,
                              after=after, min_position=service.ledger.head(),
                              wait=service.wait)
    trusts = common.trusts_of(service, actor)
    cohorts = (who_pays.partner_cohorts(service.models, actor) if actor.role == access.PARTNER
               else queries.cohort_ids(service))  # every other role sees every cohort
    return page(request, "pages/patients.html", actor=actor, patients=found.rows,
                total=found.total, next_after=found.after, after=after or "",
                cohorts=cohorts, hfs=sorted(t.hf_id for t in trusts),
                cohort=cohort or "", hf=hf or "")


@router.get("/patients/{patient_id}")
def patient_page(request: Request, patient_id: str, actor: SignedIn, service: ServiceDep,
                 at: Text = None, known_at: Text = None, before: Text = None,
                 after: Text = None, recorded: Text = None, replayed: Text = None) -> Response:
    asked = {"at": at or "", "known_at": known_at or ""}
    context = _picture(service, actor, patient_id, at, known_at) | {"asked": asked}
    target = request.headers.get("hx-target")
    if partial(request) and target == "picture":
        return page(request, "partials/picture.html", actor=actor, **context)
    change = _change(service, actor, patient_id, before, after)
    if partial(request) and target == "changes":
        return page(request, "partials/changes.html", actor=actor, **context, **change)
    history = linked(queries.patient_history(service, actor, patient_id).facts)
    return page(request, "pages/patient.html", actor=actor, history=history,
                moments=moments([row.fact for row in history]),
                recorded={"position": position(recorded), "replayed": replayed == "1"},
                patient=queries.patient(service, actor, patient_id), **context, **change)


def _picture(service: Served, actor: Actor, patient_id: str, at: str | None,
             known_at: str | None) -> dict[str, object]:
    ledger = service.ledger
    head = ledger.position()  # a page shows what is recorded by now, a form's fact included
    asked = None if not (at or known_at) else ledger.position(moment(known_at), position(at))
    queries.visible_patient(service, actor, patient_id)  # now: else the 404 page
    context: dict[str, object] = {"patient_id": patient_id, "position": asked or head,
                                  "head": head, "intervals": (), "picture": None}
    try:
        known, rows = who_pays.timeline(service.models, actor, patient_id, at=asked,
                                        min_position=head, wait=service.wait)
        case = queries.case(service, actor, patient_id, known)
    except err.UnknownPatient:  # not yet enrolled as known then
        return context
    intervals = tuple(Interval(i.start, i.end, i.payer) for i in rows)
    return context | {"position": known, "intervals": intervals,
                      "picture": picture(intervals, case.patient, case.cohort, ledger.clock())}


def _change(service: Served, actor: Actor, patient_id: str, before: str | None,
            after: str | None) -> dict[str, object]:
    if not before and not after:
        return {"change": None, "compare": {"before": "", "after": ""}}
    head = service.ledger.position()
    first, second = position(before) or 0, position(after)
    second = head if second is None else min(second, head)
    return {"change": queries.changes_between(service, actor, patient_id, first, second),
            "compare": {"before": first, "after": second}}


def moments(facts: list[Fact]) -> list[tuple[int, bool, Fact]]:
    """The positions worth redrawing at, newest first: just after each of the patient's facts,
    and just before it where that is not also just after the one before."""
    positions = {f.position for f in facts}
    out = []
    for f in sorted(facts, key=lambda f: f.position, reverse=True):
        out.append((f.position, True, f))
        if f.position - 1 not in positions and f.position > 1:
            out.append((f.position - 1, False, f))
    return out
