"""The Merkle tree (domain/merkle.py) against RFC 9162 itself: a plain transcription of the RFC's
recursive definitions (MTH, PATH, PROOF) below is the reference for every tree size up to a few
thousand, and the published RFC 6962 roots of the classic eight-leaf tree pin the bytes."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import merkle
from domain.merkle import CompactRange, ProofError

CT_LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243",
                                        "5051525354555657",
                                        "606162636465666768696a6b6c6d6e6f")]
CT_ROOTS = [  # the published RFC 6962 roots of the first n of CT_LEAVES
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


# --- the reference: RFC 9162 2.1.1, 2.1.3.1 and 2.1.4.1, word for word -------------------------


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def k_of(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: list[bytes]) -> bytes:
    if not d:
        return sha(b"")
    if len(d) == 1:
        return sha(b"\x00" + d[0])
    k = k_of(len(d))
    return sha(b"\x01" + mth(d[:k]) + mth(d[k:]))


def path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = k_of(len(d))
    if m < k:
        return path(m, d[:k]) + [mth(d[k:])]
    return path(m - k, d[k:]) + [mth(d[:k])]


def proof(m: int, d: list[bytes]) -> list[bytes]:
    return subproof(m, d, True)


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = k_of(n)
    if m <= k:
        return subproof(m, d[:k], b) + [mth(d[k:])]
    return subproof(m - k, d[k:], False) + [mth(d[:k])]


# --- the ledger's tree, built as the writer builds it ------------------------------------------


class Stored:
    """Columns as the store keeps them, built leaf by leaf with a CompactRange."""

    def __init__(self, leaves: list[bytes]) -> None:
        tree = CompactRange()
        self.columns = {i + 1: tree.append(merkle.leaf_hash(d)) for i, d in enumerate(leaves)}
        self.reads: list[int] = []

    def fetch(self, positions: Any) -> dict[int, bytes]:
        self.reads += list(positions)
        return {p: self.columns[p] for p in positions if p in self.columns}


def leaves_of(n: int) -> list[bytes]:
    return [f"fact {i}".encode() for i in range(n)]


def test_the_rfc_6962_vectors_give_the_published_roots_for_every_size() -> None:
    for n, expected in enumerate(CT_ROOTS):
        tree = Stored(CT_LEAVES[:n])
        assert merkle.root(n, tree.fetch).hex() == expected
        assert mth(CT_LEAVES[:n]).hex() == expected  # the reference agrees


def test_hashes_are_domain_separated_leaf_from_node() -> None:
    a, b = sha(b"a"), sha(b"b")
    assert merkle.leaf_hash(a + b) != merkle.node_hash(a, b)
    assert merkle.leaf_hash(b"") == bytes.fromhex(CT_ROOTS[1])


@pytest.mark.parametrize("size", range(1, 70))
def test_every_proof_of_every_small_tree_equals_the_rfcs(size: int) -> None:
    d = leaves_of(size)
    tree = Stored(d)
    root = merkle.root(size, tree.fetch)
    assert root == mth(d)
    for m in range(size):
        got = merkle.inclusion_proof(m, size, tree.fetch)
        assert got == path(m, d)
        merkle.verify_inclusion(m, size, merkle.leaf_hash(d[m]), got, root)
    for m in range(1, size + 1):
        got = merkle.consistency_proof(m, size, tree.fetch)
        assert got == proof(m, d)
        merkle.verify_consistency(m, size, mth(d[:m]), root, got)


class Ranges:
    """The same three definitions over index ranges of one list of leaves, each subtree's MTH
    remembered: so every tree size up to thousands can be checked in seconds."""

    def __init__(self, d: list[bytes]) -> None:
        self.d = d
        self.memo: dict[tuple[int, int], bytes] = {}

    def mth(self, lo: int, hi: int) -> bytes:
        if (lo, hi) not in self.memo:
            n = hi - lo
            self.memo[lo, hi] = (sha(b"\x00" + self.d[lo]) if n == 1 else
                                 sha(b"\x01" + self.mth(lo, lo + k_of(n)) +
                                     self.mth(lo + k_of(n), hi)))
        return self.memo[lo, hi]

    def path(self, m: int, lo: int, hi: int) -> list[bytes]:
        if hi - lo == 1:
            return []
        k = k_of(hi - lo)
        if m < k:
            return self.path(m, lo, lo + k) + [self.mth(lo + k, hi)]
        return self.path(m - k, lo + k, hi) + [self.mth(lo, lo + k)]

    def subproof(self, m: int, lo: int, hi: int, b: bool) -> list[bytes]:
        if m == hi - lo:
            return [] if b else [self.mth(lo, hi)]
        k = k_of(hi - lo)
        if m <= k:
            return self.subproof(m, lo, lo + k, b) + [self.mth(lo + k, hi)]
        return self.subproof(m - k, lo + k, hi, False) + [self.mth(lo, lo + k)]


def test_the_range_reference_is_the_list_reference() -> None:
    d = leaves_of(40)
    ranges = Ranges(d)
    for n in range(1, 41):
        assert ranges.mth(0, n) == mth(d[:n])
        assert all(ranges.path(m, 0, n) == path(m, d[:n]) for m in range(n))
        assert all(ranges.subproof(m, 0, n, True) == proof(m, d[:n]) for m in range(1, n + 1))


def test_every_tree_size_up_to_4096_has_the_rfcs_root_and_proofs() -> None:
    d = leaves_of(4096)
    ranges, tree = Ranges(d), Stored(d)
    for n in range(1, 4097):
        m, first = (n * 7919) % n, (n * 104729) % n + 1  # a leaf and an old size, spread out
        assert merkle.root(n, tree.fetch) == ranges.mth(0, n), n
        assert merkle.inclusion_proof(m, n, tree.fetch) == ranges.path(m, 0, n), n
        assert merkle.consistency_proof(first, n, tree.fetch) == ranges.subproof(first, 0, n,
                                                                                 True), n


SIZES = st.integers(min_value=1, max_value=3000)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), size=SIZES)
def test_proofs_equal_the_rfcs_for_trees_of_up_to_thousands_of_leaves(
        data: st.DataObject, size: int) -> None:
    d = leaves_of(size)
    tree = Stored(d)
    m = data.draw(st.integers(0, size - 1), label="leaf")
    first = data.draw(st.integers(1, size), label="first")
    root = mth(d)
    assert merkle.root(size, tree.fetch) == root
    assert merkle.inclusion_proof(m, size, tree.fetch) == path(m, d)
    assert merkle.consistency_proof(first, size, tree.fetch) == proof(first, d)
    # ...and a tree of any size up to the last is still provable from the same columns.
    smaller = data.draw(st.integers(first, size), label="smaller")
    assert merkle.consistency_proof(first, smaller, tree.fetch) == proof(first, d[:smaller])


@settings(max_examples=60, deadline=None)
@given(data=st.data(), size=SIZES)
def test_a_proof_reads_a_logarithmic_number_of_stored_columns(
        data: st.DataObject, size: int) -> None:
    tree = Stored(leaves_of(size))
    m = data.draw(st.integers(0, size - 1))
    merkle.inclusion_proof(m, size, tree.fetch)
    assert len(tree.reads) <= 2 * size.bit_length()


@settings(max_examples=100, deadline=None)
@given(data=st.data(), size=st.integers(min_value=2, max_value=600))
def test_any_changed_leaf_or_path_hash_fails_its_proof(data: st.DataObject, size: int) -> None:
    d = leaves_of(size)
    root = mth(d)
    m = data.draw(st.integers(0, size - 1))
    p = path(m, d)
    with pytest.raises(ProofError):
        merkle.verify_inclusion(m, size, merkle.leaf_hash(d[m] + b"!"), p, root)
    i = data.draw(st.integers(0, len(p) - 1))
    bad = [*p[:i], sha(p[i]), *p[i + 1:]]
    with pytest.raises(ProofError):
        merkle.verify_inclusion(m, size, merkle.leaf_hash(d[m]), bad, root)
    other = data.draw(st.integers(0, size - 1).filter(lambda x: x != m))
    with pytest.raises(ProofError):  # the right leaf at another index
        merkle.verify_inclusion(other, size, merkle.leaf_hash(d[m]), p, root)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), size=st.integers(min_value=2, max_value=600))
def test_a_rewritten_prefix_is_not_consistent_with_the_old_root(
        data: st.DataObject, size: int) -> None:
    d = leaves_of(size)
    first = data.draw(st.integers(1, size - 1))
    changed = data.draw(st.integers(0, first - 1))
    old_root = mth(d[:first])
    rewritten = [*d[:changed], b"rewritten", *d[changed + 1:]]
    forged = proof(first, rewritten)
    with pytest.raises(ProofError):
        merkle.verify_consistency(first, size, old_root, mth(rewritten), forged)
    merkle.verify_consistency(first, size, old_root, mth(d), proof(first, d))


def test_the_compact_range_gives_every_intermediate_root() -> None:
    tree = CompactRange()
    d = leaves_of(300)
    for n, leaf in enumerate(d, start=1):
        tree.append(merkle.leaf_hash(leaf))
        assert tree.root() == mth(d[:n])
        assert len(tree.hashes) == n.bit_count()


def test_a_frontier_rebuilt_from_stored_columns_continues_the_tree() -> None:
    d = leaves_of(100)
    stored = Stored(d[:57])
    again = CompactRange.from_columns(57, stored.fetch(merkle.frontier_positions(57)))
    for leaf in d[57:]:
        again.append(merkle.leaf_hash(leaf))
    assert again.root() == mth(d)
    assert merkle.frontier_positions(57) == [32, 48, 56, 57]


def test_a_damaged_column_is_refused_rather_than_extended() -> None:
    stored = Stored(leaves_of(8))
    columns = stored.fetch([8])
    with pytest.raises(ProofError, match="position 8"):
        CompactRange.from_columns(8, {8: columns[8][:-1]})
    with pytest.raises(ProofError, match="position 8"):
        CompactRange.from_columns(8, {})


def test_sizes_beyond_the_tree_and_proofs_from_the_empty_tree_are_refused() -> None:
    tree = Stored(leaves_of(4))
    with pytest.raises(ProofError):
        merkle.inclusion_proof(4, 4, tree.fetch)
    with pytest.raises(ProofError):
        merkle.consistency_proof(0, 4, tree.fetch)
    with pytest.raises(ProofError):
        merkle.consistency_proof(3, 2, tree.fetch)
    with pytest.raises(ProofError):  # asks for a column the store does not hold
        merkle.root(5, tree.fetch)
