"""The hash chain over the log: each fact's canonical bytes, and the hash that links it to the
fact before it. Standard library only; the writer (eventstore, in the transaction that
stores the fact) and the verifier (audit.verify) both call this module, so they cannot
disagree on a byte.

Specification (chain "impress-chain-v1"), precise enough to reimplement:

1. The canonical object of the fact at log position n is the JSON object

       {"actor": A, "data": D, "position": n, "recorded_at": T, "schema": S,
        "stream": "patient/IMP-0042", "type": "AssessmentRecorded",
        "valid_on": "2023-09-28" or null, "version": V}

   with exactly these nine members: A and D the fact's actor and data objects as stored; n, S
   and V integers; T the recorded time in UTC with microseconds, `YYYY-MM-DDTHH:MM:SS.ffffffZ`
   (always six fraction digits, always `Z`); `valid_on` an ISO date or null. Every one of them
   is in the export of GET /v1/log (`schema_version` there is S).
2. Its canonical bytes are the UTF-8 encoding of that object serialised by RFC 8785 (the JSON
   Canonicalization Scheme): no whitespace; object members sorted by the UTF-16 code units of
   their names; strings with only `"`, `\\` and the control characters below U+0020 escaped
   (`\\b \\t \\n \\f \\r`, the rest as `\\u00XX` in lower-case hex), everything else literal;
   `true`, `false`, `null`; numbers as ECMAScript prints them (a float by its shortest
   round-trip form, `1e+21`, `1.5e-7`, `0.25`; `-0` as `0`). One deviation: an integer is
   written in full whatever its size (RFC 8785 would round one above 2**53 to a double).
   The ledger's own facts hold no floats (money is a decimal string) and no such integers.
3. h(0) is 32 zero bytes. h(n) = SHA-256( h(n-1) || canonical bytes of fact n ), where
   h(n-1) is the 32 raw bytes, not their hex. The store keeps h(n) beside fact n as 64
   lower-case hex digits; a digest is (n, h(n), T of n).

The position is inside the hash, so a fact moved to another position no longer matches.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Protocol

CHAIN = "impress-chain-v1"
GENESIS = "0" * 64
"""h(0): the hash 'before' position 1, as hex."""


class Recordable(Protocol):
    """What the chain covers of a fact, besides its position and recorded time (both a
    NewEvent and a StoredFact have these)."""

    @property
    def stream(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def schema(self) -> int: ...
    @property
    def data(self) -> Mapping[str, Any]: ...
    @property
    def valid_on(self) -> date | None: ...
    @property
    def actor(self) -> Mapping[str, Any]: ...


@functools.lru_cache(maxsize=256)  # a batch shares one recorded time
def recorded_text(moment: datetime) -> str:
    """A recorded time as the chain writes it: UTC, microseconds, fixed width."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"recorded time must be timezone-aware: {moment!r}")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_object(position: int, recorded_at: datetime, fact: Recordable) -> dict[str, Any]:
    return {
        "actor": fact.actor,
        "data": fact.data,
        "position": position,
        "recorded_at": recorded_text(recorded_at),
        "schema": fact.schema,
        "stream": fact.stream,
        "type": fact.type,
        "valid_on": fact.valid_on.isoformat() if fact.valid_on is not None else None,
        "version": fact.version,
    }


def canonical_bytes(position: int, recorded_at: datetime, fact: Recordable) -> bytes:
    return canonical_json(canonical_object(position, recorded_at, fact)).encode("utf-8")


def link(previous: str, position: int, recorded_at: datetime, fact: Recordable) -> str:
    """h(n) as hex, from h(n-1) as hex and fact n."""
    return follow(previous, canonical_bytes(position, recorded_at, fact))


def follow(previous: str, canonical: bytes) -> str:
    """h(n) as hex, from h(n-1) as hex and fact n's canonical bytes (for callers that need
    those bytes for the Merkle tree's leaf too, and make them once)."""
    digest = hashlib.sha256(bytes.fromhex(previous))
    digest.update(canonical)
    return digest.hexdigest()


def is_hash(value: object) -> bool:
    return (isinstance(value, str) and len(value) == 64
            and all(ch in "0123456789abcdef" for ch in value))


# --- RFC 8785 -------------------------------------------------------------------------------


def canonical_json(value: Any) -> str:
    """RFC 8785 serialisation of a JSON value (dict with str keys, list, str, int, float,
    bool, None); anything else is refused rather than guessed at."""
    if _plain(value):
        # No floats and no member name outside the Basic Multilingual Plane: then the json
        # module's compact, key-sorted output is RFC 8785 already, at C speed.
        return _ENCODE(value)
    out: list[str] = []
    _write(value, out)
    return "".join(out)


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode
"""json.dumps with these options, made once (it makes an encoder per call): one per fact."""


def _plain(value: Any) -> bool:
    # A loop, not recursion: it runs over every value of every fact verified.
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None:
            continue
        if kind is dict:
            for key in item:
                if type(key) is not str or not (key.isascii() or max(key) <= "\uffff"):
                    return False
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        else:
            return False
    return True


def _write(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        # json.dumps with ensure_ascii=False escapes exactly what RFC 8785 (ECMAScript) does.
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, int):
        out.append(str(int(value)))
    elif isinstance(value, float):
        out.append(es_number(value))
    elif isinstance(value, Mapping):
        _write_object(value, out)
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        raise TypeError(f"{type(value).__name__} is not a JSON value")


def _write_object(value: Mapping[str, Any], out: list[str]) -> None:
    for key in value:
        if not isinstance(key, str):
            raise TypeError(f"object member name {key!r} is not a string")
    out.append("{")
    for i, key in enumerate(sorted(value, key=_utf16)):
        if i:
            out.append(",")
        out.append(json.dumps(key, ensure_ascii=False))
        out.append(":")
        _write(value[key], out)
    out.append("}")


def _utf16(key: str) -> bytes:
    # Big-endian UTF-16 bytes compare exactly as the sequence of UTF-16 code units does.
    return key.encode("utf-16-be", "surrogatepass")


def es_number(value: float) -> str:
    """ECMAScript Number::toString, as RFC 8785 requires (7.1.12.1 of ECMA-262)."""
    if not math.isfinite(value):
        raise ValueError(f"{value} is not a JSON number")
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    # repr() gives the shortest digits that round-trip, as ECMAScript requires.
    _, digit_tuple, exponent = Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    k = len(digits)
    n = int(exponent) + k  # the decimal point sits after the n-th digit
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
        text = f"{mantissa}e{'+' if e > 0 else '-'}{abs(e)}"
    return sign + text
