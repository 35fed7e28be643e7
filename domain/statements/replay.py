"""Statements and their restatements from a replay of facts: the ledger's log (the auditor's
tools, and the reference the read models are checked against) or a partner's bundle
(`impress-verify`), through one protocol, `Log`.

Which facts changed a patient's lines between two log positions: for each patient whose lines
changed, the streams the patient's answer depends on (the patient, its cohort, agreement,
company and drug, and the registry) are read once, up to K2, and folded once up to K1 (shared by
every patient who depends on them). Then the patient's own lines are computed as known at K1,
and again after each later fact on those streams, in log order; a fact is a cause when the
lines differ before and after it. Facts about other patients (their admission to the same
cohort, say) are skipped: they cannot change this patient's answer. Facts that changed nothing
in the period (a dispensation next year, a derived fact, which who-pays never reads) are
therefore not named. (The read models find the same facts in their bitemporal rows instead:
reports.readmodels.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from domain import state as st
from domain.derive import case_of
from domain.events import Event
from domain.statements.restate import Recorded
from domain.statements.source import Known
from domain.statements.text import LinesOf, own_lines
from domain.values import ref
from domain.workspace import REGISTRY, Workspace


@dataclass(frozen=True)
class Stored:
    fact: Recorded
    event: Event


class Log(Protocol):
    """Facts to replay, as known at any position up to the last one held."""

    @property
    def today(self) -> date: ...
    def known(self, position: int | None) -> Known:
        """Every patient's rows as known at a position (None: the last)."""
        ...
    def workspace(self, up_to: int) -> Workspace: ...
    def stream(self, stream: str, up_to: int) -> list[Stored]: ...


class History:
    """Some streams' facts up to a position, in memory."""

    def __init__(self, facts: dict[str, list[Stored]], today: date) -> None:
        self.facts = facts
        self.today = today
        self._base: dict[tuple[str, int], Any] = {}

    @classmethod
    def load(cls, log: Log, streams: Iterable[str], up_to: int) -> History:
        return cls({s: log.stream(s, up_to) for s in sorted(set(streams))}, log.today)

    def state(self, stream: str, position: int) -> Any:
        """The stream folded up to a position (kept: many patients share a cohort's stream)."""
        key = (stream, position)
        if key not in self._base:
            state = st.empty(stream)
            for s in self.facts.get(stream, ()):
                if s.fact.position <= position:
                    state = st.evolve(state, s.event, ref(stream, s.fact.version))
            self._base[key] = state
        return self._base[key]

    def after(self, position: int, streams: Iterable[str], patient_id: str) -> list[Stored]:
        """Facts on the streams after a position, in log order, except those about another
        patient (their data name a patient_id that is not this one)."""
        found = [s for name in set(streams) for s in self.facts.get(name, ())
                 if s.fact.position > position
                 and s.fact.data.get("patient_id") in (None, patient_id)]
        return sorted(found, key=lambda s: s.fact.position)


class _Held(Workspace):
    """A workspace over states already folded in memory."""

    def __init__(self, held: dict[str, Any], today: date) -> None:
        super().__init__(lambda stream: (), today)
        self._held = held

    def get(self, stream: str) -> Any:
        if stream not in self._states:
            self._states[stream] = self._held.get(stream) or st.empty(stream)
        return self._states[stream]


def streams_of(known: Iterable[Known], patient_id: str) -> set[str]:
    """The streams a patient's lines depend on, as known at any of the given positions."""
    out = {f"patient/{patient_id}", REGISTRY}
    for k in known:
        for case in k.cases:
            p = case.patient
            if p.patient_id == patient_id:
                out |= {f"cohort/{p.cohort_id}", f"agreement/{p.agreement_id}",
                        f"drug/{p.drug_id}", f"company/{case.agreement.company_id}"}
    return out


def causes(history: History, patient_id: str, streams: set[str], issued: int,
           lines_of: LinesOf) -> list[Recorded]:
    """The facts after `issued` at which the patient's lines changed."""
    states = {s: history.state(s, issued) for s in streams}
    previous = _lines(states, patient_id, issued, lines_of, history.today)
    out = []
    for s in history.after(issued, streams, patient_id):
        name = s.fact.stream
        states[name] = st.evolve(states[name], s.event, ref(name, s.fact.version))
        current = _lines(states, patient_id, s.fact.position, lines_of, history.today)
        if current != previous:
            out.append(s.fact)
        previous = current
    return out


def _lines(states: dict[str, Any], patient_id: str, position: int, lines_of: LinesOf,
           today: date) -> Any:
    """The lines about this patient alone, comparable."""
    ws = _Held(states, today)
    p = ws.patient(patient_id)
    if not p.exists:
        return []
    # With its agreement, so that a late enrolment is named for the slots it used.
    known = Known(position, (case_of(ws, patient_id),), ws, (p.agreement_id,))
    return own_lines(lines_of(known), patient_id)


class Replay:
    """Statements and their restatements from a replay (domain.statements.restate.Sources and
    domain.statements.adjustments.PatientSources)."""

    def __init__(self, log: Log) -> None:
        self.log = log

    def at(self, position: int | None) -> Known:
        return self.log.known(position)

    def patient_at(self, patient_id: str, position: int, since: int) -> Known:
        """One patient's case (and its agreement) as known at `position`."""
        ws = self.log.workspace(position)
        p = ws.patient(patient_id)
        return Known.from_workspace(ws, [patient_id], [p.agreement_id] if p.exists else [],
                                    position)

    def changed(self, before: Known, after: Known) -> set[str] | None:
        return None  # a replay compares every patient's lines

    def causes(self, patients: Sequence[str], before: Known, after: Known, lines_of: LinesOf,
               span: tuple[date, date] | None = None) -> dict[int, tuple[Recorded, set[str]]]:
        """Every fact on the patients' streams, one by one (the span narrows nothing here)."""
        streams = {p: streams_of((before, after), p) for p in patients}
        history = History.load(self.log, set().union(*streams.values()), after.position)
        found: dict[int, tuple[Recorded, set[str]]] = {}
        for p in patients:
            for fact in causes(history, p, streams[p], before.position, lines_of):
                found.setdefault(fact.position, (fact, set()))[1].add(p)
        return found
