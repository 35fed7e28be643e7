"""Issue 10's examples, each on SQLite and PostgreSQL through the real ledger: facts typed in late
are judged against the world on their own date (ADR 0014), and what the ledger derived follows
them. Each of these failed before ADR 0014: the rule read the world as it is now.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from application.ledger import Ledger, Receipt
from domain import commands as c
from domain import errors as err
from domain import events as ev
from domain.financing import PayerKind
from domain.values import EXPANSION, EndReason, Outcome
from eventstore import EventLog
from reports.statements import Period, Scope
from reports.statements_restate import StatementKind, restate
from tests.support import d, nok, with_company_and_drug, with_reference

OFFICE = "trial-office:kari"
STAGE_COHORT = "lynparza-prostate"


class Office:
    """The trial office typing facts into a ledger on a database, each on a given day."""

    def __init__(self, ledger: Ledger) -> None:
        from domain.values import Actor

        self.ledger = ledger
        self.actor = Actor(subject=OFFICE, role="trial_office", organisation="impress")
        self.today = date(2021, 1, 1)
        ledger.clock = lambda: self.today

    def run(self, command: c.Command, today: date | None = None) -> Receipt:
        self.today = today or self.today
        return self.ledger.execute(command, self.actor)

    def case(self, patient_id: str) -> object:
        return self.ledger.case(patient_id)


@pytest.fixture
def office(database_url: str) -> Iterator[Office]:
    ledger = Ledger(EventLog(database_url))
    office = Office(ledger)
    try:
        with_company_and_drug(with_reference(office))  # type: ignore[arg-type]
        office.run(c.OpenCohort(cohort_id=STAGE_COHORT, drug_id="lynparza",
                                agreement_id="nordlys-impress", indication="prostate cancer",
                                molecular_profile="ATM loss", opened_on=d("2021-03-01")),
                   d("2021-03-01"))
        yield office
    finally:
        ledger.close()


def enrol(office: Office, pid: str, on: str, *, today: str | None = None,
          start: str | None = None) -> Receipt:
    receipt = office.run(c.EnrolPatient(patient_id=pid, cohort_id=STAGE_COHORT, hf_id="ous",
                                        enrolled_on=d(on)), d(today or on))
    if start:
        receipt = office.run(c.StartTreatment(patient_id=pid, started_on=d(start)),
                             max(d(today or on), d(start)))
    return receipt


def expand_on_evidence(office: Office, on: str = "2021-06-01") -> None:
    office.run(c.AdvanceStage(cohort_id=STAGE_COHORT, to_stage=EXPANSION, decided_on=d(on),
                              evidence_ref="DRUP: first 24 patients", expansion_size=40), d(on))


def held(office: Office, pid: str, kind: type[ev.Event]) -> list[ev.Event]:
    return [f for _, f in office.ledger.case(pid).patient.derived if isinstance(f, kind)]


# --- the stage on the enrolment date --------------------------------------------------------


def test_an_enrolment_dated_before_a_stage_decision_but_recorded_after_it_keeps_stage_1_money(
        office: Office) -> None:
    enrol(office, "IMP-0001", "2021-04-01", start="2021-04-06")
    expand_on_evidence(office, "2021-06-01")
    # typed in December: enrolled in May, while the cohort was in stage 1
    enrol(office, "IMP-0002", "2021-05-20", today="2021-12-01", start="2021-05-25")
    p = office.ledger.case("IMP-0002").patient
    assert p.stage == 1
    after_16_weeks = office.ledger.who_pays("IMP-0002", d("2021-10-01")).payer
    assert (after_16_weeks.kind, after_16_weeks.party) == (PayerKind.COMPANY, "nordlys")
    assert "whole treatment period" in after_16_weeks.reason
    (grant,) = held(office, "IMP-0002", ev.GrantCommitted)
    assert (grant.amount, grant.due_from) == (nok(50000), d("2021-05-25"))


def test_an_enrolment_into_a_stage_that_was_full_on_its_date_is_refused_naming_its_patients(
        office: Office) -> None:
    for n in range(1, 9):
        enrol(office, f"IMP-{n:04d}", "2021-04-01")
    expand_on_evidence(office, "2021-06-01")
    with pytest.raises(err.StageFull) as refused:
        enrol(office, "IMP-0009", "2021-05-20", today="2021-12-01")
    assert refused.value.patients == [f"IMP-{n:04d} (2021-04-01)" for n in range(1, 9)]
    enrol(office, "IMP-0009", "2021-06-02", today="2021-12-01")  # the expansion has room


# --- closure on its own date ----------------------------------------------------------------


def test_an_enrolment_dated_before_the_closure_but_recorded_after_it_is_accepted(
        office: Office) -> None:
    office.run(c.CloseCohort(cohort_id=STAGE_COHORT, closed_on=d("2021-09-01"),
                             reason="sponsor stop"), d("2021-09-01"))
    enrol(office, "IMP-0001", "2021-08-20", today="2021-10-01")
    assert office.ledger.case("IMP-0001").patient.stage == 1
    with pytest.raises(err.CohortClosed):
        enrol(office, "IMP-0002", "2021-09-01", today="2021-10-01")


def test_a_closure_dated_before_an_enrolment_already_recorded_is_refused_naming_it(
        office: Office) -> None:
    enrol(office, "IMP-0001", "2021-09-10")
    with pytest.raises(err.ClosureBeforeRecordedFacts, match="IMP-0001 enrolled 2021-09-10"):
        office.run(c.CloseCohort(cohort_id=STAGE_COHORT, closed_on=d("2021-09-01"),
                                 reason="sponsor stop"), d("2021-10-01"))
    assert office.ledger.workspace().cohort(STAGE_COHORT).closed is None


# --- nothing that happened is dated after the day it is recorded ----------------------------


def test_a_dispensation_dated_in_2099_is_refused(office: Office) -> None:
    enrol(office, "IMP-0001", "2021-04-01", start="2021-04-06")
    head = office.ledger.log.head()
    with pytest.raises(err.DatedInTheFuture, match="dated 2099-01-05, after today"):
        office.run(c.DispenseDrug(patient_id="IMP-0001", packs=1, dispensed_on=d("2099-01-05")),
                   d("2021-05-01"))
    assert office.ledger.log.head() == head


def test_a_16_week_assessment_dated_after_the_end_of_treatment_is_refused(
        office: Office) -> None:
    enrol(office, "IMP-0001", "2021-04-01", start="2021-04-06")
    office.run(c.EndTreatment(patient_id="IMP-0001", ended_on=d("2021-06-30"),
                              reason=EndReason.TOXICITY), d("2021-07-01"))
    with pytest.raises(err.AssessmentAfterEnd) as refused:
        office.run(c.RecordAssessment(patient_id="IMP-0001", assessed_on=d("2021-07-26"),
                                      outcome=Outcome.NOT_EVALUABLE), d("2021-08-01"))
    assert str(refused.value) == ("the 16-week assessment is dated 2021-07-26, after the end of "
                                  "treatment on 2021-06-30")


# --- the grant follows a corrected start and enrolling health trust -------------------------


def test_the_grant_follows_a_corrected_treatment_start(office: Office) -> None:
    office.run(c.AmendAgreement(agreement_id="nordlys-impress", effective_from=d("2021-04-10"),
                                reason="grant raised", grant_per_patient=nok(60000)))
    enrol(office, "IMP-0001", "2021-04-01", start="2021-04-06")  # 50 000 then
    receipt = office.run(c.CorrectTreatmentStart(patient_id="IMP-0001",
                                                 started_on=d("2021-04-12"),
                                                 reason="first dose postponed"), d("2021-04-20"))
    types = [f.type for f in receipt.facts]
    assert types == ["TreatmentStartCorrected", "DerivedFactRetracted", "GrantCommitted"]
    (grant,) = held(office, "IMP-0001", ev.GrantCommitted)
    assert (grant.amount, grant.due_from) == (nok(60000), d("2021-04-12"))
    correction = f"{receipt.facts[0].stream}@{receipt.facts[0].version}"
    assert correction in grant.basis and correction in receipt.facts[1].data["basis"]


def test_the_grant_follows_a_corrected_enrolling_health_trust_and_keeps_its_invoice(
        office: Office) -> None:
    enrol(office, "IMP-0001", "2021-04-01", start="2021-04-06")
    office.run(c.InvoiceGrant(patient_id="IMP-0001", invoice_ref="OUS-1",
                              invoiced_on=d("2021-05-01")), d("2021-05-01"))
    office.run(c.CorrectEnrolmentHf(patient_id="IMP-0001", hf_id="helse-bergen",
                                    reason="enrolled at Haukeland"), d("2021-05-10"))
    grant = office.ledger.case("IMP-0001").patient.grant
    assert grant is not None
    assert (grant.hf_id, grant.amount, grant.invoiced) == ("helse-bergen", nok(50000),
                                                            nok(50000))
    assert grant.settlement() == "invoiced by ous, but the grant is now owed to helse-bergen"


# --- a restatement names the late fact ------------------------------------------------------


def test_a_restatement_after_a_late_stage_1_enrolment_names_the_enrolment(
        office: Office) -> None:
    enrol(office, "IMP-0001", "2021-04-01", start="2021-04-06")
    expand_on_evidence(office, "2021-06-01")
    issued = office.ledger.log.head()  # the company statement for 2021 as reported then
    late = enrol(office, "IMP-0002", "2021-05-20", today="2021-12-01")
    office.run(c.StartTreatment(patient_id="IMP-0002", started_on=d("2021-05-25")))
    r = restate(office.ledger, StatementKind.COMPANY, Period(d("2021-01-01"), d("2021-12-31")),
                Scope.everything(), issued=issued)
    changed = {(x.section, x.key): {f: (b, a) for f, b, a in x.fields} for x in r.changes}
    assert changed[("agreement", ("nordlys-impress", "lynparza"))]["slots used"] == ("1", "2")
    assert changed[("grant", ("IMP-0002",))]["committed"] == ("", "NOK 50000.00")
    enrolment = late.facts[0]
    named = [(x.position, x.type, x.why, x.patients) for x in r.causes]
    assert (enrolment.position, "PatientEnrolled", "late", ("IMP-0002",)) in named
