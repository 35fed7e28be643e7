"""Every refusal has its own type and a message a finance officer understands.

`code` is stable (the API builds its problem type URI from it); `kind` says what sort of refusal
it is: `not_found` (an unknown id), `invalid` (the input can never be right), `conflict` (the input
contradicts what is recorded).
"""

from __future__ import annotations

from datetime import date


class Refused(Exception):
    """A command was refused; nothing was recorded."""

    code = "refused"
    kind = "conflict"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _code(name: str) -> str:
    out = "".join("-" + c.lower() if c.isupper() else c for c in name)
    return out.lstrip("-")


class _Auto(Refused):
    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.code = _code(cls.__name__)


# --- input that can never be right ----------------------------------------------------------


class InvalidInput(_Auto):
    kind = "invalid"


class InvalidStudyId(InvalidInput):
    def __init__(self, patient_id: str) -> None:
        super().__init__(
            f"'{patient_id}' is not a pseudonymous study ID; use the form IMP-0042"
        )


class InvalidCaseReference(InvalidInput):
    def __init__(self, case_ref: str) -> None:
        super().__init__(
            f"'{case_ref}' is not a Nye metoder case reference; use the form ID2019_041"
        )


class InvalidQuantity(InvalidInput):
    def __init__(self, what: str, value: int, minimum: int) -> None:
        super().__init__(f"{what} must be at least {minimum}, got {value}")


class InvalidPackDescription(InvalidInput):
    def __init__(self, value: str) -> None:
        super().__init__(
            f"'{value[:100]}' does not say what a pack is: write strength x count, "
            "e.g. '150 mg x 56'")


class ReasonRequired(InvalidInput):
    def __init__(self, what: str) -> None:
        super().__init__(f"{what} needs a reason: say why the recorded fact was wrong")


class InvalidIdentifier(InvalidInput):
    def __init__(self, what: str, value: str) -> None:
        super().__init__(
            f"{what} '{value}' must be lower-case letters, digits and hyphens (e.g. 'roche-norge')"
        )


class NationalIdRefused(InvalidInput):
    """Names the field, never echoes the number (it must not reach logs either)."""

    def __init__(self, field: str) -> None:
        super().__init__(
            f"field '{field}' looks like a Norwegian national identity number (fødselsnummer or "
            "D-number); the ledger stores pseudonymous study IDs only"
        )


class NothingToCorrect(InvalidInput):
    def __init__(self, what: str) -> None:
        super().__init__(f"the correction of {what} changes nothing: it equals what is recorded")


class InvalidPeriod(InvalidInput):
    def __init__(self, text: str) -> None:
        super().__init__(
            f"'{text[:40]}' is not a statement period: write a month as 2024M03 (or 2024-03), "
            "a quarter as 2024Q1, a half-year as 2024H1")


class InvalidStatementScope(InvalidInput):
    def __init__(self, statement: str, party_kind: str) -> None:
        super().__init__(
            f"a '{statement[:40]}' statement cannot be issued for a '{party_kind[:40]}': public "
            "cost is for an RHF or a health trust, company obligations for a company")


class InvalidStatementNumber(InvalidInput):
    def __init__(self, text: str) -> None:
        super().__init__(
            f"'{text[:80]}' is not a statement number; they read like PC-helse-vest-2024Q1-1 "
            "(public cost) or CO-astrazeneca-2024H1-2 (company obligations)")


class InvalidLinesHash(InvalidInput):
    def __init__(self) -> None:
        super().__init__("a statement's hash is SHA-256 over its lines: 64 lower-case hex digits")


# --- unknown things -------------------------------------------------------------------------


class NotFound(_Auto):
    kind = "not_found"

    def __init__(self, what: str, identifier: str) -> None:
        super().__init__(f"no {what} '{identifier}' is recorded in the ledger")
        self.identifier = identifier


class UnknownHealthTrust(NotFound):
    def __init__(self, hf_id: str) -> None:
        super().__init__("health trust", hf_id)


class UnknownCompany(NotFound):
    def __init__(self, company_id: str) -> None:
        super().__init__("company", company_id)


class UnknownDrug(NotFound):
    def __init__(self, drug_id: str) -> None:
        super().__init__("drug", drug_id)


class UnknownAgreement(NotFound):
    def __init__(self, agreement_id: str) -> None:
        super().__init__("agreement", agreement_id)


class UnknownCohort(NotFound):
    def __init__(self, cohort_id: str) -> None:
        super().__init__("cohort", cohort_id)


class UnknownPatient(NotFound):
    def __init__(self, patient_id: str) -> None:
        super().__init__("enrolled patient", patient_id)


class UnknownExemption(NotFound):
    def __init__(self, exemption_ref: str) -> None:
        super().__init__("group exemption", exemption_ref)


class UnknownDispensation(NotFound):
    def __init__(self, reference: str) -> None:
        super().__init__("dispensation", reference)


class UnknownStatement(NotFound):
    def __init__(self, number: str) -> None:
        super().__init__("issued statement", number)


class NotFoundOrNotYours(NotFound):
    """Asked for something the actor may not see: said without telling whether it exists
    (which would tell what it may not know) and without saying it does not (which may be
    false)."""

    def __init__(self, what: str, identifier: str, yours: str) -> None:
        _Auto.__init__(self, f"{what} '{identifier}' is not found, or not yours to see ({yours})")
        self.identifier = identifier


class NotYetEnrolled(UnknownPatient):
    """Asked about a patient as known at a moment before its enrolment was recorded."""

    def __init__(self, patient_id: str, position: int, moment: str | None,
                 enrolled_at: int | None = None) -> None:
        at = f"log position {position}" + (f" ({moment})" if moment else "")
        since = (f"; its enrolment is recorded at log position {enrolled_at}"
                 if enrolled_at is not None else "")
        _Auto.__init__(self, f"patient {patient_id} was not yet enrolled as known at {at}{since}")
        self.identifier = patient_id


# --- input that contradicts what is recorded ------------------------------------------------


class Conflict(_Auto):
    kind = "conflict"


class AlreadyRecorded(Conflict):
    def __init__(self, what: str, identifier: str) -> None:
        super().__init__(f"{what} '{identifier}' is already recorded")


class DrugOfAnotherCompany(Conflict):
    def __init__(self, drug_id: str, company_id: str, agreement_company: str) -> None:
        super().__init__(
            f"drug '{drug_id}' is supplied by '{company_id}', not by '{agreement_company}', "
            "the company of this agreement"
        )


class DrugNotContributed(Conflict):
    def __init__(self, agreement_id: str, drug_id: str, on: date | None = None,
                 since: date | None = None) -> None:
        when = f" on {on}" if on is not None else ""
        start = f" (its contribution applies from {since})" if since is not None else ""
        super().__init__(
            f"agreement '{agreement_id}' does not contribute drug '{drug_id}'{when}{start}")


class DateBefore(Conflict):
    """A date lies before the fact it depends on."""

    def __init__(self, what: str, when: date, other: str, other_date: date) -> None:
        super().__init__(f"{what} is dated {when}, before {other} on {other_date}")


class DateAfter(Conflict):
    """A date lies after a fact that must come later."""

    def __init__(self, what: str, when: date, other: str, other_date: date) -> None:
        super().__init__(f"{what} is dated {when}, after {other} on {other_date}")


class StartBeforeEnrolment(DateBefore):
    def __init__(self, started_on: date, enrolled_on: date) -> None:
        super().__init__("the treatment start", started_on, "the enrolment", enrolled_on)


class EndBeforeStart(DateBefore):
    def __init__(self, ended_on: date, started_on: date) -> None:
        super().__init__("the end of treatment", ended_on, "the treatment start", started_on)


class AssessmentBeforeStart(DateBefore):
    def __init__(self, assessed_on: date, started_on: date) -> None:
        super().__init__("the 16-week assessment", assessed_on, "the treatment start", started_on)


class DispensationBeforeStart(DateBefore):
    def __init__(self, dispensed_on: date, started_on: date) -> None:
        super().__init__("the dispensation", dispensed_on, "the treatment start", started_on)


class EndBeforeAssessment(DateBefore):
    def __init__(self, ended_on: date, assessed_on: date) -> None:
        super().__init__("the end of treatment", ended_on, "the 16-week assessment",
                         assessed_on)


class EndBeforeDispensation(DateBefore):
    def __init__(self, ended_on: date, dispensed_on: date) -> None:
        super().__init__("the end of treatment", ended_on, "a dispensation", dispensed_on)


class EndBeforeTransfer(DateBefore):
    def __init__(self, ended_on: date, transferred_on: date) -> None:
        super().__init__("the end of treatment", ended_on,
                         "the patient's transfer to another health trust", transferred_on)


class DateOutOfOrder(DateBefore):
    pass


class AssessmentAfterEnd(DateAfter):
    def __init__(self, assessed_on: date, ended_on: date) -> None:
        super().__init__("the 16-week assessment", assessed_on, "the end of treatment", ended_on)


class DispensationAfterEnd(DateAfter):
    def __init__(self, dispensed_on: date, ended_on: date) -> None:
        super().__init__("the dispensation", dispensed_on, "the end of treatment", ended_on)


class StartAfterDispensation(DateAfter):
    def __init__(self, started_on: date, dispensed_on: date) -> None:
        super().__init__("the treatment start", started_on, "a dispensation", dispensed_on)


class DatedInTheFuture(Conflict):
    """A fact about something that has happened, dated after the day it is recorded."""

    def __init__(self, what: str, when: date, today: date) -> None:
        super().__init__(
            f"{what} is dated {when}, after today ({today}, the day it is recorded): a fact "
            "about something that has happened cannot be dated in the future")


def _listed(items: list[str], most: int = 24) -> str:
    shown = ", ".join(items[:most])
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")


class CohortClosed(Conflict):
    def __init__(self, cohort_id: str, closed_on: date, what: str = "",
                 when: date | None = None) -> None:
        if when is None:
            super().__init__(f"cohort '{cohort_id}' was already closed on {closed_on}")
        else:
            super().__init__(
                f"{what} is dated {when}, on or after the closure of cohort '{cohort_id}' on "
                f"{closed_on}: a closed cohort takes no enrolments or stage decisions from "
                "that day")


class ClosureBeforeRecordedFacts(Conflict):
    def __init__(self, cohort_id: str, closed_on: date, facts: list[str]) -> None:
        super().__init__(
            f"the closure of cohort '{cohort_id}' is dated {closed_on}, but facts dated on or "
            f"after that day are recorded: {_listed(facts)}. An enrolment's date cannot be "
            "corrected: close the cohort from a later date")
        self.facts = facts


class StageDecisionBeforeEnrolments(Conflict):
    def __init__(self, cohort_id: str, decided_on: date, stage: int,
                 enrolments: list[str]) -> None:
        super().__init__(
            f"the stage decision for cohort '{cohort_id}' is dated {decided_on}, but patients "
            f"enrolled on or after that day are already recorded in stage {stage}: "
            f"{_listed(enrolments)}. An enrolment's date cannot be corrected: date the "
            "decision after them, or record it before enrolling its patients")
        self.enrolments = enrolments


class StageFull(Conflict):
    def __init__(self, cohort_id: str, stage: int, limit: int, on: date | None = None,
                 patients: list[str] | None = None, until: date | None = None) -> None:
        label = "the expansion cohort" if stage == 3 else f"stage {stage}"
        filled = f": {_listed(patients)}" if patients else ""
        if until is not None:
            after = (f"; the enrolment is dated {on}, when the cohort was in {label} (until "
                     f"the stage decision of {until}), and its places are taken")
        else:
            after = ": a stage decision is needed before more patients can be enrolled"
        super().__init__(f"{label} of cohort '{cohort_id}' is full ({limit} patients{filled})"
                         + after)
        self.patients = patients or []


class SlotsUsedUp(Conflict):
    def __init__(self, agreement_id: str, drug_id: str, slots: int, on: date | None = None
                 ) -> None:
        when = f" in force on {on}" if on is not None else ""
        super().__init__(
            f"all {slots} patient slots{when} for '{drug_id}' under agreement '{agreement_id}' "
            "are used"
        )


class AlreadyEnrolled(Conflict):
    def __init__(self, patient_id: str, cohort_id: str) -> None:
        super().__init__(f"patient {patient_id} is already enrolled in cohort '{cohort_id}'")


class TreatmentNotStarted(Conflict):
    def __init__(self, patient_id: str) -> None:
        super().__init__(f"patient {patient_id} has no recorded treatment start")


class TreatmentAlreadyStarted(Conflict):
    def __init__(self, patient_id: str, started_on: date) -> None:
        super().__init__(
            f"patient {patient_id} started treatment on {started_on}; "
            "to change the date, record a correction"
        )


class TreatmentAlreadyEnded(Conflict):
    def __init__(self, patient_id: str, ended_on: date) -> None:
        super().__init__(
            f"treatment of patient {patient_id} ended on {ended_on}; "
            "to change the date, record a correction"
        )


class TreatmentNotEnded(Conflict):
    def __init__(self, patient_id: str) -> None:
        super().__init__(f"patient {patient_id} has no recorded end of treatment to correct")


class AssessmentAlreadyRecorded(Conflict):
    def __init__(self, patient_id: str) -> None:
        super().__init__(
            f"the 16-week assessment of patient {patient_id} is already recorded; "
            "to change it, record a correction"
        )


class NoAssessment(Conflict):
    def __init__(self, patient_id: str) -> None:
        super().__init__(f"patient {patient_id} has no recorded 16-week assessment to correct")


class SameHealthTrust(Conflict):
    def __init__(self, patient_id: str, hf_id: str) -> None:
        super().__init__(f"patient {patient_id} is already treated at '{hf_id}'")


class StageRuleNotMet(Conflict):
    def __init__(self, cohort_id: str, to_stage: int, needed: int, of: int, found: int) -> None:
        target = "an expansion cohort" if to_stage == 3 else f"stage {to_stage}"
        super().__init__(
            f"cohort '{cohort_id}' cannot open {target}: it needs at least {needed} of the first "
            f"{of} patients with benefit at 16 weeks, and {found} are recorded"
        )


class StageNotFull(Conflict):
    def __init__(self, cohort_id: str, stage: int, enrolled: int, limit: int) -> None:
        super().__init__(
            f"stage {stage} of cohort '{cohort_id}' has {enrolled} of its {limit} patients: "
            "the stage decision is taken when the stage is complete"
        )


class InvalidStageTransition(Conflict):
    def __init__(self, cohort_id: str, current: int, to_stage: int) -> None:
        super().__init__(
            f"cohort '{cohort_id}' is at stage {current} and cannot move to stage {to_stage}"
        )


class NoPrice(Conflict):
    def __init__(self, drug_id: str, on: date) -> None:
        super().__init__(
            f"drug '{drug_id}' has no price in Norway on {on}: an expansion cohort needs one"
        )


class RejectedByDecisionForum(Conflict):
    def __init__(self, drug_id: str, case_ref: str) -> None:
        super().__init__(
            f"Beslutningsforum said no to '{drug_id}' ({case_ref}): "
            "it cannot enter an expansion cohort"
        )


class DrugNotIntroduced(Conflict):
    def __init__(self, drug_id: str) -> None:
        super().__init__(
            f"no group exemption for '{drug_id}': a group exemption can only be granted for a "
            "drug already introduced in Norway for at least one indication"
        )


class ExemptionAlreadyRevoked(Conflict):
    def __init__(self, exemption_ref: str, on: date) -> None:
        super().__init__(f"group exemption '{exemption_ref}' was already revoked from {on}")


class GrantNotCommitted(Conflict):
    def __init__(self, patient_id: str) -> None:
        super().__init__(
            f"no per-patient grant is committed for patient {patient_id}: grants are due for "
            "stage 1 and 2 patients once treatment has started"
        )


class GrantAlreadyInvoiced(Conflict):
    def __init__(self, patient_id: str, invoice_ref: str) -> None:
        super().__init__(
            f"the grant for patient {patient_id} was already invoiced ({invoice_ref})"
        )


class GrantNotInvoiced(Conflict):
    def __init__(self, patient_id: str) -> None:
        super().__init__(f"the grant for patient {patient_id} has not been invoiced yet")


class Overpayment(Conflict):
    def __init__(self, patient_id: str, outstanding: str) -> None:
        super().__init__(
            f"the payment exceeds what is outstanding on the grant for patient {patient_id} "
            f"({outstanding})"
        )


class CurrencyDiffers(Conflict):
    def __init__(self, expected: str, got: str) -> None:
        super().__init__(f"the amount is in {got}, but this is owed in {expected}")


class DispensationVoided(Conflict):
    def __init__(self, reference: str) -> None:
        super().__init__(f"dispensation {reference} was voided by an earlier correction")


class HeadNotNewer(Conflict):
    def __init__(self, tree_size: int, last_size: int) -> None:
        super().__init__(
            f"a head of {tree_size} facts cannot follow the last signed head, of {last_size}: "
            "heads are signed in order of the log"
        )


# --- statements and closed periods (ADR 0022) -------------------------------------------------


class PeriodNotOver(Conflict):
    def __init__(self, what: str, period: str, end: date, today: date) -> None:
        super().__init__(f"{period} ends on {end}: it can be {what} from the day after, not "
                         f"today ({today})")


class StatementPeriodClosed(Conflict):
    def __init__(self, period: str, booked: str) -> None:
        super().__init__(f"{period} is closed: its figures are those of {booked}, and what "
                         "changed since shows as adjustments in the first open period's "
                         "statement; reopen the period (with a reason) to issue it again")


class PeriodOverlapsClosed(Conflict):
    def __init__(self, period: str, closed: list[str]) -> None:
        super().__init__(f"{period} overlaps the closed period(s) {_listed(closed)}: issue a "
                         "statement for a period that is wholly open")


class BooksChanged(Conflict):
    def __init__(self, book: str, built: int, now: int) -> None:
        super().__init__(f"the statements of {book} changed while this one was being built "
                         f"(version {built}, now {now}): nothing was recorded; build it again")


class PeriodAlreadyClosed(Conflict):
    def __init__(self, period: str, booked: str) -> None:
        super().__init__(f"{period} is already closed (booked: {booked})")


class PeriodNotNext(Conflict):
    def __init__(self, period: str, closed_through: date) -> None:
        super().__init__(f"{period} cannot be closed yet: periods are closed in order, and the "
                         f"books are closed through {closed_through}; close the period that "
                         "starts the day after first")


class NoStatementIssued(Conflict):
    def __init__(self, period: str) -> None:
        super().__init__(f"no statement of {period} has been issued: issue it (and send it) "
                         "before closing the period; the closed figures are the statement's")


class StatementPredatesClosure(Conflict):
    def __init__(self, number: str, previous: str) -> None:
        super().__init__(f"{number} was built before {previous} was closed, so it does not "
                         f"carry {previous}'s adjustments: issue the statement again, then close")


class PeriodNotClosed(Conflict):
    def __init__(self, period: str) -> None:
        super().__init__(f"{period} is not closed")


class NotTheLastClosedPeriod(Conflict):
    def __init__(self, period: str, last: str) -> None:
        super().__init__(f"{period} cannot be reopened while {last}, a later period, is closed: "
                         f"reopen {last} first")
