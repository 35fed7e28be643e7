"""Valid histories whose facts may be recorded in any order that keeps their real prerequisites
(ADR 0014, "Orders"), for the order-independence properties.

A history is a fixed setup (health trusts, a company, its drug and price, an agreement, three
cohorts) and a list of facts. Each fact is a command, the earliest day it can be recorded (the
day it happened; facts that take effect later can be recorded before they apply) and the facts
that must be recorded before it. Dates are drawn so that every fact fits every order:
an assessment lies within the treatment period as typed and as corrected, a transfer before
the end, an invoice after the start as corrected, and so on.

Cohorts: EXPANSION (opened on partner evidence), STAGED (stage 1; may move to an expansion on
partner evidence on a date: enrolments before it are stage 1 patients, after it expansion
patients) and CLOSING (stage 1; may close on a date, after its last enrolment).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from random import Random
from typing import Any

from hypothesis import strategies as st

from domain import commands as c
from domain.errors import Refused
from domain.money import Money
from domain.values import EXPANSION, Decision, EndReason, Outcome
from tests.support import Book, nok, with_company_and_drug, with_reference

BASE = date(2022, 3, 1)  # day 0: every cohort is open
EXPANDED, STAGED, CLOSING = "olaparib-brca", "olaparib-prostate", "olaparib-pancreas"
AGREEMENT = "nordlys-impress"
HFS = ("helse-stavanger", "helse-bergen", "ous", "ahus", "unn", "st-olavs", "sthf")
OUTCOMES = tuple(Outcome)
WEEKS = (12, 16, 20)
GRANT = nok(50000)
RAISED = nok(60000)


def day(n: int) -> date:
    return BASE + timedelta(days=n)


@dataclass(frozen=True)
class Fact:
    key: str
    command: c.Command
    day: date  # the earliest day it can be recorded
    after: tuple[str, ...] = ()  # keys of the facts it needs recorded first


@dataclass(frozen=True)
class History:
    weeks: int
    facts: tuple[Fact, ...]

    def patients(self) -> list[str]:
        return sorted({f.command.patient_id for f in self.facts
                       if isinstance(f.command, c.EnrolPatient)})


# --- drawing a history ------------------------------------------------------------------------


@dataclass
class _Draw:
    draw: st.DrawFn
    facts: list[Fact] = field(default_factory=list)

    def int(self, low: int, high: int) -> int:
        return self.draw(st.integers(low, high))

    def maybe(self, chance: int = 2) -> bool:
        """True one time in `chance`."""
        return self.draw(st.integers(0, chance - 1)) == 0

    def add(self, key: str, command: c.Command, on: date, *after: str) -> str:
        self.facts.append(Fact(key, command, on, tuple(a for a in after if a)))
        return key


@st.composite
def histories(draw: st.DrawFn, max_patients: int = 7) -> History:
    h = _Draw(draw)
    weeks = draw(st.sampled_from(WEEKS))
    raised = _terms(h)
    staged_on = None if h.maybe(3) else day(h.int(60, 400))
    closing_on = day(h.int(200, 700)) if h.maybe() else None
    if staged_on is not None:
        h.add("stage", c.AdvanceStage(cohort_id=STAGED, to_stage=EXPANSION, decided_on=staged_on,
                                      evidence_ref="DRUP: first 24 patients",
                                      expansion_size=40), staged_on)
    _public_bases(h, EXPANDED, "BF-A")
    if staged_on is not None and h.maybe():
        _public_bases(h, STAGED, "BF-S", not_before=staged_on)
    for n in range(1, h.int(2, max_patients) + 1):
        _patient(h, f"IMP-{n:04d}", staged_on, closing_on, raised)
    enrolled = [f.command.enrolled_on for f in h.facts if isinstance(f.command, c.EnrolPatient)
                and f.command.cohort_id == CLOSING]
    if closing_on is not None and (not enrolled or closing_on > max(enrolled)):
        h.add("closure", c.CloseCohort(cohort_id=CLOSING, closed_on=closing_on,
                                       reason="the stage rule was not met"), closing_on)
    return History(weeks, tuple(h.facts))


def _terms(h: _Draw) -> str:
    """Amended coverage weeks and a raised grant, each from a date (they may apply later)."""
    if h.maybe():
        on = day(h.int(0, 500))
        h.add("weeks", c.AmendAgreement(agreement_id=AGREEMENT, effective_from=on,
                                        reason="renegotiated", coverage_weeks=h.draw(
                                            st.sampled_from(WEEKS))), on - timedelta(days=30))
    if h.maybe():
        on = day(h.int(0, 500))
        return h.add("grant", c.AmendAgreement(agreement_id=AGREEMENT, effective_from=on,
                                               reason="grant raised", grant_per_patient=RAISED),
                     on - timedelta(days=30))
    return ""


def _public_bases(h: _Draw, cohort: str, ref: str, not_before: date = BASE) -> None:
    """A group exemption decided and applying from dates, perhaps revoked; perhaps a permanent
    financing decision."""
    if not h.maybe(4):
        decided = max(not_before, day(h.int(-60, 500)))
        effective = decided + timedelta(days=h.int(0, 40))
        grant = h.add(f"{ref}-grant", c.GrantGroupExemption(
            cohort_id=cohort, exemption_ref=ref, effective_from=effective, decided_on=decided),
            decided)
        if h.maybe(3):
            revoked = effective + timedelta(days=h.int(1, 400))
            h.add(f"{ref}-revoke", c.RevokeGroupExemption(
                cohort_id=cohort, exemption_ref=ref, effective_from=revoked, reason="new evidence"),
                max(decided, revoked - timedelta(days=20)), grant)
    if h.maybe(3):
        effective = day(h.int(100, 800))
        decision = Decision.REJECTED if h.maybe(4) else Decision.INTRODUCED
        h.add(f"{ref}-permanent", c.DecidePermanentFinancing(
            cohort_id=cohort, decision=decision, case_ref="ID2024_017", effective_from=effective),
            effective - timedelta(days=10))


def _patient(h: _Draw, pid: str, staged_on: date | None, closing_on: date | None,
             raised: str) -> None:
    cohort = h.draw(st.sampled_from((EXPANDED, STAGED, CLOSING)))
    last = 600 if cohort != CLOSING or closing_on is None else (closing_on - BASE).days - 1
    enrolled = day(h.int(0, last))
    hf = h.draw(st.sampled_from(HFS))
    stage_decision = "stage" if cohort == STAGED and staged_on and enrolled >= staged_on else ""
    enrol = h.add(f"{pid}:enrol", c.EnrolPatient(patient_id=pid, cohort_id=cohort, hf_id=hf,
                                                 enrolled_on=enrolled), enrolled, stage_decision)
    fixed_hf, hfs = "", {hf}
    if h.maybe(4):
        other = h.draw(st.sampled_from([x for x in HFS if x != hf]))
        fixed_hf = h.add(f"{pid}:hf", c.CorrectEnrolmentHf(patient_id=pid, hf_id=other,
                                                           reason="another trust"),
                         enrolled, enrol)
        hfs.add(other)
    typed_start = enrolled + timedelta(days=h.int(0, 20))
    start = h.add(f"{pid}:start", c.StartTreatment(patient_id=pid, started_on=typed_start),
                  typed_start, enrol)
    starts = [typed_start]
    moved = ""
    if h.maybe(4):
        corrected = max(enrolled, typed_start + timedelta(days=h.int(-5, 10)))
        if corrected != typed_start:
            moved = h.add(f"{pid}:start2", c.CorrectTreatmentStart(
                patient_id=pid, started_on=corrected, reason="first dose postponed"),
                max(corrected, typed_start), start)
            starts.append(corrected)
    first_day = max(starts)  # on treatment as typed and as corrected
    ends = _end(h, pid, first_day, start)
    last_day = min(ends) if ends else first_day + timedelta(days=700)
    moves = _transfers(h, pid, enrolled, last_day, hfs, enrol, fixed_hf)
    _assessment(h, pid, first_day, last_day, start)
    _dispensations(h, pid, first_day, last_day, start)
    stage_1 = cohort == CLOSING or (cohort == STAGED and not stage_decision)
    if stage_1:
        before = [m for m, on in moves if on <= first_day]
        _grant_papers(h, pid, first_day, start, moved, fixed_hf, raised, *before)


def _end(h: _Draw, pid: str, first_day: date, start: str) -> list[date]:
    if h.maybe():
        return []
    typed = first_day + timedelta(days=h.int(40, 400))
    ended = h.add(f"{pid}:end", c.EndTreatment(patient_id=pid, ended_on=typed,
                                               reason=EndReason.PROGRESSION), typed, start)
    if h.maybe(4):
        corrected = typed + timedelta(days=h.int(-30, 30))
        if corrected != typed:
            h.add(f"{pid}:end2", c.CorrectTreatmentEnd(
                patient_id=pid, ended_on=corrected, ended_reason=EndReason.TOXICITY,
                reason="last dose misread"), max(typed, corrected), ended)
            return [typed, corrected]
    return [typed]


def _transfers(h: _Draw, pid: str, enrolled: date, last_day: date, hfs: set[str], enrol: str,
               fixed_hf: str) -> list[tuple[str, date]]:
    """Transfers in date order, each to a trust the patient is at neither as typed nor as
    corrected; a transfer is recorded after the one before it (it names where it came from)."""
    out: list[tuple[str, date]] = []
    on, previous = enrolled, enrol
    for n in range(h.int(0, 2)):
        on = on + timedelta(days=h.int(1, 200))
        if on > last_day:
            break
        to = h.draw(st.sampled_from([x for x in HFS if x not in hfs]))
        previous = h.add(f"{pid}:move{n}", c.TransferPatient(patient_id=pid, to_hf=to,
                                                              effective_from=on),
                         on, previous, fixed_hf)
        out.append((previous, on))
        hfs = {to}
    return out


def _assessment(h: _Draw, pid: str, first_day: date, last_day: date, start: str) -> None:
    low, high = first_day + timedelta(days=100), min(last_day, first_day + timedelta(days=180))
    if high < low or h.maybe(4):
        return
    span = (high - low).days
    on = low + timedelta(days=h.int(0, span))
    outcome = h.draw(st.sampled_from(OUTCOMES))
    assessed = h.add(f"{pid}:assess", c.RecordAssessment(patient_id=pid, assessed_on=on,
                                                         outcome=outcome), on, start)
    if h.maybe(4):
        again = low + timedelta(days=h.int(0, span))
        other = h.draw(st.sampled_from([o for o in OUTCOMES if o != outcome]))
        h.add(f"{pid}:assess2", c.CorrectAssessment(patient_id=pid, assessed_on=again,
                                                    outcome=other, reason="scan re-read"),
              max(on, again), assessed)


def _dispensations(h: _Draw, pid: str, first_day: date, last_day: date, start: str) -> None:
    span = (last_day - first_day).days
    for n in range(h.int(0, 3)):
        on = first_day + timedelta(days=h.int(0, span))
        packs = h.int(1, 3)
        dispensed = h.add(f"{pid}:dispense{n}", c.DispenseDrug(patient_id=pid, packs=packs,
                                                               dispensed_on=on), on, start)
        if h.maybe(6):
            again = first_day + timedelta(days=h.int(0, span))
            fixed = h.int(0, 4)
            if (fixed, again) == (packs, on):
                fixed = packs + 1
            h.add(f"{pid}:dispense{n}b", _Correction(pid, dispensed, fixed, again),
                  max(on, again), dispensed)


def _grant_papers(h: _Draw, pid: str, first_day: date, start: str, *basis: str) -> None:
    """The hospital invoices the grant as known once what it rests on is recorded (its start
    as corrected, its trust, the terms); the partner pays it."""
    if h.maybe(3):
        return
    invoiced = first_day + timedelta(days=h.int(10, 60))
    invoice = h.add(f"{pid}:invoice", c.InvoiceGrant(patient_id=pid, invoice_ref=f"INV-{pid}",
                                                     invoiced_on=invoiced),
                    invoiced, start, *basis)
    if h.maybe():
        paid = invoiced + timedelta(days=h.int(5, 60))
        h.add(f"{pid}:pay", _Payment(pid, paid), paid, invoice)


@dataclass(frozen=True)
class _Correction:
    """A dispensation's correction: its reference is known only once the dispensation is."""

    patient_id: str
    dispensation: str  # the key of the DrugDispensed fact
    packs: int
    dispensed_on: date


@dataclass(frozen=True)
class _Payment:
    """The grant paid in full: its amount is the grant as invoiced."""

    patient_id: str
    paid_on: date


# --- recording a history in an order ----------------------------------------------------------


def setup_book(weeks: int, book: Any = None) -> Any:
    """The parties, the agreement and the three cohorts, recorded on day 0 (in a Book, or in
    anything that runs commands as a Book does)."""
    book = with_company_and_drug(with_reference(book or Book(today=BASE)), weeks=weeks,
                                 grant=GRANT)
    book.run(c.OpenCohort(cohort_id=EXPANDED, drug_id="lynparza", agreement_id=AGREEMENT,
                          indication="solid tumours", molecular_profile="biallelic BRCA1/2",
                          opened_on=BASE, evidence_ref="DRUP: first 24 patients"))
    for cohort in (STAGED, CLOSING):
        book.run(c.OpenCohort(cohort_id=cohort, drug_id="lynparza", agreement_id=AGREEMENT,
                              indication=cohort.split("-")[1], molecular_profile="BRCA1/2",
                              opened_on=BASE))
    return book


def date_order(history: History) -> list[Fact]:
    """Each fact as soon as it can be: by the day it happened, prerequisites first."""
    return _topological(history, lambda i, f: (f.day, i))


def shuffled(history: History, seed: int) -> list[Fact]:
    """Any order that keeps the prerequisites, as the trial office's backlog might give."""
    rng = Random(seed)
    keys = {f.key: rng.random() for f in history.facts}
    return _topological(history, lambda i, f: (keys[f.key], i))


def _topological(history: History, rank: object) -> list[Fact]:
    facts = {f.key: (i, f) for i, f in enumerate(history.facts)}
    waiting = {f.key: set(f.after) for f in history.facts}
    heap = [(rank(i, f), f.key) for f_key, (i, f) in facts.items()  # type: ignore[operator]
            if not waiting[f_key]]
    heapq.heapify(heap)
    out: list[Fact] = []
    while heap:
        _, key = heapq.heappop(heap)
        out.append(facts[key][1])
        for other, needs in waiting.items():
            if key in needs:
                needs.discard(key)
                if not needs:
                    i, f = facts[other]
                    heapq.heappush(heap, (rank(i, f), other))  # type: ignore[operator]
    assert len(out) == len(facts), "a prerequisite names no fact of the history"
    return out


@dataclass
class Recorded:
    book: Any  # a Book, or anything with its run / tick / log / case
    refused: list[tuple[str, Refused]] = field(default_factory=list)


def record(history: History, order: list[Fact], book: Any = None,
           after_each: Callable[[Fact], None] | None = None) -> Recorded:
    """Record the facts in the order given; the clock reads each fact's day, or the day of the
    latest fact recorded before it (late facts are recorded after their day). Then the
    passage of time up to far in the future."""
    done = Recorded(book or setup_book(history.weeks))
    today = BASE
    refs: dict[str, str] = {}
    for fact in order:
        today = max(today, fact.day)
        command = _resolved(fact.command, done.book, refs)
        before = len(done.book.log)
        try:
            done.book.run(command, today=today)
        except Refused as refusal:
            done.refused.append((fact.key, refusal))
            continue
        stream, version = done.book.log[before][:2]
        refs[fact.key] = f"{stream}@{version}"
        if after_each is not None:
            after_each(fact)
    done.book.tick(date(2030, 1, 1))
    return done


def _resolved(command: object, book: Any, refs: dict[str, str]) -> c.Command:
    if isinstance(command, _Correction):
        return c.CorrectDispensation(
            patient_id=command.patient_id, dispensation=refs.get(command.dispensation, "?@0"),
            packs=command.packs, dispensed_on=command.dispensed_on, reason="pharmacy count")
    if isinstance(command, _Payment):
        grant = book.case(command.patient_id).patient.grant
        amount = grant.invoiced if grant is not None else Money.zero("NOK")
        return c.RecordGrantPayment(patient_id=command.patient_id,
                                    payment_ref=f"PAY-{command.patient_id}", amount=amount,
                                    paid_on=command.paid_on)
    assert isinstance(command, c.Command)
    return command
