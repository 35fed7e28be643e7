"""The Merkle tree of RFC 9162 (Certificate Transparency v2), section 2.1: hashes, the audit
paths of inclusion and consistency proofs, their verification, and the compact range a writer
keeps to extend the tree one leaf at a time. Standard library only; nothing here knows what a
leaf is (domain.tree says: a salted fact).

Definitions (RFC 9162 2.1.1), with D[n] the leaf inputs d(0)..d(n-1):

    MTH({})    = SHA-256()
    MTH({d0})  = SHA-256(0x00 || d0)
    MTH(D[n])  = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])),  k the largest power of two < n

A subtree is written (start, end): the leaves start..end-1. A *perfect* subtree has 2**level
leaves from an index that is a multiple of 2**level; it is named Node(level, index), covering
leaves index*2**level .. (index+1)*2**level - 1. Every subtree the RFC's recursions visit is a
run of perfect subtrees of decreasing size (the binary digits of its size), so its hash is a
fold of at most log2(n) perfect subtrees' hashes.

Storage: the ledger keeps, beside leaf i (log position i + 1), the hashes of the perfect subtrees
that leaf completes, level 0 (the leaf hash) first: its *column*. Node(level, index) is therefore
in the column of position (index + 1) * 2**level, at offset 32 * level, and any proof needs at
most about 2 * log2(n) columns, read by position.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH of the empty tree."""

Fetch = Callable[[Sequence[int]], Mapping[int, bytes]]
"""Given log positions, the columns stored beside them (see the module's docstring)."""


class ProofError(ValueError):
    """A proof that does not verify, or that cannot be made (a size beyond the tree)."""


def leaf_hash(leaf_input: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf_input).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(size: int) -> int:
    """k of RFC 9162: the largest power of two smaller than size (size >= 2)."""
    return 1 << ((size - 1).bit_length() - 1)


@dataclass(frozen=True)
class Node:
    level: int
    index: int

    @property
    def position(self) -> int:
        """The log position whose column holds this node: that of its last leaf."""
        return (self.index + 1) << self.level

    def of(self, column: bytes) -> bytes:
        """This node's hash in the column of its position."""
        start = HASH_SIZE * self.level
        found = column[start:start + HASH_SIZE]
        if len(found) != HASH_SIZE:
            raise ProofError(f"the column at position {self.position} holds no node at level "
                             f"{self.level}: the stored tree is damaged")
        return found


def perfect_parts(start: int, end: int) -> list[Node]:
    """The perfect subtrees making up (start, end), left to right, largest first: for every
    subtree of the RFC's recursions, one per binary digit of its size."""
    parts = []
    while start < end:
        level = (end - start).bit_length() - 1
        while start % (1 << level):
            level -= 1
        parts.append(Node(level, start >> level))
        start += 1 << level
    return parts


def subtree_hash(start: int, end: int, hashes: Mapping[Node, bytes]) -> bytes:
    """MTH(D[start:end]) from the hashes of its perfect parts: MTH splits at the largest power
    of two, so it folds the parts from the right."""
    parts = perfect_parts(start, end)
    if not parts:
        return EMPTY_ROOT
    result = hashes[parts[-1]]
    for part in reversed(parts[:-1]):
        result = node_hash(hashes[part], result)
    return result


# --- the audit paths (RFC 9162 2.1.3.1 and 2.1.4.1) ----------------------------------------------


def inclusion_subtrees(index: int, size: int) -> list[tuple[int, int]]:
    """PATH(index, D[size]) as the subtrees whose hashes it lists, from the leaf upward."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
    found = []
    start, end = 0, size
    while end - start > 1:
        k = split(end - start)
        if index < start + k:
            found.append((start + k, end))
            end = start + k
        else:
            found.append((start, start + k))
            start += k
    return found[::-1]  # the recursion lists the deepest sibling first


def consistency_subtrees(first: int, second: int) -> list[tuple[int, int]]:
    """PROOF(first, D[second]) as the subtrees whose hashes it lists, deepest first; empty
    when first equals second. From the empty tree there is nothing to prove (RFC 9162 defines
    proofs for 0 < first < second), so none is made."""
    if not 0 < first <= second:
        raise ProofError(f"no consistency proof from {first} leaves to {second}")
    if first == second:
        return []
    found = []
    start, end, m, whole = 0, second, first, True
    while True:
        n = end - start
        if m == n:  # SUBPROOF(m, D[m], b): the old tree's own root unless it is the whole
            if not whole:
                found.append((start, end))
            break
        k = split(n)
        if m <= k:
            found.append((start + k, end))
            end = start + k
        else:
            found.append((start, start + k))
            start, m, whole = start + k, m - k, False
    return found[::-1]


def inclusion_proof(index: int, size: int, fetch: Fetch) -> list[bytes]:
    return subtree_hashes(inclusion_subtrees(index, size), fetch)


def consistency_proof(first: int, second: int, fetch: Fetch) -> list[bytes]:
    return subtree_hashes(consistency_subtrees(first, second), fetch)


def root(size: int, fetch: Fetch) -> bytes:
    """MTH of the first `size` leaves."""
    return subtree_hashes([(0, size)], fetch)[0] if size else EMPTY_ROOT


def subtree_hashes(subtrees: Sequence[tuple[int, int]], fetch: Fetch) -> list[bytes]:
    """The subtrees' hashes, with one fetch of every column they need (a multiproof needs
    100 000s: each subtree's parts are worked out once, as (level, position) pairs, in one
    list, and a perfect subtree, nearly every one of a multiproof's, without the general loop)."""
    parts: list[tuple[int, int]] = []
    ends = []  # where each subtree's parts end in `parts`
    for start, end in subtrees:
        size = end - start
        if size and not size & (size - 1) and not start & (size - 1):
            parts.append((size.bit_length() - 1, end))
        else:
            parts += [(part.level, part.position) for part in perfect_parts(start, end)]
        ends.append(len(parts))
    columns = fetch(sorted({position for _, position in parts}))
    hashes = []
    for level, position in parts:
        column = columns.get(position)
        if column is None:
            raise ProofError(f"no tree column at position {position}")
        offset = HASH_SIZE * level
        found = column[offset:offset + HASH_SIZE]
        hashes.append(found if len(found) == HASH_SIZE else
                      Node(level, (position >> level) - 1).of(column))  # raises
    out = []
    first = 0
    for last in ends:
        if last - first == 1:
            out.append(hashes[first])
        else:
            result = hashes[last - 1] if last > first else EMPTY_ROOT
            for h in reversed(hashes[first:last - 1]):
                result = node_hash(h, result)
            out.append(result)
        first = last
    return out


# --- verification (RFC 9162 2.1.3.2 and 2.1.4.2), step by step -------------------------------


def _check_hashes(*hashes: bytes) -> None:
    if any(len(h) != HASH_SIZE for h in hashes):
        raise ProofError(f"a hash that is not {HASH_SIZE} bytes long")


def _climb(fn: int, sn: int) -> tuple[bool, int, int]:
    """One step up of RFC 9162's verification walks: whether the next hash of the path goes on
    the left (the node is a right child, or the last of its level, whose lone ancestors are
    skipped), and fn, sn one level up."""
    if fn & 1 or fn == sn:
        if not fn & 1:
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        return True, fn >> 1, sn >> 1
    return False, fn >> 1, sn >> 1


def inclusion_root(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    """The root an inclusion proof leads to (compare it with a trusted root)."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not below the tree size {size}")
    _check_hashes(leaf, *path)
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise ProofError("the proof has more hashes than the path to the root")
        on_left, fn, sn = _climb(fn, sn)
        r = node_hash(p, r) if on_left else node_hash(r, p)
    if sn != 0:
        raise ProofError("the proof has fewer hashes than the path to the root")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes],
                     root_hash: bytes) -> None:
    if inclusion_root(index, size, leaf, path) != root_hash:
        raise ProofError(f"the proof of leaf {index} does not lead to the root of the tree of "
                         f"{size} leaves: the leaf, the path or the root is not the ledger's")


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       path: Sequence[bytes]) -> None:
    """Raises ProofError unless the tree of `second` leaves with root `second_root` extends the
    tree of `first` leaves with root `first_root` (RFC 9162 2.1.4.2, and the case of equal
    sizes). A proof from the empty tree is refused: it would prove nothing."""
    if first > second:
        raise ProofError(f"the first tree ({first} leaves) is larger than the second ({second})")
    if first <= 0:
        raise ProofError("a consistency proof from the empty tree proves nothing")
    _check_hashes(*path)  # roots are only compared: one of another length never matches
    if first == second:
        if path:
            raise ProofError("trees of the same size need an empty proof")
        if first_root != second_root:
            raise ProofError(f"two different roots for the same tree size {first}")
        return
    if not path:
        raise ProofError("an empty proof between trees of different sizes")
    if first & (first - 1) == 0:  # a power of two: the old root is a node of the new tree
        path = [first_root, *path]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the proof has more hashes than it needs")
        on_left, fn, sn = _climb(fn, sn)
        if on_left:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
        else:
            sr = node_hash(sr, c)
    if sn != 0:
        raise ProofError("the proof has fewer hashes than it needs")
    if fr != first_root:
        raise ProofError(f"the proof does not lead to the root of the first tree ({first} "
                         "leaves): that tree is not a prefix of the second")
    if sr != second_root:
        raise ProofError(f"the proof does not lead to the root of the second tree ({second} "
                         "leaves): it does not extend the first")


# --- multiproofs: many leaves of one tree, one set of nodes (docs/proofs.md section 8.4) ---------


def multiproof_subtrees(indices: Sequence[int], size: int) -> list[tuple[int, int]]:
    """The subtrees whose hashes prove the leaves `indices` (sorted, distinct) of a tree of
    `size` leaves together: walking MTH's recursion (RFC 9162 2.1.1) from (0, size), left half
    before right, every subtree that holds none of the leaves, where the walk meets it. Each
    is a sibling on some leaf's audit path (its PATH), and no hash is given twice.

    Worked out gap by gap, not by the walk (a bundle at M proves 45 000 leaves of a tree of
    1.6 million): the subtrees the walk emits are disjoint and met left to right, and those in
    the gap between two leaves are the largest subtrees inside it, which are perfect and found
    greedily from the gap's start; after the last leaf, they are its audit path's right-hand
    siblings (the only place the tree's imperfect subtrees can be). `_walked_subtrees` is the
    walk itself; tests/unit/test_multiproof.py checks that both agree."""
    _check_indices(indices, size)
    found: list[tuple[int, int]] = []
    start = 0
    for index in indices:
        _fill(start, index, found)
        start = index + 1
    found += [(s, e) for s, e in inclusion_subtrees(indices[-1], size) if s > indices[-1]]
    return found


def _fill(start: int, end: int, out: list[tuple[int, int]]) -> None:
    """The largest perfect subtrees covering the leaves start..end-1, left to right: each
    starts at a multiple of its size (Node's definition) and fits before `end`."""
    while start < end:
        step = 1 << ((end - start).bit_length() - 1)
        aligned = start & -start
        if aligned and aligned < step:
            step = aligned
        out.append((start, start + step))
        start += step


def _walked_subtrees(indices: Sequence[int], size: int) -> list[tuple[int, int]]:
    """multiproof_subtrees as docs/proofs.md section 8.4 writes it: MTH's recursion itself."""
    _check_indices(indices, size)
    found: list[tuple[int, int]] = []
    stack = [(0, size, 0, len(indices))]  # a subtree and the slice of indices inside it
    while stack:
        start, end, lo, hi = stack.pop()
        if lo == hi:
            found.append((start, end))
        elif end - start > 1:
            middle = start + split(end - start)
            cut = bisect_left(indices, middle, lo, hi)
            stack += [(middle, end, cut, hi), (start, middle, lo, cut)]  # left is popped first
    return found


def multiproof_root(indices: Sequence[int], size: int, leaves: Sequence[bytes],
                    nodes: Sequence[bytes]) -> bytes:
    """The root that the leaf hashes `leaves` at `indices` (sorted, distinct) and the multiproof
    `nodes` (the hashes of multiproof_subtrees, in its order) lead to; compare it with a trusted
    root. Raises ProofError if the nodes are too few or too many."""
    _check_indices(indices, size)
    if len(leaves) != len(indices):
        raise ProofError("one leaf hash for each leaf index")
    _check_hashes(*leaves, *nodes)
    given = iter(nodes)

    def walk(start: int, end: int, lo: int, hi: int) -> bytes:
        if lo == hi:
            found = next(given, None)
            if found is None:
                raise ProofError("the multiproof has fewer nodes than the leaves need")
            return found
        if end - start == 1:
            return leaves[lo]
        middle = start + split(end - start)
        cut = bisect_left(indices, middle, lo, hi)
        left = walk(start, middle, lo, cut)
        return node_hash(left, walk(middle, end, cut, hi))

    result = walk(0, size, 0, len(indices))  # depth: log2(size), about 21 at M
    if next(given, None) is not None:
        raise ProofError("the multiproof has more nodes than the leaves need")
    return result


def _check_indices(indices: Sequence[int], size: int) -> None:
    if not indices:
        raise ProofError("a multiproof proves at least one leaf")
    if indices[0] < 0 or indices[-1] >= size:
        raise ProofError(f"a leaf index is not in a tree of {size} leaves")
    if any(b <= a for a, b in zip(indices, indices[1:])):
        raise ProofError("a multiproof's leaf indices are distinct and in increasing order")


# --- the writer's side: extending the tree one leaf at a time -----------------------------------


def frontier_positions(size: int) -> list[int]:
    """The positions whose columns end with the perfect subtrees making up the whole tree of
    `size` leaves (its compact range), largest subtree first."""
    found = []
    while size:
        found.append(size)
        size &= size - 1
    return found[::-1]


class CompactRange:
    """The hashes of the perfect subtrees making up a tree of `size` leaves (one per binary
    digit of size, largest first): all a writer needs to add leaves and to give the root."""

    def __init__(self, size: int = 0, hashes: Iterable[bytes] = ()) -> None:
        self.size = size
        self.hashes = list(hashes)
        if len(self.hashes) != size.bit_count():
            raise ProofError(f"a tree of {size} leaves has {size.bit_count()} frontier hashes, "
                             f"not {len(self.hashes)}: the stored tree is damaged")

    @classmethod
    def from_columns(cls, size: int, columns: Mapping[int, bytes]) -> CompactRange:
        """From the stored columns at frontier_positions(size): each ends with its node."""
        hashes = []
        for position in frontier_positions(size):
            column = columns.get(position)
            level = (position & -position).bit_length() - 1
            if column is None or len(column) != HASH_SIZE * (level + 1):
                raise ProofError(f"the tree column at position {position} is missing or "
                                 "damaged")
            hashes.append(column[-HASH_SIZE:])
        return cls(size, hashes)

    def append(self, leaf: bytes) -> bytes:
        """Adds a leaf hash; returns its column (the perfect subtrees it completes)."""
        column, h, carry = [leaf], leaf, self.size
        while carry & 1:  # each trailing one of the leaf's index merges one more subtree
            h = node_hash(self.hashes.pop(), h)
            column.append(h)
            carry >>= 1
        self.hashes.append(h)
        self.size += 1
        return b"".join(column)

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        result = self.hashes[-1]
        for h in reversed(self.hashes[:-1]):
            result = node_hash(h, result)
        return result
