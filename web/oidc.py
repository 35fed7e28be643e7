"""Production sign-in: the OpenID Connect authorization code flow with PKCE (S256), by Authlib,
against the configured issuer (HelseID or any provider with a discovery document).

The ID token is checked by Authlib (signature against the issuer's JWKS, `iss`, `aud` = our
client id, `exp`, the nonce); its claims become an Actor by the same mapping the API applies to
bearer tokens (api.auth.Authenticator.actor_of: role and organisation claims and maps, national
identity numbers refused).
"""

from __future__ import annotations

import warnings
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from api.auth import Authenticator
from domain.values import Actor
from web.settings import WebSettings

with warnings.catch_warnings():  # Authlib warns that it prefers httpx2 over httpx; both work
    warnings.simplefilter("ignore")
    from authlib.integrations.starlette_client import OAuth, OAuthError

CLIENT = "issuer"

__all__ = ["OAuthError", "OidcSignIn"]


class OidcSignIn:
    def __init__(self, settings: WebSettings, authenticator: Authenticator) -> None:
        self.settings = settings
        self.authenticator = authenticator
        self.oauth = OAuth()
        if self.configured:
            issuer = (settings.oidc_issuer or "").rstrip("/")
            self.oauth.register(
                CLIENT, client_id=settings.oidc_client_id,
                client_secret=settings.oidc_client_secret,
                server_metadata_url=f"{issuer}/.well-known/openid-configuration",
                client_kwargs={"scope": settings.oidc_scopes, "code_challenge_method": "S256"},
            )

    @property
    def configured(self) -> bool:
        s = self.settings
        return s.auth_mode == "oidc" and bool(s.oidc_issuer and s.oidc_client_id)

    async def redirect(self, request: Request, callback: str) -> Response:
        """To the issuer's sign-in page; the state, nonce and PKCE verifier wait in the session."""
        response: Response = await self.oauth.create_client(CLIENT).authorize_redirect(
            request, callback)
        return response

    async def actor(self, request: Request) -> Actor:
        """The signed-in actor from the issuer's answer at the callback (raises OAuthError)."""
        token: dict[str, Any] = await self.oauth.create_client(CLIENT).authorize_access_token(
            request)
        claims = dict(token.get("userinfo") or {})
        return self.authenticator.actor_of(claims, getattr(request.state, "request_id", ""))

    async def end_session_url(self) -> str | None:
        if not self.configured:
            return None
        metadata = await self.oauth.create_client(CLIENT).load_server_metadata()
        url = metadata.get("end_session_endpoint")
        return url if isinstance(url, str) else None
