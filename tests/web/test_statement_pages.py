"""The statements page as a finance officer uses it (ADR 0022): the quarter's statement, issuing
it, closing the quarter, a late fact carried into the next quarter as an adjustment, reopening
with a reason; downloads per table in the reader's CSV variant, and XLSX with numbers."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from decimal import Decimal

from openpyxl import load_workbook

from domain import commands as c
from domain.values import Actor
from tests.support import d
from tests.web.conftest import Pages

VEST = "kind=public-cost&rhf=helse-vest&period=2024Q1"
OFFICE = Actor(subject="test", role="trial_office", organisation="impress")


def books(pages: Pages, action: str, period: str = "2024Q1", **extra: str) -> object:
    page = pages.get(f"/statements?kind=public-cost&period={period}")
    key = re.search(r'name="idempotency_key" value="([^"]+)-issue"', page.text)
    assert key, "no form to keep the books"
    return pages.post("/statements/books", {"action": action, "kind": "public-cost",
                                            "period": period, "rhf": "helse-vest",
                                            "idempotency_key": f"{key.group(1)}-{action}",
                                            **extra})


def test_an_officer_issues_closes_and_sees_a_late_fact_as_next_quarters_adjustment(
        pages: Pages) -> None:
    pages.sign_in("rhf_finance", "helse-vest")
    issued = books(pages, "issue")
    assert issued.status_code == 303  # type: ignore[attr-defined]
    shown = pages.get(issued.headers["location"]).text  # type: ignore[attr-defined]
    assert 'data-done="PC-helse-vest-2024Q1-1"' in shown and "PC-helse-vest-2024Q1-1" in shown
    assert books(pages, "close").status_code == 303  # type: ignore[attr-defined]
    pages.ledger.execute(c.DispenseDrug(patient_id="IMP-0027", packs=2,
                                        dispensed_on=d("2024-02-20")), OFFICE)
    q1 = pages.get(f"/statements?{VEST}").text
    assert 'data-status="closed"' in q1
    q2 = pages.get("/statements?kind=public-cost&rhf=helse-vest&period=2024Q2").text
    assert 'data-status="adjusted"' in q2
    adjustments = q2[q2.index("Justeringer"):]
    assert "2024Q1" in adjustments and "IMP-0027" in adjustments and "DrugDispensed" in adjustments


def test_a_refusal_says_why_and_records_nothing(pages: Pages) -> None:
    pages.sign_in("rhf_finance", "helse-vest")
    head = pages.ledger.log.head()
    refused = books(pages, "close")  # nothing issued yet
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert "no statement of 2024Q1 has been issued" in refused.text  # type: ignore[attr-defined]
    assert pages.ledger.log.head() == head


def test_reopening_keeps_its_reason(pages: Pages) -> None:
    pages.sign_in("rhf_finance", "helse-vest")
    books(pages, "issue")
    books(pages, "close")
    assert books(pages, "reopen", reason="the February invoice came late"
                 ).status_code == 303  # type: ignore[attr-defined]
    page = pages.get(f"/statements?{VEST}").text
    assert "the February invoice came late" in page and 'data-status="closed"' not in page


def test_only_the_keeper_of_the_books_gets_the_forms(pages: Pages) -> None:
    pages.sign_in("auditor", "riksrevisjonen")
    page = pages.get(f"/statements?{VEST}").text
    assert "Utstedte oppstillinger" in page and 'action="/statements/books"' not in page


def test_each_table_downloads_as_csv_for_norwegian_excel_and_the_xlsx_holds_numbers(
        pages: Pages) -> None:
    pages.sign_in("rhf_finance", "helse-vest")
    page = pages.get(f"/statements?{VEST}").text
    links = re.findall(r'href="(/statements/download\?[^"]+)"', page)
    first_csv = next(x for x in links if "format=csv" in x).replace("&amp;", "&")
    assert "format=csv-nb" in first_csv  # a bokmål reader's first CSV is Norwegian Excel's
    raw = pages.get(first_csv).content
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    values = [Decimal(r["Value"].replace(",", ".")) for r in rows if r["Value"]]
    assert values and all(r["Period"] == "2024Q1" for r in rows)
    assert pages.post("/language", {"lang": "en", "next": "/statements"}).status_code == 303
    english = pages.get(f"/statements?{VEST}").text
    first_en = re.findall(r'href="(/statements/download\?[^"]+format=csv[^"]*)"', english)[0]
    assert "format=csv&amp;" in first_en  # an English reader's first CSV is RFC 4180
    archive = zipfile.ZipFile(io.BytesIO(pages.get(
        f"/statements/download?{VEST}&format=zip-nb").content))
    assert len(archive.namelist()) == 3  # public cost, patients, adjustments
    book = load_workbook(io.BytesIO(pages.get(f"/statements/download?{VEST}&format=xlsx").content))
    sheet = book["Public cost"]
    header = [x.value for x in sheet[1]]
    amounts = [r[header.index("Value")] for r in sheet.iter_rows(min_row=2, values_only=True)
               if r[0] and not str(r[0]).startswith("Total") and r[header.index("Value")]]
    assert amounts and all(isinstance(a, (int, float)) for a in amounts)
    assert sum(Decimal(str(a)) for a in amounts) == sum(values)


def test_a_page_shows_the_first_rows_of_each_table_and_the_figures_of_all_of_them(
        pages: Pages, monkeypatch: object) -> None:
    """At national scale a region's year is tens of thousands of rows: a page shows the first
    of each table and says how many there are; its figures and totals are the whole table's,
    as the unlimited page and the download give them."""
    from web.pages import common

    path = "/statements?kind=public-cost&rhf=helse-vest&from=2023-01-01&to=2024-12-31&by=month"
    pages.sign_in("rhf_finance", "helse-vest")
    whole = pages.get(path).text
    monkeypatch.setattr(common, "SHOWN", 2)  # type: ignore[attr-defined]
    cut = pages.get(path).text

    def rows(html: str, table: str) -> list[str]:
        body = html[html.index(f'id="table-{table}"'):]
        body = body[body.index("<tbody>"):body.index("</tbody>")]
        return re.findall(r"<tr>.*?</tr>", body, re.S)

    def feet(html: str) -> list[str]:
        return re.findall(r"<tfoot>.*?</tfoot>", html, re.S)

    def figures(html: str) -> list[str]:
        return re.findall(r'data-figure="[a-z-]+">[^<]*', html)

    counts = [len(rows(whole, f"sheet-{n}")) for n in (1, 2)]
    assert min(counts) > 2  # the demo's tables are longer than the cut
    for n in (1, 2):
        assert rows(cut, f"sheet-{n}") == rows(whole, f"sheet-{n}")[:2]
    assert cut.count('data-shown="2"') == 2 and 'data-shown' not in whole
    assert feet(cut) == feet(whole) and figures(cut) == figures(whole) and figures(whole)
