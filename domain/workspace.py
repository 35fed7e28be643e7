"""A command's view of the ledger: the streams it reads, and the facts it is about to record.

The workspace reads streams through a loader (the event store in production, a list in tests),
folds them with `evolve`, and keeps the new facts in memory. Nothing reaches the store unless
the whole command succeeds: a refused command is simply dropped with its workspace.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from domain import state as st
from domain.events import Event
from domain.values import ref

Loader = Callable[[str], Iterable[tuple[int, Event]]]
"""Given a stream name, its recorded facts as (version, event) in version order."""


@dataclass(frozen=True)
class Pending:
    stream: str
    version: int
    event: Event


class Workspace:
    def __init__(self, load: Loader, today: date) -> None:
        self._load = load
        self.today = today
        self._states: dict[str, Any] = {}
        self.pending: list[Pending] = []

    def get(self, stream: str) -> Any:
        if stream not in self._states:
            state = st.empty(stream)
            for version, event in self._load(stream):
                state = st.evolve(state, event, ref(stream, version))
            self._states[stream] = state
        return self._states[stream]

    def record(self, stream: str, event: Event) -> str:
        """Add a fact to record; later reads in this workspace see it. Returns its reference."""
        current = self.get(stream)
        version = current.version + 1
        self._states[stream] = st.evolve(current, event, ref(stream, version))
        self.pending.append(Pending(stream, version, event))
        return ref(stream, version)

    def touched(self, kind: str) -> list[str]:
        """Identifiers of the streams of one kind this command wrote to, in first-write order."""
        seen: list[str] = []
        for p in self.pending:
            k, _, identifier = p.stream.partition("/")
            if k == kind and identifier not in seen:
                seen.append(identifier)
        return seen

    # typed shortcuts
    def registry(self) -> st.Registry:
        return self.get(REGISTRY)

    def company(self, company_id: str) -> st.Company:
        return self.get(f"company/{company_id}")

    def drug(self, drug_id: str) -> st.Drug:
        return self.get(f"drug/{drug_id}")

    def agreement(self, agreement_id: str) -> st.Agreement:
        return self.get(f"agreement/{agreement_id}")

    def cohort(self, cohort_id: str) -> st.Cohort:
        return self.get(f"cohort/{cohort_id}")

    def patient(self, patient_id: str) -> st.Patient:
        return self.get(f"patient/{patient_id}")


REGISTRY = "registry/health-trusts"


def stream_of(kind: str, identifier: str) -> str:
    return REGISTRY if kind == "registry" else f"{kind}/{identifier}"
