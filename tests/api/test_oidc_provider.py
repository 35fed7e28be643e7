"""OIDC mode against a real, independent OpenID provider (the `oidc-provider-mock` package,
started here on localhost): discovery, the JWKS fetched from it, its RS256 ID tokens (which carry
no `kid`), audience, expiry, key rotation, and the role and organisation claim maps. Tokens are
obtained as a client would: authorization code, then the token endpoint."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import jwt
import oidc_provider_mock
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from api.auth import only_key_for
from api.settings import Settings
from tests.api.support import Api

CLIENT = "impress-ledger"
REDIRECT = "http://localhost/callback"
ROLE_CLAIM, ORG_CLAIM = "impress_roles", "orgnr"
FINANCE = {ROLE_CLAIM: ["impress-finance"], ORG_CLAIM: "983974899"}


class Provider:
    """The provider on a fixed localhost port, so that it can be stopped and started again
    with a new signing key (a key rotation) under the same issuer URL."""

    def __init__(self, *, max_age: timedelta = timedelta(hours=1)) -> None:
        with socket.socket() as s:
            s.bind(("localhost", 0))
            self.port = s.getsockname()[1]
        self.max_age = max_age
        self.url = f"http://localhost:{self.port}"
        self._running: AbstractContextManager[Any] | None = None

    def start(self) -> None:
        self._running = oidc_provider_mock.run_server_in_thread(
            port=self.port, access_token_max_age=self.max_age)
        self._running.__enter__()

    def stop(self) -> None:
        assert self._running is not None
        self._running.__exit__(None, None, None)
        self._running = None

    def id_token(self, sub: str, claims: dict[str, Any], client: str = CLIENT) -> str:
        """Log `sub` in at the provider and redeem the code: the ID token (a JWT)."""
        assert httpx.put(f"{self.url}/users/{sub}", json=claims).status_code == 204
        authorized = httpx.post(f"{self.url}/oauth2/authorize", params={
            "client_id": client, "redirect_uri": REDIRECT, "response_type": "code",
            "scope": "openid", "state": "s"}, data={"sub": sub})
        code = parse_qs(urlparse(authorized.headers["location"]).query)["code"][0]
        answer = httpx.post(f"{self.url}/oauth2/token", data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "client_id": client, "client_secret": "any"})
        assert answer.status_code == 200, answer.text
        return str(answer.json()["id_token"])


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    p = Provider()
    p.start()
    yield p
    p.stop()


def ledger_for(tmp_path: Path, provider: Provider, **overrides: Any) -> Api:
    """The ledger in OIDC mode, knowing only the issuer URL (JWKS by discovery)."""
    return Api(Settings(**{
        "database_url": f"sqlite:///{tmp_path}/ledger.db", "data_dir": tmp_path / "data",
        "auth_mode": "oidc", "oidc_issuer": provider.url, "oidc_audience": CLIENT,
        "role_claim": ROLE_CLAIM, "role_map": {"impress-finance": "rhf_finance",
                                               "impress-audit": "auditor"},
        "org_claim": ORG_CLAIM, "org_map": {"983974899": "helse-vest"}, **overrides}))


def me(api: Api, token: str) -> Any:
    return api.client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def ledger(tmp_path: Path, provider: Provider) -> Iterator[Api]:
    api = ledger_for(tmp_path, provider)
    yield api
    api.close()


def test_the_providers_tokens_carry_no_kid_and_its_jwks_one_key(provider: Provider) -> None:
    token = provider.id_token("kari", FINANCE)
    assert "kid" not in jwt.get_unverified_header(token)
    discovery = httpx.get(f"{provider.url}/.well-known/openid-configuration").json()
    assert discovery["issuer"] == provider.url
    assert len(httpx.get(discovery["jwks_uri"]).json()["keys"]) == 1


def test_a_token_without_kid_is_accepted_through_discovery_and_mapped(ledger: Api,
                                                                      provider: Provider) -> None:
    answer = me(ledger, provider.id_token("kari", FINANCE))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"subject": "kari", "role": "rhf_finance", "organisation": "helse-vest"}
    seen = me(ledger, provider.id_token("per", {ROLE_CLAIM: "impress-audit", ORG_CLAIM: "974"}))
    assert seen.json() == {"subject": "per", "role": "auditor", "organisation": "974"}


@pytest.mark.parametrize("claims, status, detail", [
    ({ROLE_CLAIM: ["impress-unknown"], ORG_CLAIM: "983974899"}, 403, "no role"),
    ({ROLE_CLAIM: ["impress-finance", "impress-audit"], ORG_CLAIM: "983974899"}, 403,
     "more than one"),
    ({ROLE_CLAIM: ["impress-finance"]}, 403, "no organisation"),
])
def test_the_claim_maps_refuse_what_they_cannot_map(ledger: Api, provider: Provider,
                                                    claims: dict[str, Any], status: int,
                                                    detail: str) -> None:
    answer = me(ledger, provider.id_token("ola", claims))
    assert answer.status_code == status and detail in answer.json()["detail"]


def test_a_token_for_another_client_is_refused(ledger: Api, provider: Provider) -> None:
    answer = me(ledger, provider.id_token("kari", FINANCE, client="some-other-app"))
    assert answer.status_code == 401
    assert "audience" in answer.json()["detail"]


def test_an_expired_token_is_refused(tmp_path: Path) -> None:
    short = Provider(max_age=timedelta(seconds=6))
    short.start()
    api = ledger_for(tmp_path, short, oidc_leeway_seconds=0)
    try:
        token = short.id_token("kari", FINANCE)
        assert me(api, token).status_code == 200
        expires = jwt.decode(token, options={"verify_signature": False})["exp"]
        time.sleep(max(0.0, expires + 1.1 - time.time()))
        answer = me(api, token)
        assert answer.status_code == 401 and "expired" in answer.json()["detail"]
    finally:
        api.close()
        short.stop()


def test_after_a_key_rotation_new_tokens_pass_and_old_ones_do_not(tmp_path: Path) -> None:
    rotating = Provider()
    rotating.start()
    api = ledger_for(tmp_path, rotating, oidc_jwks_refresh_seconds=0)
    try:
        old = rotating.id_token("kari", FINANCE)
        assert me(api, old).status_code == 200  # the JWKS is fetched and cached
        rotating.stop()
        rotating.start()  # same issuer URL, a new signing key
        new = rotating.id_token("kari", FINANCE)
        assert me(api, new).status_code == 200  # the cached key does not fit: fetched again
        refused = me(api, old)
        assert refused.status_code == 401, refused.text
    finally:
        api.close()
        rotating.stop()


def test_a_token_without_kid_is_refused_when_the_jwks_has_several_keys_for_its_algorithm() -> None:
    def jwk(key: Any, **extra: str) -> jwt.PyJWK:
        algorithm = jwt.algorithms.RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) \
            else jwt.algorithms.ECAlgorithm
        return jwt.PyJWK({**algorithm.to_jwk(key.public_key(), as_dict=True), **extra})

    one, two = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in "12")
    curve = jwk(ec.generate_private_key(ec.SECP256R1()))
    assert only_key_for([jwk(one), curve], "RS256").key_type == "RSA"
    assert only_key_for([jwk(one, alg="RS256"), jwk(two, alg="PS256")], "PS256").key_type == "RSA"
    assert only_key_for([jwk(one), jwk(two, use="enc")], "RS256").key_type == "RSA"
    for keys in ([jwk(one), jwk(two)], [curve]):
        with pytest.raises(Exception, match="names no signing key"):
            only_key_for(keys, "RS256")
