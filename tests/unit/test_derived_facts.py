"""Facts the ledger records itself (domain/derive.py): company coverage ended, public payer took
over and stopped, grant committed, and retractions after corrections.

A derived fact is recorded once its date has come: by the command that makes it follow (a late
assessment) or by a tick (`Book.tick(today)`), never twice.
"""

from __future__ import annotations

from datetime import date

from domain import commands as c
from domain import events as ev
from domain.financing import PayerKind
from domain.values import Decision, EndReason, Outcome, days
from tests.support import (
    Book,
    d,
    enrol,
    expansion_book,
    held,
    held_ref,
    nok,
    of_type,
    payer,
    ref_of,
    stage_book,
)

START = d("2023-06-12")
LAST_COVERED = START + days(111)
TAKEOVER = START + days(112)
PID = "IMP-0042"


def book_on(today: date, **kw: object) -> Book:
    """An expansion cohort with an exemption from 2023-03-20, whose clock reads `today`."""
    book = expansion_book(**kw)
    book.today = today
    return book


def recorded_on(book: Book, on: date, command: c.Command) -> list[ev.Event]:
    """Record a command on its own day at the earliest: nothing that happened is recorded
    before it happened. The book's clock stays where it was for the ticks that follow."""
    return book.run(command, today=max(book.today, on))


def assess(book: Book, outcome: Outcome, on: date = LAST_COVERED) -> list[ev.Event]:
    return recorded_on(book, on, c.RecordAssessment(patient_id=PID, assessed_on=on,
                                                    outcome=outcome))


def end(book: Book, on: date, reason: EndReason = EndReason.TOXICITY) -> list[ev.Event]:
    return recorded_on(book, on, c.EndTreatment(patient_id=PID, ended_on=on, reason=reason))


def revoke(book: Book, on: date) -> list[ev.Event]:
    return book.run(c.RevokeGroupExemption(cohort_id="olaparib-brca",
                                           exemption_ref="BF-2022-IMPRESS",
                                           effective_from=on, reason="new evidence"))


# --- company coverage ended -----------------------------------------------------------------


def test_company_coverage_ended_is_recorded_once_start_plus_112_days_has_come() -> None:
    book = book_on(START)
    enrol(book, PID, start=str(START))
    assert book.tick(LAST_COVERED) == []
    recorded = book.tick(TAKEOVER)
    assert recorded == [ev.CompanyCoverageEnded(
        patient_id=PID, last_covered_on=LAST_COVERED, coverage_weeks=16,
        basis=recorded[0].basis)]
    assert ref_of(book, ev.TreatmentStarted, PID) in recorded[0].basis
    assert ref_of(book, ev.AgreementSigned) in recorded[0].basis


def test_company_coverage_ended_names_the_amended_terms_it_rests_on() -> None:
    book = book_on(START)
    book.run(c.AmendAgreement(agreement_id="nordlys-impress", effective_from=d("2023-01-01"),
                              reason="renegotiated", coverage_weeks=12))
    enrol(book, PID, start=str(START))
    (fact,) = book.tick(START + days(84))
    assert (fact.last_covered_on, fact.coverage_weeks) == (START + days(83), 12)
    assert ref_of(book, ev.AgreementAmended) in fact.basis


def test_company_coverage_ended_is_not_recorded_when_treatment_ended_within_the_weeks() -> None:
    book = book_on(START)
    enrol(book, PID, start=str(START))
    end(book, LAST_COVERED)
    assert book.tick(d("2024-06-01")) == []
    assert held(book, PID) == []


def test_company_coverage_ended_is_not_recorded_for_stage_patients() -> None:
    book = stage_book()
    book.today = d("2021-04-12")
    enrol(book, PID, cohort="lynparza-prostate", on="2021-04-01", start="2021-04-12")
    book.tick(d("2022-06-01"))
    assert held(book, PID, ev.CompanyCoverageEnded) == []


def test_correcting_the_start_retracts_and_rederives_company_coverage_ended() -> None:
    book = book_on(d("2024-01-01"))
    enrol(book, PID, start=str(START))
    wrong = held_ref(book, PID, ev.CompanyCoverageEnded)
    recorded = book.run(c.CorrectTreatmentStart(patient_id=PID, started_on=START + days(3),
                                                reason="first dose postponed"))
    (retraction,) = of_type(recorded, ev.DerivedFactRetracted)
    assert retraction.retracts == wrong
    (now,) = held(book, PID, ev.CompanyCoverageEnded)
    assert now.last_covered_on == LAST_COVERED + days(3)


def test_amending_the_weeks_rederives_coverage_for_patients_started_under_the_new_terms() -> None:
    book = book_on(d("2024-06-01"))
    enrol(book, PID, start=str(START))
    book.run(c.AmendAgreement(agreement_id="nordlys-impress", effective_from=d("2023-01-01"),
                              reason="renegotiated", coverage_weeks=12))
    (now,) = held(book, PID, ev.CompanyCoverageEnded)
    assert (now.last_covered_on, now.coverage_weeks) == (START + days(83), 12)


# --- public payer took over -----------------------------------------------------------------


def test_public_payer_took_over_is_recorded_from_day_113_when_a_late_assessment_arrives() -> None:
    book = book_on(TAKEOVER + days(21))
    enrol(book, PID, start=str(START))
    recorded = assess(book, Outcome.STABLE_DISEASE, on=TAKEOVER + days(20))
    (takeover,) = of_type(recorded, ev.PublicPayerTookOver)
    assert takeover.from_date == TAKEOVER
    assert takeover.public_basis == ref_of(book, ev.GroupExemptionGranted)
    assert ref_of(book, ev.AssessmentRecorded, PID) in takeover.basis


def test_public_payer_took_over_is_recorded_when_its_day_comes() -> None:
    book = book_on(START)
    enrol(book, PID, start=str(START))
    assert of_type(assess(book, Outcome.OBJECTIVE_RESPONSE, on=START + days(100)),
                   ev.PublicPayerTookOver) == []
    assert of_type(book.tick(LAST_COVERED), ev.PublicPayerTookOver) == []
    (takeover,) = of_type(book.tick(TAKEOVER), ev.PublicPayerTookOver)
    assert takeover.from_date == TAKEOVER


def test_takeover_from_the_exemption_date_when_the_exemption_is_granted_later() -> None:
    book = book_on(d("2024-03-01"), exemption_from=None)
    enrol(book, PID, start=str(START))
    assess(book, Outcome.STABLE_DISEASE)
    assert held(book, PID, ev.PublicPayerTookOver) == []
    recorded = book.run(c.GrantGroupExemption(cohort_id="olaparib-brca", exemption_ref="BF-2024-1",
                                              effective_from=d("2024-01-15"),
                                              decided_on=d("2024-01-10")))
    (takeover,) = of_type(recorded, ev.PublicPayerTookOver)
    assert takeover.from_date == d("2024-01-15")
    assert takeover.public_basis == ref_of(book, ev.GroupExemptionGranted)


def test_permanent_financing_records_a_takeover_with_the_decision_as_basis() -> None:
    book = book_on(d("2024-03-01"), exemption_from=None)
    enrol(book, PID, start=str(START))
    assess(book, Outcome.STABLE_DISEASE)
    recorded = book.run(c.DecidePermanentFinancing(
        cohort_id="olaparib-brca", decision=Decision.INTRODUCED, case_ref="ID2023_077",
        effective_from=d("2024-02-01")))
    (takeover,) = of_type(recorded, ev.PublicPayerTookOver)
    assert takeover.from_date == d("2024-02-01")
    assert takeover.public_basis == ref_of(book, ev.PermanentFinancingDecided)


def test_transfer_to_another_region_after_takeover_records_no_second_takeover() -> None:
    book = book_on(d("2024-06-01"))
    enrol(book, PID, start=str(START))
    assess(book, Outcome.STABLE_DISEASE)
    book.run(c.TransferPatient(patient_id=PID, to_hf="unn", effective_from=d("2023-12-01")))
    assert [f.from_date for f in held(book, PID, ev.PublicPayerTookOver)] == [TAKEOVER]
    assert payer(book, PID, "2023-12-01").party == "helse-nord"


# --- public payer stopped, retractions ------------------------------------------------------


def test_revocation_records_public_payer_stopped_on_the_day_before_once_that_day_is_over() -> None:
    revoked = d("2024-02-01")
    book = book_on(d("2024-01-15"))
    enrol(book, PID, start=str(START))
    assess(book, Outcome.STABLE_DISEASE)
    assert of_type(revoke(book, revoked), ev.PublicPayerStopped) == []
    assert book.tick(revoked - days(1)) == []
    (stopped,) = of_type(book.tick(revoked), ev.PublicPayerStopped)
    assert stopped.last_day == revoked - days(1)
    assert ref_of(book, ev.GroupExemptionRevoked) in stopped.basis
    assert payer(book, PID, revoked).kind is PayerKind.TREATING_HF


def test_correcting_the_assessment_to_progressive_disease_retracts_the_takeover() -> None:
    book = book_on(d("2024-01-01"))
    enrol(book, PID, start=str(START))
    assess(book, Outcome.STABLE_DISEASE)
    takeover = held_ref(book, PID, ev.PublicPayerTookOver)
    recorded = book.run(c.CorrectAssessment(patient_id=PID, assessed_on=LAST_COVERED,
                                            outcome=Outcome.PROGRESSIVE_DISEASE,
                                            reason="scan re-read"))
    (retraction,) = of_type(recorded, ev.DerivedFactRetracted)
    assert retraction.retracts == takeover
    assert ref_of(book, ev.AssessmentCorrected, PID) in retraction.basis
    assert held(book, PID, ev.PublicPayerTookOver) == []
    assert takeover in {f"{s}@{v}" for s, v, _ in book.log}  # retracted, not erased


def test_correcting_the_end_to_before_the_revocation_retracts_the_stop() -> None:
    book = book_on(d("2024-06-01"))
    enrol(book, PID, start=str(START))
    assess(book, Outcome.STABLE_DISEASE)
    end(book, d("2024-03-01"), EndReason.COMPLETED)
    revoke(book, d("2024-02-01"))
    stopped = held_ref(book, PID, ev.PublicPayerStopped)
    recorded = book.run(c.CorrectTreatmentEnd(patient_id=PID, ended_on=d("2024-01-20"),
                                              ended_reason=EndReason.COMPLETED,
                                              reason="last dose date misread"))
    assert [r.retracts for r in of_type(recorded, ev.DerivedFactRetracted)] == [stopped]


# --- ticks are idempotent -------------------------------------------------------------------


def test_a_second_tick_on_the_same_day_records_nothing() -> None:
    book = book_on(START)
    enrol(book, PID, start=str(START))
    assess(book, Outcome.STABLE_DISEASE)
    assert book.tick(d("2024-01-01")) != []
    before = len(book.log)
    assert book.tick(d("2024-01-01")) == []
    assert len(book.log) == before


def test_a_tick_with_an_earlier_date_records_and_retracts_nothing() -> None:
    book = book_on(START)
    enrol(book, PID, start=str(START))
    assess(book, Outcome.STABLE_DISEASE)
    revoke(book, d("2024-02-01"))
    book.tick(d("2024-06-01"))
    before = len(book.log)
    assert book.tick(START + days(1)) == []
    assert book.tick(TAKEOVER) == []
    assert len(book.log) == before
    assert len(held(book, PID)) == 3  # coverage ended, took over, stopped


# --- per-patient grants ---------------------------------------------------------------------


def test_grant_committed_at_treatment_start_for_stage_patients_by_terms_in_force() -> None:
    book = stage_book(grant=nok(50000))
    book.run(c.AmendAgreement(agreement_id="nordlys-impress", effective_from=d("2021-05-01"),
                              reason="grant raised", grant_per_patient=nok(60000)))
    enrol(book, "IMP-0001", cohort="lynparza-prostate", hf="ous", on="2021-04-01",
          start="2021-04-12")
    enrol(book, "IMP-0002", cohort="lynparza-prostate", hf="unn", on="2021-04-01",
          start="2021-05-03")
    (first,) = held(book, "IMP-0001", ev.GrantCommitted)
    (second,) = held(book, "IMP-0002", ev.GrantCommitted)
    assert (first.amount, first.due_from, first.hf_id) == (nok(50000), d("2021-04-12"), "ous")
    assert (second.amount, second.due_from, second.hf_id) == (nok(60000), d("2021-05-03"), "unn")
    assert ref_of(book, ev.AgreementAmended) in second.basis
    assert ref_of(book, ev.TreatmentStarted, "IMP-0002") in second.basis


def test_grant_is_committed_by_the_start_it_rests_on_recorded_on_its_day() -> None:
    book = stage_book()
    book.today = d("2021-04-12")
    enrol(book, PID, cohort="lynparza-prostate", on="2021-04-01", start="2021-04-12")
    (grant,) = held(book, PID, ev.GrantCommitted)
    assert (grant.due_from, grant.hf_id) == (d("2021-04-12"), "helse-stavanger")
    assert book.tick(d("2021-04-12")) == []


def test_no_grant_for_expansion_patients() -> None:
    book = book_on(d("2024-06-01"))
    enrol(book, PID, start=str(START))
    assert held(book, PID, ev.GrantCommitted) == []


def test_correcting_the_start_recommits_the_grant_due_from_the_corrected_start() -> None:
    book = stage_book()
    enrol(book, PID, cohort="lynparza-prostate", on="2021-04-01", start="2021-04-12")
    wrong = held_ref(book, PID, ev.GrantCommitted)
    recorded = book.run(c.CorrectTreatmentStart(patient_id=PID, started_on=d("2021-04-14"),
                                                reason="first dose postponed"))
    correction = ref_of(book, ev.TreatmentStartCorrected, PID)
    (retraction,) = of_type(recorded, ev.DerivedFactRetracted)
    (grant,) = of_type(recorded, ev.GrantCommitted)
    assert retraction.retracts == wrong and retraction.basis == (correction,)
    assert retraction.reason == (
        "a grant of NOK 50000.00 to helse-stavanger, due from 2021-04-12 no longer follows; "
        "now: a grant of NOK 50000.00 to helse-stavanger, due from 2021-04-14; changed: the "
        f"treatment start ({correction})")
    assert grant.due_from == d("2021-04-14") and correction in grant.basis
    assert held(book, PID, ev.GrantCommitted) == [grant]


def test_a_corrected_start_under_other_terms_recommits_the_grant_at_those_terms() -> None:
    book = stage_book(grant=nok(50000))
    book.run(c.AmendAgreement(agreement_id="nordlys-impress", effective_from=d("2021-04-13"),
                              reason="grant raised", grant_per_patient=nok(60000)))
    enrol(book, PID, cohort="lynparza-prostate", on="2021-04-01", start="2021-04-12")
    book.run(c.CorrectTreatmentStart(patient_id=PID, started_on=d("2021-04-14"),
                                     reason="first dose postponed"))
    (grant,) = held(book, PID, ev.GrantCommitted)
    assert grant.amount == nok(60000)
    assert ref_of(book, ev.AgreementAmended) in grant.basis


def test_correcting_the_enrolling_hf_recommits_the_grant_to_the_hf_that_treats() -> None:
    book = stage_book()
    enrol(book, PID, cohort="lynparza-prostate", hf="ous", on="2021-04-01", start="2021-04-12")
    recorded = book.run(c.CorrectEnrolmentHf(patient_id=PID, hf_id="helse-bergen",
                                             reason="enrolled at Haukeland, not Ullevål"))
    (retraction,) = of_type(recorded, ev.DerivedFactRetracted)
    assert retraction.basis == (ref_of(book, ev.EnrolmentHfCorrected, PID),)
    (grant,) = held(book, PID, ev.GrantCommitted)
    assert (grant.hf_id, grant.amount) == ("helse-bergen", nok(50000))


def test_a_transfer_before_the_start_recorded_late_moves_the_grant_to_the_new_hf() -> None:
    book = stage_book()
    enrol(book, PID, cohort="lynparza-prostate", hf="ous", on="2021-04-01", start="2021-04-12")
    book.run(c.TransferPatient(patient_id=PID, to_hf="unn", effective_from=d("2021-04-05")))
    (grant,) = held(book, PID, ev.GrantCommitted)
    assert grant.hf_id == "unn"
