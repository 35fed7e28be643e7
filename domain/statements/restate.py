"""Restatement: what changed in a statement since it was issued, and which facts changed it.

The statement is built twice: as known at K1 (the position it was issued at, or the last fact
recorded by a given moment) and as known at K2 (default: now), from the read models
(reports.readmodels), or a replay of the log or of a partner's bundle (domain.statements.replay).
Lines are compared value by value. The facts recorded after K1 up to K2 that changed the lines of the
patients concerned are listed with their type, actor and recorded moment, and called:
- `correction`: a fact correcting an earlier one (…Corrected);
- `late`: about a date that had already come when the statement was issued (a late assessment);
- `new`: about a date after the statement was issued;
- `derived`: recorded by the ledger itself (never a cause today: who-pays reads primary facts).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from domain.books import StatementKind
from domain.chain import Recordable
from domain.events import DERIVED_TYPES
from domain.statements.company import company_statement
from domain.statements.period import Period, about
from domain.statements.public import By, PublicCostStatement, public_cost
from domain.statements.scope import Scope
from domain.statements.sheet import Column, Kind, Sheet
from domain.statements.source import Source
from domain.statements.text import Line, LinesOf

__all__ = ["Cause", "Change", "Recorded", "Restatement", "StatementKind", "Sources", "build",
           "diff", "restate"]

OSLO = ZoneInfo("Europe/Oslo")  # the ledger's calendar: a fact is late if its day had come there


class Recorded(Recordable, Protocol):
    """A fact as the log holds it (eventstore.StoredFact; a fact of a bundle)."""

    @property
    def position(self) -> int: ...
    @property
    def recorded_at(self) -> datetime: ...


def build(kind: StatementKind, source: Source, period: Period, scope: Scope,
          by: By = By.QUARTER) -> Any:
    if kind is StatementKind.COMPANY:
        return company_statement(source, period, scope)
    return public_cost(source, period, scope, by)


class Sources(Protocol):
    """Where a restatement's two statements and the facts between come from."""

    def at(self, position: int | None) -> Source: ...

    def causes(self, patients: Sequence[str], before: Any, after: Any, lines_of: LinesOf,
               span: tuple[date, date] | None = None) -> Mapping[int, tuple[Recorded, set[str]]]:
        """The facts in (before, after] at which each patient's own lines (of a statement of
        the span) changed."""
        ...

    def changed(self, before: Any, after: Any) -> set[str] | None:
        """The patients whose facts may differ between the two (asked after a statement was
        built from `after`: the same statement from `before` asks the same questions); None:
        any patient may."""
        ...


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
    number: str | None = None  # restated since this issued statement
    period_label: str | None = None

    @property
    def known(self) -> dict[str, Any]:
        return self.after

    def to_dict(self) -> dict[str, Any]:
        return {
            "statement": f"restatement of {self.kind.value}", "since": self.number,
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
             Column("Before"), Column("After"), Column("Currency", Kind.CURRENCY),
             Column("Before (number)", Kind.MONEY), Column("After (number)", Kind.MONEY),
             Column("Change", Kind.MONEY), Column("Patients"), Column("Facts")),
            tuple((c.section, " / ".join(c.key), c.status, f, b, a, *numbers,
                   ", ".join(c.patients), ", ".join(str(p) for p in c.causes))
                  for c in self.changes for f, b, a in (c.fields or (("", "", ""),))
                  for numbers in compared(b, a)))
        facts = Sheet(
            "Facts",
            (Column("Position", Kind.INT), Column("Recorded at"), Column("Type"),
             Column("Fact"), Column("About"), Column("Actor"), Column("Role"), Column("Why"),
             Column("Patients"), Column("Reason")),
            tuple((c.position, c.recorded_at, c.type, f"{c.stream}@{c.version}", c.valid_on,
                   c.actor, c.role, c.why, ", ".join(c.patients), c.reason)
                  for c in self.causes))
        return [changes, facts]


Number = Decimal | int


def amounts(text: str) -> dict[str | None, Number] | None:
    """A line's value as numbers, if it is a count (`12`) or money (`NOK 22468.00`, several
    currencies joined by `; `, `0` for none: domain.statement_lines): {currency or None: n}."""
    if text == "":
        return {}
    if re.fullmatch(r"-?[0-9]+", text):
        return {None: int(text)}
    found: dict[str | None, Number] = {}
    for part in text.split("; "):
        money = re.fullmatch(r"([A-Z]{3}) (-?[0-9]+\.[0-9]+)", part)
        if money is None:
            return None
        found[money[1]] = Decimal(money[2])
    return found


def compared(before: str, after: str) -> list[tuple[str | None, Number | None, Number | None,
                                                    Number | None]]:
    """(currency, before, after, change) per currency for values that are numbers, so a sheet
    holds amounts as numbers; one row of blanks for values that are not."""
    b, a = amounts(before), amounts(after)
    if b is None or a is None or not (b or a):
        return [(None, None, None, None)]
    if set(b) - {None} or set(a) - {None}:  # money: a bare 0 is none in any currency
        zero: Number = Decimal("0.00")
        currencies = sorted((set(b) | set(a)) - {None}, key=str)
        b = {k: b.get(k, zero) for k in currencies} if before != "" else {}
        a = {k: a.get(k, zero) for k in currencies} if after != "" else {}
    else:
        zero = 0
    return [(k, b.get(k), a.get(k), a.get(k, zero) - b.get(k, zero))
            for k in sorted(set(b) | set(a), key=lambda x: x or "")]


def restate(found_in: Sources, kind: StatementKind, period: Period, scope: Scope, *,
            issued: int, now: int | None = None, by: By = By.QUARTER) -> Restatement:
    """The statement as issued at position `issued` against the same statement at `now`."""
    before, after = found_in.at(issued), found_in.at(now)
    if before.position > after.position:
        raise ValueError(
            f"the statement was issued at position {before.position}, after the moment "
            f"it is compared with (position {after.position})")

    def lines_of(source: Source) -> list[Line]:
        lines: list[Line] = build(kind, source, period, scope, by).lines()
        return lines

    # A patient's own lines read only its own facts: those of a patient whose facts are the
    # same at both ends are the same, and need not be written out to be compared. Of the
    # public cost, whose rows add up their patients' shares, the statement as issued is the
    # one as known now with those patients' shares as known then.
    now_as = build(kind, after, period, scope, by)
    changed = found_in.changed(before, after)
    if changed is not None and isinstance(now_as, PublicCostStatement):
        theirs = public_cost(before, period, scope, by, patients=changed)
        issued_as: Any = now_as.replacing(changed, theirs)
        # of those, only the patients whose shares differ can have lines that differ
        now_shares, then_shares = now_as.shares(changed), theirs.shares(changed)
        changed = {p for p in changed if now_shares.get(p) != then_shares.get(p)}
    else:
        issued_as = build(kind, before, period, scope, by)
        changed = found_in.changed(before, after)  # again: `before` may have asked more
    changes = diff(issued_as.lines(changed), now_as.lines(changed))
    patients = sorted({p for c in changes for p in c.patients})
    found = found_in.causes(patients, before, after, lines_of, (period.start, period.end))
    listed = [_cause(fact, touched, before.recorded_at)
              for _, (fact, touched) in sorted(found.items())]
    return Restatement(kind, period, scope, about(before), about(after),
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


def _cause(fact: Recorded, patients: set[str], issued_at: datetime | None) -> Cause:
    return Cause(
        position=fact.position, stream=fact.stream, version=fact.version, type=fact.type,
        valid_on=fact.valid_on.isoformat() if fact.valid_on else None,
        recorded_at=fact.recorded_at.isoformat(),
        actor=str(fact.actor.get("subject", "")), role=str(fact.actor.get("role", "")),
        why=why(fact, issued_at), patients=tuple(sorted(patients)),
        reason=fact.data.get("reason"))


def why(fact: Recorded, issued_at: datetime | None) -> str:
    if fact.type.endswith("Corrected"):
        return "correction"
    if fact.type in DERIVED_TYPES or fact.type == "DerivedFactRetracted":
        return "derived"
    if issued_at is not None and fact.valid_on is not None:
        if fact.valid_on <= issued_at.astimezone(OSLO).date():
            return "late"
    return "new"


def _with_causes(change: Change, causes: Sequence[Cause]) -> Change:
    positions = tuple(c.position for c in causes if set(c.patients) & set(change.patients))
    return Change(change.section, change.key, change.status, change.fields, change.patients,
                  positions)
