"""The API's use of the ledger: recording commands for an authenticated actor, with idempotency
keys and tenancy, and the views reads are filtered through.

`Ledger.execute`/`execute_all` are followed step by step here (workspace, decide,
`Ledger.append`) rather than called, because the idempotency key must be looked up again between
deciding and appending (see application.idempotency) and is written with the facts, in their actor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from application import access
from application.idempotency import (
    IdempotencyIndex,
    IdempotencyKeyReused,
    Used,
    fingerprint,
    principal,
)
from domain import commands as c
from domain import errors as err
from application.ledger import Ledger, Receipt, check_actor
from domain.decide import execute
from eventstore import ConcurrentModification
from domain.values import Actor
from domain.workspace import Workspace


Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Recorded:
    receipt: Receipt
    replayed: bool = False


class Forbidden(err.Refused):
    """A line of an import that the importing role may not record."""

    code = "forbidden"
    kind = "forbidden"


class ImportRefused(Exception):
    def __init__(self, refusals: list[tuple[int, err.Refused]]) -> None:
        super().__init__(f"{len(refusals)} commands refused")
        self.refusals = refusals


class Service:
    def __init__(self, ledger: Ledger, index: IdempotencyIndex) -> None:
        self.ledger = ledger
        self.index = index

    # --- writing --------------------------------------------------------------------------

    def execute(self, command: c.Command, actor: Actor, key: str | None = None) -> Recorded:
        """One command; raises its refusal, or ConcurrentModification (nothing recorded)."""
        return self._record([command], actor, key, batch=False)

    def execute_all(self, commands: list[c.Command], actor: Actor,
                    key: str | None = None, progress: Progress | None = None) -> Recorded:
        """All or nothing: raises ImportRefused with every refused command's index.
        `progress(done, total)` hears of each command decided (an import's progress bar)."""
        return self._record(commands, actor, key, batch=True, progress=progress)

    def check_all(self, commands: list[c.Command], actor: Actor) -> list[tuple[int, err.Refused]]:
        """Decide every command in order, record nothing: the refusals, with their indexes."""
        check_actor(actor)
        return self._decide(self.ledger.workspace(), commands, actor, batch=True)

    def _record(self, commands: list[c.Command], actor: Actor, key: str | None,
                *, batch: bool, progress: Progress | None = None) -> Recorded:
        check_actor(actor)
        fp = fingerprint(commands) if key else ""
        ws = self.ledger.workspace()
        # Role and tenancy first: a replay must answer only what the actor may record anew.
        self._authorise_all(ws, commands, actor, batch=batch)
        if key and (replay := self._replay(actor, key, fp)):
            return replay
        refusals = self._decide(ws, commands, actor, batch=batch, progress=progress)
        if refusals:
            raise ImportRefused(refusals)
        # Looked up again after reading the streams this request writes: see application.idempotency.
        if key and (replay := self._replay(actor, key, fp)):
            return replay
        try:
            return Recorded(self._append(ws, actor, key, fp))
        except ConcurrentModification:
            if key and (replay := self._replay(actor, key, fp)):
                return replay
            raise

    def _decide(self, ws: Workspace, commands: list[c.Command], actor: Actor,
                *, batch: bool, progress: Progress | None = None) -> list[tuple[int, err.Refused]]:
        refusals: list[tuple[int, err.Refused]] = []
        for index, command in enumerate(commands):
            if progress is not None and index % 100 == 0:
                progress(index, len(commands))
            try:
                self._authorise(ws, command, actor)
                # Discards the command's facts if it is refused, keeping the batch's.
                ws.one_command(lambda command=command: execute(ws, command))
            except err.Refused as refusal:
                if not batch:
                    raise
                refusals.append((index, refusal))
        if progress is not None:
            progress(len(commands), len(commands))
        return refusals

    def _authorise_all(self, ws: Workspace, commands: list[c.Command], actor: Actor,
                       *, batch: bool) -> None:
        refusals = []
        for index, command in enumerate(commands):
            try:
                self._authorise(ws, command, actor)
            except err.Refused as refusal:
                if not batch:
                    raise
                refusals.append((index, refusal))
        if refusals:
            raise ImportRefused(refusals)

    def _authorise(self, ws: Workspace, command: c.Command, actor: Actor) -> None:
        if not access.may_record(actor, command):
            raise Forbidden(f"the role {actor.role} may not record {type(command).__name__}")
        if actor.role == access.PARTNER and isinstance(command, c.RecordGrantPayment):
            # A partner records payments of its own grants only; others' patients do not exist.
            if not access.View(actor, ws).patient_id(command.patient_id):
                raise err.UnknownPatient(command.patient_id)
        if isinstance(command, access.BOOKS) and not access.keeps_books(
                actor, ws, command.statement, command.scope_kind, command.party):
            raise Forbidden(f"the role {actor.role} ({actor.organisation}) does not keep the "
                            f"{command.statement} statements of {command.scope_kind} "
                            f"{command.party}")

    def _append(self, ws: Workspace, actor: Actor, key: str | None, fp: str) -> Receipt:
        # The key travels with the facts, in their actor record: see application.idempotency.
        keyed = {"idempotency_key": key, "fingerprint": fp, "key_owner": principal(actor)} \
            if key else None
        return self.ledger.append(ws, actor, keyed)

    def _replay(self, actor: Actor, key: str, fp: str) -> Recorded | None:
        used: Used | None = self.index.lookup(actor, key)
        if used is None:
            return None
        if used.fingerprint != fp:
            raise IdempotencyKeyReused()
        facts = self.index.facts(actor, key, used)
        return Recorded(Receipt(used.last_position, tuple(facts)), replayed=True)

    # --- reading --------------------------------------------------------------------------

    def view(self, actor: Actor) -> access.View:
        return access.View(actor, self.ledger.workspace())
