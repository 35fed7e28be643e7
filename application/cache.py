"""The ledger's cache of folded states: shared by the workspaces of one ledger in one process,
so a command reads only what was recorded since the last one (docs/benchmarks.md)."""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from domain import state as st
from domain.events import Event
from domain.values import ref


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
