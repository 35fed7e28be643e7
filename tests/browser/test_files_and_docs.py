"""Downloads open where people open them, the API docs work with no network beyond the app,
and the pages switch to English."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import openpyxl
import pytest

from tests.browser.conftest import REGION, Server
from web.i18n import Formats

pytestmark = pytest.mark.browser
YEAR = "from=2024-01-01&to=2024-12-31"


def downloaded(watched: Any, fmt: str) -> bytes:
    """The finance officer's 2024 public cost statement, downloaded from its page's link."""
    w = watched("rhf_finance", REGION)
    w.open(f"/statements?kind=public-cost&{YEAR}&by=quarter")
    with w.page.expect_download() as download:
        w.page.click(f"a[href*='format={fmt}']")
    with open(download.value.path(), "rb") as f:
        return f.read()


def test_the_xlsx_download_opens_with_openpyxl_and_holds_the_apis_figures(
        watched: Any, server: Server) -> None:
    book = openpyxl.load_workbook(io.BytesIO(downloaded(watched, "xlsx")))
    assert book.sheetnames[0] == "Public cost" and "About" in book.sheetnames
    sheet = book[book.sheetnames[0]]
    header = [c.value for c in sheet[1]]
    value = header.index("Value")
    amounts = [r[value] for r in sheet.iter_rows(min_row=2, values_only=True)
               if r[0] and not str(r[0]).startswith("Total")]
    api = server.api(f"/v1/statements/public-cost?{YEAR}", "rhf_finance", REGION)
    assert sum(Decimal(str(a)) for a in amounts if a is not None) == Decimal(
        api["totals"]["value"]["NOK"])


def test_the_csv_for_norwegian_excel_splits_on_semicolons_with_decimal_commas(
        watched: Any, server: Server) -> None:
    raw = downloaded(watched, "csv-nb")
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig").split("\n\n")[0]), delimiter=";"))
    value = rows[0].index("Value")
    amounts = [Decimal(r[value].replace(",", ".")) for r in rows[1:] if r[value]]
    api = server.api(f"/v1/statements/public-cost?{YEAR}", "rhf_finance", REGION)
    assert sum(amounts) == Decimal(api["totals"]["value"]["NOK"])
    assert all("," in r[value] and "." not in r[value] for r in rows[1:] if r[value])


def test_swagger_ui_renders_from_the_app_alone(watched: Any) -> None:
    w = watched()
    w.open("/docs")
    w.page.wait_for_selector(".opblock", timeout=20_000)
    assert w.page.locator(".opblock").count() > 20
    w.screenshot("api-docs")


def test_the_pages_switch_to_english(watched: Any, server: Server) -> None:
    w = watched("rhf_finance", REGION, lang="en")
    w.open("/?on=2024-03-31")
    assert w.page.locator("h1").inner_text() == "Overview"
    month = server.api("/v1/statements/public-cost?from=2024-03-01&to=2024-03-31&by=month",
                       "rhf_finance", REGION)
    en = Formats("en")
    assert w.figure("month-cost") == en.money(Decimal(month["totals"]["value"]["NOK"]), "NOK")
    assert w.page.locator("html").get_attribute("lang") == "en"
    found = w.axe()
    assert found == [], found
