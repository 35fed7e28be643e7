"""The statement of a period (a month, quarter or half-year) as the books keep it (ADR 0022).

As known at a position K, with the scope's book as known at K:
- a closed period's statement is the statement its closure booked, built at the position that
  statement was built at: its figures never change afterwards;
- the first open period (starting the day after the last closed one) carries the adjustments:
  what changed in every closed period since the last one was booked, fact by fact;
- any other open period is the plain statement as known at K.
A period overlapping a closed one (a half-year over a closed quarter) has no statement of its
own. Everything here is a function of (kind, scope, period, K), so an issued statement is built
again byte for byte from what its fact records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, Protocol

from domain import errors as err
from domain.books import BookKey, PartyKind, StatementKind
from domain.money import Money, Totals
from domain.periods import StatementPeriod
from domain.state import Closure, IssuedStatement, StatementBook
from domain.statement_lines import StatementLine, lines_hash
from domain.statements import adjustments as adj
from domain.statements.period import Period, about
from domain.statements.public import By
from domain.statements.restate import build
from domain.statements.scope import Scope, ScopeKind
from domain.statements.sheet import Sheet
from domain.statements.text import totals_dict

OPEN, CLOSED = "open", "closed"
NO_BOOK = StatementBook("")
"""The book of a scope nobody keeps books for (everything; an RHF's company obligations)."""


class Books(Protocol):
    """The scopes' books as known at a position (folded from their streams: reports.books over
    the ledger, or a bundle's facts)."""

    def at(self, key: BookKey | None, position: int) -> StatementBook: ...


def book_key(kind: StatementKind, scope: Scope) -> BookKey | None:
    """The book a statement of this kind and scope is kept in, if any."""
    if kind is StatementKind.COMPANY and scope.kind is ScopeKind.COMPANY:
        return BookKey(kind, PartyKind.COMPANY, scope.party or "")
    if kind is StatementKind.PUBLIC_COST and scope.kind is ScopeKind.RHF:
        return BookKey(kind, PartyKind.RHF, scope.party or "")
    if kind is StatementKind.PUBLIC_COST and scope.kind is ScopeKind.HF:
        return BookKey(kind, PartyKind.HF, scope.party or "")
    return None


@dataclass(frozen=True)
class PeriodStatement:
    kind: StatementKind
    book: BookKey | None
    statement_period: StatementPeriod
    base: Any  # CompanyStatement | PublicCostStatement, as known at `known`
    adjustments: tuple[adj.Adjustment, ...]
    status: str = OPEN
    closure: Closure | None = None
    issued: IssuedStatement | None = None  # when it is an issued statement, produced again
    asked: dict[str, Any] = field(default_factory=dict)  # the position asked about

    @property
    def title(self) -> str:
        return str(self.base.title)

    @property
    def period(self) -> Period:
        return Period(self.statement_period.start, self.statement_period.end)

    @property
    def period_label(self) -> str:
        return self.statement_period.label

    @property
    def scope(self) -> Scope:
        return self.base.scope  # type: ignore[no-any-return]

    @property
    def known(self) -> dict[str, Any]:
        return self.base.known  # type: ignore[no-any-return]

    @property
    def number(self) -> str | None:
        if self.issued is not None:
            return self.issued.number
        return self.closure.booked if self.closure is not None else None

    def canonical_lines(self) -> list[StatementLine]:
        lines = [*self.base.lines(), *(a.line() for a in self.adjustments)]
        return [StatementLine.of(x.section, x.key, x.values) for x in lines]

    def lines_hash(self) -> str:
        return lines_hash(self.canonical_lines())

    def lines(self) -> list[Any]:
        return [*self.base.lines(), *(a.line() for a in self.adjustments)]

    def sheets(self) -> list[Sheet]:
        return [*self.base.sheets(), adj.sheet(self.adjustments)]

    def totals(self) -> dict[str, Any]:
        """The statement's totals, as `to_dict` gives them (without the rest of it)."""
        out: dict[str, Any] = self.base.totals()
        return out

    def adjustment_totals(self) -> dict[str, str]:
        return money_totals(self.adjustments)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = self.base.to_dict()
        return out | {
            "statement_period": self.statement_period.label, "status": self.status,
            "number": self.number, "asked_at": self.asked or self.known,
            "closure": None if self.closure is None else {
                "booked": self.closure.booked, "booked_position": self.closure.booked_position,
                "closed_on": self.closure.closed_on.isoformat()},
            "issued": None if self.issued is None else issued_dict(self.issued),
            "adjustments": [a.to_dict() for a in self.adjustments],
            "adjustment_totals": self.adjustment_totals(),
        }


def issued_dict(i: IssuedStatement) -> dict[str, Any]:
    return {"number": i.number, "period": i.period, "from": i.start.isoformat(),
            "to": i.end.isoformat(), "position": i.position, "lines_format": i.lines_format,
            "lines_hash": i.lines_hash, "line_count": i.line_count, "supersedes": i.supersedes,
            "issued_on": i.issued_on.isoformat(), "fact": i.ref}


def period_statement(sources: adj.PatientSources, books: Books, kind: StatementKind,
                     scope: Scope, period: StatementPeriod,
                     at: int | None = None) -> PeriodStatement:
    now = sources.at(at)
    key = book_key(kind, scope)
    book = books.at(key, now.position)
    closure = book.closure(period.label)
    if closure is not None:
        booked = period_statement(sources, books, kind, scope, period, closure.booked_position)
        return replace(booked, status=CLOSED, closure=closure, asked=about(now))
    overlapping = [c.period for c in book.closures if period.overlaps(c.start, c.end)]
    if overlapping:
        raise err.PeriodOverlapsClosed(period.label, overlapping)
    base = build(kind, now, Period(period.start, period.end), scope, By.MONTH)
    return PeriodStatement(kind, key, period, base,
                           _carried(sources, kind, scope, book, period, now.position))


def _carried(sources: adj.PatientSources, kind: StatementKind, scope: Scope,
             book: StatementBook, period: StatementPeriod,
             position: int) -> tuple[adj.Adjustment, ...]:
    last = book.last_closed
    if last is None or period.start != last.end + timedelta(days=1):
        return ()
    return adj.adjustments(sources, kind, scope, book.closures, last.booked_position, position)


def money_totals(items: Sequence[adj.Adjustment]) -> dict[str, str]:
    """The adjustments' money, summed per currency."""
    return totals_dict(Totals(Money.of(a.change, a.currency) for a in items if a.currency))
