"""CSV for Excel carries a person's text as text: a reason that starts like a formula
(=, +, -, @, a tab or a carriage return) is not run when a finance officer opens the file
(OWASP, CSV injection). CSV for machines (RFC 4180) carries every value as it is."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from reports.export import Column, CsvVariant, Kind, Sheet, write_csv

TEXTS = ['=HYPERLINK("http://evil.example","click")', "+47 22 00 00 00", "-2+3",
         "@SUM(A1:A9)", "\t=1+1"]  # control characters are refused at the edge anyway


def cells(variant: CsvVariant, values: list[object]) -> list[str]:
    sheet = Sheet("S", tuple(Column(f"c{n}", Kind.MONEY if isinstance(v, Decimal) else Kind.TEXT)
                             for n, v in enumerate(values)), (tuple(values),))
    out = io.StringIO()
    write_csv(sheet, out, variant)
    return list(csv.reader(io.StringIO(out.getvalue().lstrip("\ufeff")),
                           delimiter=";" if variant is CsvVariant.EXCEL_NB else ","))[1]


@pytest.mark.parametrize("text", TEXTS)
def test_text_that_starts_like_a_formula_stays_text_in_csv_for_excel(text: str) -> None:
    assert cells(CsvVariant.EXCEL_NB, [text]) == ["'" + text]
    assert cells(CsvVariant.RFC4180, [text]) == [text]


def test_numbers_and_ordinary_text_are_written_as_they_are() -> None:
    assert cells(CsvVariant.EXCEL_NB, [Decimal("-1234.50"), "IMP-0042", "a reason"]) == [
        "-1234,50", "IMP-0042", "a reason"]
