"""The ledger application: runs commands against the event log, and answers from it.

This module and `eventstore` adapt the pure core to the store; nothing else in
`domain/` imports anything but the standard library.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import islice
from datetime import date, datetime
from zoneinfo import ZoneInfo

from domain import checks, codec
from domain import commands as c
from domain import errors as err
from domain import state as st
from domain.decide import execute, tick
from domain.events import DERIVED_TYPES, Event
from domain.financing import Case, Interval, Payer, payer_on, timeline
from domain.identity import find_national_id
from eventstore import ConcurrentModification, EventLog, NewEvent, StoredFact
from eventstore import StorageError as StorageError  # for readers that do not know the store
from domain.reference import health_trusts
from domain.values import LEDGER, Actor, ref
from application.cache import CACHE_STREAMS, Earlier, StateCache
from application.idempotency import (IdempotencyIndex, IdempotencyKeyReused, Used, fingerprint,
                                     principal)
from domain.workspace import REGISTRY, Workspace

OSLO = ZoneInfo("Europe/Oslo")


def today_in_oslo() -> date:
    return datetime.now(OSLO).date()


Authorise = Callable[[Workspace, c.Command, Actor], None]
"""Refuses (raises a `Refused`) a command the actor may not record: `access.authorise`."""
Progress = Callable[[int, int], None]
"""Told (done, total) as a batch's commands are decided."""


class CommandsRefused(Exception):
    """Several commands recorded all or nothing, and some were refused: nothing was recorded."""

    def __init__(self, refusals: list[tuple[int, err.Refused]]) -> None:
        super().__init__(f"{len(refusals)} commands refused")
        self.refusals = refusals


def _each(commands: list[c.Command], run: Callable[[c.Command], None],
          progress: Progress | None = None) -> None:
    """Run every command; one command's refusal is raised as itself, several commands' as
    CommandsRefused with every refusal (so an import lists all its bad lines). `progress(done,
    total)` hears of every hundredth command and of the last (an import's progress bar)."""
    refusals: list[tuple[int, err.Refused]] = []
    for index, command in enumerate(commands):
        if progress is not None and index % 100 == 0:
            progress(index, len(commands))
        try:
            run(command)
        except err.Refused as refusal:
            if len(commands) == 1:
                raise
            refusals.append((index, refusal))
    if progress is not None:
        progress(len(commands), len(commands))
    if refusals:
        raise CommandsRefused(refusals)


class Unattributed(err.InvalidInput):
    def __init__(self) -> None:
        super().__init__("every write needs an authenticated actor: subject, role and organisation")


Fact = StoredFact
"""A recorded fact as a receipt, a history or the log shows it (readers need not know the store)."""


@dataclass(frozen=True)
class Receipt:
    """What a command recorded: its facts, and the log position a reader can wait for."""

    position: int
    facts: tuple[StoredFact, ...]
    replayed: bool = False  # an idempotent retry: the first request's receipt, nothing new


@dataclass(frozen=True)
class Answer:
    patient_id: str
    on: date
    payer: Payer
    known_at_position: int


CATCH_UP = 2000
"""Facts a workspace applies to the cached states at most; further behind, it starts afresh."""


class Ledger:
    def __init__(self, log: EventLog, *, clock: Callable[[], date] = today_in_oslo,
                 cache_streams: int = CACHE_STREAMS, create_tables: bool = True) -> None:
        self.log = log
        self.clock = clock
        self.create_tables = create_tables
        self._keys: IdempotencyIndex | None = None
        # Folded states shared by this ledger's workspaces: each command reads what was
        # recorded since the previous one, not every stream it needs (docs/benchmarks.md).
        self.states = StateCache(cache_streams)

    @classmethod
    def open(cls, url: str, *, create_tables: bool = True,
             cache_streams: int = CACHE_STREAMS) -> Ledger:
        return cls(EventLog(url, create_tables=create_tables), create_tables=create_tables,
                   cache_streams=cache_streams)

    def close(self) -> None:
        self.log.close()

    # --- writing --------------------------------------------------------------------------

    def record(self, commands: Sequence[c.Command], actor: Actor, *,
               authorise: Authorise | None = None, idempotency: str | None = None,
               progress: Progress | None = None) -> Receipt:
        """The one write path: decide `commands` in order against the ledger as known now and
        record all their facts (and the facts they imply) at once, attributed to `actor`, or
        nothing. One command's refusal is raised as itself; several commands raise
        `CommandsRefused` with every refusal and its index. `ConcurrentModification`: nothing
        was recorded, and retrying is safe.

        `authorise(workspace, command, actor)` (e.g. `access.authorise`) refuses what the actor
        may not record; it is asked for every command before anything else, so that a replay
        answers only what the actor may record anew. `idempotency`: a key (ADR 0016's rules:
        application.idempotency); a request with a key already used by the same principal for
        the same commands returns the first receipt (`replayed`) and records nothing.
        `progress(done, total)`: told as the commands are decided (an import's progress bar)."""
        check_actor(actor)
        commands = list(commands)
        fp = fingerprint(commands) if idempotency else ""
        ws = self.workspace()
        if authorise is not None:
            _each(commands, lambda command: authorise(ws, command, actor))
        if idempotency and (replay := self._replay(actor, idempotency, fp)):
            return replay
        # one_command discards a refused command's facts and keeps the batch's
        _each(commands, lambda command: ws.one_command(partial(execute, ws, command)), progress)
        # Looked up again after reading the streams this request writes (application.idempotency).
        if idempotency and (replay := self._replay(actor, idempotency, fp)):
            return replay
        keyed = ({"idempotency_key": idempotency, "fingerprint": fp, "key_owner": principal(actor)}
                 if idempotency else None)  # the key travels with the facts, in their actor
        try:
            return self.append(ws, actor, keyed)
        except ConcurrentModification:
            if idempotency and (replay := self._replay(actor, idempotency, fp)):
                return replay
            raise

    def execute(self, command: c.Command, actor: Actor) -> Receipt:
        """`record([command], actor)`: a trusted caller's one command (no role check, no key)."""
        return self.record([command], actor)

    def refusals(self, commands: Sequence[c.Command], actor: Actor, *,
                 authorise: Authorise | None = None) -> list[tuple[int, err.Refused]]:
        """Decide every command in order as `record` would, record nothing: every refusal with
        its command's index (an import's bad lines)."""
        check_actor(actor)
        ws = self.workspace()
        found: list[tuple[int, err.Refused]] = []
        for index, command in enumerate(commands):
            try:
                if authorise is not None:
                    authorise(ws, command, actor)
                ws.one_command(partial(execute, ws, command))
            except err.Refused as refusal:
                found.append((index, refusal))
        return found

    @property
    def keys(self) -> IdempotencyIndex:
        """The idempotency keys' index over this ledger's log (made on first use)."""
        if self._keys is None:
            self._keys = IdempotencyIndex(self.log, create_table=self.create_tables)
        return self._keys

    def _replay(self, actor: Actor, key: str, fp: str) -> Receipt | None:
        used: Used | None = self.keys.lookup(actor, key)
        if used is None:
            return None
        if used.fingerprint != fp:
            raise IdempotencyKeyReused()
        facts = self.keys.facts(actor, key, used)
        return Receipt(used.last_position, tuple(facts), replayed=True)

    def tick(self, today: date | None = None, *, retries: int = 3,
             due: Callable[[date], Iterable[str]] | None = None) -> Receipt:
        """Record what the passage of time has made true. Idempotent. `due(today)`: the
        patients with something due by then (a due-date index, projections.due); without
        one, every patient is reconciled."""
        facts: list[StoredFact] = []
        self.catch_up()
        if due is not None:
            patients = list(due(today or self.clock()))
        else:
            patients = [s.partition("/")[2] for s in self.log.streams("patient/")]
        for patient_id in patients:
            for attempt in range(retries):
                # Caught up once per run (and again before a retry): a patient written to
                # meanwhile makes the append fail on its version, and is retried.
                ws = self._workspace(None, today, fresh=attempt > 0)
                tick(ws, patient_id)
                try:
                    facts += self._store(ws, LEDGER)
                    break
                except ConcurrentModification:
                    if attempt == retries - 1:
                        raise
        return Receipt(self.log.head(), tuple(facts))

    def install_reference(self, actor: Actor, on: date) -> Receipt:
        """Register the shipped health trusts that are not registered yet. Idempotent."""
        known = self.workspace().registry().trusts
        return self.record([c.RegisterHealthTrust(hf_id=hf.hf_id, name=hf.name, rhf_id=hf.rhf_id,
                                                  rhf_name=hf.rhf_name, registered_on=on)
                            for hf in health_trusts() if hf.hf_id not in known], actor)

    def append(
        self, ws: Workspace, actor: Actor, extra: dict[str, str] | None = None
    ) -> Receipt:
        """Record a decided workspace's facts atomically, attributed to `actor` (with `extra`
        fields in the actor record, e.g. an idempotency key); derived facts are the ledger's."""
        if not ws.pending:
            return Receipt(self.log.head(), ())
        stored = self._store(ws, actor, extra)
        return Receipt(max(f.position for f in stored), tuple(stored))

    def _store(
        self, ws: Workspace, actor: Actor, extra: dict[str, str] | None = None
    ) -> list[StoredFact]:
        if not ws.pending:
            return []
        new = [
            NewEvent(
                stream=p.stream,
                version=p.version,
                type=p.event.type,
                schema=p.event.schema,
                data=codec.encode(p.event),
                valid_on=p.event.valid_on,
                actor=_actor_of(p.event, actor) | (extra or {}),
            )
            for p in ws.pending
        ]
        stored = self.log.append(new)
        self.remember(stored, [p.event for p in ws.pending], ws)
        return stored

    def remember(self, stored: list[StoredFact], events: list[Event],
                 ws: Workspace | None = None) -> None:
        """Tell the cached states about facts this process has just appended (`events`: the
        appended events, in the same order; `ws`: the workspace that decided them, whose
        states they lead to), so the next command need not read them back."""
        facts = [(f.position, f.stream, f.version, (lambda e=e: e))
                 for f, e in zip(stored, events, strict=True)]
        finals = {f.stream: ws.get(f.stream) for f in stored} if ws is not None else None
        self.states.apply(facts, after=stored[0].position - 1 if stored else None,
                          finals=finals)

    # --- reading --------------------------------------------------------------------------

    def warm(self, stop: Callable[[], bool] = lambda: False) -> int:
        """Fold every stream but the patients' (the registry, companies, drugs, agreements,
        cohorts) into the cache, until `stop()` says to: what a freshly started process would
        otherwise read on its first pages (a cohorts list folds every cohort, a patient's page
        its agreement's thousands of slots). How many streams it folded."""
        ws = self.workspace()
        folded = 0
        for stream in self.log.streams(""):
            if stop():
                break
            if not stream.startswith("patient/"):
                ws.get(stream)
                folded += 1
        return folded

    def workspace(self, *, up_to: int | None = None, today: date | None = None) -> Workspace:
        """The ledger as known now, or at a position: what a command decides against."""
        return self._workspace(up_to, today)

    def _workspace(self, up_to: int | None, today: date | None, *, fresh: bool = True
                   ) -> Workspace:
        # "Now" means what is recorded by now: catch up. A past position needs no catching
        # up unless the cache is behind it (a stream it cannot answer for is read instead).
        behind = self.states.position is None or (up_to or 0) > self.states.position
        if fresh and (up_to is None or behind):
            self.catch_up()

        def load(stream: str) -> Iterator[tuple[int, Event]]:
            for fact in self.log.stream(stream, up_to=up_to):
                yield fact.version, _event(fact)

        return Workspace(load, today or self.clock(),
                         stored=lambda stream: self._stored(stream, up_to))

    def catch_up(self) -> int:
        """Apply to the cached states what was recorded since they were last brought up to
        date (by any process); returns the position they are at (the log's head)."""
        cache = self.states
        if cache.position is None:
            cache.reset(self.log.head())
        after = cache.position
        assert after is not None
        facts = list(islice(self.log.read(after=after, batch=CATCH_UP), CATCH_UP))
        if len(facts) == CATCH_UP:  # far behind: reading streams afresh is cheaper
            cache.reset(self.log.head())
        elif facts:
            cache.apply([(f.position, f.stream, f.version, partial(_event, f)) for f in facts],
                        after=after)
        assert cache.position is not None
        return cache.position

    def _stored(self, stream: str, up_to: int | None) -> object:
        """A stream's state as known at up_to (default: now), from the cache if it can."""
        state = self.states.state(stream, up_to)
        if isinstance(state, Earlier):
            assert up_to is not None
            return self._forward(stream, state, up_to)
        if state is not None:
            return state
        as_of = self.states.position
        facts = [(f.position, _event(f)) for f in self.log.stream(stream, up_to=up_to)]
        keep = up_to is None or (as_of is not None and up_to >= as_of)
        return self.states.keep(stream, facts, as_of if keep else None)

    def _forward(self, stream: str, earlier: Earlier, up_to: int) -> object:
        """A long stream as known at an earlier position: the cache's Earlier state folded
        forward with the facts after it, up to that position (fewer than cache.CHECKPOINT)."""
        state = earlier.state
        for f in self.log.stream(stream, up_to=up_to, after_version=earlier.version):
            state = st.evolve(state, _event(f), ref(stream, f.version))
        self.states.known(stream, up_to, state)
        return state

    def head(self) -> int:
        """The last position recorded (by any process)."""
        return self.log.head()

    def ready(self) -> int:
        """The log's head, read on the probe's own connection within its deadline; raises
        `StorageError` (imported from here by readers that do not know the store)."""
        return self.log.ready()

    def position(self, known_at: datetime | None = None, position: int | None = None) -> int:
        """The log position that 'as known at' means: a moment maps to the last fact recorded
        at or before it; by default, everything recorded so far."""
        if position is not None:
            return min(position, self.log.head())
        if known_at is not None:
            return self.log.position_at(known_at)
        return self.catch_up()  # the log's head, and the cached states brought up to it

    def case(self, patient_id: str, *, up_to: int | None = None) -> Case:
        ws = self.workspace(up_to=up_to)
        p = ws.patient(checks.study_id(patient_id))
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

    def cases(self, *, up_to: int | None = None) -> Iterator[Case]:
        """Every enrolled patient's case as known at a position (default: now)."""
        at = self.position(position=up_to)
        ws = self.workspace(up_to=at)
        for stream in self.log.streams("patient/"):
            p = ws.patient(stream.partition("/")[2])
            if p.exists:
                yield Case(p, ws.cohort(p.cohort_id), ws.agreement(p.agreement_id), ws.registry())

    def history(self, stream: str, *, after_version: int = 0, limit: int | None = None,
                types: Sequence[str] = ()) -> list[StoredFact]:
        """A stream's facts in version order (EventLog.stream)."""
        return self.log.stream(stream, after_version=after_version, limit=limit, types=types)

    def health_trusts_installed(self) -> bool:
        return bool(self.log.stream(REGISTRY))


def _event(fact: StoredFact) -> Event:
    return codec.decode(fact.type, fact.schema, fact.data)


def _actor_of(event: Event, actor: Actor) -> dict[str, str | None]:
    """Facts the ledger derives are the ledger's (ADR 0008), naming whose command triggered them."""
    if event.type in DERIVED_TYPES:
        return {**LEDGER.to_dict(), "request_id": actor.request_id, "triggered_by": actor.subject}
    return actor.to_dict()


def check_actor(actor: Actor) -> None:
    """Every write is attributed: subject, role and organisation, and no identity numbers."""
    if not (actor.subject and actor.role and actor.organisation):
        raise Unattributed()
    found = find_national_id(actor)
    if found is not None:
        raise err.NationalIdRefused(f"actor.{found}")
