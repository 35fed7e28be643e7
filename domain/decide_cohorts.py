"""Cohorts: opening, stage decisions against the recorded 16-week assessments, closing,
group exemptions and permanent financing.

A cohort's stage history is dated: a stage decision takes effect on its date, and a closure on
its date. Both are judged against the enrolments already recorded (ADR 0014): neither may be
dated on or before an enrolment it would have changed, since an enrolment cannot be re-dated.
"""

from __future__ import annotations

from datetime import date
from typing import cast

from domain import checks
from domain import commands as c
from domain import errors as err
from domain import events as ev
from domain import state as st
from domain.values import (
    DEFAULT_EXPANSION_SIZE,
    EXPANSION,
    EXPANSION_RULE,
    STAGE_1,
    STAGE_2,
    STAGE_2_RULE,
    STAGE_LIMITS,
    Decision,
)
from domain.view import Facts, View, cohort_stream


def open_cohort(view: View, cmd: c.OpenCohort) -> Facts:
    checks.slug("cohort id", cmd.cohort_id)
    if view.cohort(cmd.cohort_id).exists:
        raise err.AlreadyRecorded("cohort", cmd.cohort_id)
    agreement = checks.agreement(view, cmd.agreement_id)
    checks.drug(view, cmd.drug_id)
    checks.happened(view, "the cohort's opening", cmd.opened_on)
    checks.contributed_on(agreement, cmd.drug_id, cmd.opened_on)
    stage = STAGE_1
    if cmd.evidence_ref is not None:
        checks.text("the partner trial's evidence reference", cmd.evidence_ref)
        ensure_may_expand(view, cmd.drug_id, cmd.opened_on)
        stage = EXPANSION
    if cmd.expansion_size is not None:
        checks.at_least("the expansion cohort's size", cmd.expansion_size, 1)
    return [(
        cohort_stream(cmd.cohort_id),
        ev.CohortOpened(
            cohort_id=cmd.cohort_id,
            drug_id=cmd.drug_id,
            agreement_id=cmd.agreement_id,
            indication=checks.text("indication", cmd.indication),
            molecular_profile=checks.text("molecular profile", cmd.molecular_profile),
            opened_on=cmd.opened_on,
            stage=stage,
            evidence_ref=cmd.evidence_ref,
            expansion_size=cmd.expansion_size if stage == EXPANSION else None,
        ),
    )]


def ensure_may_expand(view: View, drug_id: str, on: date) -> None:
    """Entry to an expansion cohort needs a price in Norway and no 'no' from Beslutningsforum."""
    drug = checks.drug(view, drug_id)
    rejected = [d for d in drug.decisions if d.decision == Decision.REJECTED and d.decided_on <= on]
    if rejected:
        raise err.RejectedByDecisionForum(drug_id, rejected[0].case_ref)
    if drug.price_on(on) is None:
        raise err.NoPrice(drug_id, on)


def advance_stage(view: View, cmd: c.AdvanceStage) -> Facts:
    cohort = open_on(view, cmd.cohort_id, "the stage decision", cmd.decided_on)
    last = cohort.stages[-1]
    if cmd.decided_on < last.since:
        raise err.DateOutOfOrder("the stage decision", cmd.decided_on,
                                 "the cohort's last stage decision", last.since)
    if cmd.to_stage != cohort.stage + 1 and not (cmd.to_stage == EXPANSION and cmd.evidence_ref):
        raise err.InvalidStageTransition(cmd.cohort_id, cohort.stage, cmd.to_stage)
    if cmd.to_stage not in (STAGE_2, EXPANSION) or cohort.stage >= cmd.to_stage:
        raise err.InvalidStageTransition(cmd.cohort_id, cohort.stage, cmd.to_stage)
    later = cohort.admissions.enrolled_from(cmd.decided_on)
    if later:
        raise err.StageDecisionBeforeEnrolments(
            cmd.cohort_id, cmd.decided_on, cohort.stage,
            [f"{a.patient_id} (enrolled {a.enrolled_on})" for a in later])
    if cmd.expansion_size is not None:
        checks.at_least("the expansion cohort's size", cmd.expansion_size, 1)
    if cmd.to_stage == EXPANSION:
        ensure_may_expand(view, cohort.drug_id, cmd.decided_on)
    benefit, assessed, basis = 0, 0, cast(tuple[str, ...], ())
    if cmd.evidence_ref is not None:
        checks.text("the partner trial's evidence reference", cmd.evidence_ref)
    else:
        benefit, assessed, basis = _count_benefit(view, cohort, cmd.decided_on)
        needed, of = (STAGE_2_RULE, 8) if cmd.to_stage == STAGE_2 else (EXPANSION_RULE, 24)
        enrolled = cohort.admissions.count_in(range(cmd.to_stage))  # the stages before
        limit = STAGE_LIMITS[cohort.stage]
        if enrolled < limit:
            raise err.StageNotFull(cmd.cohort_id, cohort.stage, enrolled, limit)
        if benefit < needed:
            raise err.StageRuleNotMet(cmd.cohort_id, cmd.to_stage, needed, of, benefit)
    return [(
        cohort_stream(cmd.cohort_id),
        ev.StageAdvanced(
            cohort_id=cmd.cohort_id,
            to_stage=cmd.to_stage,
            decided_on=cmd.decided_on,
            benefit_count=benefit,
            assessed_count=assessed,
            basis=basis,
            evidence_ref=cmd.evidence_ref,
            expansion_size=(cmd.expansion_size or DEFAULT_EXPANSION_SIZE)
            if cmd.to_stage == EXPANSION
            else None,
        ),
    )]


def _count_benefit(
    view: View, cohort: st.Cohort, decided_on: date
) -> tuple[int, int, tuple[str, ...]]:
    """The first 8 or 24 patients' 16-week assessments dated on or before the decision, as
    recorded when the decision is recorded (what was known then; a later fact does not undo
    a decision, which stays history)."""
    benefit, assessed, basis = 0, 0, []
    for patient_id, stage in cohort.admitted:
        if stage > cohort.stage:
            continue
        a = view.patient(patient_id).assessment
        if a is None or a.assessed_on > decided_on:
            continue
        assessed += 1
        if a.outcome.is_benefit:
            benefit += 1
            basis.append(a.ref)
    return benefit, assessed, tuple(basis)


def open_on(view: View, cohort_id: str, what: str, on: date) -> st.Cohort:
    """The cohort, open on a date: opened by then, not closed by then; the fact has happened."""
    cohort = checks.cohort(view, cohort_id)
    checks.happened(view, what, on)
    if cohort.opened_on and on < cohort.opened_on:
        raise err.DateOutOfOrder(what, on, "the cohort's opening", cohort.opened_on)
    if cohort.closed is not None and on >= cohort.closed.since:
        raise err.CohortClosed(cohort_id, cohort.closed.since, what, on)
    return cohort


def close_cohort(view: View, cmd: c.CloseCohort) -> Facts:
    cohort = checks.cohort(view, cmd.cohort_id)
    if cohort.closed is not None:
        raise err.CohortClosed(cmd.cohort_id, cohort.closed.since)
    open_on(view, cmd.cohort_id, "the closure", cmd.closed_on)
    later = [f"{a.patient_id} enrolled {a.enrolled_on}"
             for a in cohort.admissions.enrolled_from(cmd.closed_on)]
    later += [f"the stage decision of {t.since}" for t in cohort.stages[1:]
              if t.since >= cmd.closed_on]
    if later:
        raise err.ClosureBeforeRecordedFacts(cmd.cohort_id, cmd.closed_on, later)
    return [(
        cohort_stream(cmd.cohort_id),
        ev.CohortClosed(
            cohort_id=cmd.cohort_id,
            closed_on=cmd.closed_on,
            reason=checks.reason("closing the cohort", cmd.reason),
        ),
    )]


def grant_group_exemption(view: View, cmd: c.GrantGroupExemption) -> Facts:
    cohort = checks.cohort(view, cmd.cohort_id)
    checks.text("exemption reference", cmd.exemption_ref, limit=100)
    drug = checks.drug(view, cohort.drug_id)
    checks.happened(view, "the group exemption's decision", cmd.decided_on)
    introduced = [d for d in drug.decisions if d.decision == Decision.INTRODUCED]
    if not any(d.decided_on <= cmd.decided_on for d in introduced):
        raise err.DrugNotIntroduced(cohort.drug_id)
    if cohort.exemption(cmd.exemption_ref) is not None:
        raise err.AlreadyRecorded("group exemption", cmd.exemption_ref)
    if cmd.effective_from < cmd.decided_on:
        raise err.DateOutOfOrder(
            "the exemption's effective date", cmd.effective_from, "its decision", cmd.decided_on
        )
    return [(
        cohort_stream(cmd.cohort_id),
        ev.GroupExemptionGranted(
            cohort_id=cmd.cohort_id,
            exemption_ref=cmd.exemption_ref,
            effective_from=cmd.effective_from,
            decided_on=cmd.decided_on,
        ),
    )]


def revoke_group_exemption(view: View, cmd: c.RevokeGroupExemption) -> Facts:
    cohort = checks.cohort(view, cmd.cohort_id)
    exemption = cohort.exemption(cmd.exemption_ref)
    if exemption is None:
        raise err.UnknownExemption(cmd.exemption_ref)
    if exemption.revoked_from is not None:
        raise err.ExemptionAlreadyRevoked(cmd.exemption_ref, exemption.revoked_from)
    if cmd.effective_from < exemption.effective_from:
        raise err.DateOutOfOrder(
            "the revocation", cmd.effective_from, "the exemption's start", exemption.effective_from
        )
    return [(
        cohort_stream(cmd.cohort_id),
        ev.GroupExemptionRevoked(
            cohort_id=cmd.cohort_id,
            exemption_ref=cmd.exemption_ref,
            effective_from=cmd.effective_from,
            reason=checks.reason("revoking the exemption", cmd.reason),
        ),
    )]


def decide_permanent_financing(view: View, cmd: c.DecidePermanentFinancing) -> Facts:
    cohort = checks.cohort(view, cmd.cohort_id)
    checks.case_ref(cmd.case_ref)
    if any(t.ref and t.since == cmd.effective_from for t in cohort.permanent):
        raise err.AlreadyRecorded("permanent financing decision from", str(cmd.effective_from))
    return [(
        cohort_stream(cmd.cohort_id),
        ev.PermanentFinancingDecided(
            cohort_id=cmd.cohort_id,
            decision=cmd.decision,
            case_ref=cmd.case_ref,
            effective_from=cmd.effective_from,
        ),
    )]
