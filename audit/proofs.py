"""Proofs from the stored tree (docs/proofs.md): an inclusion proof of the fact at a position in
the tree of the first N facts, a consistency proof between two sizes; and which facts an actor
may have an inclusion proof of (a proof reveals the fact and its salt).

Every proof costs O(log n) reads: one query for the tree columns it needs (domain.merkle), one
for the fact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from application.access import View
from audit import heads as signed_heads
from domain import chain, merkle
from domain.tree import TREE_HEADS
from eventstore import EventLog, StoredFact
from proofs.documents import ConsistencyProof, InclusionProof


class OutOfRange(ValueError):
    """A position or tree size the log does not have (yet)."""


def visible_fact(log: EventLog, view: View, position: int) -> StoredFact | None:
    """The fact at a position, if there is one and the actor may see it whole."""
    fact = log.fact_at(position) if position <= log.head() else None
    return fact if fact is not None and visible(view, fact) else None


def inclusion(log: EventLog, position: int, tree_size: int,
              heads: list[signed_heads.RecordedHead] | None = None) -> InclusionProof:
    """The proof that the fact at `position` is in the tree of the first `tree_size` facts."""
    _sizes(log, tree_size, position, "position")
    index = position - 1
    wanted = _positions([*merkle.inclusion_subtrees(index, tree_size), (0, tree_size)])
    rows = log.tree([*wanted, position])
    fetch = _fetch({p: column for p, (_, column) in rows.items()})
    fact = log.fact_at(position)
    if fact is None or position not in rows:
        raise OutOfRange(f"no fact at position {position}")
    found = signed_heads.of_size(heads if heads is not None else
                                 signed_heads.recorded_heads(log), tree_size)
    return InclusionProof(
        leaf_index=index, tree_size=tree_size,
        fact=chain.canonical_object(position, fact.recorded_at, fact), salt=rows[position][0].hex(),
        path=tuple(h.hex() for h in merkle.inclusion_proof(index, tree_size, fetch)),
        root_hash=merkle.root(tree_size, fetch).hex(), head=found.signed if found else None)


def multiproof(log: EventLog, positions: Sequence[int], tree_size: int, batch: int = 2000
               ) -> tuple[dict[int, str], tuple[str, ...]]:
    """The salt of the fact at each position (distinct, increasing), and the multiproof of all
    of them in the tree of `tree_size` facts (domain.merkle.multiproof_subtrees): the tree
    columns it needs are read in batches of `batch` positions, a few queries for a bundle of
    tens of thousands of facts."""
    _sizes(log, tree_size, min(positions, default=1), "position")
    if positions and max(positions) > tree_size:
        raise OutOfRange(f"position {max(positions)} is not in the tree of {tree_size} facts")
    subtrees = merkle.multiproof_subtrees([p - 1 for p in positions], tree_size)
    salts: dict[int, str] = {}

    def fetch(wanted: Sequence[int]) -> dict[int, bytes]:  # with the salts, in batches
        every = sorted(set(wanted) | set(positions))
        rows: dict[int, tuple[bytes, bytes]] = {}
        for i in range(0, len(every), batch):
            rows.update(log.tree(every[i:i + batch]))
        salts.update((p, rows[p][0].hex()) for p in positions if p in rows)
        return {p: column for p, (_, column) in rows.items()}

    nodes = merkle.subtree_hashes(subtrees, fetch)
    missing = [p for p in positions if p not in salts]
    if missing:
        raise OutOfRange(f"no fact at position {missing[0]}")
    return salts, tuple(h.hex() for h in nodes)


def consistency(log: EventLog, first: int, second: int) -> ConsistencyProof:
    """The proof that the tree of `second` facts extends the tree of `first` facts."""
    _sizes(log, second, first, "first")
    subtrees = merkle.consistency_subtrees(first, second)
    fetch = _fetch(log.columns(_positions([*subtrees, (0, first), (0, second)])))
    heads = signed_heads.recorded_heads(log)
    first_head, second_head = signed_heads.of_size(heads, first), signed_heads.of_size(heads,
                                                                                      second)
    return ConsistencyProof(
        first=first, second=second, first_root=merkle.root(first, fetch).hex(),
        second_root=merkle.root(second, fetch).hex(),
        path=tuple(h.hex() for h in merkle.consistency_proof(first, second, fetch)),
        first_head=first_head.signed if first_head else None,
        second_head=second_head.signed if second_head else None)


def _sizes(log: EventLog, size: int, lower: int, name: str) -> None:
    head = log.head()
    if not 1 <= size <= head:
        raise OutOfRange(f"the log holds {head} facts: a tree size must lie in 1..{head}")
    if not 1 <= lower <= size:
        raise OutOfRange(f"{name} must lie in 1..{size} (the tree size)")


def _positions(subtrees: Sequence[tuple[int, int]]) -> list[int]:
    return sorted({part.position for start, end in subtrees
                   for part in merkle.perfect_parts(start, end)})


def _fetch(columns: Mapping[int, bytes]) -> merkle.Fetch:
    return lambda positions: {p: columns[p] for p in positions if p in columns}


# --- who may have the proof of a fact ------------------------------------------------------------


def visible(view: View, fact: StoredFact) -> bool:
    """Whether the actor may have this fact's inclusion proof: only a fact it may see whole, by
    the one tenancy rule (application.access, ADR 0016). The heads' own facts are open to all,
    like the heads."""
    return fact.stream == TREE_HEADS or view.whole_fact(fact.stream, fact.data)


def visible_facts(view: View, facts: Sequence[StoredFact]) -> list[StoredFact]:
    """Those of the facts `visible` keeps, each stream judged once (a bundle's 45 000 facts
    are of a few hundred streams), each fact's data still judged on its own."""
    streams: dict[str, bool] = {}
    shown = []
    for fact in facts:
        stream = fact.stream
        if stream == TREE_HEADS:
            shown.append(fact)
            continue
        seen = streams.get(stream)
        if seen is None:
            seen = streams[stream] = view.sees_everything or view.sees_ref(stream)
        if seen and view.unchanged(fact.data):
            shown.append(fact)
    return shown
