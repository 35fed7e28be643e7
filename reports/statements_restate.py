"""Restatements (domain.statements.restate) from the read models or, given the ledger, from a
replay of its log."""

from __future__ import annotations

from application.ledger import Ledger
from domain.statements.period import Period
from domain.statements.public import By
from domain.statements.restate import (Cause, Change, Restatement, Sources, StatementKind, build,
                                       diff, why)
from domain.statements.restate import restate as _restate
from domain.statements.scope import Scope
from reports.readmodels import ReadModelSources
from reports.statements_replay import ReplaySources

__all__ = ["Cause", "Change", "Restatement", "Sources", "StatementKind", "build", "diff",
           "restate", "why"]


def restate(sources: Sources | Ledger, kind: StatementKind, period: Period, scope: Scope, *,
            issued: int, now: int | None = None, by: By = By.QUARTER) -> Restatement:
    """The statement as issued at position `issued` against the same statement at `now`.
    `sources`: the read models (reports.readmodels), or a Ledger to replay the log."""
    found_in = ReplaySources(sources) if isinstance(sources, Ledger) else sources
    if isinstance(found_in, ReadModelSources):
        found_in = found_in.between(issued, now)
    return _restate(found_in, kind, period, scope, issued=issued, now=now, by=by)
