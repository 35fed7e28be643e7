"""The chain's canonical form (domain.chain) is RFC 8785, byte for byte, so an auditor can
recompute it with any JCS library; and one fixed fact pins the whole specification."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import chain


@dataclass(frozen=True)
class Fact:
    stream: str
    version: int
    type: str
    schema: int
    data: dict[str, Any]
    valid_on: date | None
    actor: dict[str, Any]


ASSESSMENT = Fact(stream="patient/IMP-0042", version=7, type="AssessmentRecorded", schema=2,
                  data={"patient_id": "IMP-0042", "assessed_on": "2023-09-28",
                        "outcome": "stable_disease"},
                  valid_on=date(2023, 9, 28),
                  actor={"subject": "trial-office:kari", "role": "trial_office",
                         "organisation": "ous", "request_id": None})
RECORDED = datetime(2023, 11, 8, 14, 3, 9, 120000, tzinfo=timezone(timedelta(hours=1)))


def test_one_fixed_fact_pins_the_specification() -> None:
    # If this test fails, every stored chain stops verifying: change CHAIN, never the bytes.
    canonical = chain.canonical_bytes(38, RECORDED, ASSESSMENT)
    assert canonical == (
        b'{"actor":{"organisation":"ous","request_id":null,"role":"trial_office",'
        b'"subject":"trial-office:kari"},"data":{"assessed_on":"2023-09-28",'
        b'"outcome":"stable_disease","patient_id":"IMP-0042"},"position":38,'
        b'"recorded_at":"2023-11-08T13:03:09.120000Z","schema":2,"stream":"patient/IMP-0042",'
        b'"type":"AssessmentRecorded","valid_on":"2023-09-28","version":7}')
    previous = "ab" * 32
    expected = hashlib.sha256(bytes.fromhex(previous) + canonical).hexdigest()
    assert chain.link(previous, 38, RECORDED, ASSESSMENT) == expected
    assert chain.is_hash(expected) and not chain.is_hash(expected.upper())


@pytest.mark.parametrize(("value", "text"), [
    # The number vectors of RFC 8785 appendix B, plus edges of ECMAScript's rules.
    (0.0, "0"), (-0.0, "0"), (5e-324, "5e-324"), (-5e-324, "-5e-324"),
    (1.7976931348623157e308, "1.7976931348623157e+308"), (9007199254740992.0, "9007199254740992"),
    (-9007199254740992.0, "-9007199254740992"), (295147905179352830000.0, "295147905179352830000"),
    (1e21, "1e+21"), (1e20, "100000000000000000000"), (1e-6, "0.000001"), (1e-7, "1e-7"),
    (0.25, "0.25"), (4.35, "4.35"), (123456789.5, "123456789.5"), (1.5e-7, "1.5e-7"),
    (333333333.3333333, "333333333.3333333"), (1e23, "1e+23"), (2.0, "2"),
])
def test_numbers_are_written_as_ecmascript_writes_them(value: float, text: str) -> None:
    assert chain.es_number(value) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_every_float_written_reads_back_as_the_same_double(value: float) -> None:
    assert float(chain.es_number(value)) == value  # -0.0 == 0.0 too


def test_members_are_sorted_by_utf16_code_units_not_code_points() -> None:
    # RFC 8785 3.2.3: U+1D11E (a surrogate pair, D834 DD1E) sorts before U+FB33.
    text = chain.canonical_json({"\ufb33": 1, "\U0001d11e": 2, "a": 3, "\u00e9": 4, "B": 5})
    assert text == '{"B":5,"a":3,"é":4,"\U0001d11e":2,"\ufb33":1}'


def test_strings_escape_only_what_rfc_8785_escapes() -> None:
    assert chain.canonical_json(["\u20ac$\u000f\nA'B\"\\\\\"/", "\u2028", "\x7f"]) == (
        '["€$\\u000f\\nA\'B\\"\\\\\\\\\\"/","\u2028","\x7f"]')


def test_integers_are_written_in_full_and_literals_as_json() -> None:
    assert chain.canonical_json({"big": 2**64, "t": True, "f": False, "n": None, "l": [1, -2]}) == (
        '{"big":18446744073709551616,"f":false,"l":[1,-2],"n":null,"t":true}')


@pytest.mark.parametrize("bad", [{1: "x"}, {"d": date(2023, 1, 1)}, {"x": float("nan")}])
def test_values_json_does_not_have_are_refused(bad: dict[Any, Any]) -> None:
    with pytest.raises((TypeError, ValueError)):
        chain.canonical_json(bad)


def test_recorded_time_is_utc_with_six_fraction_digits() -> None:
    assert chain.recorded_text(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)) == \
        "2024-01-02T03:04:05.000000Z"
    with pytest.raises(ValueError):
        chain.recorded_text(datetime(2024, 1, 2))


def test_json_module_and_chain_agree_on_plain_ascii_objects() -> None:
    value = {"b": [1, "x", None], "a": {"c": True}}
    assert chain.canonical_json(value) == json.dumps(value, sort_keys=True, separators=(",", ":"))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner,
                                                               max_size=4),
    max_leaves=12)


@given(JSON)
def test_the_fast_path_writes_exactly_what_the_full_serialiser_writes(value: Any) -> None:
    out: list[str] = []
    chain._write(value, out)
    assert chain.canonical_json(value) == "".join(out)
