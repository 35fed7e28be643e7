"""Hypothesis strategies for random histories of the ledger, and a player that runs them.

A history is a setup (agreed coverage weeks, an exemption or not) and a list of steps. A step is
resolved against the book *when it is played*: "assess IMP-0002 130 days after the start" becomes
a RecordAssessment on the recorded start + 130, so most generated commands are valid and the
histories reach the interesting places (late assessments, corrections, transfers, exemptions
granted and revoked, ticks, amended terms). Steps that do not fit are still played; the ledger
refuses them, and the player checks that a refusal recorded nothing.

Profiles (select with IMPRESS_HISTORY_PROFILE; named apart from any profile in conftest.py):
  histories-ci (default), histories-dev (quick), histories-thorough (nightly).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from domain import commands as c
from domain.errors import Refused
from domain.financing import Payer, payer_on
from domain.state import Patient
from domain.values import EXPANSION, Decision, EndReason, Outcome
from tests.support import Book, expansion_book

_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.register_profile("histories-ci", max_examples=60, **_COMMON)
settings.register_profile("histories-dev", max_examples=10, **_COMMON)
settings.register_profile("histories-thorough", max_examples=1000, **_COMMON)
HISTORY_SETTINGS = settings.get_profile(os.environ.get("IMPRESS_HISTORY_PROFILE", "histories-ci"))

BASE = date(2023, 1, 2)  # day 0 of every history
FAR = date(2030, 1, 1)  # later than anything a history can reach
EXPANSION_COHORT, STAGE_COHORT = "olaparib-brca", "lynparza-prostate"
PATIENTS = ("IMP-0001", "IMP-0002", "IMP-0003", "IMP-0004", "IMP-0005", "IMP-0006")
HFS = ("helse-stavanger", "helse-bergen", "ous", "ahus", "unn", "st-olavs")  # 4 regions
EXEMPTIONS = ("BF-2022-IMPRESS", "BF-2023-2", "BF-2024-3")  # the first one: in the setup
# Two in three with benefit, so that many histories reach the public side's share.
OUTCOMES = (Outcome.OBJECTIVE_RESPONSE, Outcome.STABLE_DISEASE, Outcome.STABLE_DISEASE,
            Outcome.OBJECTIVE_RESPONSE, Outcome.PROGRESSIVE_DISEASE, Outcome.NOT_EVALUABLE)
END_REASONS = tuple(EndReason)
WEEKS = (8, 12, 16, 20)
REASON = "recorded from the wrong chart"


def on(offset: int) -> date:
    return BASE + timedelta(days=offset)


@dataclass(frozen=True)
class Setup:
    coverage_weeks: int
    exemption_from: int | None  # day offset of the group exemption granted before any patient


@dataclass(frozen=True)
class Step:
    action: str
    target: int = 0  # which patient: among those the action fits (or any, when wild)
    offset: int = 0  # days, from the fact the action depends on
    choice: int = 0  # picks an outcome, a health trust, an exemption, a decision, a delay
    wild: bool = False  # aim at any patient or exemption, fitting or not (the ledger refuses)


@dataclass(frozen=True)
class History:
    setup: Setup
    steps: tuple[Step, ...]


# action: (lowest offset, highest offset, weight). Offsets count from the fact a patient action
# depends on (see `_anchor`), and from day 0 unless said otherwise.
ACTIONS = {
    "enrol": (0, 400, 4),
    "start": (-2, 30, 4),  # from enrolment (two days early: refused)
    "assess": (100, 180, 4),  # from the start: on time, or weeks late
    "end": (-1, 400, 2),  # from the start
    "transfer": (0, 250, 3),  # from the last change of health trust
    "correct_start": (-15, 15, 1),
    "correct_assessment": (-10, 10, 1),
    "correct_end": (-60, 60, 1),
    "correct_hf": (0, 0, 1),
    "dispense": (0, 200, 1),
    "grant_exemption": (-300, 700, 1),
    "revoke_exemption": (-30, 200, 1),  # from the 16th week of a patient with benefit
    "permanent_financing": (-200, 300, 1),  # from today
    "amend_weeks": (-700, 500, 1),  # the agreement was signed on 2021-01-01
    "tick": (-60, 240, 3),  # from the clock: late, early, on time
    "wait": (1, 120, 2),  # the clock moves on
}

# What a patient action needs, and what to do first when no patient fits yet.
FITS: dict[str, tuple[Callable[[Patient], bool], str | None]] = {
    "enrol": (lambda p: not p.exists, None),
    "start": (lambda p: p.exists and p.started is None, "enrol"),
    "assess": (lambda p: p.started is not None and p.assessment is None, "start"),
    "end": (lambda p: p.started is not None and p.ended is None, "start"),
    "transfer": (lambda p: p.exists and p.ended is None, "enrol"),
    "correct_start": (lambda p: p.started is not None, "start"),
    "correct_assessment": (lambda p: p.assessment is not None, "assess"),
    "correct_end": (lambda p: p.ended is not None, "end"),
    "correct_hf": (lambda p: p.exists, "enrol"),
    "dispense": (lambda p: p.started is not None, "start"),
}


@st.composite
def steps(draw: st.DrawFn) -> Step:
    action = draw(st.sampled_from([a for a, (_, _, w) in ACTIONS.items() for _ in range(w)]))
    low, high, _ = ACTIONS[action]
    return Step(action, draw(st.integers(0, len(PATIENTS) - 1)), draw(st.integers(low, high)),
                draw(st.integers(0, 23)), draw(st.sampled_from([False] * 9 + [True])))


@st.composite
def histories(draw: st.DrawFn, min_steps: int = 8, max_steps: int = 40) -> History:
    exemption = draw(st.integers(-300, 500))
    setup = Setup(draw(st.sampled_from(WEEKS)), None if draw(st.integers(0, 3)) == 0 else exemption)
    return History(setup, tuple(draw(st.lists(steps(), min_size=min_steps, max_size=max_steps))))


# --- playing a history ----------------------------------------------------------------------


@dataclass
class Played:
    """A book after a history, with what it answered along the way."""

    book: Book
    clock: date  # the day commands are recorded on; moves on as facts come in
    recorded: int = 0
    refused: int = 0
    # (log position, patient, date, answer): answers as known when they were given
    answers: list[tuple[int, str, date, Payer]] = field(default_factory=list)

    def patients(self) -> list[str]:
        return sorted({s.partition("/")[2] for s, _, _ in self.book.log
                       if s.startswith("patient/")})


def setup_book(setup: Setup) -> Book:
    exemption = None if setup.exemption_from is None else str(on(setup.exemption_from))
    book = expansion_book(exemption_from=exemption, weeks=setup.coverage_weeks)
    book.run(c.OpenCohort(cohort_id=STAGE_COHORT, drug_id="lynparza",
                          agreement_id="nordlys-impress", indication="prostate cancer",
                          molecular_profile="ATM loss", opened_on=on(-400)))
    return book


def play(history: History) -> Played:
    played = Played(setup_book(history.setup), clock=BASE)
    for step in history.steps:
        play_step(played, step)
    return played


def play_step(played: Played, step: Step) -> None:
    book = played.book
    if step.action == "wait":
        played.clock += timedelta(days=step.offset)
        return
    if step.action == "tick":
        book.tick(played.clock + timedelta(days=step.offset))
        return
    pid, command = command_for(book, step, played.clock)
    # Nothing that happened is recorded before its day: the clock moves on to it (ADR 0014).
    played.clock = max(played.clock, happened_on(command) or played.clock)
    before = list(book.log)
    try:
        book.run(command, today=played.clock)
    except Refused:
        played.refused += 1
        assert book.log == before, f"refused {type(command).__name__} recorded facts"
        return
    played.recorded += 1
    about = command_date(command)
    # facts are mostly recorded on or after the day they are about, some of them late
    played.clock = max(played.clock, about + timedelta(days=step.choice))
    if pid is not None:
        for asked in (about, played.clock):
            answer = payer_on(book.case(pid), asked)
            played.answers.append((len(book.log), pid, asked, answer))


TAKES_EFFECT_LATER = (c.RevokeGroupExemption, c.DecidePermanentFinancing, c.AmendAgreement,
                      c.SetPrice, c.ContributeDrug)


def happened_on(command: c.Command) -> date | None:
    """The date of what a command says has happened (the earliest day it can be recorded);
    None for facts that may take effect later."""
    if isinstance(command, c.GrantGroupExemption):
        return command.decided_on
    if isinstance(command, TAKES_EFFECT_LATER):
        return None
    return command_date(command)


def command_date(command: c.Command) -> date:
    dates = [v for v in vars(command).values() if isinstance(v, date)]
    return max(dates) if dates else BASE


def command_for(book: Book, step: Step, today: date) -> tuple[str | None, c.Command]:
    """The patient (for a patient action) and the command a step means, given the book now.
    Decisions on the cohort count from today: they matter most while patients are treated."""
    if step.action in FITS:
        action, p, offset = _patient_step(book, step)
        when = _anchor(action, p) + timedelta(days=offset)
        return p.patient_id, _patient_command(action, p.patient_id, when, step.choice)
    return None, _cohort_command(book, step, today)


def _patient_step(book: Book, step: Step) -> tuple[str, Patient, int]:
    """A patient the action fits; when none fits yet, the step first does what it needs
    (assess with nobody started: start someone). Wild steps take any patient."""
    patients = _patients(book)
    action, offset = step.action, step.offset
    while not step.wild:
        fits, first = FITS[action]
        fitting = [p for p in patients if fits(p)]
        if fitting:
            chosen = fitting[0] if action == "enrol" else fitting[step.target % len(fitting)]
            return action, chosen, offset
        if first is None:
            break
        low, high, _ = ACTIONS[first]
        action, offset = first, low + abs(offset) % (high - low + 1)
    return step.action, patients[step.target % len(patients)], step.offset


def _patients(book: Book) -> list[Patient]:
    return [book.case(pid).patient for pid in PATIENTS]


def _anchor(action: str, p: Patient) -> date:
    """The recorded date a patient action's offset counts from; day 0 when there is none."""
    if not p.exists:
        return BASE
    started = p.started.since if p.started else None
    dates = {
        "start": p.enrolled_on,
        "assess": started,
        "end": started,
        "correct_start": started,
        "dispense": started,
        "correct_assessment": p.assessment.assessed_on if p.assessment else None,
        "correct_end": p.ended.ended_on if p.ended else None,
        "transfer": p.hf_periods[-1].since,
    }
    return dates.get(action) or BASE


def _patient_command(action: str, pid: str, when: date, n: int) -> c.Command:  # noqa: C901
    hf, outcome, why = HFS[n % len(HFS)], OUTCOMES[n % len(OUTCOMES)], END_REASONS[n % 6]
    match action:
        case "enrol":
            cohort = EXPANSION_COHORT if n % 3 else STAGE_COHORT
            return c.EnrolPatient(patient_id=pid, cohort_id=cohort, hf_id=hf, enrolled_on=when)
        case "start":
            return c.StartTreatment(patient_id=pid, started_on=when)
        case "assess":
            return c.RecordAssessment(patient_id=pid, assessed_on=when, outcome=outcome)
        case "end":
            return c.EndTreatment(patient_id=pid, ended_on=when, reason=why)
        case "transfer":
            return c.TransferPatient(patient_id=pid, to_hf=hf, effective_from=when)
        case "correct_start":
            return c.CorrectTreatmentStart(patient_id=pid, started_on=when, reason=REASON)
        case "correct_assessment":
            return c.CorrectAssessment(patient_id=pid, assessed_on=when, outcome=outcome,
                                       reason=REASON)
        case "correct_end":
            return c.CorrectTreatmentEnd(patient_id=pid, ended_on=when, ended_reason=why,
                                         reason=REASON)
        case "correct_hf":
            return c.CorrectEnrolmentHf(patient_id=pid, hf_id=hf, reason=REASON)
        case "dispense":
            return c.DispenseDrug(patient_id=pid, packs=1 + n % 4, dispensed_on=when)
    raise AssertionError(f"not a patient action: {action}")


def _cohort_command(book: Book, step: Step, today: date) -> c.Command:
    n = step.choice
    exemptions = book.workspace().cohort(EXPANSION_COHORT).exemptions
    match step.action:
        case "grant_exemption":
            granted = {x.exemption_ref for x in exemptions}
            refs = [r for r in EXEMPTIONS if r not in granted and not step.wild] or EXEMPTIONS
            when = on(step.offset)
            return c.GrantGroupExemption(
                cohort_id=EXPANSION_COHORT, exemption_ref=refs[n % len(refs)],
                effective_from=when, decided_on=when - timedelta(days=n))
        case "revoke_exemption":
            ref, since = _revocable(book, step, today)
            return c.RevokeGroupExemption(cohort_id=EXPANSION_COHORT, exemption_ref=ref,
                                          effective_from=since + timedelta(days=step.offset),
                                          reason="new evidence")
        case "permanent_financing":
            decision = Decision.INTRODUCED if n % 3 else Decision.REJECTED
            return c.DecidePermanentFinancing(cohort_id=EXPANSION_COHORT, decision=decision,
                                              case_ref=f"ID2024_{n:03d}",
                                              effective_from=today + timedelta(days=step.offset))
        case "amend_weeks":
            return c.AmendAgreement(agreement_id="nordlys-impress", effective_from=on(step.offset),
                                    reason="renegotiated", coverage_weeks=WEEKS[n % len(WEEKS)])
    raise AssertionError(f"unknown action {step.action}")


def _revocable(book: Book, step: Step, today: date) -> tuple[str, date]:
    """An exemption in force, and the 16th week of a patient with benefit to revoke it around
    (so that revocations stop public payment, not only prevent it)."""
    exemptions = book.workspace().cohort(EXPANSION_COHORT).exemptions
    live = [x for x in exemptions if x.revoked_from is None and not step.wild]
    if not live:
        return EXEMPTIONS[step.choice % len(EXEMPTIONS)], today
    treated = [p.started.since + timedelta(weeks=16) for p in _patients(book)
               if p.started and p.stage == EXPANSION and p.assessment
               and p.assessment.outcome.is_benefit] or [today]
    chosen = live[step.choice % len(live)]
    return chosen.exemption_ref, max(treated[step.target % len(treated)], chosen.effective_from)
