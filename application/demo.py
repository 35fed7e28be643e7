"""The demo history: a deterministic, realistic story of IMPRESS-Norway financing, 2021-2025,
with CLEARLY FICTIONAL prices (see FICTIONAL_PRICES_NOTE).

The story (data in `application.demo_story`): five partners from the report's drug list (Roche 168 slots
across its eight drugs, Novartis 100 across six, Lilly selpercatinib 24, AstraZeneca olaparib for
the expansion cohort, GSK 48 under an agreement in EUR), fictional prices per pack with two price
changes, Beslutningsforum decisions (one 'rejected', for a drug no cohort uses), an amendment that
moves Roche slots, and six cohorts: the olaparib expansion cohort opened on DRUP's first 24
patients with the 2022 group exemption, a BRAF cohort at stage 2, a MET cohort closed after
stage 1, and three cohorts at stage 1 (full and awaiting its last report; recruiting; just
opened). 51 pseudonymous patients at all 17 health trusts in the 4 regions, with dispensations,
16-week assessments, ends of treatment and grant invoices and payments.

Special patients: FINANCING_GAP (benefit before the exemption applied), TRANSFERRED (from Helse
Bergen to OUS after the public takeover, so the paying RHF changes), LATE_ASSESSMENT (typed in
weeks after the scan: 'pending' as known before, 'public' as known after), and one correction of
each kind (enrolment HF, treatment start, assessment, dispensation). Ticks at every month end let
the ledger record coverage-ended and takeover facts on the story's dates.

A step is (recorded_on, actor, command): the day the fact was typed in and who typed it. The store
stamps its own recording time; `load_demo` makes the ledger's clock read each step's day, so the
facts the ledger derives follow the story's calendar.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import NamedTuple

from application.demo_story import (
    AGREEMENTS,
    AMENDMENTS,
    ASSESSMENT_CORRECTED,
    CLOSURE,
    COHORTS,
    COMPANIES,
    COURSES,
    DECISIONS,
    DISPENSATION_CORRECTED,
    EXEMPTION,
    FICTIONAL_PRICES_NOTE,
    FINANCING_GAP,
    GO_LIVE,
    GRANT_PAPERS,
    HF_CORRECTED,
    LATE_ASSESSMENT,
    PACKS,
    PRICE_RECORDED,
    PRICES,
    REGIMENS,
    STAGE_2_DECISION,
    START_CORRECTED,
    STORY_END,
    TRANSFERRED,
    Course,
    d,
    fictional_nok,
)
from application import access
from domain import commands as c
from application.ledger import Ledger, Receipt
from domain.errors import Refused
from domain.reference import company_id, reference_drugs
from domain.values import LEDGER, STAGE_2, Actor, EndReason, Outcome

__all__ = [
    "ASSESSMENT_CORRECTED", "DISPENSATION_CORRECTED", "FICTIONAL_PRICES_NOTE", "FINANCING_GAP",
    "HF_CORRECTED", "LATE_ASSESSMENT", "START_CORRECTED", "TRANSFERRED",
    "LedgerNotEmpty", "Step", "demo_steps", "is_empty", "load_demo",
]


class Step(NamedTuple):
    recorded_on: date
    actor: Actor
    command: c.Command


class LedgerNotEmpty(Refused):
    code = "ledger-not-empty"
    kind = "conflict"

    def __init__(self) -> None:
        super().__init__("the demo history loads into an empty ledger only")


def _actor(subject: str, role: str, organisation: str) -> Actor:
    return Actor(subject=subject, role=role, organisation=organisation)


SETUP = _actor("impress-ledger:demo-loader", access.MIGRATION, "impress-ledger")  # health trusts
TRIAL_OFFICE = _actor("trial-office:kari", access.TRIAL_OFFICE, "impress-trial-office")
MONITOR = _actor("trial-office:jonas", access.TRIAL_OFFICE, "impress-trial-office")  # corrects
GRANTS_DESK = _actor("trial-office:mari", access.TRIAL_OFFICE, "impress-trial-office")  # invoices
PROCUREMENT = _actor("sykehusinnkjop:per", access.PROCUREMENT, "sykehusinnkjop")
FORUM = _actor("nye-metoder:ingrid", access.DECISION_FORUM, "beslutningsforum")  # secretary


def partner_finance(company: str) -> Actor:
    """The partner's finance office; its organisation is its company id (application.access tenancy)."""
    return _actor(f"{company}:finance-office", access.PARTNER, company)


# Same-day order: set-up, then patients' facts, then cohort decisions on them, then the tick.
SETUP_RANK, PATIENT_RANK, DECISION_RANK, TICK_RANK = range(4)
Ranked = tuple[int, Step]


def demo_steps() -> list[Step]:
    """Every step of the story in recording order (deterministic: the same list every time)."""
    ranked = [*_parties(), *_agreements(), *_cohorts(), *_decisions(), *_ticks()]
    for course in COURSES:
        ranked += _course(course)
    ranked.sort(key=lambda r: (r[1].recorded_on, r[0]))  # stable: a patient's order is kept
    return [step for _, step in ranked]


def load_demo(ledger: Ledger) -> int:
    """Install the health trusts and run every step; returns the number of facts recorded.
    Refuses (LedgerNotEmpty) unless the ledger holds nothing but health trusts."""
    if not is_empty(ledger):
        raise LedgerNotEmpty()
    saved = ledger.clock
    try:
        ledger.clock = lambda: GO_LIVE
        recorded = len(ledger.install_reference(SETUP, GO_LIVE).facts)
        for step in demo_steps():
            ledger.clock = _reads(step.recorded_on)
            recorded += len(_run(ledger, step).facts)
    finally:
        ledger.clock = saved
    return recorded


def is_empty(ledger: Ledger) -> bool:
    """True when the ledger holds nothing but (perhaps) the registry of health trusts."""
    kinds = ("company/", "drug/", "agreement/", "cohort/", "patient/")
    return not any(ledger.log.streams(kind) for kind in kinds)


def _reads(day: date) -> Callable[[], date]:
    return lambda: day


def _run(ledger: Ledger, step: Step) -> Receipt:
    if isinstance(step.command, c.Tick):
        return ledger.tick(step.command.today)
    return ledger.execute(step.command, step.actor)


def _at(on: date | str, actor: Actor, command: c.Command, rank: int = SETUP_RANK) -> Ranked:
    return rank, Step(d(on) if isinstance(on, str) else on, actor, command)


# --- set-up -----------------------------------------------------------------------------------


def _parties() -> Iterator[Ranked]:
    for name in COMPANIES:
        yield _at(GO_LIVE, PROCUREMENT, c.RegisterCompany(
            company_id=company_id(name), name=name, registered_on=GO_LIVE))
    for drug in reference_drugs():
        if drug.company not in COMPANIES:
            continue
        yield _at(GO_LIVE, PROCUREMENT, c.RegisterDrug(
            drug_id=drug.drug_id, brand=drug.brand, generic=drug.generic,
            company_id=company_id(drug.company), registered_on=GO_LIVE))
        for effective, price in PRICES[drug.drug_id]:
            on = PRICE_RECORDED.get((drug.drug_id, effective), GO_LIVE.isoformat())
            yield _at(on, PROCUREMENT, c.SetPrice(
                drug_id=drug.drug_id, price_per_pack=fictional_nok(price),
                effective_from=d(effective), pack=PACKS[drug.drug_id]))
    for drug_id, decision, case_ref, indication, decided_on in DECISIONS:
        yield _at(max(GO_LIVE + timedelta(days=1), d(decided_on)), FORUM,
                  c.RecordIntroductionDecision(drug_id=drug_id, decision=decision,
                                               case_ref=case_ref, indication=indication,
                                               decided_on=d(decided_on)))


def _agreements() -> Iterator[Ranked]:
    for plan in AGREEMENTS:
        yield _at(plan.recorded_on, PROCUREMENT, c.SignAgreement(
            agreement_id=plan.agreement_id, company_id=company_id(plan.company),
            signed_on=d(plan.signed_on), grant_per_patient=plan.grant))
        for drug_id, slots in plan.slots:
            yield _at(plan.recorded_on, PROCUREMENT, c.ContributeDrug(
                agreement_id=plan.agreement_id, drug_id=drug_id, patient_slots=slots,
                effective_from=d(plan.signed_on)))
    for on, agreement_id, drug_id, slots, reason in AMENDMENTS:
        yield _at(on, PROCUREMENT, c.AmendAgreement(
            agreement_id=agreement_id, effective_from=d(on), reason=reason, drug_id=drug_id,
            patient_slots=slots))


def _cohorts() -> Iterator[Ranked]:
    for plan in COHORTS:
        yield _at(plan.opened_on, TRIAL_OFFICE, c.OpenCohort(
            cohort_id=plan.cohort_id, drug_id=plan.drug_id, agreement_id=plan.agreement_id,
            indication=plan.indication, molecular_profile=plan.profile,
            opened_on=d(plan.opened_on), evidence_ref=plan.evidence,
            expansion_size=150 if plan.evidence else None))


def _decisions() -> Iterator[Ranked]:
    ref, decided, effective = EXEMPTION
    olaparib = next(p.cohort_id for p in COHORTS if p.evidence)
    yield _at(decided, FORUM, c.GrantGroupExemption(
        cohort_id=olaparib, exemption_ref=ref, effective_from=d(effective),
        decided_on=d(decided)), DECISION_RANK)
    cohort, on = STAGE_2_DECISION
    yield _at(on, TRIAL_OFFICE, c.AdvanceStage(cohort_id=cohort, to_stage=STAGE_2,
                                               decided_on=d(on)), DECISION_RANK)
    cohort, on, reason = CLOSURE
    yield _at(on, TRIAL_OFFICE, c.CloseCohort(cohort_id=cohort, closed_on=d(on), reason=reason),
              DECISION_RANK)


def _ticks() -> Iterator[Ranked]:
    month = date(2022, 1, 1)
    while month <= STORY_END:
        following = (month + timedelta(days=32)).replace(day=1)
        last_day = following - timedelta(days=1)
        yield _at(last_day, LEDGER, c.Tick(today=last_day), TICK_RANK)
        month = following


# --- patients ---------------------------------------------------------------------------------

COHORT_PLANS = {plan.cohort_id: plan for plan in COHORTS}
COMPANY_OF_AGREEMENT = {plan.agreement_id: company_id(plan.company) for plan in AGREEMENTS}


def _course(k: Course) -> list[Ranked]:
    """One patient's steps, each on the day it was typed in."""
    out: list[Ranked] = []

    def at(on: date, command: c.Command, actor: Actor = TRIAL_OFFICE) -> None:
        if on <= STORY_END:
            out.append(_at(on, actor, command, PATIENT_RANK))

    pid, enrolled = k.pid, d(k.enrolled)
    start = enrolled + timedelta(days=k.start_after)
    at(enrolled, c.EnrolPatient(patient_id=pid, cohort_id=k.cohort, hf_id=k.typed_hf or k.hf,
                                enrolled_on=enrolled))
    if k.typed_hf:
        at(enrolled + timedelta(days=2), c.CorrectEnrolmentHf(
            patient_id=pid, hf_id=k.hf,
            reason=f"enrolled at {k.hf}; {k.typed_hf} was picked from the list by mistake"),
            MONITOR)
    at(start, c.StartTreatment(patient_id=pid, started_on=d(k.typed_start) if k.typed_start
                               else start))
    if k.typed_start:
        at(start + timedelta(days=6), c.CorrectTreatmentStart(
            patient_id=pid, started_on=start,
            reason=f"first dose given {start}; {k.typed_start} was typed (digits swapped)"),
            MONITOR)
    ended, reason = _end(k, start)
    out += _dispensations(k, start, ended)
    out += _assessment(k, start)
    if k.transfer and d(k.transfer[1]) <= (ended or STORY_END):
        to_hf, effective = k.transfer
        at(d(effective), c.TransferPatient(patient_id=pid, to_hf=to_hf, effective_from=d(effective)))
    if ended is not None and reason is not None:
        # Progression seen at the scan is typed with the scan's report; other ends the next day.
        at_scan = k.ended is None
        typed = ended + timedelta(days=k.assessment_lag if at_scan else 1)
        at(typed, c.EndTreatment(patient_id=pid, ended_on=ended, reason=reason))
    out += _grant_papers(k, start)
    return out


def _assessed_on(k: Course, start: date) -> date:
    """The 16-week scan: start + 107..110 days, varying by study number. A patient whose
    treatment ended before the scan is assessed (not evaluable) on the last day of treatment:
    an assessment is never dated after the end (ADR 0014)."""
    scan = start + timedelta(days=110 - int(k.pid[4:]) % 4)
    if k.ended is not None and start + timedelta(days=k.ended[0]) < scan:
        return start + timedelta(days=k.ended[0])
    return scan


def _end(k: Course, start: date) -> tuple[date | None, EndReason | None]:
    if k.ended is not None:
        return start + timedelta(days=k.ended[0]), k.ended[1]
    if k.outcome is Outcome.PROGRESSIVE_DISEASE:
        return _assessed_on(k, start), EndReason.PROGRESSION
    return None, None


def _assessment(k: Course, start: date) -> list[Ranked]:
    if k.outcome is None:
        return []
    assessed = _assessed_on(k, start)
    typed_on = assessed + timedelta(days=k.assessment_lag)
    steps = [_at(typed_on, TRIAL_OFFICE, c.RecordAssessment(
        patient_id=k.pid, assessed_on=assessed, outcome=k.typed_outcome or k.outcome),
        PATIENT_RANK)]
    if k.typed_outcome:
        steps.append(_at(typed_on + timedelta(days=7), MONITOR, c.CorrectAssessment(
            patient_id=k.pid, assessed_on=assessed, outcome=k.outcome,
            reason=f"the radiology report says {k.outcome.value}; {k.typed_outcome.value} "
                   "was typed in error"), PATIENT_RANK))
    return [s for s in steps if s[1].recorded_on <= STORY_END]


def _dispensations(k: Course, start: date, ended: date | None) -> list[Ranked]:
    packs, every = REGIMENS[COHORT_PLANS[k.cohort].drug_id]
    steps: list[Ranked] = []
    on = start
    while on <= STORY_END and (ended is None or on < ended):
        typed = k.typed_first_packs if k.typed_first_packs and on == start else packs
        steps.append(_at(on, TRIAL_OFFICE, c.DispenseDrug(patient_id=k.pid, packs=typed,
                                                          dispensed_on=on), PATIENT_RANK))
        on += timedelta(days=every)
    if k.typed_first_packs:
        steps.append(_at(start + timedelta(days=4), MONITOR, c.CorrectDispensation(
            patient_id=k.pid, dispensation=f"patient/{k.pid}@{_first_dispensation_version(k)}",
            packs=packs, dispensed_on=start,
            reason=f"pharmacy reconciliation: {packs} packs were dispensed, "
                   f"{k.typed_first_packs} was typed"), PATIENT_RANK))
    return steps


def _first_dispensation_version(k: Course) -> int:
    """The patient stream's version of the first dispensation, typed on the start day after the
    start: enrolment, its correction if any, the start, the grant the start commits (stages 1
    and 2 only), then the dispensation."""
    grant = COHORT_PLANS[k.cohort].evidence is None
    return 1 + bool(k.typed_hf) + 1 + grant + 1


def _grant_papers(k: Course, start: date) -> list[Ranked]:
    papers = GRANT_PAPERS.get(k.pid)
    if papers is None:
        return []
    invoice_after, paid_after = papers
    plan = COHORT_PLANS[k.cohort]
    company = COMPANY_OF_AGREEMENT[plan.agreement_id]
    grant = next(a.grant for a in AGREEMENTS if a.agreement_id == plan.agreement_id)
    invoiced = start + timedelta(days=invoice_after)
    steps = [_at(invoiced, GRANTS_DESK, c.InvoiceGrant(
        patient_id=k.pid, invoice_ref=f"{k.hf}/IMPRESS/{k.pid}", invoiced_on=invoiced),
        PATIENT_RANK)]
    if paid_after is not None:
        paid = invoiced + timedelta(days=paid_after)
        steps.append(_at(paid, partner_finance(company), c.RecordGrantPayment(
            patient_id=k.pid, payment_ref=f"{company}/payment/{k.pid}", amount=grant,
            paid_on=paid), PATIENT_RANK))
    return [s for s in steps if s[1].recorded_on <= STORY_END]

