"""How statement lines read: comparable lines for restatements, and values as text or JSON.

Kept apart from the statements so a restatement compares what a reader sees: text that is
stable from one run to the next (ISO dates, amounts with their currency).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from domain.money import Money, Totals
from domain.statements.rows import CostLine


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
    if isinstance(value, (tuple, list)):  # a row's patients: hundreds of ids
        return ", ".join(v if type(v) is str else text(v) for v in value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def totals_dict(totals: Totals) -> dict[str, str]:
    return {currency: str(m.amount) for currency, m in totals.by_currency().items()}


def money_dict(money: Money | None) -> dict[str, str] | None:
    return money.to_dict() if money is not None else None


def span_text(spans: Iterable[tuple[date, date]]) -> str:
    return ", ".join(f"{s}..{e}" for s, e in spans)


LinesOf = Callable[[Any], list[Line]]
"""A statement's lines for the rows of a source (the caller keeps the period and scope)."""


def own_lines(lines: Iterable[Line], patient_id: str) -> list[tuple[Any, ...]]:
    """The lines about this patient alone, comparable: what a restatement watches for change."""
    mine = [x for x in lines if x.patients == frozenset({patient_id})]
    return sorted((x.section, x.key, sorted(x.values.items())) for x in mine)


def price_of(d: CostLine) -> Money | None:
    price = d.price
    return price.value if price else None


def dispensation_dict(d: CostLine) -> dict[str, Any]:
    """A costed dispensation as statements list it."""
    price = d.price
    return {"patient_id": d.patient_id, "ref": d.ref, "in_force": d.last_ref,
            "dispensed_on": d.on.isoformat(),
            "drug_id": d.drug_id, "packs": d.packs, "pack": d.pack,
            "payer": d.payer_kind.value,
            "party": d.party, "hf_id": d.hf_id,
            "price_per_pack": money_dict(price.value if price else None),
            "price_ref": price.ref if price else None, "value": money_dict(d.value)}
