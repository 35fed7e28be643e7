"""Who pays for a patient's drug on a date: a pure function of the recorded facts.

The rules (domain brief; report 004 ch. 2.2 and 4.3):
- stages 1 and 2: the company, for the whole treatment period;
- expansion: the company for the first agreed weeks (16: start through start + 111 days); then,
  with benefit at the 16-week assessment, the public payer (the RHF of the HF treating the patient
  that day) while a group exemption or permanent financing is in force; with benefit and no such
  basis, or without benefit but still on treatment, the treating HF (a financing gap); with no
  assessment recorded yet, pending;
- before treatment starts and after it ends: nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from domain.state import Agreement, Cohort, Patient, Registry, in_force
from domain.values import EXPANSION, Decision, coverage_end


class PayerKind(StrEnum):
    COMPANY = "company"
    PUBLIC = "public"
    TREATING_HF = "treating_hf"  # the financing gap
    PENDING = "pending"
    NOBODY = "nobody"


@dataclass(frozen=True)
class Payer:
    kind: PayerKind
    party: str | None  # company_id, rhf_id or hf_id, by kind
    hf_id: str | None  # the health trust treating the patient that day
    basis: tuple[str, ...]  # the facts the answer rests on (stream@version)
    reason: str

    def same_payer(self, other: Payer) -> bool:
        return (self.kind, self.party, self.hf_id) == (other.kind, other.party, other.hf_id)

    def same_answer(self, other: Payer) -> bool:
        """Same payer for the same reasons: an interval of the timeline never changes either."""
        return self.same_payer(other) and self.basis == other.basis


@dataclass(frozen=True)
class Interval:
    start: date
    end: date | None  # inclusive; None: open-ended
    payer: Payer

    def covers(self, on: date) -> bool:
        return self.start <= on and (self.end is None or on <= self.end)


@dataclass(frozen=True)
class Case:
    """Everything the answer for one patient needs, as known at one moment."""

    patient: Patient
    cohort: Cohort
    agreement: Agreement
    registry: Registry

    def rhf_of(self, hf_id: str) -> str:
        trust = self.registry.trusts.get(hf_id)
        return trust.rhf_id if trust else "unknown-rhf"

    def coverage_weeks(self) -> tuple[int, str]:
        assert self.patient.started is not None
        term = in_force(self.agreement.coverage, self.patient.started.since)
        return (term.value, term.ref) if term else (16, self.agreement.ref or "")


def public_basis_on(cohort: Cohort, on: date) -> str | None:
    """The fact that lets the public side pay on a date: a group exemption in force, or a
    decision of permanent financing (the latest decision in force on that date)."""
    for exemption in cohort.exemptions:
        if exemption.in_force_on(on):
            return exemption.ref
    decision = None
    for term in sorted(cohort.permanent, key=lambda t: t.since):
        if term.since <= on:
            decision = term
    if decision is not None and decision.value == Decision.INTRODUCED:
        return decision.ref
    return None


def public_basis_ended_by(cohort: Cohort, on: date) -> tuple[str, ...]:
    """The facts that ended a public basis by a date: revocations of group exemptions, and a
    permanent financing decision against. A gap after a revocation must name the revocation."""
    refs = [x.revoked_ref for x in cohort.exemptions if x.revoked_from and x.revoked_from <= on]
    decision = None
    for term in sorted(cohort.permanent, key=lambda t: t.since):
        if term.since <= on:
            decision = term
    if decision is not None and decision.value == Decision.REJECTED:
        refs.append(decision.ref)
    return tuple(r for r in refs if r)


def payer_on(case: Case, on: date) -> Payer:
    p = case.patient
    if not p.exists:
        return Payer(PayerKind.NOBODY, None, None, (), "not enrolled")
    hf = p.hf_on(on)
    if p.started is None or on < p.started.since:
        return not_started(p.ref, p.started.ref if p.started else None, hf.value)
    if p.ended is not None and on > p.ended.ended_on:
        return Payer(
            PayerKind.NOBODY, None, hf.value, (p.ended.ref,), f"treatment ended {p.ended.ended_on}"
        )
    base = _refs(p.ref, p.started.ref, hf.ref)
    company = case.agreement.company_id
    if p.stage != EXPANSION:
        return Payer(
            PayerKind.COMPANY,
            company,
            hf.value,
            _refs(*base, case.agreement.ref),
            f"stage {p.stage}: the company gives the drug for the whole treatment period",
        )
    weeks, weeks_ref = case.coverage_weeks()
    ends = coverage_end(p.started.since, weeks)
    if on < ends:
        return Payer(
            PayerKind.COMPANY,
            company,
            hf.value,
            _refs(*base, weeks_ref),
            f"expansion: the company covers the first {weeks} weeks (through {ends - timedelta(1)})",
        )
    a = p.assessment
    if a is None:
        return Payer(
            PayerKind.PENDING,
            None,
            hf.value,
            _refs(*base, weeks_ref),
            f"company coverage ended {ends - timedelta(1)}; no 16-week assessment recorded",
        )
    if not a.outcome.is_benefit:
        return Payer(
            PayerKind.TREATING_HF,
            hf.value,
            hf.value,
            _refs(*base, weeks_ref, a.ref),
            f"financing gap: no benefit at 16 weeks ({a.outcome.value}) but still on treatment",
        )
    public = public_basis_on(case.cohort, on)
    if public is None:
        return Payer(
            PayerKind.TREATING_HF,
            hf.value,
            hf.value,
            _refs(*base, weeks_ref, a.ref, *public_basis_ended_by(case.cohort, on)),
            "financing gap: benefit at 16 weeks but no group exemption in force",
        )
    rhf = case.rhf_of(hf.value)
    return Payer(
        PayerKind.PUBLIC,
        rhf,
        hf.value,
        _refs(*base, weeks_ref, a.ref, public),
        f"benefit at 16 weeks ({a.outcome.value}) and a public basis in force: {rhf} pays",
    )


def not_started(enrolment_ref: str | None, start_ref: str | None, hf_id: str) -> Payer:
    """Nobody pays before treatment starts (before enrolment too): the answer rests on the
    enrolment and, once recorded, the start."""
    return Payer(PayerKind.NOBODY, None, hf_id, _refs(enrolment_ref, start_ref),
                 "treatment not started")


def breakpoints(case: Case) -> list[date]:
    """Every date on which the answer can change."""
    p = case.patient
    if not p.exists or p.enrolled_on is None:
        return []
    points = {p.enrolled_on}
    points.update(period.since for period in p.hf_periods)
    if p.started is not None:
        points.add(p.started.since)
        if p.stage == EXPANSION:
            points.add(coverage_end(p.started.since, case.coverage_weeks()[0]))
    if p.ended is not None:
        points.add(p.ended.ended_on + timedelta(days=1))
    for x in case.cohort.exemptions:
        points.add(x.effective_from)
        if x.revoked_from is not None:
            points.add(x.revoked_from)
    points.update(t.since for t in case.cohort.permanent)
    return sorted(d for d in points if d >= p.enrolled_on)


def timeline(case: Case) -> tuple[Interval, ...]:
    """The payers as intervals from enrolment on; the last one is open-ended. A new interval
    starts wherever the payer or the facts the answer rests on change."""
    points = breakpoints(case)
    intervals: list[Interval] = []
    for point in points:
        payer = payer_on(case, point)
        if intervals and intervals[-1].payer.same_answer(payer):
            continue
        if intervals:
            last = intervals[-1]
            intervals[-1] = Interval(last.start, point - timedelta(days=1), last.payer)
        intervals.append(Interval(point, None, payer))
    return tuple(intervals)


def payer_from_timeline(intervals: tuple[Interval, ...], on: date) -> Payer | None:
    return next((i.payer for i in intervals if i.covers(on)), None)


def _refs(*refs: str | None) -> tuple[str, ...]:
    seen: list[str] = []
    for r in refs:
        if r and r not in seen:
            seen.append(r)
    return tuple(seen)
