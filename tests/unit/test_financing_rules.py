"""Who pays for a patient's drug on a date (domain/financing.py), given recorded facts.

Each test: given facts (recorded through the decide functions, as in production), when asked
about a date, then the payer, and the facts the answer rests on.
"""

from __future__ import annotations

from datetime import date

import pytest

from domain import commands as c
from domain import events as ev
from domain.financing import PayerKind, timeline
from domain.values import Decision, EndReason, Outcome, days
from tests.support import (
    Book,
    d,
    enrol,
    expansion_book,
    payer,
    ref_of,
    stage_2_book,
    stage_book,
)

START = d("2023-06-12")  # the expansion patient's treatment start in these stories
LAST_COVERED = START + days(111)  # 2023-10-01: day 112 of treatment, the company's last
TAKEOVER = START + days(112)  # 2023-10-02: the first day the public side can pay
PID = "IMP-0042"


def assessed(book: Book, outcome: Outcome, on: date = LAST_COVERED, pid: str = PID) -> None:
    book.run(c.RecordAssessment(patient_id=pid, assessed_on=on, outcome=outcome))


def end(book: Book, on: date, pid: str = PID) -> None:
    book.run(c.EndTreatment(patient_id=pid, ended_on=on, reason=EndReason.PROGRESSION))


def transfer(book: Book, to_hf: str, on: date, pid: str = PID) -> None:
    book.run(c.TransferPatient(patient_id=pid, to_hf=to_hf, effective_from=on))


def company(party: str = "nordlys") -> tuple[PayerKind, str]:
    return (PayerKind.COMPANY, party)


def who(book: Book, on: date, pid: str = PID, up_to: int | None = None) -> tuple[object, ...]:
    p = payer(book, pid, on, up_to=up_to)
    return (p.kind, p.party)


# --- stages 1 and 2: the company for the whole treatment period -----------------------------


def test_stage_1_company_gives_the_drug_for_the_whole_treatment_period() -> None:
    book = stage_book()
    enrol(book, PID, cohort="lynparza-prostate", on="2021-04-01", start="2021-04-12",
          outcome=Outcome.PROGRESSIVE_DISEASE, assessed="2021-08-02")
    end(book, d("2022-12-31"))
    assert who(book, d("2021-04-11")) == (PayerKind.NOBODY, None)
    assert who(book, d("2021-04-12")) == company()
    assert who(book, d("2021-08-02") + days(1)) == company()  # no 16-week limit in stage 1
    assert who(book, d("2022-12-31")) == company()  # the end date is still treatment
    assert who(book, d("2023-01-01")) == (PayerKind.NOBODY, None)


def test_stage_2_company_gives_the_drug_for_the_whole_treatment_period() -> None:
    book = stage_2_book()
    enrol(book, "IMP-0100", cohort="lynparza-prostate", on="2021-09-10", start="2021-09-20")
    end(book, d("2023-09-19"), pid="IMP-0100")
    assert book.case("IMP-0100").patient.stage == 2
    assert who(book, d("2021-09-20"), "IMP-0100") == company()
    assert who(book, d("2023-09-19"), "IMP-0100") == company()
    assert who(book, d("2023-09-20"), "IMP-0100") == (PayerKind.NOBODY, None)


def test_stage_payer_rests_on_enrolment_start_and_agreement() -> None:
    book = stage_book()
    enrol(book, PID, cohort="lynparza-prostate", on="2021-04-01", start="2021-04-12")
    answer = payer(book, PID, "2021-05-01")
    assert ref_of(book, ev.PatientEnrolled, PID) in answer.basis
    assert ref_of(book, ev.TreatmentStarted, PID) in answer.basis
    assert ref_of(book, ev.AgreementSigned) in answer.basis


# --- expansion: the company for 16 weeks, then public, gap or pending -----------------------


def test_expansion_company_covers_start_through_start_plus_111_days() -> None:
    book = expansion_book()
    enrol(book, PID, start=str(START))
    assert who(book, START - days(1)) == (PayerKind.NOBODY, None)
    assert who(book, START) == company()
    assert who(book, LAST_COVERED) == company()
    assert who(book, TAKEOVER) == (PayerKind.PENDING, None)


@pytest.mark.parametrize("outcome", [Outcome.OBJECTIVE_RESPONSE, Outcome.STABLE_DISEASE])
def test_public_payer_takes_over_after_16_weeks_with_benefit_and_exemption(
        outcome: Outcome) -> None:
    book = expansion_book(exemption_from="2023-03-20")
    enrol(book, PID, hf="helse-stavanger", start=str(START))
    assessed(book, outcome)
    assert who(book, LAST_COVERED) == company()
    answer = payer(book, PID, TAKEOVER)
    assert (answer.kind, answer.party, answer.hf_id) == (
        PayerKind.PUBLIC, "helse-vest", "helse-stavanger")
    assert ref_of(book, ev.AssessmentRecorded, PID) in answer.basis
    assert ref_of(book, ev.GroupExemptionGranted) in answer.basis
    assert ref_of(book, ev.TreatmentStarted, PID) in answer.basis


def test_public_payer_is_the_rhf_of_the_hf_treating_the_patient_on_that_date() -> None:
    book = expansion_book()
    enrol(book, PID, hf="helse-stavanger", start=str(START))
    assessed(book, Outcome.STABLE_DISEASE)
    moved = d("2023-12-01")
    transfer(book, "ous", moved)
    assert payer(book, PID, moved - days(1)).party == "helse-vest"
    on_move = payer(book, PID, moved)
    assert (on_move.kind, on_move.party, on_move.hf_id) == (
        PayerKind.PUBLIC, "helse-sor-ost", "ous")
    assert ref_of(book, ev.PatientTransferred, PID) in on_move.basis


def test_transfer_during_company_coverage_keeps_the_company_and_sets_the_later_region() -> None:
    book = expansion_book()
    enrol(book, PID, hf="helse-stavanger", start=str(START))
    transfer(book, "unn", START + days(30))
    assessed(book, Outcome.OBJECTIVE_RESPONSE)
    assert who(book, START + days(30)) == company()
    assert who(book, TAKEOVER) == (PayerKind.PUBLIC, "helse-nord")


def test_benefit_without_exemption_is_a_financing_gap_carried_by_the_treating_hf() -> None:
    book = expansion_book(exemption_from=None)
    enrol(book, PID, hf="helse-bergen", start=str(START))
    assessed(book, Outcome.STABLE_DISEASE)
    gap = payer(book, PID, TAKEOVER)
    assert (gap.kind, gap.party) == (PayerKind.TREATING_HF, "helse-bergen")
    assert "gap" in gap.reason


def test_exemption_pays_only_from_its_effective_date() -> None:
    exempt_from = TAKEOVER + days(20)
    book = expansion_book(exemption_from=str(exempt_from))
    enrol(book, PID, start=str(START))
    assessed(book, Outcome.STABLE_DISEASE)
    assert who(book, TAKEOVER) == (PayerKind.TREATING_HF, "helse-stavanger")
    assert who(book, exempt_from - days(1)) == (PayerKind.TREATING_HF, "helse-stavanger")
    assert who(book, exempt_from) == (PayerKind.PUBLIC, "helse-vest")


@pytest.mark.parametrize("outcome", [Outcome.PROGRESSIVE_DISEASE, Outcome.NOT_EVALUABLE])
def test_no_benefit_but_still_on_treatment_is_carried_by_the_treating_hf(outcome: Outcome) -> None:
    book = expansion_book()
    enrol(book, PID, hf="st-olavs", start=str(START))
    assessed(book, outcome)
    answer = payer(book, PID, TAKEOVER)
    assert (answer.kind, answer.party) == (PayerKind.TREATING_HF, "st-olavs")
    assert ref_of(book, ev.AssessmentRecorded, PID) in answer.basis


def test_pending_when_company_coverage_ended_and_no_assessment_is_recorded() -> None:
    book = expansion_book()
    enrol(book, PID, start=str(START))
    answer = payer(book, PID, TAKEOVER + days(40))
    assert (answer.kind, answer.party, answer.hf_id) == (PayerKind.PENDING, None, "helse-stavanger")


def test_nobody_pays_while_treatment_has_not_started() -> None:
    book = expansion_book()
    enrol(book, PID, start=None)
    assert who(book, d("2023-06-01")) == (PayerKind.NOBODY, None)
    assert who(book, d("2024-06-01")) == (PayerKind.NOBODY, None)


def test_nobody_pays_after_treatment_ended_even_with_benefit_and_exemption() -> None:
    book = expansion_book()
    enrol(book, PID, start=str(START))
    assessed(book, Outcome.STABLE_DISEASE)
    end(book, TAKEOVER + days(9))
    assert who(book, TAKEOVER + days(9)) == (PayerKind.PUBLIC, "helse-vest")
    assert who(book, TAKEOVER + days(10)) == (PayerKind.NOBODY, None)
    assert ref_of(book, ev.TreatmentEnded, PID) in payer(book, PID, TAKEOVER + days(10)).basis


def test_treatment_ended_within_the_16_weeks_leaves_nothing_pending() -> None:
    book = expansion_book()
    enrol(book, PID, start=str(START))
    end(book, LAST_COVERED)
    assert who(book, LAST_COVERED) == company()
    assert who(book, TAKEOVER) == (PayerKind.NOBODY, None)


def test_revoked_exemption_stops_public_payment_from_the_revocation_date() -> None:
    book = expansion_book()
    enrol(book, PID, start=str(START))
    assessed(book, Outcome.STABLE_DISEASE)
    revoked = d("2024-02-01")
    book.run(c.RevokeGroupExemption(cohort_id="olaparib-brca", exemption_ref="BF-2022-IMPRESS",
                                    effective_from=revoked, reason="new evidence"))
    assert who(book, revoked - days(1)) == (PayerKind.PUBLIC, "helse-vest")
    assert who(book, revoked) == (PayerKind.TREATING_HF, "helse-stavanger")


def test_permanent_financing_introduced_acts_as_public_basis() -> None:
    book = expansion_book(exemption_from=None)
    enrol(book, PID, start=str(START))
    assessed(book, Outcome.STABLE_DISEASE)
    decided = d("2023-11-01")
    book.run(c.DecidePermanentFinancing(cohort_id="olaparib-brca", decision=Decision.INTRODUCED,
                                        case_ref="ID2023_077", effective_from=decided))
    assert who(book, decided - days(1)) == (PayerKind.TREATING_HF, "helse-stavanger")
    answer = payer(book, PID, decided)
    assert (answer.kind, answer.party) == (PayerKind.PUBLIC, "helse-vest")
    assert ref_of(book, ev.PermanentFinancingDecided) in answer.basis


def test_permanent_financing_rejected_is_no_public_basis() -> None:
    book = expansion_book(exemption_from=None)
    enrol(book, PID, start=str(START))
    assessed(book, Outcome.STABLE_DISEASE)
    book.run(c.DecidePermanentFinancing(cohort_id="olaparib-brca", decision=Decision.REJECTED,
                                        case_ref="ID2023_077", effective_from=d("2023-11-01")))
    assert who(book, d("2023-12-01")) == (PayerKind.TREATING_HF, "helse-stavanger")


def test_agreed_coverage_of_12_weeks_is_honoured() -> None:
    book = expansion_book(weeks=12)
    enrol(book, PID, start=str(START))
    assessed(book, Outcome.STABLE_DISEASE, on=START + days(83))
    assert who(book, START + days(83)) == company()
    assert who(book, START + days(84)) == (PayerKind.PUBLIC, "helse-vest")


def test_amended_coverage_weeks_apply_by_the_terms_in_force_on_treatment_start() -> None:
    book = expansion_book()
    book.run(c.AmendAgreement(agreement_id="nordlys-impress", effective_from=d("2023-06-01"),
                              reason="renegotiated", coverage_weeks=12))
    enrol(book, "IMP-0001", on="2023-05-01", start="2023-05-02")  # under the 16 weeks
    enrol(book, "IMP-0002", on="2023-06-01", start="2023-06-01")  # under the 12 weeks
    assert who(book, d("2023-05-02") + days(111), "IMP-0001") == company()
    assert who(book, d("2023-05-02") + days(112), "IMP-0001") == (PayerKind.PENDING, None)
    assert who(book, d("2023-06-01") + days(83), "IMP-0002") == company()
    assert who(book, d("2023-06-01") + days(84), "IMP-0002") == (PayerKind.PENDING, None)
    assert ref_of(book, ev.AgreementAmended) in payer(book, "IMP-0002", "2023-06-02").basis


def test_late_assessment_changes_the_answer_retroactively_but_not_as_known_before() -> None:
    book = expansion_book()
    enrol(book, PID, start=str(START))
    known_before = len(book.log)
    assessed(book, Outcome.STABLE_DISEASE, on=TAKEOVER + days(21))  # recorded three weeks late
    assert who(book, TAKEOVER) == (PayerKind.PUBLIC, "helse-vest")
    assert who(book, TAKEOVER, up_to=known_before) == (PayerKind.PENDING, None)


# --- the timeline: the same answers as intervals --------------------------------------------


def test_timeline_splits_at_every_change_of_payer() -> None:
    book = expansion_book()
    enrol(book, PID, hf="helse-stavanger", on="2023-06-01", start=str(START))
    assessed(book, Outcome.STABLE_DISEASE)
    transfer(book, "ous", d("2023-12-01"))
    book.run(c.RevokeGroupExemption(cohort_id="olaparib-brca", exemption_ref="BF-2022-IMPRESS",
                                    effective_from=d("2024-02-01"), reason="new evidence"))
    end(book, d("2024-03-31"))
    spans = [(i.start, i.end, i.payer.kind, i.payer.party) for i in timeline(book.case(PID))]
    assert spans == [
        (d("2023-06-01"), START - days(1), PayerKind.NOBODY, None),
        (START, LAST_COVERED, PayerKind.COMPANY, "nordlys"),
        (TAKEOVER, d("2023-11-30"), PayerKind.PUBLIC, "helse-vest"),
        (d("2023-12-01"), d("2024-01-31"), PayerKind.PUBLIC, "helse-sor-ost"),
        (d("2024-02-01"), d("2024-03-31"), PayerKind.TREATING_HF, "ous"),
        (d("2024-04-01"), None, PayerKind.NOBODY, None),
    ]
