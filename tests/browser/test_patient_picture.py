"""The payer timeline picture in Chromium: IMP-0030's late 16-week assessment (log position 611)
turns 'pending' into 'public' for the weeks before it was typed in; the "as known at" control
redraws the picture with htmx, and the picture says in text what the API answers."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import PARTNER, REGION, Server

pytestmark = pytest.mark.browser
LATE = 611  # IMP-0030's AssessmentRecorded in the demo (README)


def kinds_on_page(w: Any) -> list[str]:
    rows = w.page.locator("#picture table.intervals tbody tr")
    return [str(rows.nth(i).get_attribute("data-kind")) for i in range(rows.count())]


def kinds_from_api(server: Server, position: int) -> list[str]:
    answer = server.api(f"/v1/patients/IMP-0030/timeline?position={position}", "trial_office")
    assert answer["known_at_position"] == position
    return [i["payer"]["kind"] for i in answer["intervals"]]


@pytest.mark.parametrize(("role", "org"), [("trial_office", "impress"),
                                           ("rhf_finance", REGION), ("partner", PARTNER)])
def test_imp_0030_as_known_before_and_after_its_late_assessment(
        watched: Any, server: Server, role: str, org: str) -> None:
    w = watched(role, org)
    w.open("/patients/IMP-0030")
    assert kinds_on_page(w) == kinds_from_api(server, server.api(
        "/v1/patients/IMP-0030/timeline", "trial_office")["known_at_position"])
    for position, last in ((LATE - 1, "pending"), (LATE, "public")):
        with w.page.expect_response(lambda r: "hx-request" in r.request.headers):
            w.page.select_option("#at", str(position))
            w.page.click("form[hx-target='#picture'] button")
        w.page.wait_for_selector(f"#picture >> text=loggposisjon {position}")
        assert kinds_on_page(w) == kinds_from_api(server, position)
        assert kinds_on_page(w)[-1] == last
        labels = w.page.locator("#picture svg text.band-label").all_text_contents()
        assert ("Venter" if last == "pending" else "Offentlig · helse-sor-ost") in labels
        assert w.page.locator("#picture svg text.mark-label", has_text="Uke 16").count() == 1
        assert f"at={position}" in w.page.url  # the address says what is shown
        if role == "trial_office":
            w.screenshot(f"patient-imp-0030-known-at-{position}")
    if role == "trial_office":
        assert w.page.locator("svg.timeline title").count() >= 1
        found = w.axe()
        assert found == [], found


def test_what_changed_between_two_moments_names_the_late_assessment(
        watched: Any, server: Server) -> None:
    w = watched("trial_office")
    w.open("/patients/IMP-0030")
    w.page.fill("#before", str(LATE - 1))
    w.page.fill("#after", str(LATE))
    w.page.click("form[hx-target='#changes'] button")
    w.page.wait_for_selector("#changes table")
    changed = w.page.locator("#changes").inner_text()
    assert "AssessmentRecorded" in changed and "Venter" in changed and "Offentlig" in changed
    facts = w.page.locator("table.facts tbody tr")
    history = server.api("/v1/patients/IMP-0030/history", "trial_office")["facts"]
    assert facts.count() == len(history)
    corrected = [f for f in history if f["corrected_by"]]
    for fact in corrected:
        link = w.page.locator(f"table.facts a[href='#fact-{fact['stream'].replace('/', '-')}-"
                              f"{fact['version']}']")
        assert link.count() >= 1
    found = w.axe()
    assert found == [], found


def test_a_transfer_and_the_exemption_show_in_the_picture(watched: Any) -> None:
    w = watched("trial_office")
    w.open("/patients/IMP-0020")  # Helse Bergen -> OUS after the public takeover
    assert w.page.locator("#picture svg text.mark-label", has_text="Overføring").count() == 1
    hfs = w.page.locator("#picture svg g.band-hf").count()
    assert hfs == 2
    assert w.page.locator("#picture svg g.band-exemption").count() >= 1
    w.screenshot("patient-imp-0020-transfer")
