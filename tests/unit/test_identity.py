"""National identity numbers are refused in any field; study IDs are the only
patient identifiers the ledger accepts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from domain import identity
from domain.identity import (
    PATIENT_ID_PATTERN,
    WHOLE_VALUE,
    NationalIdRefused,
    ensure_no_national_id,
    find_national_id,
    looks_like_national_id,
    valid_study_id,
)

# --- check digits, straight from the brief (independent of the module) -----

K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2)
K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _control(weights: tuple[int, ...], digits: str) -> int | None:
    """11 - (weights . digits) mod 11; 11 -> 0; 10 -> None (invalid)."""
    k = 11 - sum(w * int(d) for w, d in zip(weights, digits)) % 11
    return {11: 0, 10: None}.get(k, k)


def k1_classic(first9: str) -> int | None:
    return _control(K1_WEIGHTS, first9)


def k1_choices_2032(first9: str) -> list[int]:
    """Every k1 the 2032 rule allows: (3,7,6,1,8,9,4,5,2,1 . d1..d10) mod 11 in 0..3."""
    base = sum(w * int(d) for w, d in zip(K1_WEIGHTS, first9))
    return [k1 for k1 in range(10) if (base + k1) % 11 in (0, 1, 2, 3)]


def k2_for(first10: str) -> int | None:
    return _control(K2_WEIGHTS, first10)


def with_check_digits(first9: str, *, k1: int | None = None) -> str | None:
    """The full number (classic k1 unless k1 is given), or None if no valid k2."""
    k1 = k1_classic(first9) if k1 is None else k1
    if k1 is None:
        return None
    k2 = k2_for(first9 + str(k1))
    return None if k2 is None else f"{first9}{k1}{k2}"


def oracle(number: str) -> bool:
    """The brief's rule for one 11-digit number."""
    k1 = int(number[9])
    valid_k1 = k1 == k1_classic(number[:9]) or k1 in k1_choices_2032(number[:9])
    return valid_k1 and int(number[10]) == k2_for(number[:10])


# Worked by hand:
# 311299 456: k1 sum 9+7+6+2+72+81+16+25+12 = 230, 230 mod 11 = 10, k1 = 1;
#   k2 sum 15+4+3+4+63+54+20+20+18+2 = 203, 203 mod 11 = 5, k2 = 6.
CLASSIC = "31129945616"
# D-number (day 01 + 40) 410170 123: k1 sum 12+7+0+1+56+0+4+10+6 = 96, mod 11 = 8,
#   k1 = 3; k2 sum 20+4+0+2+49+0+5+8+9+6 = 103, mod 11 = 4, k2 = 7.
D_NUMBER = "41017012337"
# 010190 123: k1 sum 0+7+0+1+72+0+4+10+6 = 100, mod 11 = 1, classic k1 = 10 (no
#   number); the 2032 rule allows k1 = 0 (sum 100 = 1 mod 11); k2 sum
#   0+4+0+2+63+0+5+8+9+0 = 91, mod 11 = 3, k2 = 8.
RULE_2032_ONLY = "01019012308"


def test_hand_worked_examples_agree_with_the_formula_helpers() -> None:
    assert with_check_digits("311299456") == CLASSIC
    assert with_check_digits("410170123") == D_NUMBER
    assert k1_classic("010190123") is None
    assert with_check_digits("010190123", k1=0) == RULE_2032_ONLY


@pytest.mark.parametrize("number", [CLASSIC, D_NUMBER, RULE_2032_ONLY])
def test_valid_numbers_are_recognised(number: str) -> None:
    assert looks_like_national_id(number)


@pytest.mark.parametrize(
    "text",
    [
        "311299 45616",
        "311299-45616",
        "patient 31129945616 started",
        "fnr:31129945616.",
        "abc31129945616xyz",
        "410170-12337",
        "first 12345, then 010190 12308",
        # Any separator between digit groups (ADR 0017).
        "311299  45616",
        "3112-9945616",
        "31129 945616",
        "311299\u00a045616",
        "311299\u200b45616",
        "31.12.99.456.16",
        "311299\u201345616",
        "31 12 99 456 16",
        "IMP-0042 311299 45616",
        "12345, 010190 12308",
    ],
)
def test_numbers_are_found_inside_text_and_in_the_common_formats(text: str) -> None:
    assert looks_like_national_id(text)


@pytest.mark.parametrize(
    "text",
    [
        "31129945617",  # k2 off by one
        "31129945626",  # k1 changed: still fine for the 2032 rule, but k2 no longer matches
        "311299456161",  # 12-digit run
        "931129945616",  # 12-digit run
        "3112994561",  # 10 digits
        "311299 456161",  # 6 + 6
        "IMP-0042",
        "",
        "no digits at all",
    ],
)
def test_other_digit_strings_are_not_national_ids(text: str) -> None:
    assert not looks_like_national_id(text)


def test_a_number_invalid_under_both_k1_rules_is_not_refused() -> None:
    first9 = "010190123"  # allowed k1: 0, 1, 2 under 2032; classic none
    for k1 in range(3, 10):
        k2 = k2_for(first9 + str(k1))
        if k2 is not None:
            assert not looks_like_national_id(f"{first9}{k1}{k2}")


def test_h_numbers_and_synthetic_test_numbers_are_refused_without_a_date_check() -> None:
    # month + 40 (H-number) and month + 80 (Tenor synthetic): not valid dates,
    # refused anyway because their check digits are valid.
    for first9 in ("014590123", "018590123", "310299123", "999999999"):
        numbers = [with_check_digits(first9, k1=k1) for k1 in k1_choices_2032(first9)]
        valid = [number for number in numbers if number is not None]
        assert valid
        for number in valid:
            assert looks_like_national_id(number)


def test_unicode_digits_count_as_digits() -> None:
    arabic_indic = CLASSIC.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert looks_like_national_id(arabic_indic)


# --- find_national_id: where in a value ----------------------------------


@dataclass(frozen=True)
class Note:
    text: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Envelope:
    patient_id: str
    data: Note
    extra: dict[str, object] = field(default_factory=dict)


def test_clean_values_give_none() -> None:
    assert find_national_id({"patient_id": "IMP-0042", "packs": 3, "price": Decimal("1.50")}) is None
    assert find_national_id(Envelope("IMP-0042", Note("stable disease"))) is None
    assert find_national_id(None) is None
    assert find_national_id(True) is None


def test_the_path_names_the_field_not_the_number() -> None:
    value = {"data": {"note": f"fnr {CLASSIC}"}}
    assert find_national_id(value) == "data.note"


def test_lists_tuples_and_dataclasses_are_walked() -> None:
    value = Envelope("IMP-0042", Note("ok", tags=("a", D_NUMBER)), extra={"lines": [{}, {"x": 1}]})
    assert find_national_id(value) == "data.tags[1]"
    assert find_national_id({"lines": [{"x": "ok"}, {"x": "311299-45616"}]}) == "lines[1].x"
    assert find_national_id([CLASSIC]) == "[0]"


def test_sets_are_walked() -> None:
    assert find_national_id({"ids": {"IMP-0042", CLASSIC}}) == "ids[*]"


def test_a_bare_value_is_reported_as_the_whole_value() -> None:
    assert find_national_id(CLASSIC) == WHOLE_VALUE
    assert WHOLE_VALUE  # truthy, so `if find_national_id(x):` is safe


def test_a_dict_key_holding_the_number_is_reported_without_its_text() -> None:
    path = find_national_id({"data": {CLASSIC: "x"}})
    assert path == "data.<key>"
    assert CLASSIC not in path


def test_the_first_offending_field_is_reported() -> None:
    assert find_national_id({"a": "fine", "b": CLASSIC, "c": D_NUMBER}) == "b"


def test_integers_floats_and_decimals_are_read_as_their_digits() -> None:
    assert find_national_id({"n": int(CLASSIC)}) == "n"
    assert find_national_id({"n": Decimal(CLASSIC)}) == "n"
    # 31129900930 (valid) as coefficient 3112990093, exponent 1: str() would give
    # "3.112990093E+10".
    assert looks_like_national_id("31129900930")
    assert find_national_id({"n": Decimal("3112990093E+1")}) == "n"
    assert find_national_id({"n": float(CLASSIC)}) == "n"
    assert find_national_id({"n": CLASSIC.encode()}) == "n"


def test_an_int_that_lost_the_leading_zero_of_its_day_is_refused() -> None:
    # Spreadsheets turn 01019012308 into 1019012308.
    assert find_national_id({"n": int(RULE_2032_ONLY)}) == "n"
    assert find_national_id({"n": 1019012309}) is None


def test_cycles_do_not_loop() -> None:
    value: dict[str, object] = {"a": "ok"}
    value["self"] = value
    assert find_national_id(value) is None


# --- the refusal ------------------------------------------------------------


def test_ensure_passes_clean_input() -> None:
    ensure_no_national_id({"patient_id": "IMP-0042", "note": "day 112"})


def test_the_refusal_names_the_field_and_never_the_number() -> None:
    with pytest.raises(NationalIdRefused) as info:
        ensure_no_national_id({"note": f"see {CLASSIC}"}, where="enrolment")
    message = str(info.value)
    assert "'note'" in message and "enrolment" in message
    assert "fødselsnummer or D-number" in message
    assert "pseudonymous study IDs" in message
    assert CLASSIC not in message and not looks_like_national_id(message)
    assert info.value.field == "note"
    assert isinstance(info.value, ValueError)


def test_a_refused_bare_value_is_named_by_where() -> None:
    with pytest.raises(NationalIdRefused, match=r"^patient_id looks like a Norwegian"):
        ensure_no_national_id("311299 45616", where="patient_id")


def test_the_refusal_redacts_a_field_name_that_carries_a_number() -> None:
    error = NationalIdRefused(f"x.{CLASSIC}")
    assert CLASSIC not in str(error)


# --- study IDs --------------------------------------------------------------


@pytest.mark.parametrize("study_id", ["IMP-0042", "IMP-00042", "IMP-123456", "IMP-0000"])
def test_study_ids_are_imp_and_four_to_six_digits(study_id: str) -> None:
    assert valid_study_id(study_id)
    assert PATIENT_ID_PATTERN.fullmatch(study_id)
    assert find_national_id(study_id) is None


@pytest.mark.parametrize(
    "candidate",
    ["IMP-042", "IMP-1234567", "imp-0042", "IMP0042", " IMP-0042", "IMP-0042\n", "IMP-٠٠٤٢", 42, None,
     CLASSIC],
)
def test_anything_else_is_not_a_study_id(candidate: object) -> None:
    assert not valid_study_id(candidate)


# --- properties -------------------------------------------------------------

digits9 = st.text(alphabet="0123456789", min_size=9, max_size=9)
no_digits = st.text(alphabet=st.characters(exclude_categories=["Nd"]), max_size=8)
separators = st.sampled_from(["", " ", "-"])


@st.composite
def valid_numbers(draw: st.DrawFn) -> str:
    """A number with valid check digits: classic or 2032 k1, ordinary or D-number
    (first digit + 4), with any of the accepted formats."""
    first9 = draw(digits9)
    if draw(st.booleans()):
        first9 = str(int(first9[0]) % 4 + 4) + first9[1:]  # D-number
    if draw(st.booleans()):
        number = with_check_digits(first9)
    else:
        number = with_check_digits(first9, k1=draw(st.sampled_from(k1_choices_2032(first9))))
    assume(number is not None)
    assert number is not None
    return number[:6] + draw(separators) + number[6:]


@dataclass(frozen=True)
class Wrapper:
    inner: object


def nest(leaf: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    """The leaf somewhere inside dicts, lists, tuples and dataclasses, among clean siblings."""
    keys = st.text(alphabet="abcdefghij_", min_size=1, max_size=5)
    clean = st.one_of(st.none(), st.integers(-1000, 1000), st.text(alphabet="abc IMP-", max_size=6))
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.tuples(st.dictionaries(keys, clean, max_size=3), keys, inner)
            .map(lambda t: {**t[0], t[1]: t[2]}),
            st.tuples(st.lists(clean, max_size=3), inner).map(lambda t: [*t[0], t[1]]),
            st.tuples(inner, clean).map(tuple),
            inner.map(Wrapper),
        ),
        max_leaves=6,
    )


@given(valid_numbers(), no_digits, no_digits, st.data())
def test_every_number_with_valid_check_digits_is_refused_wherever_it_is_nested(
    number: str, before: str, after: str, data: st.DataObject
) -> None:
    value = data.draw(nest(st.just(before + number + after)))
    path = find_national_id(value)
    assert path is not None
    digits = number.replace(" ", "").replace("-", "")
    assert digits not in path and number not in path
    with pytest.raises(NationalIdRefused) as info:
        ensure_no_national_id(value)
    assert digits not in str(info.value) and not looks_like_national_id(str(info.value))


@given(valid_numbers(), st.integers(1, 9), no_digits, no_digits)
def test_a_number_with_a_broken_k2_is_never_refused(number: str, shift: int, before: str, after: str) -> None:
    broken = number[:-1] + str((int(number[-1]) + shift) % 10)
    assert not looks_like_national_id(before + broken + after)
    assert find_national_id({"note": before + broken + after}) is None


@given(valid_numbers(), st.text(alphabet="0123456789", min_size=1, max_size=3), st.booleans())
def test_longer_digit_runs_are_not_national_ids(number: str, extra: str, prepend: bool) -> None:
    digits = number.replace(" ", "").replace("-", "")
    longer = extra + digits if prepend else digits + extra
    assert not looks_like_national_id(longer)


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_any_11_digits_are_refused_exactly_when_the_brief_says(number: str) -> None:
    assert looks_like_national_id(number) == oracle(number)



# --- spellings (ADR 0017) ---------------------------------------------------

KNOWN_SEPARATORS = [" ", "  ", "-", ".", "/", "_", ",", ":", "\u00a0", "\u202f", "\u2009",
                    "\u200b", "\u2060", "\ufeff", "\u2013", "\u2014", "\u2212", ". ", " - ",
                    "\t", "\n", "·"]
separator = st.one_of(
    st.sampled_from(KNOWN_SEPARATORS),
    st.text(alphabet=st.characters(exclude_categories=["L", "N", "Cs"]), min_size=1,
            max_size=3),
)


@st.composite
def spelled(draw: st.DrawFn) -> tuple[str, str]:
    """A valid number and a spelling of it: its digits in groups of two or more, joined by
    any separators."""
    number = draw(valid_numbers()).replace(" ", "").replace("-", "")
    cuts: list[int] = sorted(draw(st.sets(st.integers(2, 9), max_size=4)))
    cuts = [c for i, c in enumerate(cuts) if (c - ([0] + cuts)[i]) >= 2 and 11 - c >= 2]
    parts, start = [], 0
    for cut in [*cuts, 11]:
        parts.append(number[start:cut])
        start = cut
    text = parts[0]
    for part in parts[1:]:
        text += draw(separator) + part
    assume(not AMOUNT.fullmatch(text))  # an amount, as ADR 0017 reads it: not a number
    return number, text


# ADR 0017: thousands grouped by one mark and one or two decimals after another, or a run of
# digits with one or two decimals.
AMOUNT = re.compile(r"[0-9]{1,3}(?:([ .,'\u00a0\u202f])[0-9]{3})+(?!\1)[.,][0-9]{1,2}"
                    r"|[0-9]+[.,][0-9]{1,2}")


@given(spelled(), no_digits, no_digits)
def test_a_number_is_refused_with_any_separators_between_its_digit_groups(
        case: tuple[str, str], before: str, after: str) -> None:
    number, text = case
    assert looks_like_national_id(before + " " + text + " " + after)
    assert find_national_id({"reason": f"{before} {text}"}) == "reason"
    with pytest.raises(NationalIdRefused) as info:
        ensure_no_national_id({"note": text})
    assert number not in str(info.value) and text not in str(info.value)


@given(spelled(), st.integers(1, 9))
def test_a_spelled_number_with_a_broken_k2_is_not_refused(case: tuple[str, str],
                                                          shift: int) -> None:
    _, text = case
    broken = text[:-1] + str((int(text[-1]) + shift) % 10)
    assert not looks_like_national_id(broken)


@pytest.mark.parametrize("text", [
    "2023-06-12", "12.06.2023", "12.06.23", "2023-06-12 10:15:30", "12.06.2023 kl. 10:15",
    "1.2.2023 - 3.4.2024", "01.01.2023-31.12.2023", "2023-01-01 – 2023-12-31",
    "50000.00", "50 000,00", "123 456 789,50", "123456789.12", "1,234,567,890.12",
    "ID2019_041", "SUS-2023-0815", "BF-2022-IMPRESS", "patient/IMP-0042@3", "IMP-0042, IMP-0043",
    "+47 22 11 33 44", "tel. 0047 900 12 345", "uke 16 av 2023",
])
def test_dates_amounts_and_references_are_not_refused(text: str) -> None:
    assert not looks_like_national_id(text)


date_formats = st.sampled_from(["%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y", "%d/%m/%Y", "%Y%m%d",
                                "%-d.%-m.%Y", "%d.%m.%Y %H:%M"])


years = {"min_value": datetime(1900, 1, 1), "max_value": datetime(2099, 12, 31)}


@given(st.datetimes(**years), st.datetimes(**years), date_formats,
       st.sampled_from([" - ", "–", " til ", "/"]))
def test_no_date_or_range_of_dates_is_refused(a: object, b: object, fmt: str, joint: str) -> None:
    text = a.strftime(fmt) + joint + b.strftime(fmt)  # type: ignore[attr-defined]
    assert not looks_like_national_id(text)


@given(st.decimals(min_value=0, max_value=10**12 - 1, places=2), st.sampled_from(
    ["{:,.2f}", "{:.2f}"]))
def test_no_amount_with_two_decimals_is_refused(amount: Decimal, fmt: str) -> None:
    text = fmt.format(amount)
    for spelling in (text, text.replace(",", " ").replace(".", ","),
                     text.replace(",", "\u00a0")):
        assert not looks_like_national_id(spelling), spelling


@given(st.one_of(st.text(), st.text(alphabet="0123456789 -.٣", max_size=30),
                 st.builds(lambda n, a, b: a + n + b, valid_numbers(), st.text(max_size=5),
                           st.text(max_size=5))))
def test_counting_digits_first_never_changes_the_answer(text: str) -> None:
    # looks_like_national_id skips the scan of ASCII text with fewer than 11 digits
    scanned = any(identity._chain_holds_number(m) for m in identity._CHAIN.finditer(text))
    assert looks_like_national_id(text) == scanned
