"""Checks shared by the decide functions: each raises the specific refusal."""

from __future__ import annotations

import re
from datetime import date

from domain import errors as err
from domain import state as st
from domain.identity import find_national_id, valid_study_id
from domain.view import View

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_CASE_REF = re.compile(r"^ID\d{4}_\d{3}$")
_PACK = re.compile(r"^(?P<strength>\S(?:.*\S)?)\s*[x\u00d7]\s*(?P<count>[1-9]\d{0,4})$")


def slug(what: str, value: str) -> str:
    if not _SLUG.match(value):
        raise err.InvalidIdentifier(what, value)
    return value


def study_id(patient_id: str) -> str:
    if find_national_id(patient_id) is not None:
        raise err.NationalIdRefused("patient_id")
    if not valid_study_id(patient_id):
        raise err.InvalidStudyId(patient_id)
    return patient_id


def case_ref(value: str) -> str:
    if not _CASE_REF.match(value):
        raise err.InvalidCaseReference(value)
    return value


def happened(view: View, what: str, on: date) -> date:
    """A fact about something that has happened cannot be dated after the day it is recorded
    (Oslo time). Facts that take effect later (prices, terms, exemptions) are not checked."""
    if on > view.today:
        raise err.DatedInTheFuture(what, on, view.today)
    return on


def pack(value: str | None) -> str | None:
    """What one pack is, strength x count ('150 mg x 56'), written the same way every time."""
    if value is None:
        return None
    found = _PACK.match(value.strip())
    if found is None or len(value) > 100:
        raise err.InvalidPackDescription(value)
    return f"{found['strength']} x {found['count']}"


def text(what: str, value: str, *, limit: int = 500) -> str:
    if not value or not value.strip():
        raise err.ReasonRequired(what) if "reason" in what else err.InvalidInput(f"{what} is empty")
    if len(value) > limit:
        raise err.InvalidInput(f"{what} is longer than {limit} characters")
    return value.strip()


def reason(what: str, value: str) -> str:
    if not value or not value.strip():
        raise err.ReasonRequired(what)
    return text(f"the reason for {what}", value)


def at_least(what: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise err.InvalidQuantity(what, value, minimum)
    return value


def trust(view: View, hf_id: str) -> st.HealthTrust:
    found = view.registry().trusts.get(hf_id)
    if found is None:
        raise err.UnknownHealthTrust(hf_id)
    return found


def company(view: View, company_id: str) -> st.Company:
    found = view.company(company_id)
    if not found.exists:
        raise err.UnknownCompany(company_id)
    return found


def drug(view: View, drug_id: str) -> st.Drug:
    found = view.drug(drug_id)
    if not found.exists:
        raise err.UnknownDrug(drug_id)
    return found


def agreement(view: View, agreement_id: str) -> st.Agreement:
    found = view.agreement(agreement_id)
    if not found.exists:
        raise err.UnknownAgreement(agreement_id)
    return found


def cohort(view: View, cohort_id: str) -> st.Cohort:
    found = view.cohort(cohort_id)
    if not found.exists:
        raise err.UnknownCohort(cohort_id)
    return found


def patient(view: View, patient_id: str) -> st.Patient:
    found = view.patient(study_id(patient_id))
    if not found.exists:
        raise err.UnknownPatient(patient_id)
    return found


def started(p: st.Patient) -> st.Dated[None]:
    if p.started is None:
        raise err.TreatmentNotStarted(p.patient_id)
    return p.started


def slot_for(agreement: st.Agreement, drug_id: str, on: date) -> None:
    """An enrolment on a date needs a slot of the agreement's terms for the drug: at every
    date from it on, the patients enrolled by then (this one included) fit in the slots in
    force then. Any subset of a history that fits fits too, so the order in which enrolments
    are recorded cannot change which are accepted (ADR 0014)."""
    contributed_on(agreement, drug_id, on)
    ahead = [(term, until) for term, until in agreement.slot_windows(drug_id)
             if until is None or until > on]
    used = agreement.used.get(drug_id, 0)
    if all(used < term.value for term, _ in ahead):
        return  # the common case: even counting every enrolment, there is room
    for term, until in ahead:
        if agreement.enrolled_before(drug_id, until) >= term.value:
            raise err.SlotsUsedUp(agreement.agreement_id, drug_id, term.value, max(on, term.since))


def contributed_on(agreement: st.Agreement, drug_id: str, on: date) -> None:
    """The agreement contributes the drug on a date (a cohort opens under its terms)."""
    windows = agreement.slot_windows(drug_id)
    if not any(term.since <= on for term, _ in windows):
        since = windows[0][0].since if windows else None
        raise err.DrugNotContributed(agreement.agreement_id, drug_id, on if windows else None,
                                     since)
