"""What an actor may read about parties and patients: the query functions that the API's routes
and the web pages both call, so each question is answered in one place. They read the folded
states of single streams (the ledger's state cache, caught up with the log at each read: a
write is seen at once); who pays, statements and worklists come from the read models
(projections.queries, reports.queries; ADR 0021).

Each function filters through the actor's view (application.access): what the actor may not see
is refused as unknown, exactly as if it did not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, cast

from application.access import View
from application.ledger import Ledger
from domain import errors as err
from domain import state as st
from domain.events import EVENT_TYPES, field_names
from domain.financing import Case, Interval
from domain.known import not_found_or_not_yours
from domain.values import EXPANSION, STAGE_1, STAGE_2, STAGE_LIMITS, Actor
from eventstore import StoredFact


class Service(Protocol):
    """The ledger and the actor's view of it (api.served.Served)."""

    ledger: Ledger

    def view(self, actor: Actor) -> View: ...


def _ids(service: Service, prefix: str) -> list[str]:
    return [s.partition("/")[2] for s in service.ledger.log.streams(prefix)]


# --- reference data and parties ---------------------------------------------------------------


def health_trusts(service: Service) -> list[st.HealthTrust]:
    return list(service.ledger.workspace().registry().trusts.values())


def companies(service: Service, actor: Actor) -> list[st.Company]:
    view = service.view(actor)
    return [view.ws.company(i) for i in _ids(service, "company/") if view.company(i)]


def company(service: Service, actor: Actor, company_id: str) -> st.Company:
    view = service.view(actor)
    found = view.ws.company(company_id)
    if not found.exists or not view.company(company_id):
        raise _unknown(view, "company", company_id, err.UnknownCompany)
    return found


def _listed(service: Service, actor: Actor, kind: str) -> list[Any]:
    """Every drug, agreement, cohort or patient (`kind`) the actor may see."""
    view = service.view(actor)
    found = [getattr(view.ws, kind)(i) for i in _ids(service, f"{kind}/")]
    return [x for x in found if x.exists and getattr(view, kind)(x)]


def _one(service: Service, actor: Actor, kind: str, identifier: str,
         unknown: Callable[[str], err.Refused]) -> Any:
    """One of them, or its refusal as unknown if it does not exist or is not the actor's."""
    return _judged(service.view(actor), kind, identifier, unknown)


def _judged(view: View, kind: str, identifier: str,
            unknown: Callable[[str], err.Refused]) -> Any:
    found = getattr(view.ws, kind)(identifier)
    if not found.exists or not getattr(view, kind)(found):
        raise _unknown(view, kind, identifier, unknown)
    return found


def _unknown(view: View, kind: str, identifier: str,
             unknown: Callable[[str], err.Refused]) -> err.Refused:
    """To a partner or an RHF officer, what it may not see is "not found, or not yours": "not
    recorded" could be false, and it must not learn which (ADR 0016)."""
    if view.scoped:
        return not_found_or_not_yours(kind, identifier, view.actor.organisation)
    return unknown(identifier)


def drugs(service: Service, actor: Actor) -> list[st.Drug]:
    return _listed(service, actor, "drug")


def drug(service: Service, actor: Actor, drug_id: str) -> st.Drug:
    return cast(st.Drug, _one(service, actor, "drug", drug_id, err.UnknownDrug))


def agreements(service: Service, actor: Actor) -> list[st.Agreement]:
    return _listed(service, actor, "agreement")


def agreement(service: Service, actor: Actor, agreement_id: str) -> st.Agreement:
    return cast(st.Agreement, _one(service, actor, "agreement", agreement_id,
                                   err.UnknownAgreement))


def cohorts(service: Service, actor: Actor) -> list[st.Cohort]:
    return _listed(service, actor, "cohort")


def cohort_ids(service: Service) -> list[str]:
    """Every cohort recorded, by id, without folding one."""
    return sorted(_ids(service, "cohort/"))


def cohort(service: Service, actor: Actor, cohort_id: str) -> st.Cohort:
    return cast(st.Cohort, _one(service, actor, "cohort", cohort_id, err.UnknownCohort))


# --- patients ---------------------------------------------------------------------------------


def patient(service: Service, actor: Actor, patient_id: str) -> st.Patient:
    return cast(st.Patient, _one(service, actor, "patient", patient_id, err.UnknownPatient))


def patient_in(view: View, patient_id: str) -> st.Patient:
    """`patient`, judged by a view the caller already holds (one for a page of patients)."""
    return cast(st.Patient, _judged(view, "patient", patient_id, err.UnknownPatient))


def visible_patient(service: Service, actor: Actor, patient_id: str) -> None:
    """Refuse a patient the actor may not see (or that does not exist) as unknown."""
    view = service.view(actor)
    if not view.patient_id(patient_id):
        raise _unknown(view, "patient", patient_id, err.UnknownPatient)


# --- history ------------------------------------------------------------------------------------


def _patients_visible(view: View, facts: list[StoredFact]) -> list[StoredFact]:
    """Facts the actor may not see at all are left out (another region's admission); what a
    fact names that the actor may not see is withheld where it is shown (View.scrub)."""
    return [f for f in facts if view.fact(f.stream, f.data)]


LINKS = ("corrects", "retracts")
"""The fields by which a later fact of a stream names an earlier one it supersedes."""
LINKING = tuple(sorted(name for name, cls in EVENT_TYPES.items()
                       if set(LINKS) & set(field_names(cls))))
"""The types of fact that hold such a link."""


@dataclass(frozen=True)
class HistoryPage:
    """A page of a stream's facts, in version order. `later`: the facts after the page that
    correct or retract one of it, so that each fact is linked both ways whichever page its
    correction is on. `next_after`: the page's last version, None at the stream's end."""

    facts: list[StoredFact]
    later: list[StoredFact]
    next_after: int | None


def _history(service: Service, stream: str, after: int, limit: int | None,
             keep: Callable[[list[StoredFact]], list[StoredFact]]) -> HistoryPage:
    read = service.ledger.history(stream, after_version=after,
                                  limit=None if limit is None else limit + 1)
    if limit is None or len(read) <= limit:
        return HistoryPage(keep(read), [], None)
    page = read[:limit]
    # a correction comes after the fact it corrects: only the rest of the stream can hold one,
    # and only its facts of the types that link are read (not the whole rest: at M an
    # agreement's stream holds 37 000 facts, none of them a correction)
    later = service.ledger.history(stream, after_version=page[-1].version, types=LINKING)
    return HistoryPage(keep(page), keep(later), page[-1].version)


def patient_history(service: Service, actor: Actor, patient_id: str, after: int = 0,
                    limit: int | None = None) -> HistoryPage:
    patient(service, actor, patient_id)
    return _history(service, f"patient/{patient_id}", after, limit, list)


def cohort_history(service: Service, actor: Actor, cohort_id: str, after: int = 0,
                   limit: int | None = None) -> HistoryPage:
    cohort(service, actor, cohort_id)
    return _visible_history(service, actor, f"cohort/{cohort_id}", after, limit)


def agreement_history(service: Service, actor: Actor, agreement_id: str, after: int = 0,
                      limit: int | None = None) -> HistoryPage:
    agreement(service, actor, agreement_id)
    return _visible_history(service, actor, f"agreement/{agreement_id}", after, limit)


def _visible_history(service: Service, actor: Actor, stream: str, after: int,
                     limit: int | None) -> HistoryPage:
    """A page of a stream that names patients, without the facts about those the actor may
    not see."""
    view = service.view(actor)
    return _history(service, stream, after, limit, lambda facts: _patients_visible(view, facts))


# --- one patient's picture, as known at two moments ---------------------------------------------


def case(service: Service, actor: Actor, patient_id: str, at: int) -> Case:
    """The patient's case (patient, cohort, agreement, registry) as known at position `at`."""
    visible_patient(service, actor, patient_id)
    return service.ledger.case(patient_id, up_to=at)


@dataclass(frozen=True)
class Change:
    before: tuple[Interval, ...]
    after: tuple[Interval, ...]
    facts: list[StoredFact]  # recorded after `before`'s position, up to `after`'s, that it reads


def changes_between(service: Service, actor: Actor, patient_id: str, before: int,
                    after: int) -> Change:
    """The patient's payers as known at two positions, and the facts recorded in between in
    the streams the answer reads (the patient's, its cohort's, its agreement's)."""
    if before > after:
        before, after = after, before
    visible_patient(service, actor, patient_id)
    old = service.ledger.timeline(patient_id, position=before) if _exists_at(
        service, patient_id, before) else ()
    new = service.ledger.timeline(patient_id, position=after)
    known = service.ledger.case(patient_id, up_to=after).patient
    streams = (f"patient/{patient_id}", f"cohort/{known.cohort_id}",
               f"agreement/{known.agreement_id}")
    facts = sorted((f for s in streams for f in service.ledger.log.stream(s, up_to=after)
                    if f.position > before), key=lambda f: f.position)
    return Change(old, new, _patients_visible(service.view(actor), facts))


def _exists_at(service: Service, patient_id: str, at: int) -> bool:
    return bool(service.ledger.log.stream(f"patient/{patient_id}", up_to=at))


# --- a cohort's progress through the stages ------------------------------------------------------


@dataclass(frozen=True)
class StageProgress:
    stage: int
    enrolled: int
    places: int | None  # None: the expansion cohort's size is open
    assessed: int  # 16-week assessments recorded
    benefit: int  # of which with benefit (response or stable disease)


def cohort_progress(service: Service, actor: Actor, cohort_id: str) -> list[StageProgress]:
    """Patients and 16-week benefit per stage (counts over the whole cohort, no patient ids)."""
    found = cohort(service, actor, cohort_id)
    ws = service.ledger.workspace()
    out = []
    for stage in (STAGE_1, STAGE_2, EXPANSION):
        admitted = [pid for pid, s in found.admitted if s == stage]
        assessments = [a for a in (ws.patient(pid).assessment for pid in admitted) if a]
        places = (STAGE_LIMITS[stage] - (STAGE_LIMITS[STAGE_1] if stage == STAGE_2 else 0)
                  if stage in STAGE_LIMITS else found.expansion_size)
        out.append(StageProgress(stage, len(admitted), places, len(assessments),
                                 sum(1 for a in assessments if a.outcome.is_benefit)))
    return out
