"""The web pages' settings, beside the API's (same IMPRESS_* environment, one validation)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import Field

from api.settings import Settings

SESSION_SECRET_FILE = "web-session-secret"


class WebSettings(Settings):
    oidc_client_id: str | None = Field(
        default=None, description="The web pages' client id at the issuer (authorization code "
        "flow with PKCE); without it, production sign-in is unavailable.")
    oidc_client_secret: str | None = Field(
        default=None, description="The client's secret, if the issuer gave it one (a public "
        "client with PKCE has none).")
    oidc_scopes: str = Field(default="openid profile", description="Scopes asked for at sign-in.")
    session_secret: str | None = Field(
        default=None, description="Key that signs the session cookie; default: a random key "
        "kept in data_dir (shared by the workers of one machine).")
    session_hours: float = Field(default=8, gt=0, le=24, description="A sign-in lasts this long.")
    secure_cookies: bool = Field(
        default=True, description="Mark the session cookie Secure (browsers keep Secure cookies "
        "on http://127.0.0.1 and localhost too; switch off only behind a trusted TLS proxy "
        "that serves plain http to the browser).")

    def signing_key(self) -> str:
        if self.session_secret:
            return self.session_secret
        path = self.data_dir / SESSION_SECRET_FILE
        if not path.exists():
            _create_secret(path)
        return path.read_text().strip()


def _create_secret(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker made it first
        return
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(48))
