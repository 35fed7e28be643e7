"""Authentication: OpenID Connect bearer tokens (JWT), checked with PyJWT.

Production (`IMPRESS_AUTH_MODE=oidc`): the signature is checked against the configured
issuer's JWKS (`IMPRESS_OIDC_JWKS_URL`, or the `jwks_uri` of the issuer's discovery document,
fetched on first use, never at start), plus `iss`, `aud` and `exp`. A token without `kid`
(RFC 7515 allows it) is checked with the JWKS's one key that fits its algorithm, and refused if
there is not exactly one; when that key no longer fits (the issuer rotated it), the JWKS is
fetched again (at most once per `IMPRESS_OIDC_JWKS_REFRESH_SECONDS`). Claims become an Actor by
configuration, so HelseID or any other provider can be plugged in: the subject from
`IMPRESS_SUBJECT_CLAIM`, the role from `IMPRESS_ROLE_CLAIM` through `IMPRESS_ROLE_MAP`, the
organisation from `IMPRESS_ORG_CLAIM` through `IMPRESS_ORG_MAP`.

Development (`IMPRESS_AUTH_MODE=dev`): `impress-ledger token` signs tokens with a local EC key
kept in the data dir (created on first use); the app trusts only that key's JWKS.
"""

from __future__ import annotations

from collections import OrderedDict

import json
import os
import threading
import time
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from uuid import uuid4

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from application.access import ROLES
from api.problems import Problem, national_id
from api.settings import Settings
from domain.identity import find_national_id
from domain.values import Actor

DEV_KEY_FILE = "dev-signing-key.pem"
DEV_JWKS_FILE = "dev-jwks.json"
DEV_ALGORITHM = "ES256"


def unauthenticated(detail: str, error: str = "invalid_token") -> Problem:
    return Problem(401, "unauthenticated", detail,
                   headers={"WWW-Authenticate": f'Bearer error="{error}"'})


# --- keys -----------------------------------------------------------------------------------


class KeySource:
    def generation(self) -> object | None:
        """What identifies the keys in use now, without fetching any (None: none in hand): a
        token verified under another generation is verified again (a key may have gone)."""
        return self

    def key_for(self, token: str, *, refresh: bool = False) -> Any:
        """The key to check the token's signature with; `refresh`: the last one did not fit
        (a token without `kid` after the issuer rotated its key): fetch the keys again."""
        raise NotImplementedError


_KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}


def only_key_for(keys: list[jwt.PyJWK], algorithm: str) -> jwt.PyJWK:
    """The one signing key of a JWKS that fits `algorithm`, for a token without `kid` (RFC 7515
    makes it optional): refused unless exactly one key fits, so a key is never guessed."""
    fitting = [k for k in keys if k.public_key_use in ("sig", None)
               and _KEY_TYPES.get(algorithm[:2]) == k.key_type
               and getattr(k, "_jwk_data", {}).get("alg", algorithm) == algorithm]
    if len(fitting) != 1:
        raise unauthenticated(f"the token names no signing key (kid) and the issuer has "
                              f"{len(fitting)} keys for {algorithm}: it must name one")
    return fitting[0]


class DevKeys(KeySource):
    """The local development key's JWKS, re-read when the file changes."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / DEV_JWKS_FILE
        self._cache: tuple[float, jwt.PyJWKSet] | None = None

    def key_for(self, token: str, *, refresh: bool = False) -> Any:
        try:
            mtime = self.path.stat().st_mtime
        except OSError:
            raise unauthenticated(
                "no development key yet: create a token with `impress-ledger token`") from None
        if self._cache is None or self._cache[0] != mtime:
            self._cache = (mtime, jwt.PyJWKSet.from_json(self.path.read_text()))
        kid = jwt.get_unverified_header(token).get("kid")
        for key in self._cache[1].keys:
            if key.key_id == kid:
                return key.key
        raise unauthenticated("the token was not signed by this ledger's development key")


class IssuerKeys(KeySource):
    """The issuer's JWKS through PyJWKClient (cached); discovered lazily if no URL is given."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()
        self._refreshed = 0.0

    def _jwks_url(self) -> str:
        if self.settings.oidc_jwks_url:
            return self.settings.oidc_jwks_url
        issuer = (self.settings.oidc_issuer or "").rstrip("/")
        with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration", timeout=10) as r:
            return str(json.load(r)["jwks_uri"])

    def _may_refresh(self) -> bool:
        """At most one forced fetch per `oidc_jwks_refresh_seconds`: a stream of forged tokens
        must not make the ledger hammer the issuer."""
        with self._lock:
            now = time.monotonic()
            if now - self._refreshed < self.settings.oidc_jwks_refresh_seconds:
                return False
            self._refreshed = now
            return True

    def generation(self) -> object | None:
        cache = self._client.jwk_set_cache if self._client is not None else None
        if cache is None or cache.is_expired():
            return None
        return cache.jwk_set_with_timestamp  # a new object at every fetch

    def client(self) -> jwt.PyJWKClient:
        with self._lock:
            if self._client is None:
                self._client = jwt.PyJWKClient(self._jwks_url(), cache_keys=True, lifespan=300,
                                               timeout=10)
            return self._client

    def key_for(self, token: str, *, refresh: bool = False) -> Any:
        try:
            header = jwt.get_unverified_header(token)
            if header.get("kid"):
                return self.client().get_signing_key_from_jwt(token).key
            algorithm = str(header.get("alg", ""))
            if algorithm not in self.settings.oidc_algorithms:
                raise unauthenticated(f"the token's algorithm {algorithm[:10]!r} is not allowed")
            keys = self.client().get_jwk_set(refresh=refresh and self._may_refresh()).keys
            return only_key_for(keys, algorithm).key
        except jwt.PyJWKClientConnectionError:
            raise Problem(503, "identity-provider-unavailable",
                          "the identity provider's keys could not be fetched; try again shortly",
                          headers={"Retry-After": "5"}) from None
        except (jwt.PyJWKClientError, jwt.InvalidTokenError):
            raise unauthenticated("the token's signing key is not the issuer's") from None
        except (OSError, ValueError, KeyError):
            raise Problem(503, "identity-provider-unavailable",
                          "the identity provider's discovery document could not be read",
                          headers={"Retry-After": "5"}) from None


# --- verifying --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verifier:
    keys: KeySource
    issuer: str
    audience: str
    algorithms: tuple[str, ...]
    leeway: int

    def claims(self, token: str) -> dict[str, Any]:
        try:
            try:
                return self._decode(token, self.keys.key_for(token))
            except jwt.InvalidSignatureError:
                # Without `kid`, a rotated key shows only as a signature that does not fit.
                if jwt.get_unverified_header(token).get("kid"):
                    raise
                return self._decode(token, self.keys.key_for(token, refresh=True))
        except jwt.ExpiredSignatureError:
            raise unauthenticated("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise unauthenticated("the token is not meant for this ledger (audience)") from None
        except jwt.InvalidIssuerError:
            raise unauthenticated("the token comes from an issuer this ledger does not trust") from None
        except jwt.InvalidTokenError as e:
            raise unauthenticated(f"the token is not valid: {type(e).__name__}") from None

    def _decode(self, token: str, key: Any) -> dict[str, Any]:
        return jwt.decode(token, key, algorithms=list(self.algorithms), audience=self.audience,
                          issuer=self.issuer, leeway=self.leeway,
                          options={"require": ["exp", "iss", "aud"]})


VERIFIED_TOKENS = 4096  # tokens whose claims a process keeps (most recently used)


class Authenticator:
    """Bearer token -> Actor (subject, role, organisation)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._verified: OrderedDict[str, tuple[Actor, float, object]] = OrderedDict()
        self._lock = threading.Lock()
        if settings.auth_mode == "dev":
            self.verifier = Verifier(DevKeys(settings.data_dir), settings.dev_issuer,
                                     settings.dev_audience, (DEV_ALGORITHM,), 5)
        else:
            if not (settings.oidc_issuer and settings.oidc_audience):
                raise ValueError("IMPRESS_AUTH_MODE=oidc needs IMPRESS_OIDC_ISSUER and "
                                 "IMPRESS_OIDC_AUDIENCE (or use IMPRESS_AUTH_MODE=dev locally)")
            self.verifier = Verifier(IssuerKeys(settings), settings.oidc_issuer,
                                     settings.oidc_audience, tuple(settings.oidc_algorithms),
                                     settings.oidc_leeway_seconds)

    def actor(self, authorization: str | None, request_id: str) -> Actor:
        if not authorization:
            raise unauthenticated("send a bearer token: Authorization: Bearer <token>",
                                  error="invalid_request")
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthenticated("use the Bearer scheme: Authorization: Bearer <token>",
                                  error="invalid_request")
        generation = self.verifier.keys.generation()
        claims = self.verifier.claims(token.strip())
        actor = self.actor_of(claims, request_id)
        if generation is self.verifier.keys.generation():  # no fetch in between
            self._remember(token.strip(), claims, actor, generation)
        return actor

    def known(self, authorization: str | None, request_id: str) -> Actor | None:
        """The actor of a token this process verified before and that has not expired yet,
        without verifying it again (no key fetch, no signature check, no claims read again);
        None otherwise. A token's claims cannot change, and a verified token stays valid until
        its `exp` unless the issuer's keys changed meanwhile."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer":
            return None
        with self._lock:
            found = self._verified.get(token.strip())
        if found is None or time.time() >= found[1]:
            return None
        actor, _, generation = found
        if generation is None or generation is not self.verifier.keys.generation():
            return None  # the keys were fetched again since: verify it again
        return replace(actor, request_id=request_id)

    def _remember(self, token: str, claims: dict[str, Any], actor: Actor,
                  generation: object | None) -> None:
        expires = claims.get("exp")
        if not isinstance(expires, (int, float)) or generation is None:
            return
        with self._lock:
            self._verified[token] = (actor, float(expires), generation)
            self._verified.move_to_end(token)
            while len(self._verified) > VERIFIED_TOKENS:
                self._verified.popitem(last=False)

    def actor_of(self, claims: dict[str, Any], request_id: str) -> Actor:
        s = self.settings
        subject = claims.get(s.subject_claim)
        if not isinstance(subject, str) or not subject.strip():
            raise unauthenticated(f"the token has no subject claim '{s.subject_claim}'")
        role = self._role(claims.get(s.role_claim))
        org_value = claims.get(s.org_claim)
        if isinstance(org_value, list) and len(org_value) == 1:
            org_value = org_value[0]
        if not isinstance(org_value, (str, int)) or isinstance(org_value, bool) or not str(org_value):
            raise Problem(403, "forbidden", f"the token names no organisation ('{s.org_claim}')")
        org = s.org_map.get(str(org_value), str(org_value))
        actor = Actor(subject=subject[:200], role=role, organisation=org[:200],
                      request_id=request_id)
        if find_national_id(actor) is not None:
            # HelseID's `pid` claim is the person's national number: never let it in.
            raise national_id("the token's subject or organisation claim")
        return actor

    def _role(self, value: Any) -> str:
        values = value if isinstance(value, list) else [value]
        mapped = {self.settings.role_map.get(str(v), str(v)) for v in values if v is not None}
        roles = mapped & set(ROLES)
        if not roles:
            raise Problem(403, "forbidden", "the token carries no role this ledger knows "
                          f"(claim '{self.settings.role_claim}'; roles: {', '.join(ROLES)})")
        if len(roles) > 1:
            raise Problem(403, "forbidden", "the token carries more than one ledger role "
                          f"({', '.join(sorted(roles))}); use a token for one role")
        return roles.pop()


# --- the local development issuer -------------------------------------------------------------


def ensure_dev_key(data_dir: Path) -> tuple[ec.EllipticCurvePrivateKey, str]:
    """The development signing key and its key id; created (0600) with its JWKS on first use."""
    key_path, jwks_path = data_dir / DEV_KEY_FILE, data_dir / DEV_JWKS_FILE
    if not key_path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        private = ec.generate_private_key(ec.SECP256R1())
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
    loaded = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert isinstance(loaded, ec.EllipticCurvePrivateKey)
    jwk = jwt.algorithms.ECAlgorithm.to_jwk(loaded.public_key(), as_dict=True)
    kid = _thumbprint(jwk)
    jwks = {"keys": [{**jwk, "kid": kid, "use": "sig", "alg": DEV_ALGORITHM}]}
    if not jwks_path.exists() or json.loads(jwks_path.read_text()) != jwks:
        jwks_path.write_text(json.dumps(jwks, indent=2))
    return loaded, kid


def _thumbprint(jwk: dict[str, Any]) -> str:
    import base64
    import hashlib

    members = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"),
                         sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(members.encode()).digest()).rstrip(b"=").decode()


def issue_dev_token(settings: Settings, *, role: str, organisation: str, subject: str,
                    ttl_seconds: int = 8 * 3600) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    key, kid = ensure_dev_key(settings.data_dir)
    now = int(time.time())
    claims = {
        "iss": settings.dev_issuer, "aud": settings.dev_audience, "sub": subject,
        "iat": now, "nbf": now, "exp": now + ttl_seconds, "jti": uuid4().hex,
        settings.role_claim: role, settings.org_claim: organisation,
    }
    return jwt.encode(claims, key, algorithm=DEV_ALGORITHM, headers={"kid": kid})
