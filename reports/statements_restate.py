"""Restatement: what changed in a statement since it was issued, and which facts changed it.

The statement is built twice from the log: as known at K1 (the position it was issued at, or
the last fact recorded by a given moment) and as known at K2 (default: now). Lines are compared
value by value. The facts recorded after K1 up to K2 that changed the lines of the patients
concerned (found by replay: `reports.statements_replay`) are listed with their type, actor
and recorded moment, and called:
- `correction`: a fact correcting an earlier one (…Corrected);
- `late`: about a date that had already come when the statement was issued (a late assessment);
- `new`: about a date after the statement was issued;
- `derived`: recorded by the ledger itself (never a cause today: who-pays reads primary facts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from domain.events import DERIVED_TYPES
from eventstore import StoredFact
from reports.export import Column, Kind, Sheet
from reports.statements import Known, Period, Scope, known_at
from reports.statements_company import company_statement
from reports.statements_lines import Line
from reports.statements_public import By, public_cost
from reports.statements_replay import History, causes, streams_of

if TYPE_CHECKING:
    from application.ledger import Ledger


class StatementKind(StrEnum):
    COMPANY = "company"
    PUBLIC_COST = "public-cost"


def build(kind: StatementKind, known: Known, period: Period, scope: Scope,
          by: By = By.QUARTER) -> Any:
    if kind is StatementKind.COMPANY:
        return company_statement(known, period, scope)
    return public_cost(known, period, scope, by)


@dataclass(frozen=True)
class Change:
    section: str
    key: tuple[str, ...]
    status: str  # added | removed | changed
    fields: tuple[tuple[str, str, str], ...]  # (field, before, after)
    patients: tuple[str, ...]
    causes: tuple[int, ...] = ()  # positions of the facts behind it


@dataclass(frozen=True)
class Cause:
    position: int
    stream: str
    version: int
    type: str
    valid_on: str | None
    recorded_at: str
    actor: str
    role: str
    why: str
    patients: tuple[str, ...]
    reason: str | None


@dataclass(frozen=True)
class Restatement:
    title = "Restatement"
    kind: StatementKind
    period: Period
    scope: Scope
    before: dict[str, Any]
    after: dict[str, Any]
    changes: tuple[Change, ...]
    causes: tuple[Cause, ...]

    @property
    def known(self) -> dict[str, Any]:
        return self.after

    def to_dict(self) -> dict[str, Any]:
        return {
            "statement": f"restatement of {self.kind.value}",
            "period": self.period.to_dict(),
            "scope": self.scope.to_dict(),
            "issued_at": self.before,
            "restated_at": self.after,
            "changes": [
                {"section": c.section, "key": list(c.key), "status": c.status,
                 "fields": [{"field": f, "before": b, "after": a} for f, b, a in c.fields],
                 "patients": list(c.patients), "facts": list(c.causes)}
                for c in self.changes
            ],
            "facts": [vars(c) | {"patients": list(c.patients)} for c in self.causes],
        }

    def sheets(self) -> list[Sheet]:
        changes = Sheet(
            "Changes",
            (Column("Section"), Column("Line"), Column("Status"), Column("Field"),
             Column("Before"), Column("After"), Column("Patients"), Column("Facts")),
            tuple((c.section, " / ".join(c.key), c.status, f, b, a, ", ".join(c.patients),
                   ", ".join(str(p) for p in c.causes))
                  for c in self.changes for f, b, a in (c.fields or (("", "", ""),))))
        facts = Sheet(
            "Facts",
            (Column("Position", Kind.INT), Column("Recorded at"), Column("Type"),
             Column("Fact"), Column("About"), Column("Actor"), Column("Role"), Column("Why"),
             Column("Patients"), Column("Reason")),
            tuple((c.position, c.recorded_at, c.type, f"{c.stream}@{c.version}", c.valid_on,
                   c.actor, c.role, c.why, ", ".join(c.patients), c.reason)
                  for c in self.causes))
        return [changes, facts]


def restate(ledger: Ledger, kind: StatementKind, period: Period, scope: Scope, *,
            issued: int, now: int | None = None, by: By = By.QUARTER) -> Restatement:
    """The statement as issued at position `issued` against the same statement at `now`."""
    before_known, after_known = known_at(ledger, issued), known_at(ledger, now)
    if before_known.position > after_known.position:
        raise ValueError(
            f"the statement was issued at position {before_known.position}, after the moment "
            f"it is compared with (position {after_known.position})")

    def lines_of(known: Known) -> list[Line]:
        return build(kind, known, period, scope, by).lines()

    changes = diff(lines_of(before_known), lines_of(after_known))
    patients = sorted({p for c in changes for p in c.patients})
    streams = {p: streams_of((before_known, after_known), p) for p in patients}
    history = History.load(ledger, set().union(*streams.values()), after_known.position)
    found: dict[int, tuple[StoredFact, set[str]]] = {}
    for p in patients:
        for fact in causes(history, p, streams[p], before_known.position, lines_of):
            found.setdefault(fact.position, (fact, set()))[1].add(p)
    listed = [_cause(fact, touched, before_known.recorded_at)
              for _, (fact, touched) in sorted(found.items())]
    return Restatement(kind, period, scope, before_known.about(), after_known.about(),
                       tuple(_with_causes(c, listed) for c in changes), tuple(listed))


def diff(before: Sequence[Line], after: Sequence[Line]) -> list[Change]:
    old = {(x.section, x.key): x for x in before}
    new = {(x.section, x.key): x for x in after}
    raw: list[tuple[Line | None, Line | None]] = []
    for key in list(old) + [k for k in new if k not in old]:
        b, a = old.get(key), new.get(key)
        if b is None or a is None or b.values != a.values:
            raw.append((b, a))
    single = {p for b, a in raw for x in (b, a) if x and len(x.patients) == 1 for p in x.patients}
    return [_change(b, a, single) for b, a in raw]


def _change(b: Line | None, a: Line | None, single: set[str]) -> Change:
    line = a or b
    assert line is not None
    names = list(dict.fromkeys([*(b.values if b else {}), *(a.values if a else {})]))
    fields = tuple((n, (b.values.get(n, "") if b else ""), (a.values.get(n, "") if a else ""))
                   for n in names
                   if (b.values.get(n) if b else None) != (a.values.get(n) if a else None))
    was = b.patients if b else frozenset()
    now = a.patients if a else frozenset()
    # A line of many patients names those whose own lines changed, else those who came or went.
    patients = ((was | now) & single) or (was ^ now) or (was | now)
    status = "added" if b is None else "removed" if a is None else "changed"
    return Change(line.section, line.key, status, fields, tuple(sorted(patients)))


def _cause(fact: StoredFact, patients: set[str], issued_at: datetime | None) -> Cause:
    return Cause(
        position=fact.position, stream=fact.stream, version=fact.version, type=fact.type,
        valid_on=fact.valid_on.isoformat() if fact.valid_on else None,
        recorded_at=fact.recorded_at.isoformat(),
        actor=str(fact.actor.get("subject", "")), role=str(fact.actor.get("role", "")),
        why=why(fact, issued_at), patients=tuple(sorted(patients)),
        reason=fact.data.get("reason"))


def why(fact: StoredFact, issued_at: datetime | None) -> str:
    if fact.type.endswith("Corrected"):
        return "correction"
    if fact.type in DERIVED_TYPES or fact.type == "DerivedFactRetracted":
        return "derived"
    if issued_at is not None and fact.valid_on is not None:
        from application.ledger import OSLO

        if fact.valid_on <= issued_at.astimezone(OSLO).date():
            return "late"
    return "new"


def _with_causes(change: Change, causes: Sequence[Cause]) -> Change:
    positions = tuple(c.position for c in causes if set(c.patients) & set(change.patients))
    return Change(change.section, change.key, change.status, change.fields, change.patients,
                  positions)
