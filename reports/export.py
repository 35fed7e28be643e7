"""Statements as sheets: CSV for machines, XLSX for finance officers, rich tables for people.

A `Sheet` is a titled grid with typed columns. Money columns hold `Decimal` amounts and sit
beside a currency column; the XLSX writer adds one totals row per currency (amounts in
different currencies are never added), writes every amount as a number formatted #,##0.00
(the code is stored in Excel's invariant syntax: Norwegian Excel shows it as # ##0,00, and the
workbook says its language is nb-NO), counts as whole numbers and dates as yyyy-mm-dd, makes
the header row bold and frozen, and sizes the columns. CSV carries a header row and the plain
values (no totals row: a machine sums for itself). `reports.files` makes a statement's files.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from domain.statements.sheet import Column, Kind, Sheet

__all__ = ["Column", "CsvVariant", "Kind", "Sheet", "write_csv", "write_xlsx"]

FORMATS = ("table", "json", "csv", "xlsx")
MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
INT_FORMAT = "0"
MAX_WIDTH = 60


# --- CSV ------------------------------------------------------------------------------------


class CsvVariant(StrEnum):
    RFC4180 = "rfc4180"  # comma-separated, decimal point: for machines
    EXCEL_NB = "excel-nb"  # semicolon, decimal comma, UTF-8 with BOM: Norwegian Excel


BOM = "\ufeff"


# What a spreadsheet takes for the start of a formula in a cell it reads from CSV.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any, variant: CsvVariant = CsvVariant.RFC4180) -> str:
    """A value as CSV text. For Excel (EXCEL_NB), text a person wrote that Excel would take for
    a formula ("=HYPERLINK(...)" in a reason) is kept text by a leading apostrophe (OWASP's
    CSV injection advice); RFC 4180 CSV, for machines, carries the text as it is."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if variant is CsvVariant.EXCEL_NB:
        if isinstance(value, Decimal):
            return str(value).replace(".", ",")
        if isinstance(value, str) and value.startswith(FORMULA_START):
            return "'" + value
    return str(value)


def write_csv(sheet: Sheet, out: IO[str], variant: CsvVariant = CsvVariant.RFC4180) -> None:
    delimiter = ";" if variant is CsvVariant.EXCEL_NB else ","
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(sheet.headers)
    for row in sheet.rows:
        writer.writerow([csv_cell(v, variant) for v in row])


def slug(name: str) -> str:
    return "-".join(name.lower().split())


# --- XLSX -----------------------------------------------------------------------------------


def write_xlsx(sheets: Sequence[Sheet], path: Path | IO[bytes],
               about: Iterable[tuple[str, str]] = (), language: str = "nb-NO") -> None:
    """Each row is written as it comes (openpyxl's write-only mode): a workbook of a region's
    year, 30 000 rows, does not hold a cell object for each of its values in memory, and
    takes a third less time to write."""
    from openpyxl import Workbook  # imported here: only exports need it

    book = Workbook(write_only=True)
    book.properties.language = language
    for sheet in sheets:
        _xlsx_sheet(book.create_sheet(sheet.name[:31]), sheet)
    about_rows = tuple(about)
    if about_rows:
        info = Sheet("About", (Column("Item"), Column("Value")), about_rows)
        _xlsx_sheet(book.create_sheet("About"), info)
    book.save(path)


def _xlsx_sheet(ws: Any, sheet: Sheet) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    letters = [get_column_letter(i) for i in range(1, len(sheet.columns) + 1)]
    for i, letter in enumerate(letters):  # before any row: a write-only sheet writes in order
        ws.column_dimensions[letter].width = _width(sheet, i)
    ws.freeze_panes = "A2"
    kinds = [column.kind for column in sheet.columns]

    def cells(row: Sequence[Any], font: Any = None, header: bool = False) -> list[Any]:
        out = []
        for i, value in enumerate(row):
            shown = _xlsx_value(value)
            number_format = "General" if header else _number_format(kinds[i], value)
            # openpyxl takes text starting with "=" for a formula: stored text is text, never run
            formula_like = isinstance(shown, str) and shown.startswith("=")
            if font is None and number_format == "General" and not formula_like:
                out.append(shown)
                continue
            cell = WriteOnlyCell(ws, shown)
            if font is not None:
                cell.font = font
            cell.number_format = number_format
            if formula_like:
                cell.data_type = "s"
            out.append(cell)
        return out

    ws.append(cells(sheet.headers, bold, header=True))
    for row in sheet.rows:
        ws.append(cells(row))
    for total in sheet.totals():
        ws.append(cells(total, bold))
    if sheet.rows:
        ws.auto_filter.ref = f"A1:{letters[-1]}{len(sheet.rows) + 1}"


def _xlsx_value(value: Any) -> Any:
    # openpyxl writes Decimal as a number; tuples and enums become text.
    if value is None or isinstance(value, (int, Decimal, date)):
        return value
    return _printable(str(value))


_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _printable(text: str) -> str:
    """XLSX (XML) cannot hold most control characters: stored text that has them is shown
    with them escaped (\\x07), never refused, so an export of old facts cannot fail."""
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m[0]):02x}", text)


def _number_format(kind: Kind, value: Any = None) -> str:
    if kind is Kind.MONEY and isinstance(value, int):
        return INT_FORMAT  # a count in a column of changes (packs, days), not money
    return {Kind.MONEY: MONEY_FORMAT, Kind.DATE: DATE_FORMAT, Kind.INT: INT_FORMAT}.get(
        kind, "General"
    )


def _width(sheet: Sheet, index: int) -> float:
    kind = sheet.columns[index].kind
    values = [row[index] for row in (*sheet.rows, *sheet.totals())]
    if kind in (Kind.MONEY, Kind.INT):
        # A number's shown length grows with its magnitude and its sign, for each of the two
        # patterns (_shown): only the largest and smallest of each type need formatting (Babel
        # takes 20 us a number; a statement at national scale has tens of thousands).
        for number in (Decimal, int):
            of_type = [v for v in values if type(v) is number]
            if of_type:
                values = [v for v in values if type(v) is not number] + [min(of_type),
                                                                         max(of_type)]
    cells = [sheet.columns[index].title, *(_shown(v, kind) for v in values)]
    return min(MAX_WIDTH, max(len(c) for c in cells) + 2)


def _shown(value: Any, kind: Kind, locale: str = "en_GB") -> str:
    """A cell as people read it: amounts by Babel for their locale (nb_NO: 1 234 567,00)."""
    if kind in (Kind.MONEY, Kind.INT) and isinstance(value, (Decimal, int)):
        from babel.numbers import format_decimal

        pattern = "#,##0.00" if isinstance(value, Decimal) else "#,##0"
        return str(format_decimal(value, format=pattern, locale=locale))
    return csv_cell(value)


# --- tables for people ------------------------------------------------------------------------


def render(sheet: Sheet, console: Any, *, title: str | None = None,
           locale: str = "en_GB") -> None:
    """Print a sheet as a rich table, with its totals rows."""
    from rich.table import Table

    table = Table(title=title or sheet.name, title_justify="left", show_lines=False)
    for column in sheet.columns:
        numeric = column.kind in (Kind.INT, Kind.MONEY)
        table.add_column(column.title, justify="right" if numeric else "left",
                         overflow="fold")
    if not sheet.rows:
        console.print(f"{title or sheet.name}: nothing in this period and scope")
        return
    totals = sheet.totals()
    for i, row in enumerate(sheet.rows):
        last = i == len(sheet.rows) - 1
        table.add_row(*(_shown(v, c.kind, locale) for v, c in zip(row, sheet.columns)),
                      end_section=last and bool(totals))
    for row in totals:
        table.add_row(*(_shown(v, c.kind, locale) for v, c in zip(row, sheet.columns)), style="bold")
    console.print(table)


# --- a whole statement ------------------------------------------------------------------------


def write_text(statement: Any, fmt: str, out: IO[str], locale: str = "en_GB") -> None:
    if fmt == "json":
        json.dump(statement.to_dict(), out, indent=2, default=str, ensure_ascii=False)
        out.write("\n")
        return
    console = console_for(out)
    for key, value in about(statement):
        console.print(f"[bold]{key}:[/bold] {value}", highlight=False)
    for sheet in statement.sheets():
        console.print()
        render(sheet, console, locale=locale)


def console_for(out: IO[str]) -> Any:
    """A terminal gets tables at its width; a pipe or a file gets room for wide statements."""
    from rich.console import Console

    return Console(file=out, width=None if out.isatty() else 200)


def about(statement: Any) -> list[tuple[str, str]]:
    """What a statement is, for its reader: title, period, scope, the log position it was
    built at (and, for a restatement, the one it was issued at)."""
    number, label = getattr(statement, "number", None), getattr(statement, "period_label", None)
    rows = [("Statement", statement.title), ("Number", number or "not issued"),
            ("Period", f"{label} ({statement.period})" if label else str(statement.period)),
            ("Scope", str(statement.scope)), ("Known at", _at(statement.known))]
    if getattr(statement, "status", None):
        rows.append(("Status", statement.status))
    if hasattr(statement, "before"):
        rows.append(("Issued at", _at(statement.before)))
    return rows


def _at(known: dict[str, Any]) -> str:
    moment = known.get("recorded_at") or "never (empty log)"
    return f"log position {known.get('position')}, recorded {moment}"
