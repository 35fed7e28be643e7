"""Issued statements and closed periods over HTTP (ADR 0022), on the example history: Helse
Vest's officer issues the 2023Q4 public cost statement (IMP-0042 is public from 2023-10-02 at
Helse Stavanger), a late dispensation arrives, the quarter is closed and reopened; every answer
is typed (validated against its schema) and every file says which statement it is."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.api.support import Api

VEST = {"statement": "public-cost", "rhf": "helse-vest"}
Q4 = "/v1/statements/public-cost?period=2023Q4"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def ok(answer: Any, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text[:500]
    return answer.json() if "json" in answer.headers["content-type"] else answer


def issue(api: Api, period: str = "2023Q4") -> dict[str, Any]:
    return ok(api.post("/v1/statements/issued", "rhf_finance", {**VEST, "period": period}), 201)


def late_dispensation(api: Api, on: str = "2023-11-01", packs: int = 2) -> int:
    body = {"packs": packs, "dispensed_on": on}
    return int(ok(api.post("/v1/patients/IMP-0042/dispensations", "trial_office", body),
                  201)["position"])


def issued(api: Api, number: str, query: str = "", role: str = "rhf_finance") -> Any:
    return api.get(f"/v1/statements/issued/{number}{query}", role)


def test_an_issued_statement_is_produced_again_byte_for_byte_and_its_lines_hash_to_it(
        api: Api) -> None:
    receipt = issue(api)
    number = receipt["issued"]["number"]
    assert number == "PC-helse-vest-2023Q4-1" and receipt["issued"]["supersedes"] is None
    assert [f["type"] for f in receipt["facts"]] == ["StatementIssued"]
    before = ok(issued(api, number, "?format=lines")).content
    assert hashlib.sha256(before).hexdigest() == receipt["issued"]["lines_hash"]
    late_dispensation(api)
    assert ok(issued(api, number, "?format=lines")).content == before
    again = ok(issued(api, number))
    assert again["issued"]["lines_hash"] == receipt["issued"]["lines_hash"]
    assert again["number"] == number and again["statement_period"] == "2023Q4"
    now = ok(api.get(Q4, "rhf_finance"))  # the open quarter as known now has the late packs
    assert now["totals"]["packs"] == again["totals"]["packs"] + 2


def test_what_changed_since_a_number_names_the_late_fact(api: Api) -> None:
    number = issue(api)["issued"]["number"]
    position = late_dispensation(api)
    restated = ok(issued(api, number, "/restatement"))
    assert restated["since"] == number
    assert [(f["position"], f["type"], f["why"]) for f in restated["facts"]] == [
        (position, "DrugDispensed", "late")]


def test_after_the_close_the_late_fact_is_an_adjustment_of_the_next_quarter(api: Api) -> None:
    number = issue(api)["issued"]["number"]
    closed = ok(api.post("/v1/statements/closures", "rhf_finance", {**VEST, "period": "2023Q4"}),
                201)
    position = late_dispensation(api)
    q4 = ok(api.get(Q4, "rhf_finance"))
    assert (q4["status"], q4["number"]) == ("closed", number)
    assert q4["closure"]["booked"] == number and q4["asked_at"]["position"] == position
    assert q4["totals"] == ok(issued(api, number))["totals"]  # as issued, whatever came later
    q1 = ok(api.get("/v1/statements/public-cost?period=2024Q1", "rhf_finance"))
    money = [a for a in q1["adjustments"] if a["currency"]]
    assert [(a["period"], a["patient_id"], a["what"], a["fact"]["position"], a["fact"]["why"])
            for a in money] == [("2023Q4", "IMP-0042", "public cost", position, "late")]
    assert Decimal(money[0]["change"]) > 0
    assert q1["adjustment_totals"] == {"NOK": money[0]["change"]}
    known_before = ok(api.get(f"/v1/statements/public-cost?period=2024Q1&position="
                              f"{closed['position'] - 1}", "rhf_finance"))
    assert known_before["adjustments"] == []  # a closure is known from its position on
    book = ok(api.get("/v1/statements/books?statement=public-cost", "rhf_finance"))
    assert [(c["period"], c["booked"]) for c in book["closed"]] == [("2023Q4", number)]


def test_reopening_needs_a_reason_and_then_the_quarter_reissues_as_2(api: Api) -> None:
    issue(api)
    ok(api.post("/v1/statements/closures", "rhf_finance", {**VEST, "period": "2023Q4"}), 201)
    refused = api.post("/v1/statements/issued", "rhf_finance", {**VEST, "period": "2023Q4"})
    assert refused.status_code == 409 and refused.json()["type"].endswith("statement-period-closed")
    no_reason = api.post("/v1/statements/reopenings", "rhf_finance",
                         {**VEST, "period": "2023Q4", "reason": ""})
    assert no_reason.status_code == 422
    ok(api.post("/v1/statements/reopenings", "rhf_finance",
                {**VEST, "period": "2023Q4", "reason": "a late invoice"}), 201)
    again = issue(api)
    assert (again["issued"]["number"], again["issued"]["supersedes"]) == (
        "PC-helse-vest-2023Q4-2", "PC-helse-vest-2023Q4-1")


@pytest.mark.parametrize(("body", "slug"), [
    ({**VEST, "period": "2030Q1"}, "period-not-over"),
    ({**VEST, "period": "2023Q5"}, "invalid-request"),
    ({"statement": "public-cost", "rhf": "helse-nord", "period": "2023Q4"},
     "not-found-or-not-yours"),
    ({"statement": "public-cost", "company": "astrazeneca", "period": "2023Q4"},
     "not-found-or-not-yours"),
])
def test_what_cannot_be_issued_is_refused_with_its_own_type(api: Api, body: dict[str, Any],
                                                            slug: str) -> None:
    answer = api.post("/v1/statements/issued", "rhf_finance", body)
    assert answer.status_code in (404, 409, 422) and answer.json()["type"].endswith(slug)


def test_periods_close_in_order_only(api: Api) -> None:
    issue(api, "2023Q3")
    issue(api, "2023Q4")
    ok(api.post("/v1/statements/closures", "rhf_finance", {**VEST, "period": "2023Q3"}), 201)
    answer = api.post("/v1/statements/closures", "rhf_finance", {**VEST, "period": "2024Q1"})
    assert answer.status_code == 409 and answer.json()["type"].endswith("period-not-next")


def test_an_officer_asking_for_another_region_is_told_not_found_or_not_yours(api: Api) -> None:
    answer = api.get("/v1/statements/public-cost?period=2023Q4&rhf=helse-nord", "rhf_finance")
    assert answer.status_code == 404
    detail = answer.json()["detail"]
    assert detail == ("regional health authority 'helse-nord' is not found, or not yours to see "
                      "(you see helse-vest's)")
    number = issue(api)["issued"]["number"]
    assert issued(api, number, role="rhf_finance").status_code == 200
    other = api.get(f"/v1/statements/issued/{number}", "rhf_finance", org="helse-nord")
    assert other.status_code == 404 and "not yours" in other.json()["detail"]


def test_known_at_and_position_together_are_refused(api: Api) -> None:
    for path in (f"{Q4}&known_at=2024-01-01T00:00:00Z&position=3",
                 "/v1/patients/IMP-0042/payer?on=2023-10-02&known_at=2024-01-01T00:00:00Z"
                 "&position=3"):
        answer = api.get(path, "auditor")
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"] == "give known_at or position, not both"


def test_a_restatement_takes_the_moment_it_was_issued(api: Api) -> None:
    head = api.ledger.log.head()
    moment = next(iter(api.ledger.log.read(after=head - 1, up_to=head))).recorded_at
    position = late_dispensation(api)
    url = (f"/v1/statements/public-cost/restatement?from=2023-10-01&to=2023-12-31"
           f"&issued_at={moment.isoformat().replace('+', '%2B')}")
    restated = ok(api.get(url, "auditor"))
    assert restated["issued_at"]["position"] == head
    assert [f["position"] for f in restated["facts"]] == [position]
    both = api.get(url + f"&issued_position={head}", "auditor")
    assert both.status_code == 422


def test_a_patients_share_of_the_public_cost_names_the_patient(api: Api) -> None:
    late_dispensation(api)
    url = "/v1/statements/public-cost?from=2023-10-01&to=2023-12-31&patient="
    mine = ok(api.get(url + "IMP-0042", "auditor"))
    lines = [d for row in mine["rows"] for d in row["dispensations"]]
    assert lines and {d["patient_id"] for d in lines} == {"IMP-0042"}
    assert ok(api.get(url + "IMP-0050", "auditor"))["rows"] == []


def test_upcoming_says_financing_gap_once(api: Api) -> None:
    body = ok(api.get("/v1/upcoming?on=2021-01-01&days=3650", "auditor"))
    steps = [e["next_step"] for endings in body["by_rhf"].values() for e in endings]
    assert not any(s.startswith("financing gap: financing gap") for s in steps)


def test_a_patient_asked_about_before_its_enrolment_was_not_yet_enrolled(api: Api) -> None:
    answer = api.get("/v1/patients/IMP-0042/payer?on=2023-10-02&position=3", "auditor")
    assert answer.status_code == 404
    problem = answer.json()
    assert problem["type"].endswith("not-yet-enrolled")
    assert problem["detail"].startswith("patient IMP-0042 was not yet enrolled as known at log "
                                        "position 3")


# --- files --------------------------------------------------------------------------------


def test_csv_is_norwegian_excels_for_a_norwegian_reader_and_rfc_4180_on_request(api: Api) -> None:
    late_dispensation(api)
    number = issue(api)["issued"]["number"]
    norwegian = api.client.get(f"/v1/statements/issued/{number}?format=csv&table=patients",
                               headers={**api.auth("rhf_finance"),
                                        "Accept-Language": "nb-NO,nb;q=0.9,en;q=0.5",
                                        # reads its write: the issue's position, at least
                                        "Impress-Min-Position": str(api.ledger.head())})
    raw = ok(norwegian).content
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    priced = [r for r in rows if r["Value"]]
    value = Decimal(priced[0]["Value"].replace(",", "."))
    assert "," in priced[0]["Value"] and value > 0
    assert {(r["Statement"], r["Period"], r["Log position"]) for r in rows} == {
        (number, "2023Q4", str(api.ledger.log.head() - 1))}
    plain = ok(issued(api, number, "?format=csv&table=patients&csv=rfc4180")).content
    assert not plain.startswith(b"\xef\xbb\xbf")
    machine = list(csv.DictReader(io.StringIO(plain.decode("utf-8"))))
    assert Decimal(next(r for r in machine if r["Value"])["Value"]) == value
    several = issued(api, number, "?format=csv")
    assert several.status_code == 422 and "patients" in several.json()["tables"]


def test_a_zip_holds_every_table_and_xlsx_amounts_are_numbers_beside_their_currency(
        api: Api) -> None:
    late_dispensation(api)
    number = issue(api)["issued"]["number"]
    archive = zipfile.ZipFile(io.BytesIO(ok(issued(api, number, "?format=zip")).content))
    assert sorted(archive.namelist()) == sorted(f"{number}-{t}.csv" for t in
                                                ("public-cost", "patients", "adjustments"))
    book = load_workbook(io.BytesIO(ok(issued(api, number, "?format=xlsx")).content))
    assert book.properties.language == "nb-NO"
    sheet = book["Public cost"]
    header = [c.value for c in sheet[1]]
    rows = [r for r in sheet.iter_rows(min_row=2) if r[0].value and
            not str(r[0].value).startswith("Total")]
    priced = next(r for r in rows if r[header.index("Value")].value)
    cell = priced[header.index("Value")]
    assert isinstance(cell.value, (int, float)) and cell.number_format == "#,##0.00"
    assert priced[header.index("Currency")].value == "NOK"
    about = dict(book["About"].iter_rows(min_row=2, values_only=True))
    assert about["Number"] == number and about["Period"].startswith("2023Q4")


def test_a_restatement_in_xlsx_holds_its_amounts_as_numbers(api: Api) -> None:
    number = issue(api)["issued"]["number"]
    late_dispensation(api)
    book = load_workbook(io.BytesIO(ok(issued(api, number, "/restatement?format=xlsx")).content))
    sheet = book["Changes"]
    header = [c.value for c in sheet[1]]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    money = [r for r in rows if r[header.index("Field")] == "value"
             and r[header.index("Currency")] == "NOK"]
    assert money, rows
    before, after, change = (money[0][header.index(h)] for h in
                             ("Before (number)", "After (number)", "Change"))
    assert all(isinstance(x, (int, float)) for x in (before, after, change))
    assert Decimal(str(after)) - Decimal(str(before)) == Decimal(str(change)) > 0


def test_an_issue_sent_twice_with_one_key_is_issued_once(api: Api) -> None:
    """The retry is the same request even if facts were recorded in between: the key stands
    for what was asked (statement, party, period), not for the position it was built at."""
    headers = {"Idempotency-Key": "issue-vest-2023Q4"}
    first = api.post("/v1/statements/issued", "rhf_finance", {**VEST, "period": "2023Q4"},
                     headers=headers)
    late_dispensation(api)
    again = api.post("/v1/statements/issued", "rhf_finance", {**VEST, "period": "2023Q4"},
                     headers=headers)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["issued"] == first.json()["issued"]
    other = api.post("/v1/statements/issued", "rhf_finance", {**VEST, "period": "2023Q3"},
                     headers=headers)
    assert other.status_code == 422 and other.json()["type"].endswith("idempotency-key-reused")
