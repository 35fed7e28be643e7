"""Who pays, as an actor asks it over HTTP or on a page: one patient on a date, a patient's
payers over time, every visible patient on a date (a page). Answered from the read models with
the actor's tenancy in the SQL (`Tenancy.of(actor)`, which agrees with application.access.View:
tests/integration/test_tenancy_agrees.py); what the actor may not see is unknown, exactly as if
it did not exist.

Every query is as known at one log position: `at` (a position the caller resolved from a
moment), else the position the read models have reached; after waiting (bounded) for
`min_position`, a write's position (read your writes; `ViewBehind` if not in time).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from collections.abc import Collection, Sequence
from typing import Any

from application.access import PARTNER, RHF_FINANCE
from application.ledger import Answer
from domain import errors as err
from domain.known import not_found_or_not_yours
from domain.values import Actor
from projections import rows as r
from projections.payers import PAGE, Page, Tenancy, payers_on
from projections.view import ANY_POSITION, WAIT, ReadModels


def position(models: ReadModels, at: int | None = None, min_position: int | None = None,
             wait: float = WAIT) -> int:
    """The position to answer as known at: `at`, once the read models have reached it, or the
    one they have reached (after `min_position`, if given)."""
    needed = max(p for p in (at, min_position, -1) if p is not None)
    reached = models.reached(needed if needed >= 0 else None, wait)
    return reached if at is None else at


def visible_patients(models: ReadModels, actor: Actor,
                     patient_ids: Collection[str] | None = None) -> list[str]:
    """Those of the patients (None: of every patient) the actor may see, as the read models
    hold them now, by patient id: what application.access.View is told (`judged`) so that it
    reads no stream to judge them again."""
    if patient_ids is not None and not patient_ids:
        return []
    where, params = Tenancy.of(actor).where(models, "p", by_id=patient_ids is not None)
    if patient_ids is not None:
        among, ids = models.among("p.patient_id", sorted(patient_ids))
        where, params = [among, *where], [*ids, *params]
    return [x[0] for x in models.tuples(r.PATIENTS, ["patient_id"], None,
                                        " AND ".join(where) or "1 = 1", params, alias="p",
                                        order="p.patient_id")]


@dataclass(frozen=True)
class PatientsPage:
    """A page of the patients an actor may see, by patient id."""

    position: int  # the log position the page (and its count) is as known at
    rows: list[r.PatientRow]
    total: int  # how many patients the list holds, on every page
    after: str | None  # the last patient id of this page: the next page is after it (None: last)


def patients(models: ReadModels, actor: Actor, *, cohort: str | None = None,
             hf: str | None = None, after: str | None = None, limit: int = PAGE,
             min_position: int | None = None, wait: float = WAIT) -> PatientsPage:
    """The patients the actor may see, as known now, `limit` after the patient id `after`;
    with `cohort`, only that cohort's; with `hf`, only those treated at that health trust at
    some time."""
    if not 1 <= limit <= 10 * PAGE:
        raise ValueError(f"a page holds 1 to {10 * PAGE} patients, not {limit}")
    known = position(models, None, min_position, wait)
    where, params = Tenancy.of(actor).where(models, "p")
    if cohort is not None:
        where, params = [*where, "p.cohort_id = ?"], [*params, cohort]
    if hf is not None:
        where, params = [*where, models.treated_at("p.hf_periods")], [*params, hf]
    total = models.count(r.PATIENTS, known, " AND ".join(where), params, alias="p")
    if after is not None:
        where, params = [*where, "p.patient_id > ?"], [*params, after]
    rows = models.rows(r.PATIENTS, known, " AND ".join(where), params, order="p.patient_id",
                       limit=limit, alias="p")
    return PatientsPage(known, rows, total,
                        rows[-1].patient_id if len(rows) == limit else None)


def patient_rows(models: ReadModels, actor: Actor, where: str = "",
                 params: Sequence[Any] = (), *, min_position: int | None = None,
                 wait: float = WAIT) -> list[r.PatientRow]:
    """Every patient the actor may see, as known now, meeting a condition on the patients
    table (alias `p`), by patient id."""
    known = position(models, None, min_position, wait)
    scope, values = Tenancy.of(actor).where(models, "p")
    return models.rows(r.PATIENTS, known, " AND ".join([*scope, *([where] if where else [])]),
                       [*values, *params], order="p.patient_id", alias="p")


def not_started(models: ReadModels, actor: Actor, *, min_position: int | None = None,
                wait: float = WAIT) -> list[r.PatientRow]:
    """The patients the actor may see that are enrolled, not yet started and not ended, as
    known now, by patient id (the patients' index on the start and end finds them)."""
    return patient_rows(models, actor, "p.started_on IS NULL AND p.ended_on IS NULL",
                        min_position=min_position, wait=wait)


@dataclass(frozen=True)
class PatientGroup:
    """How many of the patients an actor may see are in a cohort at a stage, and the first
    enrolment among them."""

    cohort_id: str
    stage: int
    patients: int
    first_enrolled: date | None


def patient_groups(models: ReadModels, actor: Actor, *, min_position: int | None = None,
                   wait: float = WAIT) -> list[PatientGroup]:
    """The patients the actor may see, as known now, counted by cohort and stage (in that
    order), without reading them."""
    known = position(models, None, min_position, wait)
    scope, values = Tenancy.of(actor).where(models, "p")
    found = models.grouped(r.PATIENTS, ["p.cohort_id", "p.stage", "COUNT(*)",
                                        "MIN(p.enrolled_on)"], ["p.cohort_id", "p.stage"],
                           known, " AND ".join(scope), values, alias="p")
    return sorted((PatientGroup(cohort, int(stage), int(count), models.db.date_out(first))
                   for cohort, stage, count, first in found),
                  key=lambda g: (g.cohort_id, g.stage))


def paid_by(models: ReadModels, actor: Actor, on: date, kind: str, party: str, *,
            min_position: int | None = None, wait: float = WAIT) -> int:
    """How many of the patients the actor may see a payer of this kind and party pays for on
    `on` (an RHF's patients under public financing on a date), as known now."""
    known = position(models, None, min_position, wait)
    day = models.db.date_in(on)
    scope, params = Tenancy.of(actor).where(models, "i")
    where = ["i.kind = ? AND i.party = ? AND i.start_on <= ? AND (i.end_on IS NULL OR "
             "i.end_on >= ?)", *scope]
    return models.count(r.INTERVALS, known, " AND ".join(where), [kind, party, day, day, *params],
                        alias="i")


def partner_cohorts(models: ReadModels, actor: Actor) -> list[str]:
    """The cohorts of a partner's patients (a partner sees its own agreements' cohorts only;
    every other role sees every cohort)."""
    assert actor.role == PARTNER
    where, params = Tenancy.of(actor).where(models, "p")
    return models.values(r.PATIENTS, "cohort_id", None, " AND ".join(where), params, alias="p")


def visible_patient(models: ReadModels, actor: Actor, patient_id: str,
                    at: int | None = None) -> r.PatientRow:
    """The patient as known at `at` (None: now), if the actor may see it; else unknown. Who
    may see a patient is judged as known now, as View judges it."""
    scope, params = Tenancy.of(actor).where(models, "p")
    found = models.rows(r.PATIENTS, at, " AND ".join(["p.patient_id = ?", *scope]),
                        [patient_id, *params], alias="p")
    if not found:
        raise _not_known(models, actor, patient_id, at, scope, params)
    patient: r.PatientRow = found[0]
    return patient


def _not_known(models: ReadModels, actor: Actor, patient_id: str, at: int | None,
               scope: list[str], params: list[Any]) -> err.Refused:
    """Why a patient is not there: enrolled, but recorded after `at` (not yet enrolled as known
    then); else, to a partner or an RHF officer, "not found, or not yours" (it must not learn
    which, ADR 0016); else unknown."""
    if at is not None:
        ever = models.rows(r.PATIENTS, ANY_POSITION, " AND ".join(["p.patient_id = ?", *scope]),
                           [patient_id, *params], alias="p")
        if ever:
            return err.NotYetEnrolled(patient_id, at, None, min(p.known_from for p in ever))
    if actor.role in (PARTNER, RHF_FINANCE):
        return not_found_or_not_yours("patient", patient_id, actor.organisation)
    return err.UnknownPatient(patient_id)


def who_pays(models: ReadModels, actor: Actor, patient_id: str, on: date, *,
             at: int | None = None, min_position: int | None = None,
             wait: float = WAIT) -> Answer:
    """Who pays for the patient's drug on `on`: the interval covering it, or nobody before the
    treatment starts. One statement reads both and the position they are as known at (one
    round trip on PostgreSQL); it is asked again only if the read models must be waited for."""
    asks, needed = _payer_asks(models, actor, patient_id, on), _needed(at, min_position)
    reached, found = models.first(at, *asks)
    if reached < needed:
        models.reached(needed, wait)  # waits, bounded; ViewBehind if not in time
        reached, found = models.first(at, *asks)
    known = reached if at is None else at
    answer = _answer(patient_id, on, known, found)
    if answer is None:
        raise _unknown(models, actor, patient_id, known)
    return answer


async def who_pays_async(models: ReadModels, actor: Actor, patient_id: str, on: date, *,
                         at: int | None = None, min_position: int | None = None,
                         wait: float = WAIT) -> Answer:
    """`who_pays` awaited in a server's event loop (Database.open_async): the statement without
    a thread; waiting for the read models and explaining a refusal (both rare) in one."""
    asks, needed = _payer_asks(models, actor, patient_id, on), _needed(at, min_position)
    reached, found = await models.first_async(at, *asks)
    if reached < needed:
        await asyncio.to_thread(models.reached, needed, wait)
        reached, found = await models.first_async(at, *asks)
    known = reached if at is None else at
    answer = _answer(patient_id, on, known, found)
    if answer is None:
        raise await asyncio.to_thread(_unknown, models, actor, patient_id, known)
    return answer


def _needed(at: int | None, min_position: int | None) -> int:
    return max(p for p in (at, min_position, -1) if p is not None)


def _payer_asks(models: ReadModels, actor: Actor, patient_id: str, on: date) -> list[Any]:
    day = models.db.date_in(on)
    tenancy = Tenancy.of(actor)
    (in_i, with_i), (in_p, with_p) = (tenancy.where(models, "i", by_id=True),
                                      tenancy.where(models, "p", by_id=True))
    return [(r.INTERVALS, " AND ".join([
        "i.patient_id = ? AND i.start_on <= ? AND (i.end_on IS NULL OR i.end_on >= ?)", *in_i]),
        [patient_id, day, day, *with_i], "i"),
        (r.PATIENTS, " AND ".join(["p.patient_id = ?", *in_p]), [patient_id, *with_p], "p")]


def _answer(patient_id: str, on: date, known: int, found: list[Any]) -> Answer | None:
    """The interval's payer; else, for a patient enrolled, nobody yet; else None."""
    interval, patient = found
    if interval is not None:
        return Answer(patient_id, on, interval.payer, known)
    if patient is not None:
        return Answer(patient_id, on, patient.before_start, known)
    return None


def _unknown(models: ReadModels, actor: Actor, patient_id: str, known: int) -> err.Refused:
    """Not visible, unknown, or not enrolled as known then."""
    scope, params = Tenancy.of(actor).where(models, "p")
    return _not_known(models, actor, patient_id, known, scope, params)


def timeline(models: ReadModels, actor: Actor, patient_id: str, *, at: int | None = None,
             min_position: int | None = None, wait: float = WAIT
             ) -> tuple[int, list[r.IntervalRow]]:
    """The patient's payers from enrolment on, in date order, and the position known at."""
    known = position(models, at, min_position, wait)
    visible_patient(models, actor, patient_id, known)
    return known, models.rows(r.INTERVALS, known, "patient_id = ?", [patient_id],
                              order="start_on")


def payers(models: ReadModels, actor: Actor, on: date, *, at: int | None = None,
           min_position: int | None = None, after: str | None = None, limit: int = PAGE,
           wait: float = WAIT) -> Page:
    """Who pays on `on` for each patient the actor may see, `limit` patients after `after`."""
    known = position(models, at, min_position, wait)
    return payers_on(models, on, tenancy=Tenancy.of(actor), after=after, limit=limit,
                     known_at_position=known)
