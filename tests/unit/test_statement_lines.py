"""The canonical form of a statement's lines (domain.statement_lines) and statement periods
(domain.periods): what a partner's offline verifier recomputes, byte for byte."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import errors as err
from domain.periods import Grain, StatementPeriod
from domain.statement_lines import StatementLine, canonical, document, lines_hash, parse_document

texts = st.text(max_size=12)
lines = st.builds(StatementLine.of, texts, st.lists(texts, max_size=3),
                  st.dictionaries(texts, texts, max_size=4))


def test_a_line_is_rfc_8785_json_with_its_members_sorted_and_text_literal() -> None:
    line = StatementLine.of("patient", ("2024M01", "helse-vest", "IMP-0042"),
                            {"value": "NOK 22468.00", "public days": "31", "note": "Tromsø\n"})
    assert canonical(line) == (
        '{"key":["2024M01","helse-vest","IMP-0042"],"section":"patient","values":'
        '{"note":"Tromsø\\n","public days":"31","value":"NOK 22468.00"}}').encode()


def test_the_document_sorts_lines_bytewise_and_ends_each_with_a_line_feed() -> None:
    a = StatementLine.of("b", ("1",), {})
    b = StatementLine.of("a", ("2",), {"x": "y"})
    # {"key":["1"],... sorts before {"key":["2"],...: by key first, as the members are sorted
    assert document([b, a]) == canonical(a) + b"\n" + canonical(b) + b"\n"
    assert lines_hash([a, b]) == hashlib.sha256(document([b, a])).hexdigest()
    assert lines_hash([]) == hashlib.sha256(b"").hexdigest()


def test_a_line_twice_is_refused() -> None:
    line = StatementLine.of("a", ("1",), {})
    with pytest.raises(ValueError, match="twice"):
        document([line, line])


@given(st.lists(lines, max_size=8, unique_by=lambda x: canonical(x)), st.randoms())
def test_the_hash_ignores_the_order_lines_come_in_and_the_document_reads_back(
        found: list[StatementLine], rnd: object) -> None:
    shuffled = list(found)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert lines_hash(shuffled) == lines_hash(found)
    assert sorted(parse_document(document(found)), key=canonical) == sorted(found, key=canonical)


@pytest.mark.parametrize(("text", "label", "start", "end"), [
    ("2024Q1", "2024Q1", date(2024, 1, 1), date(2024, 3, 31)),
    ("2024-02", "2024M02", date(2024, 2, 1), date(2024, 2, 29)),
    ("2024M12", "2024M12", date(2024, 12, 1), date(2024, 12, 31)),
    ("2023H2", "2023H2", date(2023, 7, 1), date(2023, 12, 31)),
])
def test_periods_are_written_as_months_quarters_and_half_years(text: str, label: str,
                                                               start: date, end: date) -> None:
    period = StatementPeriod.parse(text)
    assert (period.label, period.start, period.end) == (label, start, end)
    assert StatementPeriod.parse(period.label) == period


@pytest.mark.parametrize("text", ["2024Q0", "2024Q5", "2024M13", "2024H3", "24Q1", "2024", "Q1"])
def test_a_period_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(err.InvalidPeriod):
        StatementPeriod.parse(text)


@given(st.sampled_from(list(Grain)), st.dates(date(2000, 1, 1), date(2099, 12, 31)))
def test_a_day_lies_in_one_period_of_each_grain_and_the_next_starts_the_day_after(
        grain: Grain, on: date) -> None:
    period = StatementPeriod.containing(grain, on)
    assert on in period
    following = period.following()
    assert (following.start - period.end).days == 1 and following.grain is grain
