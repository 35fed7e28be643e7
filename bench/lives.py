"""One patient's life in the simulated world: start, dispensations every four weeks, the 16-week
assessment (some recorded weeks late), transfers, the end of treatment, corrections, grants.

Rates are those of a precision-oncology trial: about a third of patients have clinical benefit
at 16 weeks, one in ten ends early, one in twelve moves to another health trust.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from domain import commands as c
from domain.money import Money
from domain.values import EndReason, Outcome

if TYPE_CHECKING:
    from bench.world import Patient, World

OUTCOMES = ((0.10, Outcome.OBJECTIVE_RESPONSE), (0.35, Outcome.STABLE_DISEASE),
            (0.90, Outcome.PROGRESSIVE_DISEASE), (1.00, Outcome.NOT_EVALUABLE))


def start(w: World, p: Patient) -> None:
    p.started_on = p.last_seen = w.today
    w.emit(c.StartTreatment(patient_id=p.pid, started_on=w.today))
    if p.stage < 3:
        p.grant = w.grants[p.cohort.agreement_id]
        w.at(w.draw(30, 45), lambda: invoice(w, p))
    dispense(w, p)
    if w.rng.random() < 0.04:
        w.at(w.draw(5, 20), lambda: correct_start(w, p))
    if w.rng.random() < 0.08:
        w.at(w.draw(30, 200), lambda: transfer(w, p))
    if w.rng.random() < 0.10:
        reason = w.rng.choice((EndReason.TOXICITY, EndReason.DEATH, EndReason.PATIENT_CHOICE))
        w.at(w.draw(20, 100), lambda: end(w, p, reason, late=0))
    assessed = w.draw(105, 115)
    late = w.draw(30, 90) if w.rng.random() < 0.2 else w.draw(0, 14)
    w.at(assessed + late, lambda: assess(w, p, late))


def dispense(w: World, p: Patient) -> None:
    if p.ended:
        return
    p.last_seen = w.today
    w.emit(c.DispenseDrug(patient_id=p.pid, packs=w.draw(1, 3), dispensed_on=w.today))
    w.at(28, lambda: dispense(w, p))


def correct_start(w: World, p: Patient) -> None:
    assert p.started_on is not None
    # Earlier only: the first dispensation was on the recorded start, and a start after a
    # dispensation is refused.
    moved = p.started_on + timedelta(days=w.rng.choice((-3, -2, -1)))
    moved = max(moved, p.enrolled_on)
    if moved == p.started_on or p.ended or moved > w.today:
        return
    w.emit(c.CorrectTreatmentStart(patient_id=p.pid, started_on=moved,
                                   reason="the start was recorded wrong"))
    p.started_on = moved
    if p.grant is not None:  # the grant follows the start: the terms in force on it
        p.grant = w.grant_on(p.cohort.agreement_id, moved)


def transfer(w: World, p: Patient) -> None:
    if p.ended:
        return
    to = w.rng.choice([h for h in w.hfs if h != p.hf])
    w.emit(c.TransferPatient(patient_id=p.pid, to_hf=to, effective_from=w.today))
    p.hf = to
    p.last_seen = w.today


def assess(w: World, p: Patient, late: int) -> None:
    if p.ended:
        return
    roll = w.rng.random()
    p.outcome = next(o for limit, o in OUTCOMES if roll < limit)
    assessed_on = w.today - timedelta(days=late)
    p.last_seen = max(p.last_seen, assessed_on)
    w.emit(c.RecordAssessment(patient_id=p.pid, assessed_on=assessed_on, outcome=p.outcome))
    w.resolve(p, p.outcome.is_benefit)
    if w.rng.random() < 0.05:
        w.at(w.draw(10, 60), lambda: correct_assessment(w, p, assessed_on))
    if p.outcome.is_benefit:
        w.at(w.draw(90, 600), lambda: end(w, p, EndReason.PROGRESSION, late=w.draw(0, 3)))
    else:
        w.at(w.draw(0, 14), lambda: end(w, p, EndReason.PROGRESSION, late=0))


def correct_assessment(w: World, p: Patient, assessed_on: object) -> None:
    assert p.outcome is not None
    before = p.outcome.is_benefit
    p.outcome = Outcome.PROGRESSIVE_DISEASE if before else Outcome.STABLE_DISEASE
    w.emit(c.CorrectAssessment(patient_id=p.pid, assessed_on=assessed_on,  # type: ignore[arg-type]
                               outcome=p.outcome, reason="the scan was re-read"))
    cohort = p.cohort
    if p.stage < 3 and cohort.stage < 3 and not cohort.closed:
        cohort.benefit += p.outcome.is_benefit - before


def end(w: World, p: Patient, reason: EndReason, *, late: int) -> None:
    """Treatment ends; `late` days later than it is recorded."""
    if p.ended:
        return
    assert p.started_on is not None
    # not before anything recorded on treatment (a dispensation, a transfer, the assessment)
    ended_on = max(w.today - timedelta(days=late), p.started_on, p.last_seen)
    w.emit(c.EndTreatment(patient_id=p.pid, ended_on=ended_on, reason=reason))
    p.ended = True
    if p.outcome is None:
        w.resolve(p, False)
    if w.rng.random() < 0.03:
        def correct() -> None:
            w.emit(c.CorrectTreatmentEnd(patient_id=p.pid, ended_on=ended_on + timedelta(days=7),
                                         ended_reason=EndReason.PROGRESSION,
                                         reason="the end date was wrong"))
        w.at(w.draw(10, 30), correct)


def invoice(w: World, p: Patient) -> None:
    w.emit(c.InvoiceGrant(patient_id=p.pid, invoice_ref=f"INV-{p.pid}",
                          invoiced_on=w.today))
    w.at(w.draw(20, 60), lambda: pay(w, p))


def pay(w: World, p: Patient) -> None:
    assert p.grant is not None
    w.emit(c.RecordGrantPayment(patient_id=p.pid, payment_ref=f"PAY-{p.pid}",
                                amount=Money.of(p.grant.amount, p.grant.currency),
                                paid_on=w.today))
