"""A scope's book (its issued statements and closed periods) as known at a log position, and
how a statement's scope maps to one.

Books are read from their streams, folded through the ledger (the cache of folded states the
deciders read too), not from a read model: a scope holds a handful of facts, read whole. As
known at K means folded up to K: a closure is known from its position on (ADR 0022).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from domain import errors as err
from domain.books import BookKey, Number, PartyKind, StatementKind
from domain.state import StatementBook
from domain.statements.periods import NO_BOOK, book_key
from domain.statements.scope import Scope

__all__ = ["NO_BOOK", "Books", "book_key"]

if TYPE_CHECKING:
    from application.ledger import Ledger


class Books:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def at(self, key: BookKey | None, position: int) -> StatementBook:
        if key is None:
            return NO_BOOK
        return self.ledger.workspace(up_to=position).book(key.stream)

    def regions(self) -> dict[str, str]:
        """Every health trust's RHF, as known now (health trusts never move region)."""
        return {hf: t.rhf_id for hf, t in self.ledger.workspace().registry().trusts.items()}

    def key_of(self, number: Number) -> BookKey:
        """The book a statement number belongs to: a public-cost number names an RHF or a
        health trust (their ids never coincide)."""
        if number.statement is StatementKind.COMPANY:
            return BookKey(number.statement, PartyKind.COMPANY, number.party)
        regions = self.regions()
        if number.party in set(regions.values()):
            return BookKey(number.statement, PartyKind.RHF, number.party)
        if number.party in regions:
            return BookKey(number.statement, PartyKind.HF, number.party)
        raise err.UnknownStatement(f"{number.statement.prefix}-{number.party}-"
                                   f"{number.period.label}-{number.sequence}")

    def scope_of(self, key: BookKey) -> Scope:
        if key.party_kind is PartyKind.COMPANY:
            return Scope.company(key.party)
        if key.party_kind is PartyKind.RHF:
            return Scope.rhf(key.party)
        region = self.regions().get(key.party)
        if region is None:
            raise err.UnknownHealthTrust(key.party)
        return Scope.hf(key.party, region)
