"""A command's view of the ledger: the streams it reads, and the facts it is about to record.

The workspace reads streams through a loader (the event store in production, a list in tests),
folds them with `evolve`, and keeps the new facts in memory. Nothing reaches the store unless
the whole command succeeds: a refused command is simply dropped with its workspace.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
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
    def __init__(self, load: Loader, today: date, *, stored: Callable[[str], Any] | None = None
                 ) -> None:
        """`load` gives a stream's facts; `stored`, if given, gives its folded state instead
        (the ledger's cache of folded states, which spares folding long streams per command)."""
        self._load = load
        self._stored = stored
        self.today = today
        self._states: dict[str, Any] = {}
        self.pending: list[Pending] = []

    def get(self, stream: str) -> Any:
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

    def _fold_stored(self, stream: str) -> Any:
        if self._stored is not None:
            return self._stored(stream)
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


# --- the ledger's cache of folded states ----------------------------------------------------

CHECKPOINT = 64
"""Versions between the states a long stream keeps, for answers as known at earlier positions."""

Fact = tuple[int, str, int, Callable[[], Event]]
"""A recorded fact as the cache takes it: (position, stream, version, its event on demand)."""


class _Held:
    """One stream's folded state, and the position of its last fact (0: none). Long streams
    (all but patients) also keep every fact (position, event) and a state every CHECKPOINT
    versions, so their state at an earlier position costs no read and few evolves."""

    __slots__ = ("state", "last", "positions", "events", "checkpoints", "memo")

    def __init__(self, stream: str) -> None:
        self.state: Any = st.empty(stream)
        self.last = 0
        long = not stream.startswith("patient/")
        self.positions: list[int] | None = [] if long else None
        self.events: list[Event] = []
        self.checkpoints: list[Any] = [self.state] if long else []
        self.memo: tuple[int, Any] = (0, self.state)  # the last earlier state asked for

    def extend(self, stream: str, position: int, event: Event) -> None:
        version = self.state.version + 1
        self.state = st.evolve(self.state, event, ref(stream, version))
        self.last = position
        if self.positions is not None:
            self.positions.append(position)
            self.events.append(event)
            if version % CHECKPOINT == 0:
                self.checkpoints.append(self.state)

    def at(self, stream: str, position: int) -> Any | None:
        """The state as known at a position (at most the cache's), if derivable in memory."""
        if self.last <= position:
            return self.state
        if self.positions is None:
            return None
        version = bisect_right(self.positions, position)
        if self.memo[0] == version:  # questions as known at one moment come in runs
            return self.memo[1]
        base = version // CHECKPOINT
        state = self.checkpoints[base]
        for v in range(base * CHECKPOINT, version):
            state = st.evolve(state, self.events[v], ref(stream, v + 1))
        self.memo = (version, state)
        return state


class StateCache:
    """Folded states of streams, shared by the workspaces of one ledger in one process, so a
    command reads only what was recorded since the last one instead of every stream it needs.

    Invariant: a held state includes every fact of its stream recorded at or before
    `position` (it may include later ones). Facts recorded after `position` are applied in log
    order by `apply`; a state is therefore exact as known at any p with last fact <= p <=
    position. Thread-safe. Holds every long stream (registry, companies, drugs, agreements,
    cohorts: few, and an agreement's is long, so reading one again costs most) and at most
    `limit` patient streams, dropping the least recently used; limit 0 holds nothing.
    """

    def __init__(self, limit: int = 20_000) -> None:
        self.limit = limit
        self.position: int | None = None  # None: nothing known yet
        self._held: dict[str, _Held] = {}
        self._patients: OrderedDict[str, None] = OrderedDict()  # recency order
        self._lock = threading.Lock()

    def reset(self, position: int) -> None:
        """Forget every state: the cache starts again at `position` (the log's head)."""
        with self._lock:
            self._held.clear()
            self._patients.clear()
            self.position = position

    def state(self, stream: str, up_to: int | None = None) -> Any | None:
        """The latest state held (up_to None), or the state as known at up_to; None when the
        store must be read."""
        with self._lock:
            held = self._held.get(stream)
            if held is None or self.position is None:
                return None
            if stream in self._patients:
                self._patients.move_to_end(stream)
            if up_to is None:
                return held.state
            return held.at(stream, up_to) if up_to <= self.position else None

    def keep(self, stream: str, facts: Iterable[tuple[int, Event]], as_of: int | None) -> Any:
        """Fold a stream read from the store (every fact up to at least `as_of`, the cache's
        position before the read) and hold it, unless facts were applied since. Its state."""
        held = _Held(stream)
        for position, event in facts:
            held.extend(stream, position, event)
        with self._lock:
            if (self.limit > 0 and as_of is not None and self.position == as_of
                    and stream not in self._held):
                self._held[stream] = held
                if held.positions is None:
                    self._patients[stream] = None
                    while len(self._patients) > self.limit:
                        del self._held[self._patients.popitem(last=False)[0]]
        return held.state

    def apply(self, facts: Sequence[Fact], *, after: int | None,
              finals: dict[str, Any] | None = None) -> None:
        """Apply recorded facts, in log order, to the streams held. `after`: the facts are all
        those recorded after that position (None: not known), so if it is not beyond the
        cache's position, the last of them becomes the position. `finals`: the states the
        facts lead to, by stream, if known (a workspace's, after its append), so patient
        streams need not be folded again."""
        last = {stream: position for position, stream, _, _ in facts} if finals else {}
        with self._lock:
            for position, stream, version, event in facts:
                held = self._held.get(stream)
                if held is None or version <= held.state.version:
                    continue
                if version != held.state.version + 1:  # a gap: read the stream when needed
                    del self._held[stream]
                    self._patients.pop(stream, None)
                elif held.positions is None and stream in last:
                    held.state, held.last = finals[stream], last[stream]  # type: ignore[index]
                else:
                    held.extend(stream, position, event())
            if facts and after is not None and self.position is not None and after <= self.position:
                self.position = max(self.position, facts[-1][0])
