"""Production sign-in against a real OpenID Connect provider process (oidc-provider-mock, see
tests/browser/oidc_provider.py): the authorization code flow with PKCE, in Chromium, then the
pages as the actor the ID token's claims map to (the API's claim mapping), and sign-out."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ROOT, Server, Watched, free_port, start_server, wait_for

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    record = tmp_path_factory.mktemp("oidc") / "requests.jsonl"
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "tests.browser.oidc_provider", str(port),
                                str(record)], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    issuer = f"http://127.0.0.1:{port}"
    wait_for(issuer + "/.well-known/openid-configuration", process)
    yield issuer, record
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module")
def oidc_server(provider: tuple[str, Path],
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    issuer, _ = provider
    s = start_server(tmp_path_factory.mktemp("oidc-web"), {
        "IMPRESS_AUTH_MODE": "oidc", "IMPRESS_OIDC_ISSUER": issuer,
        "IMPRESS_OIDC_AUDIENCE": "impress-ledger", "IMPRESS_OIDC_CLIENT_ID": "impress-web",
        "IMPRESS_OIDC_CLIENT_SECRET": "test-secret",
        # http, not https, between the test's two local processes only
        "AUTHLIB_INSECURE_TRANSPORT": "1"})
    yield s
    s.process.terminate()
    s.process.wait(10)


def requests_to(record: Path, route: str) -> list[dict[str, str]]:
    lines = record.read_text().splitlines() if record.exists() else []
    return [r["params"] for r in map(json.loads, lines) if r["route"] == route]


def test_the_authorization_code_flow_with_pkce_signs_in_the_mapped_actor(
        browser: Any, oidc_server: Server, provider: tuple[str, Path]) -> None:
    issuer, record = provider
    w = Watched(browser, oidc_server)
    try:
        w.open("/worklist")
        assert "/sign-in" in w.page.url
        w.page.click("a[href='/sign-in/oidc']")
        w.page.wait_for_url(f"{issuer}/oauth2/authorize*")
        w.page.click("button[value='finance-officer-vest']")  # the provider's own sign-in form
        w.page.wait_for_url(oidc_server.url + "/")
        assert "helse-vest" in w.page.locator("header .who").inner_text()
        assert w.page.locator("[data-figure='month-cost']").count() == 1  # a finance officer
        cookie = next(c for c in w.context.cookies() if c["name"] == "impress_session")
        assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Lax"

        authorize = requests_to(record, "/oauth2/authorize")[0]
        token = requests_to(record, "/oauth2/token")[0]
        assert authorize["code_challenge_method"] == "S256"
        assert authorize["response_type"] == "code" and authorize.get("nonce")
        digest = hashlib.sha256(token["code_verifier"].encode()).digest()
        assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == authorize[
            "code_challenge"]
        assert token["grant_type"] == "authorization_code"

        w.page.click("form[action='/sign-out'] button")
        w.page.wait_for_load_state("networkidle")
        w.open("/worklist")
        assert "/sign-in" in w.page.url
    finally:
        w.close()


def test_a_callback_without_the_flows_state_signs_no_one_in(
        browser: Any, oidc_server: Server) -> None:
    w = Watched(browser, oidc_server)
    try:
        answer = w.open("/sign-in/callback?code=stolen&state=guessed")
        assert answer.status == 401
        w.open("/")
        assert "/sign-in" in w.page.url
    finally:
        w.close()
