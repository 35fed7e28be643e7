"""What every page answer carries: tenancy as 404, a signed HttpOnly Secure SameSite=Lax session
cookie, a Content-Security-Policy without inline scripts, nothing loaded from another origin."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.web.conftest import Pages
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from web.security import HARDENING, SecurityHeaders, policy

WEB = Path(__file__).resolve().parents[2] / "web"
REQUEST_ID = re.compile(r"[a-p]{32}")  # api.logging.new_request_id


def without_tokens(html: str) -> str:
    return re.sub(r'(value=|X-CSRF-Token": )"[^"]*"', "", html)


def test_a_partner_opening_another_companys_patient_gets_the_page_of_one_that_does_not_exist(
        pages: Pages) -> None:
    others = [c.patient.patient_id for c in pages.ledger.cases()
              if c.agreement.company_id != "astrazeneca"]
    pages.sign_in("partner", "astrazeneca")
    theirs = pages.get(f"/patients/{others[0]}")
    nobody = pages.get("/patients/IMP-9999")
    assert theirs.status_code == nobody.status_code == 404
    assert without_tokens(theirs.text) == without_tokens(nobody.text)


def test_an_rhf_officer_sees_only_patients_treated_in_the_region(pages: Pages) -> None:
    pages.sign_in("rhf_finance", "helse-nord")
    listed = set(re.findall(r'href="/patients/(IMP-\d+)"', pages.get("/patients").text))
    trusts = pages.ledger.workspace().registry().trusts
    for case in pages.ledger.cases():
        regions = {trusts[p.value].rhf_id for p in case.patient.hf_periods}
        assert (case.patient.patient_id in listed) == ("helse-nord" in regions)


def test_the_session_cookie_is_signed_http_only_secure_and_lax(pages: Pages) -> None:
    answer = pages.client.get("/sign-in")
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie
    pages.client.cookies.set("impress_session", "eyJhY3RvciI6eyJyb2xlIjoiYXVkaXRvciJ9fQ==.x.y")
    assert "/sign-in" in str(pages.client.get("/audit").url)  # a forged cookie signs no one in


def test_pages_without_a_sign_in_lead_to_the_sign_in_page(pages: Pages) -> None:
    answer = pages.client.get("/worklist", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/sign-in?next=/worklist"


@pytest.mark.parametrize("path", ["/", "/sign-in", "/docs", "/v1/health-trusts"])
def test_every_answer_forbids_inline_scripts_and_other_origins(pages: Pages, path: str) -> None:
    csp = pages.client.get(path).headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'self'"
    assert "http" not in csp and "*" not in csp


def test_no_template_loads_anything_from_another_origin() -> None:
    for template in (WEB / "templates").rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href|action)\s*=\s*["']?(https?:)?//""", text), template
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), f"inline script in {template}"
        assert not re.search(r"\son[a-z]+\s*=", text), f"inline handler in {template}"
        assert "style=" not in text and "<style" not in text, template


def test_only_the_api_docs_may_use_inline_styles() -> None:
    assert "'unsafe-inline'" in policy("/docs") and "'unsafe-inline'" not in policy("/")
    assert "script-src 'self';" in policy("/docs")


def test_the_api_docs_are_served_from_the_app_itself(pages: Pages) -> None:
    for path in ("/docs",):
        html = pages.client.get(path).text
        scripts = re.findall(r'<script src="([^"]+)"', html)
        assert scripts and all(s.startswith("/static/") for s in scripts)
        for s in scripts:
            assert pages.client.get(s).status_code == 200


def test_the_restatement_names_the_late_assessment(pages: Pages) -> None:
    pages.sign_in("rhf_finance", "helse-sor-ost")
    answer = pages.get("/statements?kind=public-cost&from=2023-10-01&to=2024-03-31&by=quarter"
                       "&issued=610")
    assert answer.status_code == 200
    restated = answer.text[answer.text.index('id="re-h"'):]
    assert "AssessmentRecorded" in restated and "IMP-0030" in restated


def test_the_worklist_filters_by_health_trust(pages: Pages) -> None:
    pages.sign_in("trial_office")  # procurement sees no study ids (ADR 0016)
    everything = pages.get("/worklist?on=2024-03-31").text
    patients = set(re.findall(r'href="/patients/(IMP-\d+)"', everything))
    assert patients
    trusts = {c.patient.patient_id: {p.value for p in c.patient.hf_periods}
              for c in pages.ledger.cases()}
    hf = sorted(trusts[sorted(patients)[0]])[0]
    only = set(re.findall(r'href="/patients/(IMP-\d+)"',
                          pages.get(f"/worklist?on=2024-03-31&hf={hf}").text))
    assert only and only <= patients and all(hf in trusts[p] for p in only)


def test_the_worklist_page_shows_the_first_rows_of_a_long_table_and_counts_them_all(
        pages: Pages, monkeypatch: pytest.MonkeyPatch) -> None:
    from web.pages import common

    pages.sign_in("trial_office")
    whole = pages.get("/worklist?on=2024-03-31").text
    rows = len(re.findall(r'<tr><td><a href="/patients/', whole))
    assert rows >= 2 and 'class="shown"' not in whole
    monkeypatch.setattr(common, "SHOWN", 1)
    cut = pages.get("/worklist?on=2024-03-31").text
    tables = re.findall(r"<tbody>(.*?)</tbody>", cut, re.S)
    assert all(t.count("<tr>") <= 1 for t in tables)
    assert re.findall(r'data-shown="1"', cut)  # each long table says it shows the first one
    assert re.search(r'data-figure="gap-count">([^<]+)<', cut)[1] == \
        re.search(r'data-figure="gap-count">([^<]+)<', whole)[1]  # the figures count them all


@pytest.mark.parametrize("path", ["/", "/docs", "/v1/health-trusts", "/health", "/no-such-page",
                                  "/v1/patients/IMP-0042/payer?on=2023-10-02"])
def test_every_answer_carries_each_hardening_header_once(pages: Pages, path: str) -> None:
    answer = pages.client.get(path)
    for name, value in HARDENING:
        assert answer.headers.get_list(name) == [value], (path, name)
    assert answer.headers.get_list("content-security-policy") == [policy(path.split("?")[0])]


def test_the_hardening_headers_replace_any_an_answer_set_itself() -> None:
    async def framed(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"x-frame-options", b"SAMEORIGIN"), (b"x-custom", b"kept")]})
        await send({"type": "http.response.body", "body": b"ok"})

    answer = TestClient(SecurityHeaders(framed)).get("/")
    assert answer.headers.get_list("x-frame-options") == ["DENY"]
    assert answer.headers["x-custom"] == "kept"
    assert answer.headers["content-security-policy"] == policy("/")


def test_an_api_answer_neither_reads_nor_sets_the_session_cookie(pages: Pages) -> None:
    pages.sign_in("auditor", "riksrevisjonen")
    assert pages.client.cookies.get("impress_session")
    answer = pages.client.get("/v1/health-trusts")  # with the signed-in session's cookie
    assert answer.status_code == 401  # the API knows bearer tokens only, never the session
    assert "set-cookie" not in answer.headers and "cookie" not in answer.headers.get("vary", "")
