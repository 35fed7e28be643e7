"""The one write path for an authenticated actor: `Ledger.record` with the actor's right to
record each command checked (`access.authorise`: its role, and a partner only its own), as the
API, the pages, the CLI's typed commands and imports call it (ADR 0021)."""

from __future__ import annotations

from collections.abc import Sequence

from application import access
from application.ledger import Ledger, Progress, Receipt
from domain import commands as c
from domain import errors as err
from domain.values import Actor


class Writer:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def record(self, commands: Sequence[c.Command], actor: Actor, key: str | None = None,
               progress: Progress | None = None) -> Receipt:
        """All the commands' facts or nothing, with an optional idempotency key."""
        return self.ledger.record(commands, actor, authorise=access.authorise, idempotency=key,
                                  progress=progress)

    def refusals(self, commands: Sequence[c.Command], actor: Actor
                 ) -> list[tuple[int, err.Refused]]:
        """Every command's refusal, with its index; nothing recorded."""
        return self.ledger.refusals(commands, actor, authorise=access.authorise)
