"""A bundle's inclusion proofs are checked together (proofs.check_bundle.check_inclusions): a node
verified by one proof ends the hashing of the next there. Against the RFC 9162 reference of
tests/unit/test_merkle.py, for every tree size and any set of leaves: every honest set of proofs
verifies, and one hash changed anywhere in any proof (also above where the hashing stopped), a
salt, or a leaf index fails."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import chain
from proofs.bundle import Entry
from proofs.check import Failed
from proofs.check_bundle import check_inclusions
from tests.unit.test_merkle import mth, path


def fact(position: int) -> dict[str, object]:
    return {"actor": {"subject": "s"}, "data": {"n": position}, "position": position,
            "recorded_at": "2024-01-01T00:00:00.000000Z", "schema": 1, "stream": f"s/{position}",
            "type": "Noted", "valid_on": None, "version": 1}


def tree(size: int, chosen: list[int]) -> tuple[list[Entry], bytes]:
    """A tree of `size` leaves; the chosen ones are salted facts, the others stand-ins."""
    inputs, salts = [], {}
    for i in range(size):
        salt = hashlib.sha256(b"salt%d" % i).digest()
        salts[i] = salt
        inputs.append(salt + chain.canonical_json(fact(i + 1)).encode())
    entries = [Entry(i, fact(i + 1), salts[i].hex(), tuple(h.hex() for h in path(i, inputs)))
               for i in sorted(chosen)]
    return entries, mth(inputs)


@st.composite
def trees(draw: st.DrawFn) -> tuple[int, list[int]]:
    size = draw(st.integers(1, 300))
    chosen = draw(st.lists(st.integers(0, size - 1), min_size=1, max_size=12, unique=True))
    return size, chosen


@given(trees())
@settings(max_examples=150, deadline=None)
def test_honest_proofs_of_any_leaves_verify_together(case: tuple[int, list[int]]) -> None:
    size, chosen = case
    entries, root = tree(size, chosen)
    check_inclusions(entries, size, root)


@given(trees(), st.data())
@settings(max_examples=300, deadline=None)
def test_one_changed_hash_salt_or_index_in_any_proof_fails(case: tuple[int, list[int]],
                                                           data: st.DataObject) -> None:
    size, chosen = case
    entries, root = tree(size, chosen)
    at = data.draw(st.integers(0, len(entries) - 1))
    e = entries[at]
    options = ["salt", "index"] + (["path"] if e.path else [])
    what = data.draw(st.sampled_from(options))
    if what == "path":
        i = data.draw(st.integers(0, len(e.path) - 1))
        changed = Entry(e.leaf_index, e.fact, e.salt, (*e.path[:i], "0" * 64, *e.path[i + 1:])
                        ) if e.path[i] != "0" * 64 else e
    elif what == "salt":
        changed = Entry(e.leaf_index, e.fact, "f" * 64, e.path)
    else:
        changed = Entry((e.leaf_index + 1) % size, e.fact, e.salt, e.path)
    if changed == e:
        return
    with pytest.raises(Failed):
        check_inclusions([*entries[:at], changed, *entries[at + 1:]], size, root)


def test_a_proof_of_the_wrong_length_fails() -> None:
    entries, root = tree(9, [2, 7])
    short = Entry(7, entries[1].fact, entries[1].salt, entries[1].path[:-1])
    with pytest.raises(Failed, match="needs"):
        check_inclusions([entries[0], short], 9, root)
