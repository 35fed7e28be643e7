"""Ed25519 keys for signed tree heads (ADR 0019): made once, kept in a file outside the database,
named by a key id so that keys can be rotated; and the public keys a verifier trusts.

key id = the first 16 hex digits of SHA-256 of the raw 32-byte public key.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from domain.tree import KEY_ID_DIGITS, BadDocument, SignedHead, TreeHead, hex_bytes

ALGORITHM = "Ed25519"
KEYS_FORMAT = "impress-keys-v1"
_RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


def key_id(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:KEY_ID_DIGITS]


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey

    @property
    def public_raw(self) -> bytes:
        return self.private.public_key().public_bytes(*_RAW)

    @property
    def key_id(self) -> str:
        return key_id(self.public_raw)

    def sign(self, head: TreeHead) -> SignedHead:
        if head.key_id != self.key_id:
            raise ValueError(f"the head names key {head.key_id}, this key is {self.key_id}")
        return SignedHead(head, self.private.sign(head.message()).hex())

    def public_pem(self) -> str:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def generate(path: Path) -> SigningKey:
    """A new key in a new file (PKCS#8 PEM, readable by its owner only); never overwrites."""
    key = SigningKey(Ed25519PrivateKey.generate())
    pem = key.private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ValueError(f"{path} exists: a signing key is never overwritten (rotate by making "
                         "a new file)") from None
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return key


def load_signing_key(path: Path) -> SigningKey:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ValueError(f"cannot read the signing key {path}: {e.strerror}") from None
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{path} is not an unencrypted PEM private key: {e}") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise ValueError(f"{path} holds a {type(private).__name__}, not an Ed25519 key")
    return SigningKey(private)


def signature_holds(signed: SignedHead, public_raw: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(bytes.fromhex(signed.signature),
                                                              signed.head.message())
    except (InvalidSignature, ValueError):
        return False
    return True


def keys_document(keys: list[dict[str, Any]]) -> dict[str, Any]:
    """The public keys, as GET /v1/proofs/keys answers and `impress-verify --keys` reads."""
    return {"format": KEYS_FORMAT, "keys": keys}


def trusted_keys(paths: list[Path]) -> dict[str, bytes]:
    """key id -> raw public key, from PEM public keys and keys documents."""
    found: dict[str, bytes] = {}
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as e:
            raise BadDocument(f"cannot read {path}: {e.strerror}") from None
        for raw in (_pem_keys(data, path) if data.lstrip().startswith(b"-----")
                    else _document_keys(data, path)):
            found[key_id(raw)] = raw
    if not found:
        raise BadDocument("no trusted public key given")
    return found


def _pem_keys(data: bytes, path: Path) -> list[bytes]:
    try:
        public = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as e:
        raise BadDocument(f"{path} is not a PEM public key: {e}") from None
    if not isinstance(public, Ed25519PublicKey):
        raise BadDocument(f"{path} holds a {type(public).__name__}, not an Ed25519 key")
    return [public.public_bytes(*_RAW)]


def _document_keys(data: bytes, path: Path) -> list[bytes]:
    try:
        value = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BadDocument(f"{path} is neither a PEM public key nor JSON: {e}") from None
    if not isinstance(value, dict) or value.get("format") != KEYS_FORMAT or \
            not isinstance(value.get("keys"), list):
        raise BadDocument(f"{path}: a keys document has format {KEYS_FORMAT!r} and a list of keys")
    raws = []
    for item in value["keys"]:
        if not isinstance(item, dict) or item.get("algorithm") != ALGORITHM:
            raise BadDocument(f"{path}: every key is an {ALGORITHM} key with its public_key")
        raw = hex_bytes(item.get("public_key"), 32, "a key's public_key")
        if item.get("key_id") not in (None, key_id(raw)):
            raise BadDocument(f"{path}: key id {item.get('key_id')} does not belong to its key")
        raws.append(raw)
    return raws
