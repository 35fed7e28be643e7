"""Periods' statements and the books of issued statements for an actor: the query functions the
API's routes and the web pages both call (ADR 0022).

A partner reads its own company's books, an RHF officer its region's (and its health trusts');
procurement and auditors every book. Asking for one the actor may not read is "not found, or
not yours" (domain.known), the same whether it exists or not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from application import access
from domain.books import BookKey, StatementKind
from domain.known import not_found_or_not_yours
from domain.periods import StatementPeriod
from domain.state import StatementBook
from domain.values import Actor
from reports import bookkeeping
from reports.books import Books, book_key
from reports.periods import PeriodStatement, period_statement
from reports.queries import InvalidRequest, known, regions, scope_for
from reports.statements_replay import ReplaySources
from reports.statements_restate import Restatement

if TYPE_CHECKING:
    from application.ledger import Ledger


class Sources(ReplaySources):
    """The replay the API's statements are built from today (ADR 0015: the routes move to the
    read models with the server's runner), keeping the last position built (queries.known)."""

    def at(self, position: int | None) -> Any:
        return known(self.ledger, position)


def period_of(text: str) -> StatementPeriod:
    return StatementPeriod.parse(text)


def statement(ledger: Ledger, actor: Actor, kind: StatementKind, label: str, *,
              company: str | None = None, rhf: str | None = None, hf: str | None = None,
              at: int | None = None) -> PeriodStatement:
    """The period's statement as the books keep it, as known at `at`."""
    books = Books(ledger)
    scope = known(ledger, at).check(scope_for(actor, company, rhf, hf, regions(ledger)))
    return period_statement(Sources(ledger), books, kind, scope, period_of(label), at)


def key_for(ledger: Ledger, actor: Actor, kind: StatementKind, *, company: str | None,
            rhf: str | None, hf: str | None) -> BookKey:
    """The book an actor names (its own, for a partner or an RHF officer)."""
    scope = scope_for(actor, company, rhf, hf, regions(ledger))
    key = book_key(kind, scope)
    if key is None:
        need = "company" if kind is StatementKind.COMPANY else "rhf or hf"
        raise InvalidRequest(f"a {kind.value} statement is kept for one party: give {need}")
    return key


def book(ledger: Ledger, actor: Actor, key: BookKey, at: int | None = None) -> StatementBook:
    _may_read(ledger, actor, key, str(key))
    return Books(ledger).at(key, ledger.position(position=at))


def issued(ledger: Ledger, actor: Actor, number: str, at: int | None = None) -> PeriodStatement:
    """An issued statement, produced again as it was issued."""
    _readable(ledger, actor, number)
    return bookkeeping.reproduce(Sources(ledger), Books(ledger), number, at)


def since(ledger: Ledger, actor: Actor, number: str, at: int | None = None) -> Restatement:
    """What changed in an issued statement since it was issued, and the facts that did it."""
    _readable(ledger, actor, number)
    return bookkeeping.since(Sources(ledger), Books(ledger), number, at)


def issue(service: Any, actor: Actor, key: BookKey, label: str,
          idempotency_key: str | None = None) -> bookkeeping.Issued:
    ledger = service.ledger
    return bookkeeping.issue(service, Sources(ledger), Books(ledger), actor, key,
                             period_of(label), idempotency_key)


def _readable(ledger: Ledger, actor: Actor, number: str) -> BookKey:
    from domain.books import Number

    key = Books(ledger).key_of(Number.parse(number))
    _may_read(ledger, actor, key, number)
    return key


def _may_read(ledger: Ledger, actor: Actor, key: BookKey, what: str) -> None:
    if not access.View(actor, ledger.workspace()).sees_ref(key.stream):
        raise not_found_or_not_yours("statements", what, actor.organisation)
