"""A command's view of the ledger: the streams it reads, and the facts it is about to record.

The workspace reads streams through a loader (the event store in production, a list in tests),
folds them with `evolve`, and keeps the new facts in memory. It is the `View` deciders read;
`domain.decide.execute` records what they return into it. Nothing reaches the store unless
the whole command succeeds: a refused command is simply dropped with its workspace.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import cast

from domain import state as st
from domain.events import Event
from domain.values import ref
from domain.view import REGISTRY, Facts

__all__ = ["REGISTRY", "Loader", "Pending", "Workspace", "stream_of"]

Loader = Callable[[str], Iterable[tuple[int, Event]]]
"""Given a stream name, its recorded facts as (version, event) in version order."""


@dataclass(frozen=True)
class Pending:
    stream: str
    version: int
    event: Event


class Workspace:
    def __init__(self, load: Loader, today: date, *,
                 stored: Callable[[str], object] | None = None) -> None:
        """`load` gives a stream's facts; `stored`, if given, gives its folded state instead
        (the ledger's cache of folded states, which spares folding long streams per command)."""
        self._load = load
        self._stored = stored
        self.today = today
        self._states: dict[str, st.AnyState] = {}
        self.pending: list[Pending] = []

    def get(self, stream: str) -> st.AnyState:
        if stream not in self._states:
            self._states[stream] = self._fold_stored(stream)
        return self._states[stream]

    def record(self, stream: str, event: Event) -> str:
        """Add a fact to record; later reads in this workspace see it. Returns its reference."""
        current = self.get(stream)
        version = current.version + 1
        self._states[stream] = st.evolve(current, event, ref(stream, version))
        self.pending.append(Pending(stream, version, event))
        return ref(stream, version)

    def record_all(self, facts: Facts) -> None:
        for stream, event in facts:
            self.record(stream, event)

    def one_command(self, run: Callable[[], None]) -> None:
        """Run one command of a batch so that, while it runs, `pending` holds only its own
        facts: what a command affects is worked out from what it recorded, not from what the
        commands before it in the batch did (reconciling those again records nothing, but made
        a batch quadratic). If it raises, its facts are discarded and the batch's kept."""
        done, self.pending = self.pending, []
        try:
            run()
        except BaseException:
            self.pending = done + self.pending
            self.discard_after(len(done))
            raise
        done.extend(self.pending)
        self.pending = done

    def discard_after(self, mark: int) -> None:
        """Forget the facts recorded after `mark` pending facts (a refused command in a batch):
        the affected streams are folded again from the store and the remaining pending facts."""
        dropped = {p.stream for p in self.pending[mark:]}
        self.pending = self.pending[:mark]
        for stream in dropped:
            self._states.pop(stream, None)
        for p in self.pending:
            if p.stream in dropped:
                if p.stream not in self._states:
                    self._states[p.stream] = self._fold_stored(p.stream)
                self._states[p.stream] = st.evolve(
                    self._states[p.stream], p.event, ref(p.stream, p.version)
                )

    def _fold_stored(self, stream: str) -> st.AnyState:
        if self._stored is not None:
            return cast(st.AnyState, self._stored(stream))
        state = st.empty(stream)
        for version, event in self._load(stream):
            state = st.evolve(state, event, ref(stream, version))
        return state

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
        return cast(st.Registry, self.get(REGISTRY))

    def company(self, company_id: str) -> st.Company:
        return cast(st.Company, self.get(f"company/{company_id}"))

    def drug(self, drug_id: str) -> st.Drug:
        return cast(st.Drug, self.get(f"drug/{drug_id}"))

    def agreement(self, agreement_id: str) -> st.Agreement:
        return cast(st.Agreement, self.get(f"agreement/{agreement_id}"))

    def cohort(self, cohort_id: str) -> st.Cohort:
        return cast(st.Cohort, self.get(f"cohort/{cohort_id}"))

    def patient(self, patient_id: str) -> st.Patient:
        return cast(st.Patient, self.get(f"patient/{patient_id}"))

    def book(self, stream: str) -> st.StatementBook:
        """A scope's statements and closed periods (domain.books.BookKey.stream)."""
        return cast(st.StatementBook, self.get(stream))



def stream_of(kind: str, identifier: str) -> str:
    return REGISTRY if kind == "registry" else f"{kind}/{identifier}"
