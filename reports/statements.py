"""Statements: what the drug cost and who bore it, for a period, as the ledger knew it at a log
position. The rules are pure functions in `domain.statements` (a partner's verifier runs them
too, ADR 0023): company obligations (`company`), public cost (`public`), restatement
(`restate`), a period as the books keep it (`periods`). Here: the facts as known at a position,
replayed from the ledger (`known_at`), and the names statements are built from, in one place.
The financing-gap worklist is `reports.worklist`, upcoming coverage ends `reports.upcoming`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from domain.statements.period import (DAY, Period, about, clipped, days_in, hf_spans, in_order,
                                      merge, overlap, per_currency, value_of)
from domain.statements.scope import Scope, ScopeKind, check
from domain.statements.source import Known, Rows, Source

if TYPE_CHECKING:
    from application.ledger import Ledger

__all__ = ["DAY", "Known", "Period", "Rows", "Scope", "ScopeKind", "Source", "about", "check",
           "clipped", "days_in", "hf_spans", "in_order", "known_at", "merge", "overlap",
           "per_currency", "recorded_at", "value_of"]


# --- the facts as known at one position, replayed ---------------------------------------


def known_at(ledger: Ledger, position: int | None = None) -> Known:
    """The facts as known at a log position (default: everything recorded so far)."""
    at = ledger.position(position=position)
    cases = tuple(ledger.cases(up_to=at))
    ws = ledger.workspace(up_to=at)
    agreements = [s.partition("/")[2] for s in ledger.log.streams("agreement/")]
    return Known(
        position=at,
        cases=cases,
        workspace=ws,
        agreement_ids=tuple(a for a in agreements if ws.agreement(a).exists),
        recorded_at=recorded_at(ledger, at),
    )


def recorded_at(ledger: Ledger, position: int) -> datetime | None:
    if position <= 0:
        return None
    fact = next(iter(ledger.log.read(after=position - 1, up_to=position, batch=1)), None)
    return fact.recorded_at if fact else None
