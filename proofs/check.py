"""What `impress-verify` checks, offline, with the partner's trusted keys (docs/proofs.md,
"Verifying"). Each check returns the lines to report or raises Failed (the ledger's documents do
not prove what they claim) or BadDocument (the input is not what the check needs)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from domain import merkle
from domain.tree import BadDocument, SignedHead, canonical_fact
from proofs.documents import ConsistencyProof, InclusionProof
from proofs.keys import signature_holds


class Failed(Exception):
    """Verification failed: a signature, a proof, or the history does not hold."""


def check_head(head: SignedHead, keys: Mapping[str, bytes], what: str = "the head") -> str:
    h = head.head
    public = keys.get(h.key_id)
    if public is None:
        raise Failed(f"{what} is signed with key {h.key_id}, which is not among your trusted "
                     f"keys ({', '.join(sorted(keys))})")
    if not signature_holds(head, public):
        raise Failed(f"{what}'s signature does not hold: a member was changed after signing, or "
                     "it was not signed by that key")
    return (f"{what}: {h.log} signed a tree of {h.tree_size} facts with root {h.root_hash} at "
            f"{h.timestamp} (key {h.key_id})")


def check_inclusion(proof: InclusionProof, head: SignedHead | None,
                    keys: Mapping[str, bytes]) -> list[str]:
    """The fact in the proof is at its position in the log the (signed) head describes."""
    head = head or proof.head
    if head is None:
        raise BadDocument(f"the proof is for a tree of {proof.tree_size} facts and carries no "
                          "signed head of that size: give one (--head)")
    lines = [check_head(head, keys)]
    if head.head.tree_size != proof.tree_size:
        raise BadDocument(f"the proof is for a tree of {proof.tree_size} facts, the head signs "
                          f"one of {head.head.tree_size}: ask for a proof at the head's size")
    fact = proof.fact
    if fact["position"] != proof.leaf_index + 1:
        raise Failed(f"the fact says it is at position {fact['position']}, the proof is for "
                     f"position {proof.leaf_index + 1}")
    canonical_fact(fact)
    try:
        merkle.verify_inclusion(proof.leaf_index, proof.tree_size, proof.leaf_hash,
                                [bytes.fromhex(p) for p in proof.path],
                                bytes.fromhex(head.head.root_hash))
    except merkle.ProofError as e:
        raise Failed(f"the fact at position {fact['position']} is not proved to be in the log: "
                     f"{e}") from None
    lines.append(f"the fact at position {fact['position']} ({fact['stream']}@{fact['version']}, "
                 f"{fact['type']}, recorded {fact['recorded_at']}) is in that tree, exactly as "
                 "shown")
    return lines


def check_consistency(new: SignedHead, archived: Sequence[SignedHead],
                      proofs: Sequence[ConsistencyProof], keys: Mapping[str, bytes]) -> list[str]:
    """The log the new head describes extends every head archived earlier: nothing the ledger
    had signed was changed, reordered or deleted since."""
    lines = [check_head(new, keys, "the new head")]
    n = new.head
    for old in sorted(archived, key=lambda h: h.head.tree_size):
        m = old.head
        label = f"the head of {m.tree_size} facts archived from {m.timestamp}"
        check_head(old, keys, label)
        if m.log != n.log:
            raise BadDocument(f"{label} is of the log {m.log!r}, the new head of {n.log!r}")
        if m.tree_size > n.tree_size:
            raise Failed(f"{label} covers more facts than the ledger's new head ({n.tree_size}): "
                         f"facts {n.tree_size + 1}..{m.tree_size} were deleted, or the head "
                         "you were given is an old one")
        proof = _proof_for(m.tree_size, n.tree_size, proofs)
        _evidence(old, proof)
        try:
            merkle.verify_consistency(m.tree_size, n.tree_size, bytes.fromhex(m.root_hash),
                                      bytes.fromhex(n.root_hash),
                                      [bytes.fromhex(p) for p in proof.path] if proof else [])
        except merkle.ProofError as e:
            raise Failed(f"the new head does not extend {label}: history up to position "
                         f"{m.tree_size} was rewritten since ({e})") from None
        lines.append(f"{label}: the new head extends it (facts 1..{m.tree_size} unchanged)")
    return lines


def _proof_for(first: int, second: int,
               proofs: Sequence[ConsistencyProof]) -> ConsistencyProof | None:
    if first == second:
        return None  # the roots must simply be equal
    for proof in proofs:
        if (proof.first, proof.second) == (first, second):
            return proof
    raise BadDocument(f"no consistency proof from {first} to {second} facts given: fetch "
                      f"GET /v1/proofs/consistency?first={first}&second={second}")


def _evidence(old: SignedHead, proof: ConsistencyProof | None) -> None:
    """The ledger's own statement of the old tree's root, where the proof carries one."""
    m = old.head
    if proof is not None and proof.first_root != m.root_hash:
        raise Failed(f"the ledger now gives the tree of {m.tree_size} facts the root "
                     f"{proof.first_root}; the head you archived from {m.timestamp} signed "
                     f"{m.root_hash}: history up to position {m.tree_size} was rewritten")
