"""Facts the ledger records itself: company coverage ended, public payer took over (and stopped),
grant committed. Each names the facts it rests on.

`reconcile` compares what follows from the recorded facts with what the ledger has already
derived, and records only the difference: new derived facts whose date has come, and
retractions of derived facts that no longer follow (after a late fact or a correction), each
saying what no longer follows, what follows now and which facts changed. Every derived fact
follows its basis, the per-patient grant included (ADR 0014: a corrected start, enrolling
health trust or terms re-commit it; its invoices and payments stay with it). Running it twice
records nothing the second time, whatever the order of late facts and ticks.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import date, timedelta

from domain import events as ev
from domain.financing import Case, Interval, PayerKind, public_basis_on, timeline
from domain.state import in_force
from domain.values import EXPANSION, coverage_end
from domain.view import Facts, View, patient_stream


def case_of(view: View, patient_id: str) -> Case:
    p = view.patient(patient_id)
    return Case(p, view.cohort(p.cohort_id), view.agreement(p.agreement_id), view.registry())


def follows(case: Case, intervals: tuple[Interval, ...] | None = None) -> list[ev.Event]:
    """Every derived fact that follows from the recorded facts, whatever today's date.
    `intervals`: the case's timeline, when the caller already has it."""
    p = case.patient
    if not p.exists or p.started is None:
        return []
    out: list[ev.Event] = []
    start = p.started.since
    if p.stage != EXPANSION:
        grant = in_force(case.agreement.grants, start)
        if grant is not None:
            hf = p.hf_on(start)
            out.append(
                ev.GrantCommitted(
                    patient_id=p.patient_id,
                    agreement_id=p.agreement_id,
                    hf_id=hf.value,
                    amount=grant.value,
                    due_from=start,
                    basis=_refs(p.ref, p.started.ref, hf.ref, grant.ref),
                )
            )
        return out
    weeks, weeks_ref = case.coverage_weeks()
    ends = coverage_end(start, weeks)
    if p.ended is None or p.ended.ended_on >= ends:
        out.append(
            ev.CompanyCoverageEnded(
                patient_id=p.patient_id,
                last_covered_on=ends - timedelta(days=1),
                coverage_weeks=weeks,
                basis=_refs(p.ref, p.started.ref, weeks_ref),
            )
        )
    intervals = timeline(case) if intervals is None else intervals
    for i, interval in enumerate(intervals):
        if interval.payer.kind is not PayerKind.PUBLIC:
            continue
        previous = intervals[i - 1].payer.kind if i else None
        if previous is not PayerKind.PUBLIC:
            out.append(
                ev.PublicPayerTookOver(
                    patient_id=p.patient_id,
                    from_date=interval.start,
                    public_basis=public_basis_on(case.cohort, interval.start) or "",
                    basis=interval.payer.basis,
                )
            )
        following = intervals[i + 1] if i + 1 < len(intervals) else None
        if following is not None and following.payer.kind not in (PayerKind.PUBLIC, PayerKind.NOBODY):
            assert interval.end is not None
            out.append(
                ev.PublicPayerStopped(
                    patient_id=p.patient_id, last_day=interval.end, basis=following.payer.basis
                )
            )
    return out


def due_on(fact: ev.Event) -> date | None:
    """The first day a derived fact may be recorded: a coverage end or a stop once its last day
    is over, the others on their own date."""
    if isinstance(fact, ev.CompanyCoverageEnded):
        return fact.last_covered_on + timedelta(days=1)
    if isinstance(fact, ev.PublicPayerStopped):
        return fact.last_day + timedelta(days=1)
    return fact.valid_on


def _signature(fact: ev.Event) -> tuple[object, ...]:
    names = _COMPARED.get(type(fact))
    if names is None:  # worked out once per type: fields() inspects the class every call
        names = _COMPARED[type(fact)] = tuple(f.name for f in fields(fact) if f.name != "basis")
    return (fact.type, *(getattr(fact, name) for name in names))


_COMPARED: dict[type, tuple[str, ...]] = {}  # per derived type: the fields a signature compares


def _plan(case: Case, intervals: tuple[Interval, ...] | None = None,
          wanted: list[ev.Event] | None = None
          ) -> tuple[list[tuple[str, ev.Event]], list[ev.Event], list[ev.Event]]:
    """What reconciling the patient would do on any day: the held derived facts to retract
    (reference and fact), the derived facts to record once due (`due_on`), and all that
    follows."""
    if wanted is None:
        wanted = follows(case, intervals)
    wanted_signatures = {_signature(f) for f in wanted}
    held = {_signature(f): (r, f) for r, f in case.patient.derived}
    retract = [(r, f) for signature, (r, f) in held.items() if signature not in wanted_signatures]
    record = [f for f in wanted if _signature(f) not in held]
    return retract, record, wanted


NOW = date(1, 1, 1)
"""The due date of a retraction: due at once, whatever the day."""


def next_due(case: Case, intervals: tuple[Interval, ...] | None = None,
             wanted: list[ev.Event] | None = None) -> date | None:
    """The first day on which `reconcile` would record something for the patient (NOW if a
    retraction is owed); None if nothing will ever be due on the facts recorded so far. A tick
    on day D need only reconcile the patients whose next_due is on or before D. `wanted`:
    `follows(case)`, when the caller already has it (derived facts never change it)."""
    if not case.patient.exists:
        return None
    retract, record, _ = _plan(case, intervals, wanted)
    if retract:
        return NOW
    return min((d for d in map(due_on, record) if d is not None), default=None)


def reconcile(view: View, patient_id: str) -> Facts:
    """The derived facts to record for one patient, as of the view's today: retractions of
    those that no longer follow, then those that now follow and whose date has come."""
    case = case_of(view, patient_id)
    if not case.patient.exists:
        return []
    retract, record, wanted = _plan(case)
    stream = patient_stream(patient_id)
    out: Facts = [(stream, _retraction(case, held_ref, fact, wanted, view.today))
                  for held_ref, fact in retract]
    out += [(stream, fact) for fact in record
            if (due := due_on(fact)) is not None and due <= view.today]
    return out


def _retraction(case: Case, held_ref: str, fact: ev.Event, wanted: list[ev.Event],
                today: date) -> ev.DerivedFactRetracted:
    """Names what no longer follows, what follows instead (if anything of its kind), and the
    facts it did not rest on that the answer rests on now: those that changed it."""
    now = next((f for f in wanted if f.type == fact.type), None)
    old_basis = set(getattr(fact, "basis", ()))
    current = _current_basis(case)
    changed = [(label, r) for label, r in current if r not in old_basis]
    instead = f"; now: {describe(now)}" if now is not None else ""
    why = ", ".join(f"{label} ({r})" for label, r in changed) or "the facts it rested on"
    return ev.DerivedFactRetracted(
        patient_id=case.patient.patient_id,
        retracts=held_ref,
        retracted_on=today,
        reason=f"{describe(fact)} no longer follows{instead}; changed: {why}",
        basis=_refs(*(r for _, r in changed)) or _refs(*(r for _, r in current)),
    )


def describe(fact: ev.Event) -> str:
    """A derived fact in the words of a statement."""
    if isinstance(fact, ev.GrantCommitted):
        return f"a grant of {fact.amount} to {fact.hf_id}, due from {fact.due_from}"
    if isinstance(fact, ev.CompanyCoverageEnded):
        return f"company coverage through {fact.last_covered_on} ({fact.coverage_weeks} weeks)"
    if isinstance(fact, ev.PublicPayerTookOver):
        return f"the public payer's takeover from {fact.from_date}"
    if isinstance(fact, ev.PublicPayerStopped):
        return f"the public payer's stop after {fact.last_day}"
    return fact.type


def _current_basis(case: Case) -> list[tuple[str, str]]:
    """Every fact a patient's derived facts can rest on, with what it is."""
    p = case.patient
    out: list[tuple[str, str | None]] = [("the enrolment", p.ref)]
    out += [("the change of health trust", x.ref) for x in p.hf_periods[1:]]
    if p.started is not None:
        start = p.started.since
        grant = in_force(case.agreement.grants, start)
        coverage = in_force(case.agreement.coverage, start)
        out += [("the treatment start", p.started.ref),
                ("the agreement's grant in force", grant.ref if grant else None),
                ("the agreement's coverage in force", coverage.ref if coverage else None)]
    out += [("the 16-week assessment", p.assessment.ref if p.assessment else None),
            ("the end of treatment", p.ended.ref if p.ended else None)]
    out += [("the group exemption", x.ref) for x in case.cohort.exemptions]
    out += [("the exemption's revocation", x.revoked_ref) for x in case.cohort.exemptions]
    out += [("the permanent financing decision", x.ref) for x in case.cohort.permanent]
    seen: dict[str, str] = {}
    for label, r in out:
        if r and r not in seen:
            seen[r] = label
    return [(label, r) for r, label in seen.items()]


def _refs(*refs: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(r for r in refs if r))
