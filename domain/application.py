"""The ledger application: runs commands against the event log, and answers from it.

This module and `domain.persistence` adapt the pure core to the store; nothing else in
`domain/` imports anything but the standard library.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from domain import codec
from domain import commands as c
from domain import errors as err
from domain.decide import execute, tick
from domain.events import Event
from domain.financing import Case, Interval, Payer, payer_on, timeline
from domain.identity import find_national_id
from domain.persistence import ConcurrentModification, EventLog, NewEvent, StoredFact
from domain.reference import health_trusts
from domain.values import LEDGER, Actor
from domain.workspace import REGISTRY, Workspace

OSLO = ZoneInfo("Europe/Oslo")


def today_in_oslo() -> date:
    return datetime.now(OSLO).date()


class Unattributed(err.InvalidInput):
    def __init__(self) -> None:
        super().__init__("every write needs an authenticated actor: subject, role and organisation")


@dataclass(frozen=True)
class Receipt:
    """What a command recorded: its facts, and the log position a reader can wait for."""

    position: int
    facts: tuple[StoredFact, ...]


@dataclass(frozen=True)
class Answer:
    patient_id: str
    on: date
    payer: Payer
    known_at_position: int


class Ledger:
    def __init__(self, log: EventLog, *, clock: Callable[[], date] = today_in_oslo) -> None:
        self.log = log
        self.clock = clock

    @classmethod
    def open(cls, url: str, *, create_tables: bool = True) -> Ledger:
        return cls(EventLog(url, create_tables=create_tables))

    def close(self) -> None:
        self.log.close()

    # --- writing --------------------------------------------------------------------------

    def execute(self, command: c.Command, actor: Actor) -> Receipt:
        """Decide and record a command atomically; raises `Refused` or `ConcurrentModification`
        (then nothing was recorded, and retrying the same command is safe)."""
        _check_actor(actor)
        ws = self.workspace()
        execute(ws, command)
        return self._append(ws, actor)

    def tick(self, today: date | None = None, *, retries: int = 3) -> Receipt:
        """Record what the passage of time has made true, for every patient. Idempotent."""
        facts: list[StoredFact] = []
        for stream in self.log.streams("patient/"):
            patient_id = stream.partition("/")[2]
            for attempt in range(retries):
                ws = self.workspace(today=today)
                tick(ws, patient_id)
                try:
                    facts += self._append(ws, LEDGER).facts
                    break
                except ConcurrentModification:
                    if attempt == retries - 1:
                        raise
        return Receipt(self.log.head(), tuple(facts))

    def install_reference(self, actor: Actor, on: date) -> Receipt:
        """Register the shipped health trusts that are not registered yet. Idempotent."""
        ws = self.workspace()
        known = ws.registry().trusts
        for hf in health_trusts():
            if hf.hf_id not in known:
                execute(
                    ws,
                    c.RegisterHealthTrust(
                        hf_id=hf.hf_id,
                        name=hf.name,
                        rhf_id=hf.rhf_id,
                        rhf_name=hf.rhf_name,
                        registered_on=on,
                    ),
                )
        return self._append(ws, actor)

    def _append(self, ws: Workspace, actor: Actor) -> Receipt:
        if not ws.pending:
            return Receipt(self.log.head(), ())
        new = [
            NewEvent(
                stream=p.stream,
                version=p.version,
                type=p.event.type,
                schema=p.event.schema,
                data=codec.encode(p.event),
                valid_on=p.event.valid_on,
                actor=actor.to_dict(),
            )
            for p in ws.pending
        ]
        stored = self.log.append(new)
        return Receipt(max(f.position for f in stored), tuple(stored))

    # --- reading --------------------------------------------------------------------------

    def workspace(self, *, up_to: int | None = None, today: date | None = None) -> Workspace:
        def load(stream: str) -> Iterator[tuple[int, Event]]:
            for fact in self.log.stream(stream, up_to=up_to):
                yield fact.version, codec.decode(fact.type, fact.schema, fact.data)

        return Workspace(load, today or self.clock())

    def position(self, known_at: datetime | None = None, position: int | None = None) -> int:
        """The log position that 'as known at' means: a moment maps to the last fact recorded
        at or before it; by default, everything recorded so far."""
        if position is not None:
            return min(position, self.log.head())
        if known_at is not None:
            return self.log.position_at(known_at)
        return self.log.head()

    def case(self, patient_id: str, *, up_to: int | None = None) -> Case:
        ws = self.workspace(up_to=up_to)
        p = ws.patient(patient_id)
        if not p.exists:
            raise err.UnknownPatient(patient_id)
        return Case(p, ws.cohort(p.cohort_id), ws.agreement(p.agreement_id), ws.registry())

    def who_pays(
        self,
        patient_id: str,
        on: date,
        *,
        known_at: datetime | None = None,
        position: int | None = None,
    ) -> Answer:
        at = self.position(known_at, position)
        return Answer(patient_id, on, payer_on(self.case(patient_id, up_to=at), on), at)

    def timeline(
        self, patient_id: str, *, known_at: datetime | None = None, position: int | None = None
    ) -> tuple[Interval, ...]:
        return timeline(self.case(patient_id, up_to=self.position(known_at, position)))

    def history(self, stream: str) -> list[StoredFact]:
        return self.log.stream(stream)

    def health_trusts_installed(self) -> bool:
        return bool(self.log.stream(REGISTRY))


def _check_actor(actor: Actor) -> None:
    if not (actor.subject and actor.role and actor.organisation):
        raise Unattributed()
    found = find_national_id(actor)
    if found is not None:
        from domain.decide import NationalIdRefused

        raise NationalIdRefused(f"actor.{found}")
