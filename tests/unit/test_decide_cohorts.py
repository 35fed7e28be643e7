"""Cohorts and their stages: 8 patients in stage 1, 24 in all by stage 2, then an expansion
cohort; stage decisions rest on the recorded 16-week assessments or on a partner trial."""

from __future__ import annotations

import pytest

from domain import commands as c
from domain import errors as err
from domain import events as ev
from domain.values import DEFAULT_EXPANSION_SIZE, Decision, Outcome
from tests.support import (
    Book,
    d,
    enrol,
    expansion_book,
    fill_stage,
    ref_of,
    refused,
    stage_2_book,
    stage_book,
    with_company_and_drug,
    with_reference,
)

COHORT = "lynparza-prostate"
PD, SD, OR = Outcome.PROGRESSIVE_DISEASE, Outcome.STABLE_DISEASE, Outcome.OBJECTIVE_RESPONSE


def enrolment(pid: str, on: str = "2021-10-01", cohort: str = COHORT) -> c.EnrolPatient:
    return c.EnrolPatient(patient_id=pid, cohort_id=cohort, hf_id="ous", enrolled_on=d(on))


def advance(to_stage: int, on: str = "2021-09-01", **kw: object) -> c.AdvanceStage:
    return c.AdvanceStage(cohort_id=COHORT, to_stage=to_stage, decided_on=d(on),
                          **kw)  # type: ignore[arg-type]


def open_on_evidence(cohort: str = "olaparib-brca", **kw: object) -> c.OpenCohort:
    return c.OpenCohort(cohort_id=cohort, drug_id="lynparza", agreement_id="nordlys-impress",
                        indication="solid tumours", molecular_profile="BRCA1/2",
                        opened_on=d("2022-01-10"), evidence_ref="DRUP: first 24 patients",
                        **kw)  # type: ignore[arg-type]


def stage_2_full(benefit: int) -> Book:
    """Stage 2 with all 24 patients assessed, `benefit` of them with stable disease."""
    book = stage_2_book()  # IMP-0001 has stable disease, IMP-0002..8 progression
    more = [SD] * (benefit - 1) + [PD] * (16 - benefit + 1)
    fill_stage(book, more, first=9, on="2021-09-10", start="2021-09-20", assessed="2022-01-10")
    return book


# --- opening --------------------------------------------------------------------------------


def test_a_cohort_opens_at_stage_1() -> None:
    book = stage_book()
    assert book.workspace().cohort(COHORT).stage == 1


def test_cohort_refused_for_a_drug_the_agreement_does_not_contribute() -> None:
    book = with_company_and_drug(with_reference(Book()))
    book.run(c.RegisterDrug(drug_id="zejula", brand="Zejula", generic="niraparib",
                            company_id="nordlys", registered_on=d("2021-01-01")))
    refused(book, c.OpenCohort(cohort_id="zejula-x", drug_id="zejula",
                               agreement_id="nordlys-impress", indication="x",
                               molecular_profile="y", opened_on=d("2021-03-01")),
            err.DrugNotContributed)


def test_cohort_refused_under_an_unknown_agreement() -> None:
    refused(stage_book(), c.OpenCohort(cohort_id="other", drug_id="lynparza",
                                       agreement_id="unknown", indication="x",
                                       molecular_profile="y", opened_on=d("2021-03-01")),
            err.UnknownAgreement)


def test_cohort_opened_twice_is_refused() -> None:
    refused(stage_book(), c.OpenCohort(cohort_id=COHORT, drug_id="lynparza",
                                       agreement_id="nordlys-impress", indication="x",
                                       molecular_profile="y", opened_on=d("2021-03-01")),
            err.AlreadyRecorded)


def test_expansion_cohort_opens_on_a_partner_trials_evidence() -> None:
    book = with_company_and_drug(with_reference(Book()))
    (opened,) = book.run(open_on_evidence(expansion_size=30))
    assert (opened.stage, opened.evidence_ref, opened.expansion_size) == (
        3, "DRUP: first 24 patients", 30)


def test_expansion_on_partner_evidence_refused_without_a_price_in_norway() -> None:
    refused(with_company_and_drug(with_reference(Book()), price=None), open_on_evidence(),
            err.NoPrice)


def test_expansion_on_partner_evidence_refused_after_a_no_from_beslutningsforum() -> None:
    book = with_company_and_drug(with_reference(Book()))
    book.run(c.RecordIntroductionDecision(drug_id="lynparza", decision=Decision.REJECTED,
                                          case_ref="ID2021_099", indication="prostate cancer",
                                          decided_on=d("2021-11-01")))
    refused(book, open_on_evidence(), err.RejectedByDecisionForum)


# --- enrolment limits -----------------------------------------------------------------------


def test_enrolment_refused_when_stage_1_has_its_8_patients() -> None:
    book = stage_book()
    fill_stage(book, [None] * 8)
    refused(book, enrolment("IMP-0009"), err.StageFull)


def test_enrolment_refused_when_stage_2_has_24_patients_in_all() -> None:
    book = stage_2_book()
    fill_stage(book, [None] * 16, first=9, on="2021-09-10", start="2021-09-20")
    refused(book, enrolment("IMP-0025"), err.StageFull)


def test_enrolment_refused_when_the_expansion_cohort_has_its_agreed_size() -> None:
    book = with_company_and_drug(with_reference(Book()))
    book.run(open_on_evidence(expansion_size=2))
    enrol(book, "IMP-0001", start=None)
    enrol(book, "IMP-0002", start=None)
    refused(book, enrolment("IMP-0003", on="2023-02-01", cohort="olaparib-brca"), err.StageFull)


def test_expansion_cohort_without_an_agreed_size_takes_150() -> None:
    book = expansion_book(slots=200)
    fill_stage(book, [None] * DEFAULT_EXPANSION_SIZE, cohort="olaparib-brca", on="2023-01-01",
               start="2023-01-02")
    refused(book, enrolment("IMP-0151", on="2023-02-01", cohort="olaparib-brca"),
            err.StageFull)


def test_enrolment_refused_in_a_closed_cohort() -> None:
    book = stage_book()
    book.run(c.CloseCohort(cohort_id=COHORT, closed_on=d("2021-09-01"), reason="no benefit"))
    refused(book, enrolment("IMP-0001"), err.CohortClosed)


def test_enrolment_refused_before_the_cohort_opened() -> None:
    refused(stage_book(), enrolment("IMP-0001", on="2021-02-28"), err.DateOutOfOrder)


def test_enrolment_in_an_unknown_cohort_is_refused() -> None:
    refused(stage_book(), enrolment("IMP-0001", cohort="unknown"), err.UnknownCohort)


# --- stage decisions ------------------------------------------------------------------------


def test_stage_2_opens_when_1_of_the_8_has_benefit_and_rests_on_that_assessment() -> None:
    book = stage_book()
    ids = fill_stage(book, [PD, PD, OR, PD, PD, PD, PD, PD])
    (advanced,) = book.run(advance(2))
    assert (advanced.to_stage, advanced.benefit_count, advanced.assessed_count) == (2, 1, 8)
    assert advanced.basis == (ref_of(book, ev.AssessmentRecorded, ids[2]),)
    enrol(book, "IMP-0009", cohort=COHORT, on="2021-09-10", start=None)
    assert book.case("IMP-0009").patient.stage == 2


def test_stage_2_refused_when_none_of_the_8_has_benefit() -> None:
    book = stage_book()
    fill_stage(book, [PD] * 7 + [Outcome.NOT_EVALUABLE])
    refused(book, advance(2), err.StageRuleNotMet)


def test_stage_2_refused_before_stage_1_has_its_8_patients() -> None:
    book = stage_book()
    fill_stage(book, [SD] * 7)
    refused(book, advance(2), err.StageNotFull)


def test_assessments_recorded_for_after_the_decision_date_do_not_count() -> None:
    book = stage_book()
    fill_stage(book, [SD] + [PD] * 7, assessed="2021-08-02")
    refused(book, advance(2, on="2021-08-01"), err.StageRuleNotMet)


def test_expansion_opens_when_5_of_the_24_have_benefit() -> None:
    book = stage_2_full(benefit=5)
    (advanced,) = book.run(advance(3, on="2022-02-01"))
    assert (advanced.benefit_count, advanced.expansion_size) == (5, DEFAULT_EXPANSION_SIZE)
    assert len(advanced.basis) == 5


def test_expansion_refused_when_only_4_of_the_24_have_benefit() -> None:
    refused(stage_2_full(benefit=4), advance(3, on="2022-02-01"), err.StageRuleNotMet)


def test_expansion_refused_without_a_price_in_norway() -> None:
    book = stage_2_full(benefit=5)
    book_without_price = stage_book(price=None)
    fill_stage(book_without_price, [SD] * 8)
    book_without_price.run(advance(2))
    fill_stage(book_without_price, [SD] * 16, first=9, on="2021-09-10", start="2021-09-20",
               assessed="2022-01-10")
    refused(book_without_price, advance(3, on="2022-02-01"), err.NoPrice)
    assert book.run(advance(3, on="2022-02-01"))  # the same history with a price opens it


def test_expansion_refused_after_a_no_from_beslutningsforum() -> None:
    book = stage_2_full(benefit=5)
    book.run(c.RecordIntroductionDecision(drug_id="lynparza", decision=Decision.REJECTED,
                                          case_ref="ID2021_099", indication="prostate cancer",
                                          decided_on=d("2022-01-15")))
    refused(book, advance(3, on="2022-02-01"), err.RejectedByDecisionForum)


def test_a_stage_cohort_may_expand_on_a_partner_trials_evidence() -> None:
    book = stage_book()
    (advanced,) = book.run(advance(3, on="2021-06-01", evidence_ref="DRUP: 24 patients",
                                   expansion_size=40))
    assert (advanced.to_stage, advanced.evidence_ref, advanced.expansion_size) == (
        3, "DRUP: 24 patients", 40)
    assert advanced.basis == ()


@pytest.mark.parametrize("to_stage", [3, 4, 1])
def test_stage_1_cannot_skip_to_another_stage_without_evidence(to_stage: int) -> None:
    book = stage_book()
    fill_stage(book, [SD] * 8)
    refused(book, advance(to_stage), err.InvalidStageTransition)


def test_stage_2_cannot_be_opened_twice() -> None:
    refused(stage_2_book(), advance(2, on="2021-10-01"), err.InvalidStageTransition)


def test_stage_decision_refused_before_the_cohort_opened() -> None:
    refused(stage_book(), advance(3, on="2021-02-01", evidence_ref="DRUP"), err.DateOutOfOrder)


def test_stage_decision_refused_in_a_closed_cohort() -> None:
    book = stage_book()
    fill_stage(book, [SD] * 8)
    book.run(c.CloseCohort(cohort_id=COHORT, closed_on=d("2021-08-20"), reason="sponsor stop"))
    refused(book, advance(2), err.CohortClosed)


def test_stage_decision_for_an_unknown_cohort_is_refused() -> None:
    refused(stage_book(), c.AdvanceStage(cohort_id="unknown", to_stage=2,
                                         decided_on=d("2021-09-01")), err.UnknownCohort)


def test_expansion_size_refused_below_1() -> None:
    refused(stage_book(), advance(3, on="2021-06-01", evidence_ref="DRUP", expansion_size=0),
            err.InvalidQuantity)


# --- closing --------------------------------------------------------------------------------


def test_closing_needs_a_reason() -> None:
    refused(stage_book(), c.CloseCohort(cohort_id=COHORT, closed_on=d("2021-09-01"), reason=""),
            err.ReasonRequired)


def test_a_closed_cohort_cannot_be_closed_again() -> None:
    book = stage_book()
    book.run(c.CloseCohort(cohort_id=COHORT, closed_on=d("2021-09-01"), reason="no benefit"))
    refused(book, c.CloseCohort(cohort_id=COHORT, closed_on=d("2021-09-02"), reason="again"),
            err.CohortClosed)


# --- judged on the fact's own date (ADR 0014) ------------------------------------------------


def expanded_on_evidence(on: str = "2021-06-01") -> Book:
    """Stage 1 with IMP-0001..3 enrolled in April, then an expansion on DRUP's evidence."""
    book = stage_book()
    fill_stage(book, [None] * 3, on="2021-04-01", start="2021-04-12")
    book.run(advance(3, on=on, evidence_ref="DRUP: first 24 patients", expansion_size=40))
    return book


def test_an_enrolment_recorded_after_a_stage_decision_but_dated_before_it_is_in_the_earlier_stage(
        ) -> None:
    book = expanded_on_evidence()
    (enrolled, admitted, _) = book.run(enrolment("IMP-0004", on="2021-05-20"))
    assert enrolled.stage == admitted.stage == 1
    enrol(book, "IMP-0005", cohort=COHORT, on="2021-06-01", start=None)
    assert book.case("IMP-0005").patient.stage == 3  # on the decision's day: the new stage


def test_a_stage_decision_takes_effect_on_its_date_for_later_enrolments() -> None:
    book = expanded_on_evidence(on="2021-06-01")
    cohort = book.workspace().cohort(COHORT)
    assert [(t.since, t.stage) for t in cohort.stages] == [(d("2021-03-01"), 1),
                                                          (d("2021-06-01"), 3)]
    assert cohort.stage_on(d("2021-05-31")).stage == 1  # type: ignore[union-attr]
    assert cohort.stage == 3


def test_a_late_enrolment_into_a_stage_full_on_its_date_is_refused_naming_who_filled_it() -> None:
    book = stage_2_book()  # IMP-0001..8 in stage 1, stage 2 from 2021-09-01
    problem = refused(book, enrolment("IMP-0009", on="2021-08-15"), err.StageFull)
    assert isinstance(problem, err.StageFull)
    assert problem.patients[0] == "IMP-0001 (2021-04-01)" and len(problem.patients) == 8
    assert ("the enrolment is dated 2021-08-15, when the cohort was in stage 1 (until the stage "
            "decision of 2021-09-01)") in str(problem)
    enrol(book, "IMP-0009", cohort=COHORT, on="2021-09-01", start=None)  # stage 2 has room


def test_an_enrolment_dated_before_the_closure_is_accepted_when_recorded_after_it() -> None:
    book = stage_book()
    fill_stage(book, [None] * 3)
    book.run(c.CloseCohort(cohort_id=COHORT, closed_on=d("2021-09-01"), reason="sponsor stop"))
    (enrolled, _, _) = book.run(enrolment("IMP-0004", on="2021-08-31"))
    assert enrolled.stage == 1


def test_an_enrolment_dated_on_or_after_the_closure_is_refused_with_both_dates() -> None:
    book = stage_book()
    book.run(c.CloseCohort(cohort_id=COHORT, closed_on=d("2021-09-01"), reason="sponsor stop"))
    problem = refused(book, enrolment("IMP-0001", on="2021-09-01"), err.CohortClosed)
    assert str(problem).startswith("the enrolment is dated 2021-09-01, on or after the closure "
                                   "of cohort 'lynparza-prostate' on 2021-09-01")


def test_a_closure_dated_before_recorded_enrolments_is_refused_naming_them() -> None:
    book = stage_book()
    fill_stage(book, [None] * 2, on="2021-09-05", start="2021-09-06")
    problem = refused(book, c.CloseCohort(cohort_id=COHORT, closed_on=d("2021-09-01"),
                                          reason="sponsor stop"), err.ClosureBeforeRecordedFacts)
    assert "IMP-0001 enrolled 2021-09-05, IMP-0002 enrolled 2021-09-05" in str(problem)
    book.run(c.CloseCohort(cohort_id=COHORT, closed_on=d("2021-09-06"), reason="sponsor stop"))


def test_a_closure_dated_before_a_recorded_stage_decision_is_refused() -> None:
    book = expanded_on_evidence(on="2021-06-01")
    problem = refused(book, c.CloseCohort(cohort_id=COHORT, closed_on=d("2021-05-15"),
                                          reason="x"), err.ClosureBeforeRecordedFacts)
    assert "the stage decision of 2021-06-01" in str(problem)


def test_a_stage_decision_dated_before_the_closure_is_accepted_when_recorded_after_it() -> None:
    book = stage_book()
    fill_stage(book, [SD] * 8)
    book.run(c.CloseCohort(cohort_id=COHORT, closed_on=d("2021-12-01"), reason="sponsor stop"))
    (advanced,) = book.run(advance(2, on="2021-09-01"))
    assert advanced.to_stage == 2


def test_a_stage_decision_dated_before_recorded_enrolments_is_refused_naming_them() -> None:
    book = stage_book()
    fill_stage(book, [None] * 3, on="2021-04-01")
    fill_stage(book, [None], first=4, on="2021-06-10", start="2021-06-11")
    problem = refused(book, advance(3, on="2021-06-01", evidence_ref="DRUP"),
                      err.StageDecisionBeforeEnrolments)
    assert "IMP-0004 (enrolled 2021-06-10)" in str(problem)
    assert "already recorded in stage 1" in str(problem)


def test_a_stage_decision_dated_before_the_last_stage_decision_is_refused() -> None:
    book = stage_2_book()  # stage 2 from 2021-09-01
    refused(book, advance(3, on="2021-08-01", evidence_ref="DRUP"), err.DateOutOfOrder)


def test_a_stage_decision_counts_only_the_assessments_recorded_when_it_is_recorded() -> None:
    book = stage_book()
    ids = fill_stage(book, [None] * 8)  # started 2021-04-12, no assessment recorded yet
    refused(book, advance(2), err.StageRuleNotMet)
    book.run(c.RecordAssessment(patient_id=ids[0], assessed_on=d("2021-08-02"), outcome=SD))
    (advanced,) = book.run(advance(2))
    assert (advanced.benefit_count, advanced.assessed_count) == (1, 1)
    # a later assessment, dated before the decision, leaves the recorded decision as it was
    book.run(c.RecordAssessment(patient_id=ids[1], assessed_on=d("2021-08-03"), outcome=OR))
    assert book.workspace().cohort(COHORT).stage == 2


def test_an_enrolment_before_the_agreement_contributes_the_drug_is_refused() -> None:
    book = with_company_and_drug(with_reference(Book()))
    book.run(c.RegisterDrug(drug_id="zejula", brand="Zejula", generic="niraparib",
                            company_id="nordlys", registered_on=d("2021-01-01")))
    book.run(c.ContributeDrug(agreement_id="nordlys-impress", drug_id="zejula", patient_slots=5,
                              effective_from=d("2021-06-01")))
    problem = refused(book, c.OpenCohort(cohort_id="zejula-x", drug_id="zejula",
                                         agreement_id="nordlys-impress", indication="x",
                                         molecular_profile="y", opened_on=d("2021-05-01")),
                      err.DrugNotContributed)
    assert "on 2021-05-01 (its contribution applies from 2021-06-01)" in str(problem)


def test_a_cohort_opening_dated_after_the_day_it_is_recorded_is_refused() -> None:
    refused(with_company_and_drug(with_reference(Book())), open_on_evidence(),
            err.DatedInTheFuture, today=d("2022-01-09"))
