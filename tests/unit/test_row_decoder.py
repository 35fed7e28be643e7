"""A read model's rows as the database returns them -> row dataclasses (projections.tables
`_decoder`, `builder`): the generated functions build what the row's own constructor builds,
for every table's row, a worklist item, and rows they must leave to their constructor."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass, fields
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.statements.worklist import Gap, WorkItem
from projections import rows as r
from projections import tables as tb

TABLES = list(r.TABLES)


@dataclass(frozen=True, slots=True)
class Slotted:
    a: str
    b: int | None
    c: date | None


@dataclass(frozen=True)
class Plain:  # no slots: built by its constructor
    a: str
    b: int | None
    c: date | None


@dataclass(frozen=True, slots=True)
class Named:  # fields named as the generated code's own names
    row: str
    new: int | None
    o: date | None


@dataclass(frozen=True, slots=True)
class Checked:  # a __post_init__: built by its constructor, which calls it
    a: str
    b: int | None
    c: date | None

    def __post_init__(self) -> None:
        if self.a == "":
            raise ValueError("empty")


CONVERTERS = [None, int, date.fromisoformat]
values = st.tuples(st.text(min_size=1, max_size=5), st.none() | st.integers().map(str),
                   st.none() | st.dates().map(date.isoformat))


@given(raw=values)
def test_a_decoded_row_equals_the_row_its_constructor_builds_from_the_converted_values(
        raw: tuple[Any, ...]) -> None:
    a, b, c = raw
    expected = (a, None if b is None else int(b), None if c is None else date.fromisoformat(c))
    for row in (Slotted, Plain, Checked, Named):
        decoded = tb._decoder(row, CONVERTERS)(raw)
        built = tb.builder(row)(*expected)
        assert type(decoded) is row and type(built) is row
        assert decoded == row(*expected) and built == row(*expected)
        assert hash(decoded) == hash(row(*expected)) == hash(built)


def test_a_decoded_row_is_as_frozen_as_a_constructed_one_and_a_post_init_still_runs() -> None:
    row = tb._decoder(Slotted, CONVERTERS)(("x", "1", None))
    with pytest.raises(FrozenInstanceError):
        row.a = "y"
    with pytest.raises(ValueError, match="empty"):
        tb._decoder(Checked, CONVERTERS)(("", None, None))


def test_a_decoder_refuses_converters_that_do_not_match_the_fields() -> None:
    with pytest.raises(ValueError, match="2 converters for 3 fields"):
        tb._decoder(Slotted, [None, int])


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.base)
def test_every_tables_decoder_fills_every_field_of_its_row(table: tb.Table) -> None:
    # A value per field that no converter touches (None): a field the decoder skipped would
    # stay unset and fail when read.
    decode = tb._decoder(table.row, [None] * len(fields(table.row)))
    row = decode([f"v{i}" for i in range(len(fields(table.row)))])
    assert [getattr(row, f.name) for f in fields(table.row)] == [
        f"v{i}" for i in range(len(fields(table.row)))]


def test_a_worklist_item_built_without_its_init_is_the_item_its_init_builds() -> None:
    fields_of = [f.name for f in fields(WorkItem)]
    values = [Gap.BENEFIT_WITHOUT_EXEMPTION, "IMP-000001", "cohort", date(2024, 1, 2), None, "ous",
              "helse-sor-ost", "detail", "resolve", ("patient/IMP-000001@3",), 2,
              (("NOK", 4_000_00),), 7, None]
    built = tb.builder(WorkItem)(*values)
    assert built == WorkItem(*values) and vars(built) == dict(zip(fields_of, values))
    with pytest.raises(FrozenInstanceError):
        built.packs = 3  # type: ignore[misc]
