"""Statements and their restatements from a replay of the ledger's log (the auditor's tools, and
the reference the read models are checked against): `domain.statements.replay` over the
ledger's folded states and streams."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from domain import codec
from domain.statements.replay import Replay, Stored
from domain.statements.source import Known
from domain.workspace import Workspace
from reports.statements import known_at

if TYPE_CHECKING:
    from application.ledger import Ledger


class LedgerLog:
    """The ledger's log as domain.statements.replay.Log."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    @property
    def today(self) -> date:
        return self.ledger.clock()

    def known(self, position: int | None) -> Known:
        return known_at(self.ledger, position)

    def workspace(self, up_to: int) -> Workspace:
        return self.ledger.workspace(up_to=up_to)

    def stream(self, stream: str, up_to: int) -> list[Stored]:
        return [Stored(f, codec.decode(f.type, f.schema, f.data))
                for f in self.ledger.log.stream(stream, up_to=up_to)]


class ReplaySources(Replay):
    def __init__(self, ledger: Ledger) -> None:
        super().__init__(LedgerLog(ledger))
        self.ledger = ledger
