"""XLSX exports hold whatever text was stored: control characters escaped, never a failure;
text that looks like a formula stays text."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from reports.export import Column, Sheet, write_xlsx


def _cells(path: Path) -> list[object]:
    book = load_workbook(path)
    return [row[0] for row in book["Notes"].iter_rows(min_row=2, values_only=True)]


def test_control_characters_are_escaped_and_formulas_stay_text(tmp_path: Path) -> None:
    path = tmp_path / "notes.xlsx"
    write_xlsx([Sheet("Notes", (Column("Note"),), (("bell\x07 esc\x1b",), ("=1+1",)))], path)
    assert _cells(path) == ["bell\\x07 esc\\x1b", "=1+1"]
    assert load_workbook(path)["Notes"]["A3"].data_type == "s"


@settings(max_examples=50, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40))
def test_any_stored_text_can_be_exported(tmp_path_factory: object, text: str) -> None:
    path = tmp_path_factory.mktemp("x") / "any.xlsx"  # type: ignore[attr-defined]
    write_xlsx([Sheet("Notes", (Column("Note"),), ((text,),))], path)
    assert len(_cells(path)) == 1
