"""A bundle's facts as a log to replay (domain.statements.replay.Log): folded with the ledger's own
`evolve`, as known at any position, so that `impress-verify` builds the statement again with the
code the server built it with."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from operator import attrgetter
from typing import Any

from domain import codec
from domain.books import BookKey
from domain.events import Event
from domain.state import StatementBook
from domain.statements.periods import NO_BOOK
from domain.statements.replay import Stored
from domain.statements.source import BundleKnown, Known
from domain.workspace import Workspace


@dataclass(frozen=True)
class BundleFact:
    """A fact of a bundle, from its canonical object (domain.chain)."""

    position: int
    stream: str
    version: int
    type: str
    schema: int
    data: Mapping[str, Any]
    valid_on: date | None
    recorded_at: datetime
    actor: Mapping[str, Any]

    @classmethod
    def of(cls, canonical: Mapping[str, Any]) -> BundleFact:
        valid_on = canonical["valid_on"]
        return cls(canonical["position"], canonical["stream"], canonical["version"],
                   canonical["type"], canonical["schema"], canonical["data"],
                   date.fromisoformat(valid_on) if valid_on is not None else None,
                   datetime.fromisoformat(canonical["recorded_at"]).astimezone(UTC),
                   canonical["actor"])

    @property
    def ref(self) -> str:
        return f"{self.stream}@{self.version}"

    def event(self) -> Event:
        """The fact as the ledger's domain event; ValueError if it is not one."""
        try:
            return codec.decode(self.type, self.schema, dict(self.data))
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise ValueError(f"{self.ref} ({self.type}) is not a fact the ledger records: "
                             f"{type(e).__name__}: {e}") from None


class BundleLog:
    """The facts of a bundle, by stream in version order."""

    def __init__(self, facts: list[BundleFact], moments: Mapping[int, datetime],
                 today: date) -> None:
        self.today = today
        self._moments = dict(moments)
        self._at = {f.position: f for f in facts}
        self._streams: dict[str, list[Stored]] = {}
        for f in sorted(facts, key=attrgetter("stream", "version")):
            self._streams.setdefault(f.stream, []).append(Stored(f, f.event()))
        self.missing: set[int] = set()  # positions whose recorded time was asked for, unknown
        self._known: dict[int, Known] = {}

    @property
    def streams(self) -> dict[str, list[Stored]]:
        return self._streams

    def stream(self, stream: str, up_to: int) -> list[Stored]:
        return [s for s in self._streams.get(stream, ()) if s.fact.position <= up_to]

    def workspace(self, up_to: int) -> Workspace:
        def load(stream: str) -> Iterator[tuple[int, Event]]:
            return ((s.fact.version, s.event) for s in self.stream(stream, up_to))

        return Workspace(load, self.today)

    def known(self, position: int | None) -> Known:
        """Every patient's rows as known at a position (kept: a statement and its checks ask
        for the same position more than once)."""
        at = position if position is not None else max(self._at, default=0)
        if at not in self._known:
            self._known[at] = BundleKnown.from_workspace(self.workspace(at), self._ids("patient/"),
                                                   self._ids("agreement/"), at,
                                                   self.recorded_at(at))
        return self._known[at]

    def recorded_at(self, position: int) -> datetime | None:
        fact = self._at.get(position)
        if fact is not None:
            return fact.recorded_at
        if position not in self._moments:
            self.missing.add(position)
        return self._moments.get(position)

    def _ids(self, prefix: str) -> list[str]:
        return [s.partition("/")[2] for s in self._streams if s.startswith(prefix)]


class BundleBooks:
    """The scopes' books as a bundle's facts hold them (domain.statements.periods.Books)."""

    def __init__(self, log: BundleLog) -> None:
        self.log = log

    def at(self, key: BookKey | None, position: int) -> StatementBook:
        if key is None:
            return NO_BOOK
        return self.log.workspace(position).book(key.stream)
