"""Whose statements: a statement kind and a scope (an RHF, a health trust, a company), the
stream that keeps them (the scope's book), and how issued statements are numbered.

A number reads `PC-helse-vest-2024Q1-1`: the kind (PC public cost, CO company obligations),
the party, the period, and the issue's sequence within the period (a re-issue is `-2`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from domain import errors as err
from domain.periods import StatementPeriod
from domain.state import IssuedStatement, StatementBook


class StatementKind(StrEnum):
    PUBLIC_COST = "public-cost"
    COMPANY = "company"

    @property
    def prefix(self) -> str:
        return "PC" if self is StatementKind.PUBLIC_COST else "CO"


class PartyKind(StrEnum):
    RHF = "rhf"
    HF = "hf"
    COMPANY = "company"


ALLOWED = {StatementKind.PUBLIC_COST: (PartyKind.RHF, PartyKind.HF),
           StatementKind.COMPANY: (PartyKind.COMPANY,)}


@dataclass(frozen=True)
class BookKey:
    """A statement kind for one party: the unit that is issued, numbered and closed."""

    statement: StatementKind
    party_kind: PartyKind
    party: str

    @classmethod
    def of(cls, statement: str, party_kind: str, party: str) -> BookKey:
        try:
            key = cls(StatementKind(statement), PartyKind(party_kind), party)
        except ValueError:
            raise err.InvalidStatementScope(statement, party_kind) from None
        if key.party_kind not in ALLOWED[key.statement]:
            raise err.InvalidStatementScope(statement, party_kind)
        return key

    @property
    def stream(self) -> str:
        return f"statements/{self.statement.value}.{self.party_kind.value}.{self.party}"

    def number(self, period: StatementPeriod, sequence: int) -> str:
        return f"{self.statement.prefix}-{self.party}-{period.label}-{sequence}"

    def __str__(self) -> str:
        return f"{self.statement.value} of {self.party_kind.value} {self.party}"


_NUMBER = re.compile(r"(?P<prefix>PC|CO)-(?P<party>[a-z0-9][a-z0-9-]*)-"
                     r"(?P<period>[0-9]{4}(?:M[0-9]{2}|Q[1-4]|H[12]))-(?P<sequence>[1-9][0-9]*)")


@dataclass(frozen=True)
class Number:
    statement: StatementKind
    party: str
    period: StatementPeriod
    sequence: int

    @classmethod
    def parse(cls, text: str) -> Number:
        found = _NUMBER.fullmatch(text.strip())
        if found is None:
            raise err.InvalidStatementNumber(text)
        kind = StatementKind.PUBLIC_COST if found["prefix"] == "PC" else StatementKind.COMPANY
        return cls(kind, found["party"], StatementPeriod.parse(found["period"]),
                   int(found["sequence"]))


def issued(book: StatementBook, number: str) -> IssuedStatement:
    """The statement issued under `number` in a scope's book, or its refusal as unknown."""
    found = book.statement(number)
    if found is None:
        raise err.UnknownStatement(number)
    return found
