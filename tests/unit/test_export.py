"""XLSX exports hold whatever text was stored: control characters escaped, never a failure;
text that looks like a formula stays text."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from domain.statements.sheet import Kind
from reports.export import MAX_WIDTH, Column, Sheet, _shown, _width, write_xlsx


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


def test_a_sheet_is_written_without_walking_every_cell_at_each_row(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # openpyxl's max_row and max_column walk every cell written so far: asked once a row, a
    # public cost statement's 30 000 rows at national scale took 267 s to export.
    walks = []
    for name in ("max_row", "max_column"):
        walk = getattr(Worksheet, name)
        monkeypatch.setattr(Worksheet, name, property(
            lambda ws, walk=walk, name=name: walks.append(name) or walk.fget(ws)))
    rows = tuple((f"=row {n}" if n == 150 else f"row {n}", Decimal(n)) for n in range(300))
    path = tmp_path / "long.xlsx"
    write_xlsx([Sheet("Long", (Column("Name"), Column("Value", Kind.MONEY, total=True)), rows)],
               path)
    assert len(walks) < 20, f"{len(walks)} walks of every cell for 300 rows"
    monkeypatch.undo()
    ws = load_workbook(path)["Long"]
    assert ws.max_row == 302 and ws["A152"].data_type == "s"  # the header, 300 rows, totals
    assert ws.cell(302, 2).value == sum(range(300)) and ws.cell(302, 2).font.bold
    assert ws.cell(1, 1).font.bold and not ws.cell(2, 1).font.bold


numbers = (st.decimals(min_value=-10**12, max_value=10**12, places=2, allow_nan=False)
           | st.integers(min_value=-10**12, max_value=10**12))


@settings(max_examples=200, deadline=None)
@given(values=st.lists(numbers | st.none() | st.text(max_size=30), max_size=30),
       kind=st.sampled_from([Kind.MONEY, Kind.INT, Kind.TEXT]))
def test_a_columns_width_is_that_of_its_widest_cell_as_shown(values: list[object],
                                                             kind: Kind) -> None:
    # Only the largest and smallest numbers of each type are formatted: the width must be what
    # formatting every cell gives.
    summed = kind is not Kind.TEXT and not any(isinstance(v, str) for v in values)
    sheet = Sheet("S", (Column("Amount", kind, total=summed),), tuple((v,) for v in values))
    shown = [Column("Amount").title, *(_shown(row[0], kind)
                                       for row in (*sheet.rows, *sheet.totals()))]
    assert _width(sheet, 0) == min(MAX_WIDTH, max(len(c) for c in shown) + 2)


def test_a_workbook_is_written_row_by_row_not_held_cell_by_cell(tmp_path: Path) -> None:
    # A region's year is 30 000 rows: openpyxl's ordinary mode held a cell object for each of
    # its values (107 MiB at its peak for that workbook); written row by row it holds a row.
    import tracemalloc

    rows = tuple((f"IMP-{n:06d}", "helse-vest", Decimal(n) / 100, n, None)
                 for n in range(10_000))
    sheet = Sheet("Long", (Column("Patient"), Column("RHF"), Column("Value", Kind.MONEY),
                           Column("Days", Kind.INT), Column("Note")), rows)
    tracemalloc.start()
    try:
        write_xlsx([sheet], tmp_path / "long.xlsx")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20, f"{peak / 2**20:.0f} MiB at its peak for 10 000 rows"
    ws = load_workbook(tmp_path / "long.xlsx", read_only=True)["Long"]
    last = list(ws.iter_rows(min_row=10_001, max_row=10_001, values_only=True))[0]
    assert last[:4] == ("IMP-009999", "helse-vest", pytest.approx(99.99), 9_999)
