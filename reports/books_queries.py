"""Periods' statements and the books of issued statements for an actor: the query functions the
API's routes and the web pages both call (ADR 0022).

A partner reads its own company's books, an RHF officer its region's (and its health trusts');
procurement and auditors every book. Asking for one the actor may not read is "not found, or
not yours" (domain.known), the same whether it exists or not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from application import access
from domain.books import BookKey, StatementKind
from domain.known import not_found_or_not_yours
from domain.periods import StatementPeriod
from domain.state import StatementBook
from domain.values import Actor
from reports import bookkeeping
from reports.books import Books, book_key
from domain.statements.periods import PeriodStatement, period_statement
from domain.statements.adjustments import PatientSources
from reports.queries import InvalidRequest, scope_for
from domain.statements.scope import check
from reports.statements_restate import Restatement

if TYPE_CHECKING:
    from application.ledger import Ledger


def period_of(text: str) -> StatementPeriod:
    return StatementPeriod.parse(text)


def statement(ledger: Ledger, sources: PatientSources, actor: Actor, kind: StatementKind,
              label: str, *, company: str | None = None, rhf: str | None = None,
              hf: str | None = None, at: int | None = None) -> PeriodStatement:
    """The period's statement as the books keep it, as known at `at` (None: as far as the
    read models have reached)."""
    source = sources.at(at)
    scope = check(source, scope_for(actor, company, rhf, hf, source.regions()))
    return period_statement(sources, Books(ledger), kind, scope, period_of(label),
                            source.position)


def regions(ledger: Ledger) -> dict[str, str]:
    """Every health trust's RHF, as the ledger knows it now."""
    return {hf: t.rhf_id for hf, t in ledger.workspace().registry().trusts.items()}


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


def issued(ledger: Ledger, sources: PatientSources, actor: Actor, number: str,
           at: int | None = None) -> PeriodStatement:
    """An issued statement, produced again as it was issued."""
    readable(ledger, actor, number)
    return bookkeeping.reproduce(sources, Books(ledger), number, at)


def since(ledger: Ledger, sources: PatientSources, actor: Actor, number: str,
          at: int | None = None) -> Restatement:
    """What changed in an issued statement since it was issued, and the facts that did it."""
    readable(ledger, actor, number)
    return bookkeeping.since(sources, Books(ledger), number, at)


def issue(ledger: Ledger, writer: bookkeeping.Service, current: Callable[[], PatientSources],
          actor: Actor, key: BookKey, label: str,
          idempotency_key: str | None = None) -> bookkeeping.Issued:
    """Issue as known now: `current()` gives rows as of the log's head (Served.current)."""
    return bookkeeping.issue(writer, current, Books(ledger), actor, key, period_of(label),
                             idempotency_key)


def readable(ledger: Ledger, actor: Actor, number: str) -> BookKey:
    from domain.books import Number

    key = Books(ledger).key_of(Number.parse(number))
    _may_read(ledger, actor, key, number)
    return key


def _may_read(ledger: Ledger, actor: Actor, key: BookKey, what: str) -> None:
    if not access.View(actor, ledger.workspace()).sees_ref(key.stream):
        raise not_found_or_not_yours("statements", what, actor.organisation)
