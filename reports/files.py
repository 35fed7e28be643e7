"""A statement as the files people open: one CSV per table (Norwegian Excel's variant or RFC
4180), a zip of them, or one XLSX workbook. Every file says which statement it is: each CSV row
ends with the statement's number, its period and the log position it was built at (a table
read alone still says where it comes from); the workbook has an About sheet.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from reports.export import (BOM, Column, CsvVariant, Sheet, about, csv_cell, slug, write_text,
                            write_xlsx)

STAMP = ("Statement", "Period", "Log position")
NORWEGIAN = ("nb", "nn", "no")


def locale_for(language: str | None) -> str:
    """Babel's locale for a reader's language (a LANG value such as nb_NO.UTF-8, or nb)."""
    return "nb_NO" if variant_for(language) is CsvVariant.EXCEL_NB else "en_GB"


def variant_for(language: str | None) -> CsvVariant:
    """Norwegian readers get Norwegian Excel's variant; everyone else RFC 4180."""
    primary = (language or "").strip().lower().replace("_", "-").split("-")[0]
    return CsvVariant.EXCEL_NB if primary in NORWEGIAN else CsvVariant.RFC4180


def accepts_norwegian(accept_language: str) -> bool:
    """Whether an Accept-Language header prefers a Norwegian language to any other."""
    best, weight = None, -1.0
    for part in accept_language.split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag and q > weight:
            best, weight = tag, q
    return variant_for(best) is CsvVariant.EXCEL_NB


def stamp(statement: Any) -> tuple[str, str, int]:
    """(number, period, log position) that every row of a CSV file carries."""
    number = getattr(statement, "number", None) or ""
    label = getattr(statement, "period_label", None)
    period = statement.period
    return (number, label or f"{period.start}..{period.end}",
            int(statement.known.get("position") or 0))


def stamped(sheet: Sheet, statement: Any) -> Sheet:
    marks = stamp(statement)
    return replace(sheet, columns=(*sheet.columns, *(Column(t) for t in STAMP)),
                   rows=tuple((*row, *marks) for row in sheet.rows))


def tables(statement: Any) -> dict[str, Sheet]:
    """The statement's tables by name (`patients`, `public-cost`, ...), each stamped."""
    return {slug(s.name): stamped(s, statement) for s in statement.sheets()}


def csv_bytes(sheet: Sheet, variant: CsvVariant) -> bytes:
    import csv

    out = io.StringIO()
    if variant is CsvVariant.EXCEL_NB:
        out.write(BOM)  # or Excel reads UTF-8 as Windows-1252
    writer = csv.writer(out, delimiter=";" if variant is CsvVariant.EXCEL_NB else ",",
                        lineterminator="\r\n")
    writer.writerow(sheet.headers)
    for row in sheet.rows:
        writer.writerow([csv_cell(v, variant) for v in row])
    return out.getvalue().encode("utf-8")


def zip_bytes(statement: Any, variant: CsvVariant, name: str) -> bytes:
    """One CSV per table in a zip, `<name>-<table>.csv`."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for table, sheet in tables(statement).items():
            archive.writestr(f"{name}-{table}.csv", csv_bytes(sheet, variant))
    return out.getvalue()


def xlsx_bytes(statement: Any) -> bytes:
    out = io.BytesIO()
    write_xlsx(statement.sheets(), out, about(statement))
    return out.getvalue()


def table_names(statement: Any) -> list[str]:
    return [slug(s.name) for s in statement.sheets()]


def one_table(statement: Any, table: str | None) -> Sheet:
    """The table asked for; with none asked, the statement's only table. ValueError says which
    there are."""
    found = tables(statement)
    if table is None and len(found) == 1:
        return next(iter(found.values()))
    if table in found:
        return found[table]
    names = ", ".join(found)
    if table is None:
        raise ValueError(f"this statement has {len(found)} tables ({names}): ask for one, "
                         "or for all of them in a zip")
    raise ValueError(f"no table '{table[:40]}' in this statement; its tables: {names}")


def write_tables(statement: Any, variant: CsvVariant, path: Path) -> list[Path]:
    """One CSV file per table: `path` itself for a single table, else `<stem>-<table>.csv`."""
    found = tables(statement)
    written = []
    for name, sheet in found.items():
        target = path if len(found) == 1 else path.with_name(f"{path.stem}-{name}.csv")
        target.write_bytes(csv_bytes(sheet, variant))
        written.append(target)
    return written


def publish(statement: Any, fmt: str, output: Path | None, out: IO[str], *,
            variant: CsvVariant = CsvVariant.RFC4180, table: str | None = None,
            locale: str = "en_GB") -> list[Path]:
    """Print a statement to `out`, or write it to `output` (CSV: one file per table), in one of
    FORMATS. Returns the files written."""
    if fmt == "xlsx":
        if output is None:
            raise ValueError("--format xlsx needs --output FILE.xlsx")
        output.write_bytes(xlsx_bytes(statement))
        return [output]
    if fmt == "csv":
        if output is not None:
            if table is not None:
                output.write_bytes(csv_bytes(one_table(statement, table), variant))
                return [output]
            return write_tables(statement, variant, output)
        text = csv_bytes(one_table(statement, table), variant).decode("utf-8")
        out.write(text.removeprefix(BOM) if out.isatty() else text)
        return []
    if output is not None:
        with output.open("w", encoding="utf-8") as file:
            write_text(statement, fmt, file, locale)
        return [output]
    write_text(statement, fmt, out, locale)
    return []
