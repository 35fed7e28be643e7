"""How statement lines read: comparable lines for restatements, and values as text or JSON.

Kept apart from the statements so a restatement compares what a reader sees: text that is
stable from one run to the next (ISO dates, amounts with their currency).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from domain.money import Money, Totals


@dataclass(frozen=True)
class Line:
    """One comparable line of a statement: its values as text, and the patients behind it."""

    section: str
    key: tuple[str, ...]
    values: dict[str, str]
    patients: frozenset[str] = field(default_factory=frozenset)


def text(value: object) -> str:
    """A value as it reads in a statement line (stable, so two statements can be compared)."""
    if value is None:
        return ""
    if isinstance(value, Totals):
        return "; ".join(str(m) for m in value) if len(value) else "0"
    if isinstance(value, (tuple, list)):
        return ", ".join(text(v) for v in value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def totals_dict(totals: Totals) -> dict[str, str]:
    return {currency: str(m.amount) for currency, m in totals.by_currency().items()}


def money_dict(money: Money | None) -> dict[str, str] | None:
    return money.to_dict() if money is not None else None


def span_text(spans: Iterable[tuple[date, date]]) -> str:
    return ", ".join(f"{s}..{e}" for s, e in spans)
