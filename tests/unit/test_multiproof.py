"""A bundle's multiproof (domain.merkle.multiproof_subtrees / multiproof_root, docs/proofs.md
section 8.4; proofs.check_bundle.check_multiproof) against the RFC 9162 reference of
tests/unit/test_merkle.py, for random tree sizes and any set of leaves: the honest nodes (the
reference MTH of each subtree) lead to the reference root; they are exactly the siblings on the
leaves' audit paths (PATH) that hold none of the leaves, each once; and one node changed,
dropped or added, one leaf or salt changed, or one leaf index moved, fails."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import chain, merkle
from domain.merkle import ProofError
from proofs.bundle import Entry
from proofs.check import Failed
from proofs.check_bundle import check_multiproof
from tests.unit.test_merkle import mth, path


@st.composite
def trees(draw: st.DrawFn, most: int = 600) -> tuple[list[bytes], list[int]]:
    """Leaf inputs of a tree of random size, and a random set of its leaves (sorted)."""
    size = draw(st.integers(1, most))
    inputs = [b"leaf %d" % i for i in range(size)]
    chosen = draw(st.lists(st.integers(0, size - 1), min_size=1, max_size=min(size, 40),
                           unique=True))
    return inputs, sorted(chosen)


def honest(inputs: list[bytes], chosen: list[int]) -> list[bytes]:
    """The multiproof, each node hashed by the reference MTH over the leaves it covers."""
    return [mth(inputs[s:e]) for s, e in merkle.multiproof_subtrees(chosen, len(inputs))]


def leaf_hashes(inputs: list[bytes], chosen: list[int]) -> list[bytes]:
    return [mth([inputs[i]]) for i in chosen]


@given(trees())
@settings(max_examples=300, deadline=None)
def test_honest_nodes_of_any_leaves_lead_to_the_reference_root(
        case: tuple[list[bytes], list[int]]) -> None:
    inputs, chosen = case
    found = merkle.multiproof_root(chosen, len(inputs), leaf_hashes(inputs, chosen),
                                   honest(inputs, chosen))
    assert found == mth(inputs)


@given(trees())
@settings(max_examples=300, deadline=None)
def test_the_nodes_are_the_audit_paths_siblings_that_hold_no_leaf_each_once(
        case: tuple[list[bytes], list[int]]) -> None:
    inputs, chosen = case
    size = len(inputs)
    subtrees = merkle.multiproof_subtrees(chosen, size)
    siblings = {s for i in chosen for s in merkle.inclusion_subtrees(i, size)}
    assert len(subtrees) == len(set(subtrees))
    assert set(subtrees) == {(s, e) for s, e in siblings
                             if not any(s <= i < e for i in chosen)}
    # the same hashes the per-leaf proofs of ADR 0023's first format carried, fewer of them
    carried = {h for i in chosen for h in path(i, inputs)}
    assert set(honest(inputs, chosen)) <= carried


@given(trees(), st.data())
@settings(max_examples=400, deadline=None)
def test_one_node_or_leaf_changed_dropped_added_or_moved_fails(
        case: tuple[list[bytes], list[int]], data: st.DataObject) -> None:
    inputs, chosen = case
    size, root = len(inputs), mth(inputs)
    nodes, leaves, indices = honest(inputs, chosen), leaf_hashes(inputs, chosen), list(chosen)
    what = data.draw(st.sampled_from(["leaf", "add", "move"] + (["node", "drop"] if nodes
                                                                 else [])))
    if what == "node":
        i = data.draw(st.integers(0, len(nodes) - 1))
        nodes[i] = bytes(b ^ (1 << data.draw(st.integers(0, 7))) if j == 0 else b
                         for j, b in enumerate(nodes[i]))
    elif what == "drop":
        nodes.pop(data.draw(st.integers(0, len(nodes) - 1)))
    elif what == "add":
        nodes.insert(data.draw(st.integers(0, len(nodes))), hashlib.sha256(b"x").digest())
    elif what == "leaf":
        i = data.draw(st.integers(0, len(leaves) - 1))
        leaves[i] = mth([inputs[indices[i]] + b"!"])
    else:  # the same leaf claimed at another free index
        free = [i for i in range(size) if i not in chosen]
        if not free:
            return
        at = data.draw(st.integers(0, len(indices) - 1))
        indices[at] = data.draw(st.sampled_from(free))
        order = sorted(range(len(indices)), key=indices.__getitem__)
        indices, leaves = [indices[i] for i in order], [leaves[i] for i in order]
    try:
        found = merkle.multiproof_root(indices, size, leaves, nodes)
    except ProofError:
        return
    assert found != root


@given(st.integers(1, 5000).flatmap(lambda size: st.tuples(
    st.just(size), st.lists(st.integers(0, size - 1), min_size=1, max_size=300, unique=True))))
@settings(max_examples=400, deadline=None)
def test_the_nodes_worked_out_gap_by_gap_are_those_the_walk_of_section_8_4_meets(
        case: tuple[int, list[int]]) -> None:
    size, chosen = case
    assert merkle.multiproof_subtrees(sorted(chosen), size) == merkle._walked_subtrees(
        sorted(chosen), size)


def test_leaf_indices_out_of_order_repeated_or_outside_the_tree_are_refused() -> None:
    leaf = mth([b"a leaf"])
    for indices in ([3, 2], [2, 2], [9], [-1], []):
        with pytest.raises(ProofError):
            merkle.multiproof_root(indices, 9, [leaf] * len(indices), [])


# --- the verifier's step 2 on bundle entries ------------------------------------------------------


def fact(position: int) -> dict[str, object]:
    return {"actor": {"subject": "s"}, "data": {"n": position}, "position": position,
            "recorded_at": "2024-01-01T00:00:00.000000Z", "schema": 1, "stream": f"s/{position}",
            "type": "Noted", "valid_on": None, "version": 1}


def salt(i: int) -> bytes:
    return hashlib.sha256(b"salt%d" % i).digest()


def entries_of(size: int, chosen: list[int]) -> tuple[list[Entry], list[str], bytes]:
    inputs = [salt(i) + chain.canonical_json(fact(i + 1)).encode() for i in range(size)]
    entries = [Entry(i, fact(i + 1), salt(i).hex()) for i in chosen]
    return entries, [h.hex() for h in honest(inputs, chosen)], mth(inputs)


def test_a_bundles_facts_verify_with_their_multiproof_and_fail_with_a_changed_salt() -> None:
    entries, nodes, root = entries_of(300, [0, 17, 18, 150, 299])
    check_multiproof(entries, nodes, 300, root)
    changed = [entries[0], Entry(17, entries[1].fact, "f" * 64), *entries[2:]]
    with pytest.raises(Failed, match="not proved"):
        check_multiproof(changed, nodes, 300, root)
    with pytest.raises(Failed, match="does not fit"):
        check_multiproof(entries, nodes[:-1], 300, root)
    with pytest.raises(Failed, match="increasing"):
        check_multiproof([entries[1], entries[0]], nodes, 300, root)
