"""Replay as of moment K: who paid (on a date, or as timelines) and the statements, exactly as
the ledger would have produced them when the log ended at position K.

"As of a moment" means the log up to the last fact recorded by then (ADR 0004); who-pays and
the statements are pure functions of that prefix, so a replay reproduces what was answered or
sent at K (the ledger's clock plays no part in either). The replay names the chain's digest at
K: verify the log against a digest saved at or after K and the replayed prefix is proved to be
the one that was recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from domain.financing import Interval, Payer, payer_on, timeline
from audit.verify import Digest, digest
from reports.statements import Period, Scope, known_at
from domain.statements.public import By
from reports.statements_restate import StatementKind, build

if TYPE_CHECKING:
    from application.ledger import Ledger


@dataclass(frozen=True)
class Replay:
    at: Digest  # the chain at K
    moment: datetime | None  # the moment K was asked as, if it was
    on: date | None  # who paid on this date; None: every patient's timeline
    payers: tuple[tuple[str, Payer], ...]
    timelines: tuple[tuple[str, tuple[Interval, ...]], ...]
    statements: tuple[Any, ...]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "as_of": {"moment": self.moment.isoformat() if self.moment else None,
                      **self.at.to_dict()},
        }
        if self.on is not None:
            out["on"] = self.on.isoformat()
            out["payers"] = [{"patient_id": pid, **payer_dict(p)} for pid, p in self.payers]
        else:
            out["timelines"] = [{"patient_id": pid, "intervals": [interval_dict(i) for i in ii]}
                                for pid, ii in self.timelines]
        out["statements"] = [s.to_dict() for s in self.statements]
        return out


def replay(ledger: Ledger, position: int, *, moment: datetime | None = None,
           on: date | None = None, statements: Sequence[StatementKind] = (),
           period: Period | None = None, by: By = By.QUARTER) -> Replay:
    """Everything as known at log position `position` (an auditor sees every patient)."""
    if statements and period is None:
        raise ValueError("a statement needs a period (--from and --to)")
    at = ledger.position(position=position)
    known = known_at(ledger, at)
    cases = sorted(known.cases, key=lambda c: c.patient.patient_id)
    payers = tuple((c.patient.patient_id, payer_on(c, on)) for c in cases) if on else ()
    timelines = () if on else tuple((c.patient.patient_id, timeline(c)) for c in cases)
    built = tuple(build(kind, known, period, Scope.everything(), by)
                  for kind in statements if period is not None)
    return Replay(digest(ledger.log, at), moment, on, payers, timelines, built)


def payer_dict(p: Payer) -> dict[str, Any]:
    return {"payer": p.kind.value, "party": p.party, "treating_hf": p.hf_id, "reason": p.reason,
            "basis": list(p.basis)}


def interval_dict(i: Interval) -> dict[str, Any]:
    return {"from": i.start.isoformat(), "to": i.end.isoformat() if i.end else None,
            **payer_dict(i.payer)}
