"""The demo history (api/demo.py), run through the pure core's in-memory Book: every step is
accepted, and the story shows what it claims to show."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from functools import cache

import pytest

from application import demo
from application import demo_story as story
from application.access import may_record
from domain import commands as c
from domain import events as ev
from domain.errors import Refused
from domain.financing import PayerKind, payer_on
from domain.reference import company_id, health_trusts, reference_companies
from domain.values import EXPANSION, STAGE_1, STAGE_2, Decision, Outcome, days
from tests.support import Book, with_reference

HF_TO_RHF = {hf.hf_id: hf.rhf_id for hf in health_trusts()}


def run_demo() -> tuple[Book, list[tuple[demo.Step, Refused]]]:
    """The demo as the ledger would record it: the clock reads each step's day."""
    book = with_reference(Book(), on=story.GO_LIVE)
    refused = []
    for step in demo.demo_steps():
        try:
            if isinstance(step.command, c.Tick):
                book.tick(step.command.today)
            else:
                book.run(step.command, today=step.recorded_on)
        except Refused as refusal:
            refused.append((step, refusal))
    return book, refused


@cache
def demo_book() -> Book:
    book, refused = run_demo()
    assert refused == []
    return book


def facts(of_type: type[ev.Event], stream_prefix: str = "") -> list[tuple[str, int, ev.Event]]:
    return [(s, v, e) for s, v, e in demo_book().log
            if isinstance(e, of_type) and s.startswith(stream_prefix)]


def position_of(of_type: type[ev.Event], stream: str) -> int:
    """The index in the Book's log of the first such fact: `up_to=index` is 'just before it'."""
    return next(i for i, (s, _, e) in enumerate(demo_book().log)
                if s == stream and isinstance(e, of_type))


def test_every_step_of_the_demo_is_accepted() -> None:
    _, refused = run_demo()
    assert [(s.recorded_on, type(s.command).__name__, r.code) for s, r in refused] == []


def test_the_steps_are_the_same_every_time_and_in_recording_order() -> None:
    steps = demo.demo_steps()
    assert steps == demo.demo_steps()
    assert [s.recorded_on for s in steps] == sorted(s.recorded_on for s in steps)
    assert story.GO_LIVE <= steps[0].recorded_on and steps[-1].recorded_on == story.STORY_END


def test_every_actor_may_record_its_command_and_ticks_run_at_month_ends() -> None:
    for step in demo.demo_steps():
        if isinstance(step.command, c.Tick):
            assert (step.command.today + days(1)).day == 1
        else:
            assert may_record(step.actor, step.command), step


def test_the_story_has_its_parties_drugs_and_patients_in_every_region() -> None:
    companies = {e.company_id for _, _, e in facts(ev.CompanyRegistered)}
    assert len(companies) >= 4 and companies <= set(map(company_id, reference_companies()))
    enrolled = [e for _, _, e in facts(ev.PatientEnrolled)]
    hfs = {e.hf_id for e in enrolled} | {e.to_hf for _, _, e in facts(ev.PatientTransferred)}
    assert len(enrolled) >= 40
    assert [e.patient_id for e in enrolled] == sorted(e.patient_id for e in enrolled)
    assert len(hfs) >= 10
    assert {HF_TO_RHF[hf] for hf in hfs} == set(HF_TO_RHF.values()) and len(set(HF_TO_RHF.values())) == 4


def test_six_cohorts_in_their_stated_stages() -> None:
    ws = demo_book().workspace()
    cohorts = {plan.cohort_id: ws.cohort(plan.cohort_id) for plan in story.COHORTS}
    assert len(cohorts) == 6
    expansion = cohorts[story.OLAPARIB]
    assert (expansion.stage, expansion.evidence_ref) == (EXPANSION, "DRUP: first 24 patients")
    assert expansion.molecular_profile == "biallelic BRCA1/2 inactivation"
    assert [x.decided_on.year for x in expansion.exemptions] == [2022]
    assert cohorts[story.VEMURAFENIB].stage == STAGE_2
    closed = cohorts[story.CAPMATINIB]
    assert closed.closed is not None and closed.stage == STAGE_1
    stage_1 = [k for k, co in cohorts.items() if co.stage == STAGE_1 and co.closed is None]
    assert sorted(stage_1) == sorted([story.ATEZOLIZUMAB, story.SELPERCATINIB, story.DOSTARLIMAB])
    assert len({len(cohorts[k].admitted) for k in stage_1}) == 3  # full, recruiting, just opened


def test_the_closed_cohort_had_eight_patients_none_with_benefit() -> None:
    ws = demo_book().workspace()
    cohort = ws.cohort(story.CAPMATINIB)
    patients = [ws.patient(pid) for pid, _ in cohort.admitted]
    assert len(patients) == 8
    assert all(p.assessment is not None and not p.assessment.outcome.is_benefit for p in patients)


def test_stage_2_rests_on_benefit_assessments_recorded_before_the_decision() -> None:
    log = demo_book().log
    (at, (_, _, advanced)), = [(i, f) for i, f in enumerate(log)
                               if isinstance(f[2], ev.StageAdvanced)]
    assert advanced.cohort_id == story.VEMURAFENIB and advanced.benefit_count >= 1
    recorded = {f"{s}@{v}": (i, e) for i, (s, v, e) in enumerate(log)}
    for ref in advanced.basis:
        index, assessment = recorded[ref]
        assert isinstance(assessment, ev.AssessmentRecorded) and assessment.outcome.is_benefit
        assert index < at and assessment.assessed_on <= advanced.decided_on
    admitted_before = [e for i, (_, _, e) in enumerate(log)
                       if isinstance(e, ev.PatientAdmitted) and e.cohort_id == story.VEMURAFENIB
                       and i < at]
    assert len(admitted_before) == 8


def test_treatment_starts_after_enrolment_and_assessments_come_about_16_weeks_later() -> None:
    ws = demo_book().workspace()
    for course in story.COURSES:
        p = ws.patient(course.pid)
        assert p.started is not None and p.enrolled_on is not None
        assert date(2022, 1, 1) <= p.enrolled_on <= p.started.since <= date(2025, 12, 31)
        if p.assessment is not None and p.ended is not None and (
                p.ended.ended_on - p.started.since).days < 105:
            # ended before the scan: not evaluable, assessed on the last day of treatment
            assert p.assessment.assessed_on == p.ended.ended_on
            assert p.assessment.outcome is Outcome.NOT_EVALUABLE
        elif p.assessment is not None:
            assert 105 <= (p.assessment.assessed_on - p.started.since).days <= 112
    reasons = Counter(e.reason for _, _, e in facts(ev.TreatmentEnded))
    assert len(reasons) >= 4


def test_the_transfer_after_the_takeover_changes_the_paying_rhf() -> None:
    pid = story.TRANSFERRED
    (_, _, moved), = facts(ev.PatientTransferred, f"patient/{pid}")
    case = demo_book().case(pid)
    takeover = next(e for _, _, e in facts(ev.PublicPayerTookOver, f"patient/{pid}"))
    assert takeover.from_date < moved.effective_from
    before = payer_on(case, moved.effective_from - days(1))
    after = payer_on(case, moved.effective_from)
    assert (before.kind, before.party, before.hf_id) == (PayerKind.PUBLIC, "helse-vest", "helse-bergen")
    assert (after.kind, after.party, after.hf_id) == (PayerKind.PUBLIC, "helse-sor-ost", "ous")


def test_the_late_assessment_turns_pending_into_public_for_the_same_date() -> None:
    pid, on = story.LATE_ASSESSMENT, date(2024, 1, 10)
    stream = f"patient/{pid}"
    late = position_of(ev.AssessmentRecorded, stream)
    before = payer_on(demo_book().case(pid, up_to=late), on)
    after = payer_on(demo_book().case(pid), on)
    assert before.kind is PayerKind.PENDING
    assert (after.kind, after.party) == (PayerKind.PUBLIC, "helse-sor-ost")
    (_, _, assessment), = facts(ev.AssessmentRecorded, stream)
    assert assessment.assessed_on < on  # the scan was done; only its report came late
    coverage_ended = position_of(ev.CompanyCoverageEnded, stream)
    assert coverage_ended < late  # the ledger had already said the company stopped paying


def test_the_financing_gap_patient_is_paid_by_the_treating_hf_until_the_exemption() -> None:
    pid, (_, _, effective) = story.FINANCING_GAP, story.EXEMPTION
    case = demo_book().case(pid)
    gap = payer_on(case, date(2022, 8, 1))
    assert (gap.kind, gap.party) == (PayerKind.TREATING_HF, "st-olavs")
    assert payer_on(case, story.d(effective) - days(1)).kind is PayerKind.TREATING_HF
    public = payer_on(case, story.d(effective))
    assert (public.kind, public.party) == (PayerKind.PUBLIC, "helse-midt-norge")


@pytest.mark.parametrize(("correction", "pid"), [
    (ev.EnrolmentHfCorrected, story.HF_CORRECTED),
    (ev.TreatmentStartCorrected, story.START_CORRECTED),
    (ev.AssessmentCorrected, story.ASSESSMENT_CORRECTED),
    (ev.DispensationCorrected, story.DISPENSATION_CORRECTED),
])
def test_each_kind_of_correction_is_in_the_story(correction: type[ev.Event], pid: str) -> None:
    (stream, _, fact), = facts(correction)
    assert stream == f"patient/{pid}"
    corrected = dict(((s, v), e) for s, v, e in demo_book().log)
    wrong_stream, _, wrong_version = fact.corrects.rpartition("@")  # type: ignore[attr-defined]
    assert wrong_stream == stream and (stream, int(wrong_version)) in corrected


def test_the_corrected_assessment_changes_who_paid_after_the_fact() -> None:
    pid, on = story.ASSESSMENT_CORRECTED, date(2023, 8, 10)
    at = position_of(ev.AssessmentCorrected, f"patient/{pid}")
    assert payer_on(demo_book().case(pid, up_to=at), on).kind is PayerKind.TREATING_HF
    assert payer_on(demo_book().case(pid), on).kind is PayerKind.PUBLIC


def test_prices_are_fictional_nok_per_pack_and_one_changes_mid_history() -> None:
    assert "FICTIONAL" in demo.FICTIONAL_PRICES_NOTE and "FICTIONAL" in demo.__doc__
    ws = demo_book().workspace()
    prices = {drug: ws.drug(drug).prices for drug in story.PRICES}
    assert all(p.value.currency == "NOK" and p.value.amount > 0 for ps in prices.values() for p in ps)
    lynparza = sorted(prices["lynparza"], key=lambda p: p.since)
    assert len(lynparza) == 2 and lynparza[0].value != lynparza[1].value
    assert date(2022, 1, 1) < lynparza[1].since < date(2025, 1, 1)


def test_agreements_count_slots_and_keep_currencies_apart() -> None:
    ws = demo_book().workspace()
    slots = {plan.agreement_id: sum(s.value for s in ws.agreement(plan.agreement_id).slots.values())
             for plan in story.AGREEMENTS}
    assert slots["roche-norge-impress"] == 168 and slots["novartis-norge-impress"] == 100
    assert ws.agreement("eli-lilly-norge-impress").slots["retsevmo"].value == 24
    assert "lynparza" in ws.agreement("astrazeneca-impress-expansion").slots
    assert len(facts(ev.AgreementAmended)) >= 1
    grants = {e.amount.currency for _, _, e in facts(ev.GrantPaid)}
    assert grants == {"NOK", "EUR"}
    assert {e.amount.amount for _, _, e in facts(ev.GrantPaid)} == {Decimal("50000.00")}


def test_the_rejected_drug_has_no_cohort() -> None:
    rejected = {e.drug_id for _, _, e in facts(ev.IntroductionDecided)
                if e.decision == Decision.REJECTED}
    assert rejected and not rejected & {plan.drug_id for plan in story.COHORTS}
    introduced = {e.case_ref for _, _, e in facts(ev.IntroductionDecided)}
    assert "ID2019_041" in introduced


def test_the_ledger_derives_coverage_ended_and_takeover_facts_on_the_story_dates() -> None:
    takeovers = [e for _, _, e in facts(ev.PublicPayerTookOver)]
    assert takeovers and all(story.GO_LIVE < e.from_date <= story.STORY_END for e in takeovers)
    assert facts(ev.CompanyCoverageEnded) and not facts(ev.DerivedFactRetracted)
