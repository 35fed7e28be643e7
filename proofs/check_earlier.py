"""A bundle that rests on an earlier one (`impress-bundle-v3`, docs/proofs.md section 8.5, ADR
0031): the facts it leaves out are taken from the verifier's store, where they were recorded when
the earlier bundle was accepted under the earlier head; that head is signed, held by the store,
and the new head extends it. The rest of the verification (streams whole across store and
bundle, nothing else, the figures) runs over the union as for any bundle (proofs.check_bundle).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from domain.tree import BadDocument
from proofs.bundle import Bundle, Earlier, Entry
from proofs.check import Failed, check_consistency, check_head
from proofs.store import Store


def earlier_facts(bundle: Bundle, earlier: Earlier, keys: Mapping[str, bytes],
                  store: Store | None) -> tuple[list[Entry], list[str]]:
    """The facts the bundle leaves out, from the store, and what was checked to take them."""
    known_at = bundle.statement.get("known_at")
    size = earlier.head.head.tree_size
    what = f"the earlier head ({size} facts)"
    lines = [check_head(earlier.head, keys, what)]
    if earlier.known_at != size:
        raise Failed(f"the bundle rests on the one known at position {earlier.known_at}, but "
                     f"names the head of {size} facts for it")
    if not isinstance(known_at, int) or size > known_at:
        raise Failed(f"the bundle rests on one known at position {size}, after its own "
                     f"known_at {known_at}")
    proof = earlier.consistency
    if (proof.first, proof.second) != (size, bundle.head.head.tree_size):
        raise Failed(f"the bundle's consistency proof is from {proof.first} to {proof.second} "
                     f"facts, not from the earlier head's {size} to its head's "
                     f"{bundle.head.head.tree_size}")
    lines += check_consistency(bundle.head, [earlier.head], [proof], keys)[1:]
    if store is None:
        raise BadDocument(f"this bundle leaves out the facts up to position {size} of "
                          f"{_streams(len(earlier.streams))}, verified with an earlier bundle: "
                          "give the store that verification recorded (--store PATH)")
    named = set(earlier.streams)
    for entry in bundle.facts:
        if entry.fact["stream"] in named and entry.position <= size:
            raise Failed(f"the bundle holds the fact at position {entry.position} of "
                         f"{entry.fact['stream']}, which it says it leaves out")
    taken = store.earlier(earlier)
    lines.append(f"{len(taken)} facts of {_streams(len(named))} up to position {size}, taken from "
                 f"the store {store.path}, where they were verified under that head")
    return taken, lines


def _streams(n: int) -> str:
    return f"{n} stream" if n == 1 else f"{n} streams"


def union(taken: Sequence[Entry], given: Sequence[Entry]) -> list[Entry]:
    """The store's facts and the bundle's, in position order (each position once: the bundle
    holds none of the named streams' facts up to the earlier head, checked above)."""
    out = sorted([*taken, *given], key=lambda e: e.leaf_index)
    for a, b in zip(out, out[1:]):
        if a.leaf_index == b.leaf_index:
            raise Failed(f"the store and the bundle give two facts at position {a.position}")
    return out
