"""Events to JSON-ready dicts and back, with upcasting of older shapes.

Stored data is plain JSON: dates as ISO strings, money as {"amount": "50000.00", "currency": "NOK"},
enums as their values, tuples as lists. Each event type has a schema version (`Event.schema`);
when a type's fields change, bump it and register an upcaster from the old version: stored
history is never rewritten.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable
from dataclasses import fields
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any

from domain.events import EVENT_TYPES, Event
from domain.money import Money

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
UPCASTERS: dict[tuple[str, int], Upcaster] = {}
"""(type, from_version) -> function giving the data in the shape of from_version + 1."""


def upcaster(type_name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    def register(fn: Upcaster) -> Upcaster:
        UPCASTERS[(type_name, from_version)] = fn
        return fn

    return register


def encode_value(value: Any) -> Any:
    if isinstance(value, Money):
        return value.to_dict()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (tuple, list)):
        return [encode_value(v) for v in value]
    return value


def encode(event: Event) -> dict[str, Any]:
    return {f.name: encode_value(getattr(event, f.name)) for f in fields(event)}


def decode(type_name: str, schema: int, data: dict[str, Any]) -> Event:
    cls = EVENT_TYPES[type_name]
    while schema < cls.schema:
        data = UPCASTERS[(type_name, schema)](dict(data))
        schema += 1
    decoders = _decoders(cls)  # type: ignore[arg-type]  # event classes are hashable
    # a text field is taken as it is, not passed through _same (a bundle decodes 45 000 facts)
    return cls(**{name: value if (decoder := decoders[name]) is _same else decoder(value)
                  for name, value in data.items()})


@functools.cache
def _decoders(cls: type) -> dict[str, Callable[[Any], Any]]:
    """One decoding function per field, worked out once per type from its hints: reading a
    stream decodes every field of every fact, so the hints are not inspected per value."""
    return {name: _decoder(hint) for name, hint in typing.get_type_hints(cls).items()}


def _same(value: Any) -> Any:
    return value


def _decoder(hint: Any) -> Callable[[Any], Any]:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = _decoder(next(a for a in typing.get_args(hint) if a is not type(None)))
        return lambda value: None if value is None else inner(value)
    if origin is tuple:
        each = _decoder(typing.get_args(hint)[0])
        return lambda value: None if value is None else tuple(each(v) for v in value)
    if hint is Money:
        plain: Callable[[Any], Any] = Money.from_dict
    elif hint is date:
        plain = date.fromisoformat
    elif hint is Decimal:
        plain = Decimal
    elif isinstance(hint, type) and issubclass(hint, Enum):
        plain = hint
    else:
        return _same
    return lambda value: None if value is None else plain(value)


# --- upcasters: older stored shapes, read as today's ----------------------------------------

_RECIST = {  # the RECIST response, abbreviated or spelled out, as schema 1 stored it
    "CR": "objective_response", "COMPLETE RESPONSE": "objective_response",
    "PR": "objective_response", "PARTIAL RESPONSE": "objective_response",
    "SD": "stable_disease", "STABLE DISEASE": "stable_disease",
    "PD": "progressive_disease", "PROGRESSIVE DISEASE": "progressive_disease",
    "NE": "not_evaluable", "NOT EVALUABLE": "not_evaluable",
}


@upcaster("AssessmentRecorded", 1)
def _assessment_result_to_outcome(data: dict[str, Any]) -> dict[str, Any]:
    """v1 `result` was free text ("SD", " pr", "Stable disease"); v2 `outcome` is an Outcome.
    Text that is no RECIST response fails loudly: guessing would change who pays."""
    text = data.pop("result")
    key = " ".join(str(text).upper().split())
    if key not in _RECIST:
        raise ValueError(f"AssessmentRecorded v1: {text!r} is not a RECIST response")
    return data | {"outcome": _RECIST[key]}


@upcaster("PriceSet", 1)
def _price_without_pack(data: dict[str, Any]) -> dict[str, Any]:
    """v1 did not record what a pack is; v2 says so, or None when it was not recorded."""
    return data | {"pack": None}
