"""A journey per role on the demo, in Chromium: the figures on the page equal the API's answers
to the same questions, every page passes axe (no serious or critical violations), and no page
asks any other origin for anything (the `watched` fixture fails the test if one does)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from tests.browser.conftest import GAP_REGION, PARTNER, REGION, Server
from web.i18n import Formats

pytestmark = pytest.mark.browser
NB = Formats("nb")
ON = "2024-03-31"


def money(totals: dict[str, str], fmt: Formats = NB) -> str:
    if not totals:
        return fmt.money(Decimal(0), None)
    return "; ".join(fmt.money(Decimal(a), c) for c, a in sorted(totals.items()))


def no_violations(page: Any) -> None:
    found = page.axe()
    assert found == [], found


def test_finance_officer_reaches_public_cost_and_the_worklist_in_three_clicks(
        watched: Any, server: Server) -> None:
    w = watched("rhf_finance", REGION)  # click 1: sign in; the overview shows the public cost
    assert w.page.locator("[data-figure='month-cost']").count() == 1
    w.page.click("text=Åpne arbeidslisten for finansieringshull")  # click 2: the worklist
    w.page.wait_for_url(server.url + "/worklist")
    assert w.page.locator("h1").inner_text() == "Arbeidsliste og kommende"
    no_violations(w)


def test_finance_officers_figures_equal_the_apis(watched: Any, server: Server) -> None:
    w = watched("rhf_finance", GAP_REGION)
    w.open(f"/?on={ON}")
    month = server.api("/v1/statements/public-cost?from=2024-03-01&to=2024-03-31&by=month",
                       "rhf_finance", GAP_REGION)
    quarter = server.api("/v1/statements/public-cost?from=2024-01-01&to=2024-03-31",
                         "rhf_finance", GAP_REGION)
    assert Decimal(month["totals"]["value"]["NOK"]) > 0
    assert w.figure("month-cost") == money(month["totals"]["value"])
    assert w.figure("quarter-cost") == money(quarter["totals"]["value"])
    assert w.figure("quarter-days") == NB.number(quarter["totals"]["public_days"])
    payers = server.api(f"/v1/payers?on={ON}", "rhf_finance", GAP_REGION)["patients"]
    public = [p for p in payers if p["payer"]["kind"] == "public"
              and p["payer"]["party"] == GAP_REGION]
    assert w.figure("public-now") == NB.number(len(public))
    gaps = server.api(f"/v1/worklist?to={ON}", "rhf_finance", GAP_REGION)["items"]
    pending = [i for i in gaps if i["gap"] == "assessment-missing"]
    assert w.figure("pending-count") == NB.number(len(pending))
    gap_items = [i for i in gaps if i["gap"] in ("benefit-without-exemption",
                                                 "treated-without-benefit")]
    assert gap_items and w.figure("gap-count") == NB.number(len(gap_items))
    no_violations(w)
    w.screenshot("overview-finance-officer")
    w.open("/statements?kind=public-cost&from=2024-01-01&to=2024-12-31&by=quarter")
    year = server.api("/v1/statements/public-cost?from=2024-01-01&to=2024-12-31",
                      "rhf_finance", GAP_REGION)
    assert w.figure("statement-value") == money(year["totals"]["value"])
    assert w.figure("statement-patients") == NB.number(year["totals"]["patients"])
    no_violations(w)
    w.screenshot("statements-public-cost")
    w.open(f"/worklist?on={ON}")
    assert w.figure("pending-count") == NB.number(len(pending))
    no_violations(w)
    w.screenshot("worklist")


def test_partners_figures_equal_the_apis_and_it_sees_only_its_own(
        watched: Any, server: Server) -> None:
    w = watched("partner", PARTNER)
    w.open(f"/?on={ON}")
    patients = server.api("/v1/patients", "partner", PARTNER)
    first = min(p["enrolled_on"] for p in patients)
    statement = server.api(f"/v1/statements/company?from={first}&to={ON}", "partner", PARTNER)
    assert w.figure("patients") == NB.number(len(patients))
    assert w.figure("packs") == NB.number(statement["totals"]["packs"])
    for column in ("committed", "invoiced", "paid", "outstanding"):
        assert w.figure(f"grants-{column}") == money(statement["totals"]["grants"][column])
    no_violations(w)
    w.screenshot("overview-partner")
    w.open("/patients")
    listed = set(re.findall(r"IMP-\d{4}", w.page.locator("main table").inner_text()))
    assert listed == {p["patient_id"] for p in patients}
    no_violations(w)


def test_a_partner_opening_another_companys_patient_gets_the_404_page(
        watched: Any, server: Server) -> None:
    w = watched("partner", PARTNER)
    theirs = w.open("/patients/IMP-0001")  # Roche's
    assert theirs.status == 404
    text = w.page.locator("main").inner_text()
    missing = w.open("/patients/IMP-9999")
    assert missing.status == 404
    assert w.page.locator("main").inner_text() == text
    no_violations(w)


def test_trial_office_overview_lists_what_needs_recording(watched: Any, server: Server) -> None:
    w = watched("trial_office")
    patients = server.api("/v1/patients", "trial_office")
    missing = [p for p in patients if p["started_on"] is None and p["ended"] is None]
    assert w.figure("starts-missing") == NB.number(len(missing))
    cohorts = server.api("/v1/cohorts", "trial_office")
    assert w.page.locator("main table tbody tr").count() >= len(cohorts)
    no_violations(w)
    w.screenshot("overview-trial-office")
    w.open("/cohorts/olaparib-brca")
    cohort = server.api("/v1/cohorts/olaparib-brca", "trial_office")
    enrolled = w.page.locator("ol.stages li").nth(2).inner_text()
    assert f"{cohort['patients_by_stage'].get('3', 0)} av" in enrolled
    no_violations(w)
    w.screenshot("cohort")


def test_a_refused_form_shows_the_message_by_the_field_and_records_nothing(
        watched: Any, server: Server) -> None:
    w = watched("trial_office")
    head = server.api("/v1/audit/digest", "auditor")["position"]
    w.open("/record/IMP-0030/start")
    w.page.fill("#started_on", "2023-01-02")
    w.page.click("main form button[type=submit]")
    w.page.wait_for_load_state("networkidle")
    error = w.page.locator("#started_on-error").inner_text()
    assert "started treatment on 2023-09-04" in error
    assert w.page.locator("#started_on").get_attribute("aria-invalid") == "true"
    assert w.page.evaluate("document.activeElement.id") == "error-summary"
    assert server.api("/v1/audit/digest", "auditor")["position"] == head
    no_violations(w)
    w.screenshot("record-refused")


def test_a_forged_form_token_is_refused(watched: Any, server: Server) -> None:
    w = watched("trial_office")
    head = server.api("/v1/audit/digest", "auditor")["position"]
    w.open("/record/IMP-0030/dispensation")
    w.page.fill("#packs", "1")
    w.page.fill("#dispensed_on", "2024-02-01")
    w.page.evaluate("document.querySelector('main input[name=csrf_token]').value = 'forged'")
    with w.page.expect_response(lambda r: r.request.method == "POST") as answer:
        w.page.click("main form button[type=submit]")
    assert answer.value.status == 403
    assert server.api("/v1/audit/digest", "auditor")["position"] == head


def test_auditor_sees_the_digest_verifies_replays_and_exports(
        watched: Any, server: Server, tmp_path: Any) -> None:
    w = watched("auditor")
    w.open("/audit")
    digest = server.api("/v1/audit/digest", "auditor")
    assert w.figure("digest-position") == str(digest["position"])
    assert digest["hash"] in w.page.locator("#digest-text").input_value()
    no_violations(w)
    w.page.fill("#digest", w.page.locator("#digest-text").input_value())
    w.page.click("form[action='/audit/verify'] button")
    w.page.wait_for_selector("[data-verified]")
    assert w.page.locator("[data-verified]").get_attribute("data-verified") == "true"
    assert w.page.locator("[data-digest-matches]").get_attribute("data-digest-matches") == "True"
    w.page.fill("#at", "610")
    w.page.fill("#on", "2024-01-10")
    w.page.click("form[action='/audit'] button")
    w.page.wait_for_selector("#replay table")
    row = w.page.locator("#replay tr", has_text="IMP-0030").inner_text()
    replayed = server.api("/v1/audit/replay?position=610&on=2024-01-10", "auditor")
    kind = next(p["payer"] for p in replayed["payers"] if p["patient_id"] == "IMP-0030")
    assert kind == "pending" and "Venter" in row
    no_violations(w)
    w.screenshot("audit")
    w.page.fill("#patient", "IMP-0030")
    with w.page.expect_download() as download:
        w.page.click("form[action='/audit/export'] button")
    text = open(download.value.path(), encoding="utf-8").read()
    assert text.splitlines()[0].startswith("position,recorded_at,ref")
    assert "AssessmentRecorded" in text


@pytest.mark.parametrize(("role", "org"), [("procurement", "impress"),
                                           ("decision_forum", "impress")])
def test_other_roles_overviews_pass_axe(watched: Any, role: str, org: str) -> None:
    w = watched(role, org)
    assert w.page.locator("h1").inner_text() == "Oversikt"
    no_violations(w)
    w.open("/cohorts")
    no_violations(w)
