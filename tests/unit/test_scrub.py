"""`View.scrub` withholds what an actor may not see in one pass over a value (a public cost
statement at M is half a million values). It must give exactly what the plain recursive rule
gives, kept here as the oracle: for every value drawn of dicts, lists, tuples, texts, numbers
and None, with visible and hidden patient ids and fact references standing alone, in lists and
inside text, and lists nested in lists (which count nothing withheld)."""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass, replace
from datetime import date
from enum import Enum, StrEnum
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from application.access import PROCUREMENT, RHF_FINANCE, View
from domain.values import Actor

VISIBLE = ("IMP-0001", "IMP-0002", "IMP-0003")
HIDDEN = ("IMP-0101", "IMP-0102")


def oracle(view: View, value: Any) -> Any:
    """The rule as first written: recursive, one call per value, a list's hidden items found
    once to leave them out and again to count them."""
    if isinstance(value, str):
        return view.scrub_text(value)
    if isinstance(value, (list, tuple)):
        return [oracle(view, v) for v in value if not view._hidden(v)]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out[key] = oracle(view, item)
            if isinstance(item, (list, tuple)):
                hidden = sum(1 for v in item if view._hidden(v))
                if hidden:
                    out[f"{key}_withheld"] = {"count": hidden, "why": view.why()}
        return out
    return value


def record_oracle(view: View, value: Any) -> Any:
    """`scrub_record` as first written: field by field, recursively."""
    if isinstance(value, Enum):
        return value
    if isinstance(value, str):
        return view.scrub_text(value)
    if is_dataclass(value) and not isinstance(value, type):
        changed = {}
        for f in fields(value):
            if f.init:
                old = getattr(value, f.name)
                new = record_oracle(view, old)
                if new is not old and new != old:
                    changed[f.name] = new
        return replace(value, **changed) if changed else value
    if isinstance(value, (tuple, list)):
        kept = [record_oracle(view, v) for v in value if not view._hidden(v)]
        if len(kept) == len(value) and all(k is v for k, v in zip(kept, value, strict=True)):
            return value
        return tuple(kept) if isinstance(value, tuple) else kept
    if isinstance(value, dict):
        return oracle(view, value)
    return value


def view_of(role: str) -> View:
    def no_workspace() -> Any:
        raise AssertionError("every patient drawn is judged already")

    view = View(Actor(subject="s", role=role, organisation="helse-vest"), no_workspace)
    view._patients.update({p: role == RHF_FINANCE for p in VISIBLE})
    view._patients.update({p: False for p in HIDDEN})
    return view


ids = st.sampled_from(VISIBLE + HIDDEN)
texts = st.one_of(
    ids, ids.map(lambda p: f"patient/{p}@7"), ids.map(lambda p: f"patient/{p}"),
    st.tuples(ids, ids).map(lambda t: f"{t[0]} moved; see patient/{t[1]}@2"),
    st.sampled_from(["public", "NOK", "2024-01-31", "cohort/c-1", "company/novartis",
                     "helse-vest", "", "22468.00"]),
    st.text(max_size=8).filter(lambda t: "IMP-" not in t))  # every id drawn is judged
leaves = st.one_of(texts, st.integers(-5, 5), st.none(), st.booleans())
keys = st.sampled_from(["patients", "ref", "note", "rows", "patients_withheld", "x"])
values = st.recursive(leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.lists(inner, max_size=5).map(tuple),
    st.dictionaries(keys, inner, max_size=5)), max_leaves=40)


@settings(max_examples=400)
@given(value=values, role=st.sampled_from([RHF_FINANCE, PROCUREMENT]))
def test_scrub_gives_what_the_plain_rule_gives(value: Any, role: str) -> None:
    assert view_of(role).scrub(value) == oracle(view_of(role), value)


def test_a_list_counts_what_it_withholds_and_text_is_withheld_in_place() -> None:
    got = view_of(RHF_FINANCE).scrub({"patients": ["IMP-0001", "IMP-0101", "IMP-0102"],
                                      "rows": [["IMP-0101"]],
                                      "note": "IMP-0101 after patient/IMP-0002@3"})
    assert got == {"patients": ["IMP-0001"],
                   "patients_withheld": {"count": 2, "why": got["patients_withheld"]["why"]},
                   "rows": [[]], "note": "[withheld] after patient/IMP-0002@3"}
    assert "helse-vest" in got["patients_withheld"]["why"]


class Gap(StrEnum):
    OPEN = "IMP-0101"  # an enum's value is never withheld, even one that looks like an id


@dataclass(frozen=True)
class Money:
    amount: int
    currency: str


@dataclass(frozen=True)
class Item:
    patient_id: str
    since: date
    gap: Gap
    reason: str
    basis: tuple[str, ...]
    value: Money | None
    notes: list[Any]


items = st.builds(Item, patient_id=ids, since=st.dates(), gap=st.just(Gap.OPEN), reason=texts,
                  basis=st.lists(texts, max_size=4).map(tuple),
                  value=st.one_of(st.none(), st.builds(Money, st.integers(0, 9), texts)),
                  notes=st.lists(st.one_of(texts, st.dictionaries(keys, texts, max_size=3)),
                                 max_size=3))


@settings(max_examples=300)
@given(value=st.one_of(items, st.lists(items, max_size=4).map(tuple), st.lists(items, max_size=4)),
       role=st.sampled_from([RHF_FINANCE, PROCUREMENT]))
def test_scrub_record_gives_what_the_plain_rule_gives(value: Any, role: str) -> None:
    got, expected = view_of(role).scrub_record(value), record_oracle(view_of(role), value)
    assert got == expected
    assert (got is value) == (expected is value)  # a record left whole is the same object
