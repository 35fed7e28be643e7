"""Issuing statements, closing and reopening periods, and reading issued statements back
(ADR 0022): the flows the API, the pages and the CLI share.

Issuing builds the period's statement from the rows as known at the log's head (K), hashes its
canonical lines (domain.statement_lines) and records `StatementIssued` through the write path
with K and the version of the scope's book the statement was built with: a closure recorded
meanwhile makes the decider refuse it (`books-changed`), and it is built again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from application.ledger import Receipt
from domain import commands as c
from domain import errors as err
from domain.books import BookKey, Number, issued
from domain.periods import StatementPeriod
from domain.state import IssuedStatement, StatementBook
from domain.statement_lines import Digest
from domain.values import Actor
from domain.statements.adjustments import PatientSources
from reports.books import Books
from domain.statements.periods import OPEN, PeriodStatement, period_statement
from reports.statements import Period
from domain.statements.public import By
from reports.statements_restate import Restatement, restate

ATTEMPTS = 3


class Service(Protocol):
    """The one write path for an authenticated actor (api.served.Served: `Ledger.record` with
    the role and tenancy checked, ADR 0021)."""

    def record(self, commands: Sequence[c.Command], actor: Actor,
               key: str | None = None) -> Receipt: ...


@dataclass(frozen=True)
class Issued:
    receipt: Receipt
    replayed: bool
    statement: PeriodStatement
    fact: IssuedStatement


def issue(service: Service, current: Callable[[], PatientSources], books: Books, actor: Actor,
          key: BookKey, period: StatementPeriod, idempotency_key: str | None = None) -> Issued:
    """Build the statement as known now (`current()`: rows as of the log's head), and record
    it as issued; built again from the new head if the books changed meanwhile."""
    for attempt in range(ATTEMPTS):
        sources = current()
        position = sources.at(None).position  # as known now (a closed period's: as booked)
        statement = period_statement(sources, books, key.statement, books.scope_of(key), period,
                                     position)
        book = books.at(key, position)
        command = c.IssueStatement(
            statement=key.statement.value, scope_kind=key.party_kind.value, party=key.party,
            period=period.label, position=position, book_version=book.version,
            digest=Digest(statement.lines_hash()), line_count=len(statement.canonical_lines()))
        try:
            receipt = service.record([command], actor, idempotency_key)
        except err.BooksChanged:
            if attempt == ATTEMPTS - 1:
                raise
            continue
        fact = _issued_fact(books, key, receipt)
        return Issued(receipt, receipt.replayed, statement, fact)
    raise AssertionError("unreachable")


def _issued_fact(books: Books, key: BookKey, receipt: Receipt) -> IssuedStatement:
    number = next(str(f.data["number"]) for f in receipt.facts if f.type == "StatementIssued")
    return issued(books.at(key, receipt.position), number)


def close(service: Service, actor: Actor, key: BookKey, period: StatementPeriod,
          idempotency_key: str | None = None) -> Receipt:
    return service.record([c.ClosePeriod(statement=key.statement.value,
                                         scope_kind=key.party_kind.value, party=key.party,
                                         period=period.label)], actor, idempotency_key)


def reopen(service: Service, actor: Actor, key: BookKey, period: StatementPeriod, reason: str,
           idempotency_key: str | None = None) -> Receipt:
    return service.record([c.ReopenPeriod(statement=key.statement.value,
                                          scope_kind=key.party_kind.value, party=key.party,
                                          period=period.label, reason=reason)],
                          actor, idempotency_key)


# --- reading what was issued -----------------------------------------------------------------


def book_of(books: Books, number: str, at: int) -> tuple[BookKey, IssuedStatement]:
    """The book and the issued statement a number names, as known at `at`."""
    key = books.key_of(Number.parse(number))
    return key, issued(books.at(key, at), number.strip())


def produce(sources: PatientSources, books: Books, key: BookKey,
            issued: IssuedStatement) -> PeriodStatement:
    """An issued statement, built again from what its fact records."""
    statement = period_statement(sources, books, key.statement, books.scope_of(key),
                                 StatementPeriod.parse(issued.period), issued.position)
    return replace(statement, issued=issued, status=OPEN, closure=None)


def reproduce(sources: PatientSources, books: Books, number: str,
              at: int | None = None) -> PeriodStatement:
    """An issued statement, built again: the same lines, so the same hash."""
    position = sources.at(at).position
    key, fact = book_of(books, number, position)
    return produce(sources, books, key, fact)


def since(sources: PatientSources, books: Books, number: str,
          at: int | None = None) -> Restatement:
    """What changed in an issued statement's period since it was issued, and which facts."""
    position = sources.at(at).position
    key, fact = book_of(books, number, position)
    restated = restate(sources, key.statement, Period(fact.start, fact.end),
                       books.scope_of(key), issued=fact.position, now=position, by=By.MONTH)
    return replace(restated, number=fact.number, period_label=fact.period)


def book_at(books: Books, key: BookKey, at: int) -> StatementBook:
    return books.at(key, at)


def book_dict(book: StatementBook, key: BookKey) -> dict[str, Any]:
    from domain.statements.periods import issued_dict

    return {"statement": key.statement.value, "scope_kind": key.party_kind.value,
            "party": key.party,
            "issued": [issued_dict(i) for i in book.issued],
            "closed": [{"period": x.period, "from": x.start.isoformat(), "to": x.end.isoformat(),
                        "booked": x.booked, "booked_position": x.booked_position,
                        "closed_on": x.closed_on.isoformat(), "fact": x.ref}
                       for x in book.closures],
            "reopened": [{"period": r.period, "reason": r.reason,
                          "reopened_on": r.reopened_on.isoformat(), "fact": r.ref}
                         for r in book.reopenings]}
