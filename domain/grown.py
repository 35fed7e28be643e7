"""Append-only sequences for what a state gains one of per enrolment (ADR 0025).

A cohort's stream holds one PatientAdmitted per enrolment, an agreement's one PatientSlotUsed:
tens of thousands nationally, and the ledger's cache holds both streams whole. With a tuple
copied at every fact, folding them was quadratic, and so was the memory of the states the
cache keeps every 64 versions; with one object per enrolment (a dataclass, a string per
patient id, a date) they cost some 400 bytes an enrolment. So successive states share one
packed column (`Grown`): each state sees its column's first `n` items, and only a state
extended a second time with another item (a branch) copies its prefix. A column packs its
items (patient ids as bytes, dates as day ordinals, stages as bytes) and makes the objects
when read.
"""

from __future__ import annotations

import threading
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Generic, Protocol, Self, TypeVar, overload

T = TypeVar("T")


class Column(Protocol[T]):
    """Where a Grown keeps its items: appended to, read by index, copied by prefix."""

    def __len__(self) -> int: ...
    def __getitem__(self, i: int) -> T: ...
    def append(self, item: T) -> None: ...
    def head(self, n: int) -> Column[T]: ...
    def upto(self, n: int) -> Iterator[T]: ...


class Objects(Generic[T]):
    """Any items, as a list of them."""

    __slots__ = ("_items",)

    def __init__(self, items: list[T] | None = None) -> None:
        self._items = items if items is not None else []

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i: int) -> T:
        return self._items[i]

    def append(self, item: T) -> None:
        self._items.append(item)

    def head(self, n: int) -> Objects[T]:
        return Objects(self._items[:n])

    def upto(self, n: int) -> Iterator[T]:
        return iter(self._items[:n])


class Texts:
    """Strings as their UTF-8 bytes end to end, with where each ends: a patient id
    ("IMP-000123") takes 14 bytes instead of a string object's 59 and a pointer's 8."""

    __slots__ = ("_data", "_ends")

    def __init__(self) -> None:
        self._data = bytearray()
        self._ends = array("I")  # 32 bits on every platform CPython runs on: 4 GB of ids

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, i: int) -> str:
        start = self._ends[i - 1] if i else 0
        return self._data[start:self._ends[i]].decode()

    def append(self, item: str) -> None:
        self._data += item.encode()  # the bytes first: a reader of item i < n never waits
        self._ends.append(len(self._data))

    def head(self, n: int) -> Texts:
        copy = Texts()
        copy._data = self._data[:self._ends[n - 1] if n else 0]
        copy._ends = self._ends[:n]
        return copy

    def upto(self, n: int) -> Iterator[str]:
        start = 0
        for end in self._ends[:n]:
            yield self._data[start:end].decode()
            start = end


class Days:
    """Dates as their proleptic ordinals (4 bytes each instead of a date object's 32 and a
    pointer's 8)."""

    __slots__ = ("ordinals",)

    def __init__(self) -> None:
        self.ordinals = array("i")  # 32 bits; the last ordinal, of 9999-12-31, is 3 652 059

    def __len__(self) -> int:
        return len(self.ordinals)

    def __getitem__(self, i: int) -> date:
        return date.fromordinal(self.ordinals[i])

    def append(self, item: date) -> None:
        self.ordinals.append(item.toordinal())

    def head(self, n: int) -> Days:
        copy = Days()
        copy.ordinals = self.ordinals[:n]
        return copy

    def upto(self, n: int) -> Iterator[date]:
        return map(date.fromordinal, self.ordinals[:n])


@dataclass(frozen=True, slots=True)
class Admission:
    """A place in a cohort that went to a patient: the stage recorded at enrolment."""

    patient_id: str
    stage: int
    enrolled_on: date


class Places:
    """Admissions as three columns: patient ids, stages (one byte), enrolment dates."""

    __slots__ = ("ids", "stages", "days")

    def __init__(self) -> None:
        self.ids, self.stages, self.days = Texts(), array("B"), Days()

    def __len__(self) -> int:
        return len(self.stages)

    def __getitem__(self, i: int) -> Admission:
        return Admission(self.ids[i], self.stages[i], self.days[i])

    def append(self, item: Admission) -> None:
        self.ids.append(item.patient_id)
        self.days.append(item.enrolled_on)
        self.stages.append(item.stage)  # the last: its length is the column's

    def head(self, n: int) -> Places:
        copy = Places()
        copy.ids, copy.stages, copy.days = self.ids.head(n), self.stages[:n], self.days.head(n)
        return copy

    def upto(self, n: int) -> Iterator[Admission]:
        return map(Admission, self.ids.upto(n), self.stages[:n], self.days.upto(n))


class Grown(Sequence[T]):
    """An immutable sequence that grows by one in constant time, sharing its column with the
    states it grew from and into (see the module's docstring)."""

    __slots__ = ("_items", "_n")
    _lock = threading.Lock()  # check-then-append must not interleave between threads

    def __init__(self, items: Iterable[T] = ()) -> None:
        self._items: Column[T] = self._column()
        for item in items:
            self._items.append(item)
        self._n = len(self._items)

    def _column(self) -> Column[T]:
        return Objects()

    def plus(self, item: T) -> Self:
        with Grown._lock:
            items = self._items
            if len(items) == self._n:
                items.append(item)
            elif items[self._n] != item:  # a branch: its own copy of the prefix
                items = items.head(self._n)
                items.append(item)
            # else the same item was appended on another path (a workspace and the ledger's
            # cache fold the same fact): both share the column, copied at every fact before
        grown = type(self).__new__(type(self))
        grown._items, grown._n = items, self._n + 1
        return grown

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, i: int) -> T: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[T]: ...
    def __getitem__(self, i: int | slice) -> T | Sequence[T]:
        if isinstance(i, slice):
            return tuple(self)[i]
        if not -self._n <= i < self._n:
            raise IndexError(i)
        return self._items[i % self._n]

    def __iter__(self) -> Iterator[T]:
        return self._items.upto(self._n)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Grown):
            return self._n == other._n and tuple(self) == tuple(other)
        if isinstance(other, tuple):
            return tuple(self) == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self)!r})"


class GrownTexts(Grown[str]):
    """Patient ids, packed (Texts)."""

    __slots__ = ()

    def _column(self) -> Column[str]:
        return Texts()


class GrownDays(Grown[date]):
    """Dates, packed (Days), which rules count without making them."""

    __slots__ = ()

    def _column(self) -> Column[date]:
        return Days()

    def count_before(self, until: date) -> int:
        """How many are before a date."""
        limit = until.toordinal()
        return sum(1 for d in self._ordinals() if d < limit)

    def _ordinals(self) -> array[int]:
        column = self._items
        assert isinstance(column, Days)
        return column.ordinals[:self._n]


class Admissions(Grown[Admission]):
    """A cohort's admissions, packed (Places): counted by stage and searched by date without
    making an object per admission; the patients are named only when a rule refuses."""

    __slots__ = ()

    def _column(self) -> Column[Admission]:
        return Places()

    def _places(self) -> Places:
        column = self._items
        assert isinstance(column, Places)
        return column

    def count_in(self, stages: Iterable[int]) -> int:
        """How many were admitted in one of the stages."""
        held = self._places().stages[:self._n]
        return sum(held.count(stage) for stage in set(stages))

    def by_stage(self) -> dict[int, int]:
        """How many were admitted in each stage."""
        return dict(sorted(Counter(self._places().stages[:self._n]).items()))

    def in_stages(self, stages: Iterable[int]) -> list[Admission]:
        wanted = set(stages)
        return [a for a in self if a.stage in wanted]

    def enrolled_from(self, on: date) -> list[Admission]:
        """Those enrolled on or after a date, in recording order."""
        limit, places = on.toordinal(), self._places()
        ordinals = places.days.ordinals[:self._n]
        return [places[i] for i, d in enumerate(ordinals) if d >= limit]
