"""`impress-ledger` for finance officers and auditors, on a real ledger (SQLite and PostgreSQL):
timelines, statements (table, JSON, CSV, XLSX), restatement, worklist, upcoming, rebuild,
verify, and one-line errors for bad input.

The story: IMP-0042 (olaparib expansion cohort, NOK 12 345.00 a pack) starts 2023-06-12 at
Helse Stavanger, moves to St. Olavs on 2023-11-15; its 16-week assessment (stable disease) is
recorded late, after the statement was issued. IMP-0050 (a stage 1 cohort of a partner whose
price and grant are in EUR) is treated at Helse Bergen from 2023-05-03.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

import cli.core  # noqa: F401  (registers its commands)
import cli.ledger  # noqa: F401
import cli.readmodels  # noqa: F401
import cli.books  # noqa: F401
from cli.main import app
from domain import commands as c
from application.ledger import Ledger
from domain.money import Money
from eventstore import EventLog
from domain.values import Actor, Decision, Outcome
from tests.support import d, nok

PID, OTHER = "IMP-0042", "IMP-0050"
OFFICE = Actor(subject="trial-office:kari", role="trial_office", organisation="ous")
LIS = Actor(subject="lis:per", role="procurement", organisation="sykehusinnkjop")


@dataclass(frozen=True)
class Story:
    url: str
    issued: int  # the log head when the Q4 statement was issued, before the late assessment
    assessment: int  # the position of the late assessment
    issued_at: str  # the moment of `issued`, as recorded


def partner(company: str, drug: str, price: Money, grant: Money) -> list[c.Command]:
    return [
        c.RegisterCompany(company_id=company, name=f"{company.title()} AS", registered_on=d("2021-01-01")),
        c.RegisterDrug(drug_id=drug, brand=drug.title(), generic=drug, company_id=company,
                       registered_on=d("2021-01-01")),
        c.SetPrice(drug_id=drug, price_per_pack=price, effective_from=d("2021-01-01")),
        c.RecordIntroductionDecision(drug_id=drug, decision=Decision.INTRODUCED,
                                     case_ref=f"ID2019_{len(company):03d}", indication="cancer",
                                     decided_on=d("2020-06-01")),
        c.SignAgreement(agreement_id=f"{company}-impress", company_id=company,
                        signed_on=d("2021-01-01"), grant_per_patient=grant),
        c.ContributeDrug(agreement_id=f"{company}-impress", drug_id=drug, patient_slots=24,
                         effective_from=d("2021-01-01")),
    ]


def build_story(url: str) -> Story:
    ledger = Ledger(EventLog(url), clock=lambda: date(2024, 1, 15))
    try:
        ledger.install_reference(LIS, d("2021-01-01"))
        setup = partner("nordlys", "lynparza", nok("12345.00"), nok(50000))
        setup += partner("fjord", "fjordinib", Money.of("1000.00", "EUR"), Money.of(5000, "EUR"))
        setup += [
            c.OpenCohort(cohort_id="olaparib-brca", drug_id="lynparza",
                         agreement_id="nordlys-impress", indication="solid tumours",
                         molecular_profile="biallelic BRCA1/2", opened_on=d("2022-01-10"),
                         evidence_ref="DRUP: first 24 patients"),
            c.GrantGroupExemption(cohort_id="olaparib-brca", exemption_ref="BF-2022-IMPRESS",
                                  effective_from=d("2023-03-20"), decided_on=d("2023-03-20")),
            c.OpenCohort(cohort_id="fjordinib-lung", drug_id="fjordinib",
                         agreement_id="fjord-impress", indication="lung cancer",
                         molecular_profile="MET exon 14", opened_on=d("2023-01-02")),
        ]
        for command in setup:
            ledger.execute(command, LIS)
        patients: list[c.Command] = [
            c.EnrolPatient(patient_id=PID, cohort_id="olaparib-brca", hf_id="helse-stavanger",
                           enrolled_on=d("2023-06-01")),
            c.StartTreatment(patient_id=PID, started_on=d("2023-06-12")),
            *(c.DispenseDrug(patient_id=PID, packs=n, dispensed_on=d(on)) for on, n in
              [("2023-06-12", 3), ("2023-09-11", 3), ("2023-10-09", 2), ("2023-11-06", 2),
               ("2023-12-04", 2)]),
            c.TransferPatient(patient_id=PID, to_hf="st-olavs", effective_from=d("2023-11-15")),
            c.EnrolPatient(patient_id=OTHER, cohort_id="fjordinib-lung", hf_id="helse-bergen",
                           enrolled_on=d("2023-04-20")),
            c.StartTreatment(patient_id=OTHER, started_on=d("2023-05-03")),
            c.DispenseDrug(patient_id=OTHER, packs=4, dispensed_on=d("2023-05-03")),
            c.DispenseDrug(patient_id=OTHER, packs=1, dispensed_on=d("2023-10-02")),
        ]
        for command in patients:
            ledger.execute(command, OFFICE)
        issued = ledger.log.head()
        [head] = ledger.log.read(after=issued - 1, up_to=issued)
        late = ledger.execute(c.RecordAssessment(patient_id=PID, assessed_on=d("2023-09-28"),
                                                 outcome=Outcome.STABLE_DISEASE), OFFICE)
        [assessment] = [f for f in late.facts if f.type == "AssessmentRecorded"]
        return Story(url, issued, assessment.position, head.recorded_at.isoformat())
    finally:
        ledger.close()


@pytest.fixture
def story(database_url: str) -> Story:
    return build_story(database_url)


@pytest.fixture
def sqlite_story(tmp_path: Path) -> Story:
    return build_story(f"sqlite:///{tmp_path}/ledger.db")


@pytest.fixture(scope="module")
def read_only_story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    """One story for the tests that only read (bad input is refused before anything is written)."""
    return build_story(f"sqlite:///{tmp_path_factory.mktemp('cli')}/ledger.db")


def cli(story: Story, *args: str) -> Any:
    return CliRunner().invoke(app, [*args, "--database", story.url])


def ok_json(story: Story, *args: str) -> Any:
    result = cli(story, *args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def one_line_error(result: Any) -> str:
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("impress-ledger: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


# --- timeline -------------------------------------------------------------------------------


def test_timeline_as_known_now_and_as_known_when_the_statement_was_issued(story: Story) -> None:
    now = ok_json(story, "timeline", PID)
    assert [(i["from"], i["to"], i["payer"], i["party"]) for i in now["intervals"]] == [
        ("2023-06-01", "2023-06-11", "nobody", None),
        ("2023-06-12", "2023-10-01", "company", "nordlys"),
        ("2023-10-02", "2023-11-14", "public", "helse-vest"),
        ("2023-11-15", None, "public", "helse-midt-norge"),
    ]
    assert f"patient/{PID}@" in now["intervals"][2]["basis"][-2]  # rests on the assessment
    then = ok_json(story, "timeline", PID, "--position", str(story.issued))
    assert [(i["from"], i["payer"], i["treating_hf"]) for i in then["intervals"]][2:] == [
        ("2023-10-02", "pending", "helse-stavanger"), ("2023-11-15", "pending", "st-olavs")]
    moment = ok_json(story, "timeline", PID, "--known-at", story.issued_at)
    assert moment["intervals"] == then["intervals"]


def test_timeline_table_for_people(story: Story) -> None:
    result = cli(story, "timeline", PID)
    assert result.exit_code == 0
    assert "helse-midt-norge" in result.stdout and "2023-11-15" in result.stdout


# --- bad input: one line, non-zero -----------------------------------------------------------


@pytest.mark.parametrize("args, says", [
    (["timeline", "IMP-9999"], "no enrolled patient 'IMP-9999'"),
    (["timeline", PID, "--known-at", "yesterday"], "--known-at: 'yesterday' is not a moment"),
    (["timeline", PID, "--known-at", "2024-01-01", "--position", "3"], "not both"),
    (["timeline", "41017012337"], "national identity number"),  # a synthetic D-number
    (["who-pays", "41017012337", "--on", "2024-01-10"], "national identity number"),
    (["who-pays", "patient-7", "--on", "2024-01-10"], "not a pseudonymous study ID"),
    (["who-pays", PID, "--on", "2024-13-10"], "--on: '2024-13-10' is not a date"),
    (["who-pays", PID, "--on", "2024-01-10", "--position", "-1"], "--position must be 0 or more"),
    (["statement", "company", "--from", "2023-13-01", "--to", "2023-12-31"],
     "--from: '2023-13-01' is not a date"),
    (["statement", "company", "--from", "2023-12-31", "--to", "2023-01-01"], "ends"),
    (["statement", "company", "--from", "2023-01-01", "--to", "2023-12-31", "--company", "acme"],
     "no company 'acme'"),
    (["statement", "public-cost", "--from", "2023-01-01", "--to", "2023-12-31", "--rhf", "x"],
     "no regional health authority 'x'"),
    (["statement", "company", "--from", "2023-01-01", "--to", "2023-12-31", "--company",
      "nordlys", "--rhf", "helse-vest"], "give one of --company, --rhf or --hf"),
    (["statement", "company", "--period", "2023H1", "--from", "2023-01-01", "--to",
      "2023-06-30"], "not both"),
    (["statement", "public-cost", "--period", "2023Q5"], "'2023Q5' is not a statement period"),
    (["statement", "public-cost", "--from", "2023-01-01", "--to", "2023-12-31", "--format",
      "csv"], "this statement has 2 tables (public-cost, patients)"),
    (["statement", "issue", "public-cost", "--period", "2023Q4"], "give --rhf or --hf"),
    (["statement", "show", "PC-helse-vest-2023Q4"], "is not a statement number"),
    (["statement", "show", "PC-helse-vest-2023Q4-1"], "no issued statement"),
    (["statement", "restatement", "--since", "PC-helse-vest-2023Q4-1", "--issued-position",
      "3"], "give no KIND"),
    (["statement", "company", "--from", "2023-01-01", "--to", "2023-12-31", "--format", "pdf"],
     "'--format': 'pdf' is not one of"),
    (["statement", "company", "--from", "2023-01-01", "--to", "2023-12-31", "--format", "xlsx"],
     "needs --output"),
    (["statement", "public-cost", "--from", "2023-01-01", "--to", "2023-12-31", "--by", "week"],
     "'--by': 'week' is not one of"),
    (["statement", "restatement", "public-cost", "--from", "2023-01-01", "--to", "2023-12-31"],
     "--issued-at or --issued-position"),
    (["statement", "restatement", "annual", "--from", "2023-01-01", "--to", "2023-12-31",
      "--issued-position", "1"], "'annual' is not one of"),
    (["upcoming", "--days", "-1"], "--days must be 0 or more"),
])
def test_bad_input_ends_in_one_line_and_a_non_zero_exit(read_only_story: Story,
                                                        args: list[str], says: str) -> None:
    line = one_line_error(cli(read_only_story, *args))
    assert says in line
    assert "41017012337" not in line  # a national identity number is never echoed


# --- statements -----------------------------------------------------------------------------


def test_company_statement_as_json_with_totals_per_currency(story: Story) -> None:
    s = ok_json(story, "statement", "company", "--from", "2023-01-01", "--to", "2023-12-31")
    by_patient = {p["patient_id"]: p for p in s["patients"]}
    # IMP-0042: 3 + 3 packs at the company's cost (12 June, 11 September): 6 x 12 345.00
    assert (by_patient[PID]["packs"], by_patient[PID]["value"]) == (6, {"NOK": "74070.00"})
    assert by_patient[PID]["company_coverage"] == [{"from": "2023-06-12", "to": "2023-10-01"}]
    # IMP-0050: 4 + 1 packs x EUR 1 000.00, and the stage 1 grant of EUR 5 000, unpaid
    assert (by_patient[OTHER]["packs"], by_patient[OTHER]["value"]) == (5, {"EUR": "5000.00"})
    assert by_patient[OTHER]["grant"]["outstanding"] == {"amount": "5000.00", "currency": "EUR"}
    assert s["totals"]["value"] == {"EUR": "5000.00", "NOK": "74070.00"}
    assert s["known_at"]["position"] > story.assessment


def test_a_partner_statement_shows_nothing_of_other_companies(story: Story) -> None:
    s = ok_json(story, "statement", "company", "--from", "2023-01-01", "--to", "2023-12-31",
                "--company", "fjord")
    assert [p["patient_id"] for p in s["patients"]] == [OTHER]
    assert [a["agreement_id"] for a in s["agreements"]] == ["fjord-impress"]
    assert "nordlys" not in json.dumps(s)


def test_public_cost_per_region_as_known_now_and_as_issued(story: Story) -> None:
    args = ("statement", "public-cost", "--from", "2023-10-01", "--to", "2023-12-31")
    now = ok_json(story, *args)
    assert [(r["rhf_id"], r["hf_id"], r["public_days"], r["packs"], r["value"]) for r in now["rows"]] == [
        ("helse-midt-norge", "st-olavs", 47, 2, {"NOK": "24690.00"}),
        ("helse-vest", "helse-stavanger", 44, 4, {"NOK": "49380.00"}),
    ]
    assert ok_json(story, *args, "--position", str(story.issued))["rows"] == []
    vest = ok_json(story, *args, "--rhf", "helse-vest")
    assert [r["hf_id"] for r in vest["rows"]] == ["helse-stavanger"]


def test_restatement_names_the_late_assessment_and_who_recorded_it(story: Story) -> None:
    r = ok_json(story, "statement", "restatement", "public-cost", "--from", "2023-10-01",
                "--to", "2023-12-31", "--issued-position", str(story.issued))
    assert {(tuple(x["key"]), x["status"]) for x in r["changes"] if x["section"] == "public cost"} == {
        (("2023-Q4", "helse-midt-norge", "st-olavs"), "added"),
        (("2023-Q4", "helse-vest", "helse-stavanger"), "added"),
    }
    [fact] = r["facts"]
    assert (fact["position"], fact["type"], fact["actor"], fact["why"]) == (
        story.assessment, "AssessmentRecorded", "trial-office:kari", "late")
    by_moment = ok_json(story, "statement", "restatement", "public-cost", "--from", "2023-10-01",
                        "--to", "2023-12-31", "--issued-at", story.issued_at)
    assert by_moment["changes"] == r["changes"]


def test_worklist_before_and_after_the_late_assessment(story: Story) -> None:
    before = ok_json(story, "worklist", "--to", "2023-12-31", "--position", str(story.issued))
    assert [(i["gap"], i["patient_id"], i["since"], i["packs"]) for i in before["items"]] == [
        ("assessment-missing", PID, "2023-10-02", 6)]
    assert before["items"][0]["resolve"].startswith("record the 16-week assessment")
    assert ok_json(story, "worklist", "--to", "2023-12-31")["items"] == []


def test_the_worklist_lists_an_items_dispensations_only_when_asked_for(story: Story) -> None:
    asked = ["worklist", "--to", "2023-12-31", "--position", str(story.issued)]
    [item] = ok_json(story, *asked)["items"]
    assert "dispensations" not in item
    [listed] = ok_json(story, *asked, "--dispensations")["items"]
    assert sum(x["packs"] for x in listed["dispensations"]) == listed["packs"] == item["packs"]
    assert {x["payer"] for x in listed["dispensations"]} == {"pending"}


def test_upcoming_coverage_ends_per_rhf(story: Story) -> None:
    u = ok_json(story, "upcoming", "--days", "30", "--on", "2023-09-20")
    assert u["by_rhf"] == {"helse-vest": [{
        "patient_id": PID, "cohort_id": "olaparib-brca", "company_id": "nordlys",
        "hf_id": "helse-stavanger", "last_covered_on": "2023-10-01", "days_left": 11,
        "then": "public", "then_party": "helse-vest", "next_step": "helse-vest takes over"}]}


# --- exports --------------------------------------------------------------------------------


def test_public_cost_as_xlsx_has_real_sheets_formats_and_totals(sqlite_story: Story,
                                                                tmp_path: Path) -> None:
    target = tmp_path / "q4.xlsx"
    result = cli(sqlite_story, "statement", "public-cost", "--from", "2023-10-01", "--to",
                 "2023-12-31", "--format", "xlsx", "--output", str(target))
    assert result.exit_code == 0, result.stderr
    book = load_workbook(target)
    assert book.sheetnames == ["Public cost", "Patients", "About"]
    ws = book["Public cost"]
    headers = [cell.value for cell in ws[1]]
    assert headers == ["Period", "From", "To", "RHF", "HF", "Patients taken over", "Public days",
                       "Packs", "Value", "Currency"]
    assert all(cell.font.bold for cell in ws[1])
    assert ws.freeze_panes == "A2"
    value, day = headers.index("Value") + 1, headers.index("From") + 1
    assert ws.cell(2, value).value == pytest.approx(24690.00)
    assert ws.cell(2, value).number_format == "#,##0.00"
    assert ws.cell(2, day).number_format == "yyyy-mm-dd"
    assert ws.cell(2, day).value.date() == date(2023, 10, 1)
    total = [row for row in ws.iter_rows(values_only=True) if row[0] == "Total NOK"]
    assert len(total) == 1
    assert total[0][headers.index("Packs")] == 6
    assert Decimal(str(total[0][headers.index("Value")])) == Decimal("74070.00")  # 24 690 + 49 380
    assert ws.cell(ws.max_row, 1).font.bold
    assert ws.column_dimensions["D"].width >= len("helse-midt-norge")
    about = dict(book["About"].iter_rows(min_row=2, values_only=True))
    assert about["Statement"] == "Public cost" and about["Scope"] == "everything"


def test_company_statement_as_xlsx_totals_each_currency_apart(sqlite_story: Story,
                                                              tmp_path: Path) -> None:
    target = tmp_path / "company.xlsx"
    result = cli(sqlite_story, "statement", "company", "--from", "2023-01-01", "--to",
                 "2023-12-31", "--format", "xlsx", "--output", str(target))
    assert result.exit_code == 0, result.stderr
    book = load_workbook(target)
    assert book.sheetnames == ["Agreements", "Patients", "Dispensations", "Grants", "About"]
    ws = book["Dispensations"]
    headers = [cell.value for cell in ws[1]]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    totals = {r[0]: r for r in rows if str(r[0]).startswith("Total")}
    assert set(totals) == {"Total EUR", "Total NOK"}
    value, packs = headers.index("Value"), headers.index("Packs")
    assert (totals["Total NOK"][packs], totals["Total NOK"][value]) == (6, pytest.approx(74070))
    assert (totals["Total EUR"][packs], totals["Total EUR"][value]) == (5, pytest.approx(5000))
    assert ws.cell(2, headers.index("Price per pack") + 1).number_format == "#,##0.00"
    grants = book["Grants"]
    grant_headers = [cell.value for cell in grants[1]]
    assert grant_headers == ["Patient", "Treating HF", "Due from", "Committed", "Invoiced", "Paid",
                             "Outstanding", "Currency", "To settle"]
    assert grants.cell(2, 7).value == pytest.approx(5000)


def test_csv_has_a_header_row_and_plain_values(story: Story, tmp_path: Path) -> None:
    result = cli(story, "statement", "public-cost", "--from", "2023-10-01", "--to",
                 "2023-12-31", "--format", "csv", "--table", "public-cost", "--csv", "rfc4180")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["HF"], r["Packs"], r["Value"], r["Currency"]) for r in rows] == [
        ("st-olavs", "2", "24690.00", "NOK"), ("helse-stavanger", "4", "49380.00", "NOK")]
    # every row says which statement, period and position it comes from
    built_at = ok_json(story, "statement", "public-cost", "--from", "2023-10-01", "--to",
                       "2023-12-31")["known_at"]["position"]
    assert built_at >= story.assessment
    assert {(r["Statement"], r["Period"], r["Log position"]) for r in rows} == {
        ("", "2023-10-01..2023-12-31", str(built_at))}
    target = tmp_path / "q4.csv"
    result = cli(story, "statement", "public-cost", "--from", "2023-10-01", "--to",
                 "2023-12-31", "--format", "csv", "--output", str(target))
    assert result.exit_code == 0
    files = sorted(p.name for p in tmp_path.glob("q4*.csv"))
    assert files == ["q4-patients.csv", "q4-public-cost.csv"]
    with (tmp_path / "q4-patients.csv").open(encoding="utf-8-sig") as f:
        header = next(csv.reader(f, delimiter=";" if ";" in f.readline() or f.seek(0) else ","))
    assert header[:8] == ["Period", "RHF", "HF", "Patient", "Public days", "Packs", "Value",
                          "Currency"]


def test_statement_table_names_the_position_it_was_built_at(story: Story) -> None:
    result = cli(story, "statement", "company", "--from", "2023-01-01", "--to", "2023-12-31")
    assert result.exit_code == 0
    assert "Known at: log position" in result.stdout
    assert "Total NOK" in result.stdout and "Total EUR" in result.stdout


# --- the who-pays read model: rebuild and verify ------------------------------------------------


def test_rebuild_then_verify_finds_no_difference(story: Story) -> None:
    result = cli(story, "rebuild")
    assert result.exit_code == 0, result.stderr
    assert f"up to log position {story.assessment}" in result.stdout or "rebuilt" in result.stdout
    assert ok_json(story, "verify") == {"differences": []}


def test_verify_lists_a_tampered_row_and_exits_1(sqlite_story: Story) -> None:
    assert cli(sqlite_story, "rebuild").exit_code == 0
    path = sqlite_story.url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE rm_intervals SET reason = 'tampered' WHERE patient_id = ?", (PID,))
    result = cli(sqlite_story, "verify", "--json")
    assert result.exit_code == 1
    differences = json.loads(result.stdout)["differences"]
    assert differences and {x["field"] for x in differences} == {"reason"}
    assert {x["patient_id"] for x in differences} == {PID}
    assert "difference(s)" in result.stderr
