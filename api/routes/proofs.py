"""Proofs a partner checks on its own (docs/proofs.md, ADR 0019): the signed tree heads, the
keys they were signed with, consistency proofs (open to every role: they reveal no fact), and
inclusion proofs of the facts the actor may see (anything else answers 404, as for a position
that holds nothing). Every document is checked offline by `impress-verify`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import Field

from api.deps import READ_PROBLEMS, AnyRole, ReferenceReader, ServiceDep, problems
from api.problems import Problem
from api.schemas.responses import Out
from audit import heads as signed_heads
from audit import proofs
from domain.tree import HEAD_FORMAT
from proofs.documents import CONSISTENCY_FORMAT, INCLUSION_FORMAT
from proofs.keys import KEYS_FORMAT

router = APIRouter(tags=["proofs"])
PROOF_PROBLEMS = problems(401, 403, 404, 409, 422, 503)  # 409: beyond the latest signed head
HEX32 = r"^[0-9a-f]{64}$"
Size = Annotated[int | None, Query(ge=1, le=2**53, description="A tree size (number of facts); "
                                   "default: the latest signed head's.")]


class SignedHeadOut(Out):
    format: str = Field(examples=[HEAD_FORMAT])
    key_id: str = Field(examples=["038f055f85265ba0"], description="First 16 hex digits of "
                        "SHA-256 of the raw public key.")
    log: str = Field(examples=["impress-ledger"])
    root_hash: str = Field(pattern=HEX32)
    timestamp: str = Field(examples=["2026-12-01T06:00:00.123456Z"], description="When it was "
                           "signed, UTC.")
    tree_size: int = Field(examples=[979], description="The facts at positions 1..tree_size.")
    signature: str = Field(description="Ed25519 over the RFC 8785 JSON of the six members "
                           "above, hex.")
    recorded_at_position: int = Field(description="Where the head's own fact is in the log "
                                      "(not signed; always after the tree it signs).")


class HeadsOut(Out):
    heads: list[SignedHeadOut]


class KeyOut(Out):
    key_id: str
    algorithm: str = Field(examples=["Ed25519"])
    public_key: str = Field(pattern=HEX32, description="The raw 32-byte public key, hex.")
    first_signed: str
    last_signed: str
    heads: int


class KeysOut(Out):
    format: str = Field(examples=[KEYS_FORMAT])
    keys: list[KeyOut]


class HeadIn(Out):
    """A signed head as carried inside a proof (no recorded position)."""

    format: str
    key_id: str
    log: str
    root_hash: str
    timestamp: str
    tree_size: int
    signature: str


class InclusionOut(Out):
    format: str = Field(examples=[INCLUSION_FORMAT])
    leaf_index: int = Field(description="The fact's position - 1.")
    tree_size: int
    fact: dict[str, Any] = Field(description="The fact's canonical object (impress-chain-v1).")
    salt: str = Field(pattern=HEX32, description="The leaf's secret salt, hex.")
    path: list[str] = Field(description="RFC 9162 PATH, from the leaf upward.")
    root_hash: str = Field(pattern=HEX32, description="The root the server computed; trust the "
                           "signed head's.")
    head: HeadIn | None = Field(description="The signed head of this tree size, if any.")


class ConsistencyOut(Out):
    format: str = Field(examples=[CONSISTENCY_FORMAT])
    first: int
    second: int
    first_root: str = Field(pattern=HEX32)
    second_root: str = Field(pattern=HEX32)
    path: list[str] = Field(description="RFC 9162 PROOF(first, D[second]).")
    first_head: HeadIn | None
    second_head: HeadIn | None


@router.get("/v1/proofs/heads", response_model=HeadsOut, responses=READ_PROBLEMS,
            summary="Every tree head the ledger signed, oldest first")
def all_heads(actor: AnyRole, service: ServiceDep) -> HeadsOut:
    return HeadsOut(heads=[SignedHeadOut(**h.to_dict())
                           for h in signed_heads.recorded_heads(service.ledger.log)])


@router.get("/v1/proofs/heads/latest", response_model=SignedHeadOut, responses=READ_PROBLEMS,
            summary="The latest signed tree head: archive it")
def latest_head(actor: AnyRole, service: ServiceDep) -> SignedHeadOut:
    found = signed_heads.latest(service.ledger.log)
    if found is None:
        raise Problem(404, "no-signed-head", "the ledger has signed no tree head yet")
    return SignedHeadOut(**found.to_dict())


@router.get("/v1/proofs/heads/{tree_size}", response_model=SignedHeadOut,
            responses=READ_PROBLEMS, summary="The signed head of a tree size")
def head_of_size(tree_size: Annotated[int, Path(ge=0, le=2**53)], actor: AnyRole,
                 service: ServiceDep) -> SignedHeadOut:
    found = signed_heads.of_size(signed_heads.recorded_heads(service.ledger.log), tree_size)
    if found is None:
        raise Problem(404, "no-signed-head", f"no head of {tree_size} facts was signed")
    return SignedHeadOut(**found.to_dict())


@router.get("/v1/proofs/keys", response_model=KeysOut, responses=READ_PROBLEMS,
            summary="The public keys the ledger signed heads with",
            description="Compare them with the keys the ledger's operator gave you by a channel "
                        "you trust before you rely on them.")
def public_keys(actor: AnyRole, service: ServiceDep) -> KeysOut:
    return KeysOut(**signed_heads.keys(service.ledger.log))


@router.get("/v1/proofs/inclusion", response_model=InclusionOut, responses=PROOF_PROBLEMS,
            summary="Proof that a fact you may see is in the log",
            description="The fact at `position`, its salt, and its audit path in the tree of "
                        "`tree_size` facts, with the signed head of that size.")
def inclusion(actor: ReferenceReader, service: ServiceDep,
              position: Annotated[int, Query(ge=1, le=2**53)], tree_size: Size = None,
              ) -> InclusionOut:
    log = service.ledger.log
    if proofs.visible_fact(log, service.view(actor), position) is None:
        raise Problem(404, "not-found", f"no fact at position {position} that you may see")
    heads = signed_heads.recorded_heads(log)
    size = tree_size if tree_size is not None else _latest_size(heads, position,
                                                                f"position {position}")
    try:
        return InclusionOut(**proofs.inclusion(log, position, size, heads).to_dict())
    except proofs.OutOfRange as e:
        raise Problem(422, "tree-size-out-of-range", str(e)) from None


@router.get("/v1/proofs/consistency", response_model=ConsistencyOut, responses=PROOF_PROBLEMS,
            summary="Proof that the log of `second` facts extends the log of `first`",
            description="Ask it from the size of the last head you archived to the latest.")
def consistency(actor: AnyRole, service: ServiceDep,
                first: Annotated[int, Query(ge=1, le=2**53)], second: Size = None,
                ) -> ConsistencyOut:
    log = service.ledger.log
    size = second if second is not None else _latest_size(signed_heads.recorded_heads(log),
                                                          first, f"a tree of {first} facts")
    try:
        return ConsistencyOut(**proofs.consistency(log, first, size).to_dict())
    except proofs.OutOfRange as e:
        raise Problem(422, "tree-size-out-of-range", str(e)) from None


def _latest_size(heads: list[signed_heads.RecordedHead], needed: int, what: str) -> int:
    """The latest signed head's size, if it covers `needed`."""
    if not heads:
        raise Problem(404, "no-signed-head", "the ledger has signed no tree head yet: give "
                      "the tree size")
    size = heads[-1].signed.head.tree_size
    if needed > size:
        raise Problem(409, "not-yet-signed", f"{what} lies beyond the latest signed head "
                      f"({size} facts): ask again after the next head, or give the size")
    return size
