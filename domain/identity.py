"""Refusing Norwegian national identity numbers, anywhere in an input.

The ledger knows patients only by pseudonymous study IDs (``IMP-0042``). A
fødselsnummer or D-number must never be stored, logged or echoed, so every
input is scanned for one before it becomes a command.

What counts as a national identity number here
----------------------------------------------
11 digits whose check digits are valid, however they are written (ADR 0017):
in one run (``DDMMYYNNNNN``) or in groups of two digits or more joined by
separators (``DDMMYY NNNNN``, ``DD.MM.YY NNN NN``, ``DDMMYY–NNNNN``, with a
non-breaking or zero-width space, a double space, ...). A separator is one to
three characters that are neither letters nor digits. Digits that belong to a
longer run, or groups that make more than 11 digits together with their
neighbours only, do not count as one number on their own; amounts written with
one or two decimals (``123 456 789,50``, ``123456789.12``) are not numbers:

* k2 (the 11th digit) must satisfy the classic rule:
  ``k2 = 11 - (5,4,3,2,7,6,5,4,3,2 · d1..d10) mod 11`` (11 becomes 0, 10 is
  invalid); equivalently ``(5,4,3,2,7,6,5,4,3,2,1 · d1..d11) ≡ 0 (mod 11)``.
* k1 (the 10th digit) must satisfy *either* the classic rule
  ``k1 = 11 - (3,7,6,1,8,9,4,5,2 · d1..d9) mod 11`` *or* the rule for
  numbers issued from 2032, under which ``(3,7,6,1,8,9,4,5,2,1 · d1..d10)``
  may be 0, 1, 2 or 3 (mod 11). A number valid under the classic rule is
  always valid under the 2032 rule, so the test is simply the 2032 one.

Decision: the date in the first six digits is NOT checked
----------------------------------------------------------
D-numbers add 4 to the first digit, H-numbers add 4 to the third (month + 40)
and the Tax Administration's synthetic test numbers (Tenor) add 8 to it
(month + 80); more variants may follow. All of them are identity numbers and
must be refused too. Checking date plausibility could only ever let a number
through, never catch one more, so it is left out: an 11-digit number whose
check digits are valid is refused whatever its first six digits say. The price
is that roughly one harmless 11-digit number in thirty (for instance some bank
account numbers, which share the k2 weights) is refused as well; refusing a
harmless number is acceptable, letting a real one through is not.

Also refused, for the same reason: a 10-digit ``int`` whose zero-padded form is
a valid number (an integer cannot keep the leading zero of a day 01-09, the
classic spreadsheet leak). Digits of any script count (``str.isdecimal``).

Nothing in this module ever returns or formats the number it found: callers get
the *path* of the offending field, so the number cannot reach a log.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal

__all__ = [
    "PATIENT_ID_PATTERN",
    "WHOLE_VALUE",
    "NationalIdRefused",
    "ensure_no_national_id",
    "find_national_id",
    "looks_like_national_id",
    "valid_study_id",
]

# Pseudonymous study ID: "IMP-" and 4 to 6 ASCII digits. `$` (not `\Z`) so the
# pattern string also works in regex engines without `\Z`; use fullmatch (or
# valid_study_id) in Python, since `$` also matches before a final newline.
PATIENT_ID_PATTERN: re.Pattern[str] = re.compile(r"^IMP-[0-9]{4,6}$")

# The path find_national_id returns when the value itself (not a field inside
# it) is the offending one. Never empty: an empty path would be falsy.
WHOLE_VALUE = "<value>"

_K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2, 1)
_K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
_K1_REMAINDERS_2032 = frozenset({0, 1, 2, 3})

# A chain of digit groups joined by separators: runs of one to three characters
# that are neither letters nor digits (spaces of every width, zero-width
# characters, dots, dashes of every length, slashes, underscores, ...). A letter,
# or a longer gap, ends the chain. The classes are disjoint: no backtracking.
_SEPARATOR = r"[\W_]{1,3}"
_CHAIN = re.compile(rf"\d+(?:{_SEPARATOR}\d+)*")
_GROUP = re.compile(r"\d+")
# Amounts are not identity numbers: digits grouped in thousands by one separator,
# or a run of digits, with one or two decimals after a different mark
# ("123 456 789,50", "123456789.12").
_AMOUNT = re.compile(r"\d{1,3}(?:([ .,'\u00a0\u202f])\d{3})+(?!\1)[.,]\d{1,2}"
                     r"|\d+[.,]\d{1,2}")


_ASCII_DIGITS = "0123456789"  # (`\d` also matches other scripts' digits: those take the regex)


def _checks_pass(digits: str) -> bool:
    values = [int(ch) for ch in digits]
    k1_sum = sum(w * d for w, d in zip(_K1_WEIGHTS, values[:10]))
    k2_sum = sum(w * d for w, d in zip(_K2_WEIGHTS, values))
    return k2_sum % 11 == 0 and k1_sum % 11 in _K1_REMAINDERS_2032


def looks_like_national_id(s: str) -> bool:
    """True if `s` contains a Norwegian fødselsnummer, D-number, H-number or
    synthetic test number: 11 digits with valid check digits, written in one
    run or in groups joined by separators (see the module docstring). Digits
    that are part of a longer run do not count."""
    if not may_hold_national_id(s):
        return False  # most text, every URL of a read: fewer digits than one number has
    return any(_chain_holds_number(m) for m in _CHAIN.finditer(s))


def may_hold_national_id(s: str) -> bool:
    """False if no part of `s` can hold a number: ASCII text with fewer than 11 digits. Nor can
    any piece cut from it, which spares a caller splitting it (a query string) the work."""
    return not (s.isascii() and sum(map(s.count, _ASCII_DIGITS)) < 11)


def _chain_holds_number(chain: re.Match[str]) -> bool:
    """Whether consecutive whole groups of the chain, each of two digits or more,
    hold exactly 11 digits that pass the checks and are not spelled as an amount.
    (A one-digit group ends a candidate: "1.2.2023-3.4.2024" is two dates.)"""
    if _AMOUNT.fullmatch(chain[0]):
        return False
    groups = list(_GROUP.finditer(chain[0]))
    for first in range(len(groups)):
        digits = ""
        for last in range(first, len(groups)):
            if len(groups[last][0]) < 2:
                break
            digits += groups[last][0]
            if len(digits) > 11:
                break
            if len(digits) == 11 and _checks_pass(digits):
                text = chain[0][groups[first].start():groups[last].end()]
                if not _AMOUNT.fullmatch(text):
                    return True
    return False


def _scalar_looks_like_national_id(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        if 10**9 <= value < 10**10 and _checks_pass(str(value).zfill(11)):
            return True
        return looks_like_national_id(str(value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return looks_like_national_id(bytes(value).decode("latin-1"))
    if isinstance(value, str):
        return looks_like_national_id(value)
    if isinstance(value, (float, Decimal)):
        # "f", not str(): str() may use an exponent (1.2345678901E+10).
        return looks_like_national_id(format(value, "f"))
    return False


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _children(value: object, path: str) -> Iterator[tuple[str, object]]:
    """(path, child) pairs of a container, keys before their values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield _child(path, field.name), getattr(value, field.name, None)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            # The key itself is checked under a neutral name: if it is the
            # identity number, its text must not appear in the path.
            yield _child(path, "<key>"), key
            yield _child(path, str(key)), item
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield f"{path}[{index}]", item
    elif isinstance(value, (set, frozenset)):
        for item in sorted(value, key=repr):
            yield f"{path}[*]", item


def _find(value: object, path: str, seen: set[int]) -> str | None:
    if _scalar_looks_like_national_id(value):
        return path or WHOLE_VALUE
    if id(value) in seen:
        return None
    seen.add(id(value))
    for child_path, child in _children(value, path):
        found = _find(child, child_path, seen)
        if found is not None:
            return found
    return None


def find_national_id(value: object) -> str | None:
    """The path of the first field of `value` that looks like a national
    identity number, or None.

    Walks str, bytes, numbers (int, float, Decimal: as their decimal text),
    dict keys and values, lists, tuples, sets and dataclass instances,
    recursively. Paths are dotted for fields and keys (``data.note``), indexed
    for sequences (``lines[2].note``), ``<key>`` for an offending dict key and
    ``[*]`` for a set member; a hit on `value` itself gives ``WHOLE_VALUE``.
    The path never contains the number itself.
    """
    return _find(value, "", set())


class NationalIdRefused(ValueError):
    """An input held what looks like a national identity number.

    The message names the field, never the number, so it is safe to log and to
    return to the client.
    """

    def __init__(self, field: str, *, where: str = "input") -> None:
        # Paranoia: a field name built from dict keys must not carry a number.
        self.field = field if not looks_like_national_id(field) else "<redacted>"
        self.where = where if not looks_like_national_id(where) else "<redacted>"
        if self.field == WHOLE_VALUE:
            subject = f"{self.where} looks like"
        else:
            subject = f"field {self.field!r} in {self.where} looks like"
        super().__init__(
            f"{subject} a Norwegian national identity number (fødselsnummer or "
            "D-number); the ledger stores pseudonymous study IDs only "
            "(such as IMP-0042), remove the number and try again"
        )


def ensure_no_national_id(value: object, *, where: str = "input") -> None:
    """Raise NationalIdRefused if any field of `value` looks like a national
    identity number (see find_national_id)."""
    path = find_national_id(value)
    if path is not None:
        raise NationalIdRefused(path, where=where)


def valid_study_id(s: object) -> bool:
    """True for a pseudonymous study ID: ``IMP-`` and 4 to 6 digits."""
    return isinstance(s, str) and PATIENT_ID_PATTERN.fullmatch(s) is not None
