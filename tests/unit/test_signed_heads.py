"""Signed tree heads and the offline checks `impress-verify` runs (domain/tree.py, proofs/):
the bytes a signature covers are pinned, and every edited member, wrong key, forged proof or
mismatched size is caught."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain import chain, merkle, tree
from domain.tree import BadDocument, SignedHead, TreeHead
from proofs.check import Failed, check_consistency, check_head, check_inclusion
from proofs.documents import ConsistencyProof, InclusionProof
from proofs.keys import SigningKey, key_id, keys_document, trusted_keys

SEED = bytes(range(32))  # a fixed key: Ed25519 signatures are deterministic
KEY = SigningKey(Ed25519PrivateKey.from_private_bytes(SEED))
TRUSTED = {KEY.key_id: KEY.public_raw}
ROOT = "9ee30217f079afe7287c0d34d59304aab6258ce28ef8713dfae5c641d4ec2a4c"


def head(size: int = 979, root: str = ROOT, when: str = "2026-12-01T06:00:00.000000Z"
         ) -> SignedHead:
    return KEY.sign(TreeHead("impress-ledger", size, root, when, KEY.key_id))


def test_the_signed_bytes_and_the_signature_are_pinned() -> None:
    """Changing these breaks every head partners archived: a new format name, not an edit."""
    signed = head()
    assert KEY.key_id == hashlib.sha256(KEY.public_raw).hexdigest()[:16] == "56475aa75463474c"
    assert signed.head.message() == (
        b'{"format":"impress-tree-head-v1","key_id":"56475aa75463474c","log":"impress-ledger",'
        b'"root_hash":"' + ROOT.encode() + b'","timestamp":"2026-12-01T06:00:00.000000Z",'
        b'"tree_size":979}')
    assert signed.signature == KEY.private.sign(signed.head.message()).hex()
    assert signed.signature[:32] == "10340cc02cf3a0b878ddd99d9f7c1246"


@pytest.mark.parametrize(("member", "value"), [
    ("tree_size", 978), ("root_hash", "0" * 64), ("timestamp", "2026-12-02T06:00:00.000000Z"),
    ("log", "impress-test"), ("key_id", "0" * 16)])
def test_a_head_with_any_signed_member_edited_fails_its_signature(member: str, value: Any) -> None:
    document = head().to_dict() | {member: value}
    keys = {**TRUSTED, "0" * 16: KEY.public_raw}  # even under a key id that is trusted
    with pytest.raises(Failed):
        check_head(SignedHead.from_dict(document), keys)


def test_a_head_signed_by_another_key_is_not_trusted() -> None:
    other = SigningKey(Ed25519PrivateKey.generate())
    forged = other.sign(TreeHead("impress-ledger", 979, ROOT, "2026-12-01T06:00:00.000000Z",
                                 other.key_id))
    with pytest.raises(Failed, match="not among your trusted keys"):
        check_head(forged, TRUSTED)
    impostor = SignedHead(dataclasses.replace(forged.head, key_id=KEY.key_id), forged.signature)
    with pytest.raises(Failed, match="does not hold"):
        check_head(impostor, TRUSTED)


def test_members_a_server_adds_are_not_signed_and_ignored() -> None:
    document = head().to_dict() | {"recorded_at_position": 980}
    check_head(SignedHead.from_dict(document), TRUSTED)


@pytest.mark.parametrize("change", [
    {"format": "impress-tree-head-v2"}, {"tree_size": -1}, {"tree_size": "979"},
    {"root_hash": ROOT.upper()}, {"timestamp": "2026-12-01T06:00:00Z"}, {"signature": "00"},
    {"key_id": None}, {"log": ""}])
def test_what_is_not_a_head_is_bad_input(change: dict[str, Any]) -> None:
    with pytest.raises(BadDocument):
        SignedHead.from_dict(head().to_dict() | change)


# --- inclusion ---------------------------------------------------------------------------------

FACTS = [{"actor": {"subject": "kari"}, "data": {"note": f"n{i}"}, "position": i + 1,
          "recorded_at": "2024-03-01T09:00:00.000000Z", "schema": 1, "stream": f"patient/P{i}",
          "type": "Noted", "valid_on": "2024-03-01", "version": 1} for i in range(11)]
SALTS = [hashlib.sha256(bytes([i])).digest() for i in range(11)]


def columns() -> dict[int, bytes]:
    grown = merkle.CompactRange()
    return {i + 1: grown.append(tree.leaf_hash(SALTS[i], chain.canonical_json(f).encode()))
            for i, f in enumerate(FACTS)}


def fetch(positions: Any) -> dict[int, bytes]:
    c = columns()
    return {p: c[p] for p in positions}


def inclusion(index: int = 6, size: int = 11, **change: Any) -> InclusionProof:
    proof = InclusionProof(index, size, FACTS[index], SALTS[index].hex(),
                           tuple(h.hex() for h in merkle.inclusion_proof(index, size, fetch)),
                           merkle.root(size, fetch).hex())
    return dataclasses.replace(proof, **change)


def signed_root(size: int = 11) -> SignedHead:
    return head(size, merkle.root(size, fetch).hex())


def test_an_inclusion_proof_verifies_against_its_signed_head() -> None:
    lines = check_inclusion(inclusion(), signed_root(), TRUSTED)
    assert "position 7 (patient/P6@1, Noted" in lines[-1]
    document = inclusion(head=signed_root()).to_dict()
    check_inclusion(InclusionProof.from_dict(json.loads(json.dumps(document))), None, TRUSTED)


@pytest.mark.parametrize("change", [
    {"fact": FACTS[6] | {"data": {"note": "n7"}}},  # the fact changed
    {"fact": FACTS[6] | {"recorded_at": "2024-03-02T09:00:00.000000Z"}},
    {"salt": SALTS[5].hex()},  # another fact's salt
    {"leaf_index": 5, "fact": FACTS[6] | {"position": 6}},  # moved to another position
])
def test_a_changed_fact_salt_or_position_fails_its_inclusion_proof(change: dict[str, Any]) -> None:
    with pytest.raises(Failed):
        check_inclusion(inclusion(**change), signed_root(), TRUSTED)


def test_a_changed_path_hash_or_a_fact_claiming_another_position_fails() -> None:
    good = inclusion()
    bad_path = (good.path[0][:-1] + ("0" if good.path[0][-1] != "0" else "1"), *good.path[1:])
    with pytest.raises(Failed):
        check_inclusion(dataclasses.replace(good, path=bad_path), signed_root(), TRUSTED)
    with pytest.raises(Failed, match="says it is at position 7"):
        check_inclusion(dataclasses.replace(good, leaf_index=5), signed_root(), TRUSTED)


def test_a_proof_needs_a_signed_head_of_its_own_size() -> None:
    with pytest.raises(BadDocument, match="no signed head"):
        check_inclusion(inclusion(), None, TRUSTED)
    with pytest.raises(BadDocument, match="the head signs one of 10"):
        check_inclusion(inclusion(), signed_root(10), TRUSTED)


# --- consistency -------------------------------------------------------------------------------

def consistency(first: int, second: int) -> ConsistencyProof:
    return ConsistencyProof(first, second, merkle.root(first, fetch).hex(),
                            merkle.root(second, fetch).hex(),
                            tuple(h.hex() for h in merkle.consistency_proof(first, second, fetch)))


def test_a_new_head_extends_every_archived_head_with_its_proof() -> None:
    lines = check_consistency(signed_root(11), [signed_root(4), signed_root(7), signed_root(11)],
                              [consistency(4, 11), consistency(7, 11)], TRUSTED)
    assert len(lines) == 4


def test_two_signed_roots_for_one_size_fail() -> None:
    with pytest.raises(Failed, match="rewritten"):
        check_consistency(signed_root(11), [head(11, "0" * 64)], [], TRUSTED)


def test_an_archived_head_without_its_proof_is_bad_input_not_success() -> None:
    with pytest.raises(BadDocument, match="first=4&second=11"):
        check_consistency(signed_root(11), [signed_root(4)], [consistency(7, 11)], TRUSTED)


def test_an_archived_head_of_another_log_is_bad_input() -> None:
    other = KEY.sign(TreeHead("impress-test", 4, merkle.root(4, fetch).hex(),
                              "2026-12-01T06:00:00.000000Z", KEY.key_id))
    with pytest.raises(BadDocument, match="impress-test"):
        check_consistency(signed_root(11), [other], [consistency(4, 11)], TRUSTED)


# --- keys ------------------------------------------------------------------------------------


def test_trusted_keys_come_from_pem_files_and_keys_documents(tmp_path: Path) -> None:
    (tmp_path / "key.pem").write_text(KEY.public_pem())
    document = keys_document([{"key_id": KEY.key_id, "algorithm": "Ed25519",
                               "public_key": KEY.public_raw.hex()}])
    (tmp_path / "keys.json").write_text(json.dumps(document))
    assert trusted_keys([tmp_path / "key.pem"]) == TRUSTED == trusted_keys([tmp_path / "keys.json"])
    document["keys"][0]["key_id"] = "0" * 16
    (tmp_path / "wrong.json").write_text(json.dumps(document))
    with pytest.raises(BadDocument, match="does not belong"):
        trusted_keys([tmp_path / "wrong.json"])
    assert key_id(KEY.public_raw) == KEY.key_id
