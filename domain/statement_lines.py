"""The canonical form of a statement's lines, and the hash an issued statement records.

Standard library only, so that a partner's offline verifier can recompute the hash from lines it
is given (or rebuilds with the pure rules of `domain.financing` and `domain.costing`).

Specification (format "impress-statement-lines-v1"), precise enough to reimplement:

1. A statement is a set of lines. A line has a `section` (text: "public cost", "patient",
   "agreement", "dispensation", "grant", "adjustment"), a `key` (a list of texts that tells the
   line from the others of its section: a month and a health trust, a patient, a fact) and
   `values` (an object of texts: what the line says). No two lines share section and key.
2. Every value is text, written as a reader sees it and the same from one run to the next:
   a count in decimal digits (`12`, `-3`); a date `YYYY-MM-DD`; an amount of money
   `<ISO 4217 code> <amount with two decimals>` (`NOK 22468.00`, `NOK -1200.50`); the sums of
   several currencies as their amounts in order of currency code joined by `; `
   (`EUR 10.00; NOK 20.00`), `0` when there is none; a list as its items joined by `, `
   (`IMP-0001, IMP-0002`); spans of dates `YYYY-MM-DD..YYYY-MM-DD`; nothing as the empty text.
3. The canonical bytes of a line are the UTF-8 encoding of the JSON object
   `{"key": [...], "section": "...", "values": {...}}` serialised by RFC 8785 (as
   `domain.chain`: no whitespace, members sorted, strings escaped as ECMAScript does).
4. The statement's document is the lines' canonical bytes sorted bytewise, each followed by one
   line feed (0x0A). Its hash is SHA-256 over the document, written as 64 lower-case hex digits.
   An empty statement's document is empty (hash e3b0c442...b855).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from domain.chain import canonical_json

FORMAT = "impress-statement-lines-v1"


@dataclass(frozen=True)
class StatementLine:
    section: str
    key: tuple[str, ...]
    values: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, section: str, key: Iterable[str], values: Mapping[str, str]) -> StatementLine:
        return cls(section, tuple(key), tuple(sorted(values.items())))

    def to_json(self) -> dict[str, Any]:
        return {"key": list(self.key), "section": self.section, "values": dict(self.values)}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> StatementLine:
        return cls.of(str(value["section"]), (str(k) for k in value["key"]),
                      {str(k): str(v) for k, v in dict(value["values"]).items()})


def canonical(line: StatementLine) -> bytes:
    return canonical_json(line.to_json()).encode("utf-8")


def document(lines: Iterable[StatementLine]) -> bytes:
    """The statement's lines as one document: canonical lines, sorted, each ended by \\n."""
    encoded = sorted(canonical(line) for line in lines)
    if len(set(encoded)) != len(encoded):
        raise ValueError("a statement cannot hold the same line twice")
    return b"".join(line + b"\n" for line in encoded)


def lines_hash(lines: Iterable[StatementLine]) -> str:
    return hashlib.sha256(document(lines)).hexdigest()


def parse_document(data: bytes) -> list[StatementLine]:
    """A document's lines back (a verifier reads them, then hashes the bytes it was given)."""
    import json

    return [StatementLine.from_json(json.loads(raw)) for raw in data.split(b"\n") if raw]


class Digest:
    """A statement's hash as a command carries it. Not text on purpose: the scan for national
    identity numbers walks every text of a command, and 64 hex digits now and then hold 11
    digits in a row that pass the check digits; a digest is made by the ledger from lines that
    were scanned themselves, never typed by a person."""

    __slots__ = ("hex",)

    def __init__(self, hex: str) -> None:
        self.hex = hex

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Digest) and other.hex == self.hex

    def __hash__(self) -> int:
        return hash(self.hex)

    def __repr__(self) -> str:
        return f"Digest({self.hex!r})"


def is_lines_hash(value: object) -> bool:
    return (isinstance(value, str) and len(value) == 64
            and all(ch in "0123456789abcdef" for ch in value))
