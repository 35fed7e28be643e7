"""The ledger's cache of folded states: shared by the workspaces of one ledger in one process,
so a command reads only what was recorded since the last one (docs/benchmarks.md)."""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from domain import state as st
from domain.events import Event
from domain.values import ref


CACHE_STREAMS = 20_000
"""Patient streams a ledger holds by default (IMPRESS_CACHE_STREAMS): about 2.5 KB each. A
national history (bench M: 100 000 patients over five years) touches about 20 000 distinct
patients between two commands on the same one: fewer held, and most commands read their
patient again (docs/reliability.md)."""

CHECKPOINT = 64
"""Versions between the states a long stream keeps, for answers as known at earlier positions."""

Fact = tuple[int, str, int, Callable[[], Event]]
"""A recorded fact as the cache takes it: (position, stream, version, its event on demand)."""


@dataclass(frozen=True)
class Earlier:
    """A long stream's state as known at an earlier position than the cache can answer from
    memory: the last state it keeps at or before that position, and its version. The facts
    after that version, up to the position (fewer than CHECKPOINT), are the caller's to read
    and fold (the cache does no I/O), and `StateCache.known` to hand back."""

    state: Any
    version: int


class _Held:
    """One stream's folded state, and the position of its last fact (0: none). Long streams
    (all but patients) also keep a state every CHECKPOINT versions with its position, so that
    their state at an earlier position costs a read of fewer than CHECKPOINT facts. Not the
    facts themselves: held memory is the states', which commands need anyway."""

    __slots__ = ("state", "last", "marks", "memo")

    def __init__(self, stream: str) -> None:
        self.state: Any = st.empty(stream)
        self.last = 0
        long = not stream.startswith("patient/")
        # (position, state) at versions 0, CHECKPOINT, 2 * CHECKPOINT...: long streams only
        self.marks: list[tuple[int, Any]] | None = [(0, self.state)] if long else None
        self.memo: tuple[int, Any] | None = None  # the last earlier state asked for: (at, state)

    def extend(self, stream: str, position: int, event: Event) -> None:
        version = self.state.version + 1
        self.state = st.evolve(self.state, event, ref(stream, version))
        self.last = position
        if self.marks is not None and version % CHECKPOINT == 0:
            self.marks.append((position, self.state))

    def at(self, position: int) -> Any | Earlier | None:
        """The state as known at a position (at most the cache's): itself, or the Earlier state
        to fold forward; None (a patient) if the store must be read."""
        if self.last <= position:
            return self.state
        if self.marks is None:
            return None
        if self.memo is not None and self.memo[0] == position:  # questions come in runs
            return self.memo[1]
        index = bisect_right(self.marks, position, key=itemgetter(0)) - 1
        return Earlier(self.marks[index][1], index * CHECKPOINT)


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

    def __init__(self, limit: int = CACHE_STREAMS) -> None:
        self.limit = limit
        self.position: int | None = None  # None: nothing known yet
        self._held: dict[str, _Held] = {}
        self._patients: OrderedDict[str, None] = OrderedDict()  # recency order
        self._lock = threading.Lock()

    def sizes(self) -> dict[str, int]:
        """What is held: patient streams, long streams, and the states the long streams keep
        for answers as known at earlier positions."""
        with self._lock:
            return {"patients": len(self._patients),
                    "long": len(self._held) - len(self._patients),
                    "marks": sum(len(h.marks) for h in self._held.values() if h.marks)}

    def reset(self, position: int) -> None:
        """Forget every state: the cache starts again at `position` (the log's head)."""
        with self._lock:
            self._held.clear()
            self._patients.clear()
            self.position = position

    def state(self, stream: str, up_to: int | None = None) -> Any | Earlier | None:
        """The latest state held (up_to None), or the state as known at up_to, or the Earlier
        state of a long stream to fold forward to it; None when the store must be read."""
        with self._lock:
            held = self._held.get(stream)
            if held is None or self.position is None:
                return None
            if stream in self._patients:
                self._patients.move_to_end(stream)
            if up_to is None:
                return held.state
            return held.at(up_to) if up_to <= self.position else None

    def known(self, stream: str, at: int, state: Any) -> None:
        """The state of a long stream as known at an earlier position `at`, folded forward from
        its Earlier state: kept for the next question as known at the same position (one per
        stream)."""
        with self._lock:
            held = self._held.get(stream)
            if held is not None and held.marks is not None:
                held.memo = (at, state)

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
                if held.marks is None:
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
                elif held.marks is None and stream in last:
                    held.state, held.last = finals[stream], last[stream]  # type: ignore[index]
                else:
                    held.extend(stream, position, event())
            if facts and after is not None and self.position is not None and after <= self.position:
                self.position = max(self.position, facts[-1][0])
