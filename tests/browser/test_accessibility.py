"""axe-core on every page each role can open (no serious or critical violations), and the pages
used with the keyboard alone."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import GAP_REGION, PARTNER, Server

pytestmark = pytest.mark.browser

PAGES = {
    ("trial_office", "impress"): [
        "/patients", "/cohorts", "/record", "/record/enrolment", "/record/IMP-0030",
        "/record/IMP-0030/assessment", "/record/IMP-0030/end", "/record/IMP-0030/transfer",
        "/record/IMP-0030/dispensation", "/record/IMP-0030/dispensation-correction",
        "/record/IMP-0030/assessment-correction", "/record/IMP-0030/end-correction",
        "/record/IMP-0030/hf-correction", "/record/IMP-0030/start-correction",
        "/patients/IMP-0020", "/worklist", "/nothing-here"],
    ("rhf_finance", GAP_REGION): [
        "/patients", "/statements?kind=company&from=2023-01-01&to=2024-12-31",
        "/statements?kind=public-cost&from=2023-01-01&to=2024-12-31&by=month&issued=600",
        "/cohorts/olaparib-brca"],
    ("partner", PARTNER): ["/cohorts", "/worklist"],
    ("auditor", "impress"): ["/", "/patients/IMP-0030?before=600&after=611",
                             "/audit?at=611&on=2024-01-10"],
}


@pytest.mark.parametrize(("who", "paths"), list(PAGES.items()),
                         ids=[role for role, _ in PAGES])
def test_every_page_passes_axe(watched: Any, who: tuple[str, str], paths: list[str]) -> None:
    w = watched(*who)
    found = {}
    for path in paths:
        w.open(path)
        if violations := w.axe():
            found[path] = violations
    assert found == {}


def test_the_sign_in_page_passes_axe_and_works_from_the_keyboard(
        watched: Any, server: Server) -> None:
    w = watched()
    w.open("/sign-in")
    assert w.axe() == []
    w.page.keyboard.press("Tab")
    assert w.page.evaluate("document.activeElement.className") == "skip"
    w.page.keyboard.press("Enter")
    w.page.focus("#role")
    w.page.keyboard.press("End")  # the last role: auditor
    w.page.keyboard.press("Tab")  # to the organisation (IMPRESS)
    w.page.keyboard.press("Tab")  # to the button
    w.page.keyboard.press("Enter")
    w.page.wait_for_url(server.url + "/")
    assert "Revisor" in w.page.locator("header .who").inner_text()
    focus_ring = w.page.evaluate(
        "(() => { const a = document.querySelector('nav a'); a.focus();"
        " return getComputedStyle(a).outlineStyle; })()")
    assert focus_ring == "solid"


def test_the_axe_check_finds_a_violation_when_there_is_one(watched: Any) -> None:
    w = watched()
    w.open("/sign-in")
    w.page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend',"
                    " '<img src=\"/static/favicon.svg\"><input type=\"text\">')")
    assert {"image-alt", "label"} <= {v["id"] for v in w.axe()}
