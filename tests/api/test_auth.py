"""OpenID Connect bearer tokens: signature against the issuer's JWKS (served here over HTTP on
localhost, as HelseID would), issuer, audience, expiry; claims mapped to roles and organisations
by configuration. And the local development issuer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from api.app import create_app
from api.settings import Settings
from tests.api.support import VALID_NATIONAL_ID, Api, settings_for

ROLE_CLAIM = "helseid://claims/client/claims/impress_role"
ORG_CLAIM = "helseid://claims/client/claims/orgnr_parent"
AUDIENCE = "nhn:impress-ledger"


class Issuer:
    """A tiny OpenID provider on 127.0.0.1: a discovery document and a JWKS."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}
        issuer = self
        self.hits = 0

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                issuer.hits += 1
                doc = {"/.well-known/openid-configuration": {
                    "issuer": issuer.url, "jwks_uri": f"{issuer.url}/jwks"},
                    "/jwks": issuer.jwks}.get(self.path)
                self.send_response(200 if doc else 404)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps(doc or {}).encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, key: Any = None, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": self.url, "aud": AUDIENCE, "sub": "helseid-sub-7f3a", "iat": now,
                "exp": now + 300, ROLE_CLAIM: "impress-finance", ORG_CLAIM: "983974899", **claims}
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, key or self.key, algorithm="RS256", headers={"kid": "k1"})


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    i = Issuer()
    yield i
    i.server.shutdown()


def oidc_settings(tmp_path: Path, issuer: Issuer, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        database_url=f"sqlite:///{tmp_path}/ledger.db", data_dir=tmp_path / "data",
        auth_mode="oidc", oidc_issuer=issuer.url, oidc_audience=AUDIENCE,
        role_claim=ROLE_CLAIM, role_map={"impress-finance": "rhf_finance",
                                         "impress-audit": "auditor"},
        org_claim=ORG_CLAIM, org_map={"983974899": "helse-vest"})
    return Settings(**{**values, **overrides})


@pytest.fixture
def oidc(tmp_path: Path, issuer: Issuer) -> Iterator[Api]:
    api = Api(oidc_settings(tmp_path, issuer))
    yield api
    api.close()


def me(api: Api, token: str) -> Any:
    return api.client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})


def test_a_helseid_style_token_is_mapped_to_role_and_organisation(oidc: Api,
                                                                  issuer: Issuer) -> None:
    answer = me(oidc, issuer.token())
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"subject": "helseid-sub-7f3a", "role": "rhf_finance",
                             "organisation": "helse-vest"}


def test_the_jwks_is_found_through_discovery_when_no_url_is_configured(
        oidc: Api, issuer: Issuer) -> None:
    assert oidc.settings.oidc_jwks_url is None
    hits = issuer.hits
    for _ in range(3):
        assert me(oidc, issuer.token()).status_code == 200
    assert issuer.hits - hits <= 2  # discovery and keys, then cached


@pytest.mark.parametrize("claims, status", [
    ({"exp": int(time.time()) - 3600}, 401),
    ({"aud": "someone-else"}, 401),
    ({"iss": "https://evil.example"}, 401),
    ({"exp": None}, 401),
    ({ROLE_CLAIM: None}, 403),
    ({ROLE_CLAIM: "impress-unknown"}, 403),
    ({ROLE_CLAIM: ["impress-finance", "impress-audit"]}, 403),
    ({ORG_CLAIM: None}, 403),
])
def test_bad_tokens_are_refused(oidc: Api, issuer: Issuer, claims: dict[str, Any],
                                status: int) -> None:
    answer = me(oidc, issuer.token(**claims))
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    if status == 401:
        assert answer.headers["www-authenticate"].startswith("Bearer")


def test_a_token_signed_by_another_key_or_not_at_all_is_refused(oidc: Api, issuer: Issuer) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert me(oidc, issuer.token(key=other)).status_code == 401
    unsigned = jwt.encode({"sub": "x", "aud": AUDIENCE, "iss": issuer.url,
                           "exp": int(time.time()) + 60}, None, algorithm="none")
    assert me(oidc, unsigned).status_code == 401
    assert me(oidc, "not-a-jwt").status_code == 401
    answer = oidc.client.get("/v1/me", headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert answer.status_code == 401


def test_a_subject_claim_holding_a_national_identity_number_is_refused(
        tmp_path: Path, issuer: Issuer) -> None:
    api = Api(oidc_settings(tmp_path, issuer, subject_claim="pid"))
    try:
        answer = me(api, issuer.token(pid=VALID_NATIONAL_ID))
        assert answer.status_code == 422
        assert answer.json()["type"].endswith("/national-identity-number")
        assert VALID_NATIONAL_ID not in answer.text
    finally:
        api.close()


def test_an_unreachable_issuer_is_503_not_a_refusal(tmp_path: Path, issuer: Issuer) -> None:
    api = Api(oidc_settings(tmp_path, issuer, oidc_jwks_url="http://127.0.0.1:9/jwks"))
    try:
        answer = me(api, issuer.token())
        assert answer.status_code == 503
        assert answer.json()["type"].endswith("/identity-provider-unavailable")
    finally:
        api.close()


def test_oidc_mode_needs_an_issuer_and_an_audience(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="IMPRESS_OIDC_ISSUER"):
        create_app(Settings(database_url=f"sqlite:///{tmp_path}/l.db", auth_mode="oidc"),
                   configure_logging=False)


def test_the_claim_mapping_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMPRESS_ROLE_CLAIM", "roles")
    monkeypatch.setenv("IMPRESS_ROLE_MAP", '{"Impress.Finance": "rhf_finance"}')
    monkeypatch.setenv("IMPRESS_ORG_MAP", '{"983974899": "helse-vest"}')
    monkeypatch.setenv("IMPRESS_OIDC_ALGORITHMS", '["RS256"]')
    s = Settings()
    assert (s.role_claim, s.role_map, s.org_map, s.oidc_algorithms) == (
        "roles", {"Impress.Finance": "rhf_finance"}, {"983974899": "helse-vest"}, ["RS256"])


def test_nothing_but_health_and_the_openapi_document_is_readable_without_a_token(
        tmp_path: Path) -> None:
    api = Api(settings_for(tmp_path))
    try:
        for path in ("/health", "/ready", "/openapi.json"):
            assert api.client.get(path).status_code == 200
        document = api.app.openapi()
        assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
        for path, operations in document["paths"].items():
            for operation in operations.values():  # the document says which need a token
                needs = path not in ("/health", "/ready")
                assert (operation.get("security") == [{"HTTPBearer": []}]) == needs, path
        for path in api.app.openapi()["paths"]:
            if path not in ("/health", "/ready"):
                concrete = path.replace("{patient_id}", "IMP-0042").replace("{", "").replace("}", "")
                for method in api.app.openapi()["paths"][path]:
                    assert api.client.request(method, concrete).status_code == 401, path
    finally:
        api.close()


def test_the_token_command_issues_what_a_dev_server_trusts(tmp_path: Path) -> None:
    env = {**os.environ, "IMPRESS_DATA_DIR": str(tmp_path / "data"),
           "IMPRESS_DATABASE_URL": f"sqlite:///{tmp_path}/ledger.db"}
    api = Api(settings_for(tmp_path))
    api.seed()  # a partner's token names a company the ledger knows
    out = subprocess.run([sys.executable, "-c", "from cli.main import main; main()", "token",
                          "--role", "partner", "--org", "astrazeneca", "--subject", "anna"],
                         env=env, capture_output=True, text=True, timeout=60, check=True)
    token = out.stdout.strip()
    try:
        answer = me(api, token)
        assert answer.json() == {"subject": "anna", "role": "partner", "organisation": "astrazeneca"}
        assert (tmp_path / "data" / "dev-signing-key.pem").stat().st_mode & 0o077 == 0
    finally:
        api.close()
    refused = subprocess.run([sys.executable, "-c", "from cli.main import main; main()", "token",
                              "--role", "partner"], env=env, capture_output=True, text=True,
                             timeout=60)
    assert refused.returncode != 0 and "--org" in refused.stderr
