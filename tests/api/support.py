"""A running API over a real database, tokens for every role, and the example history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import issue_dev_token
from api.settings import Settings
from application.ledger import Ledger
from domain.values import Actor

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "import-example.jsonl"
NDJSON = {"content-type": "application/x-ndjson"}
SYSTEM = Actor(subject="test-setup", role="system", organisation="impress-ledger")

# The actor each role's token stands for in these tests: a partner is AstraZeneca, an RHF
# officer Helse Vest; both can see IMP-0042 (AstraZeneca, Helse Stavanger) and IMP-0050.
ORGANISATIONS = {
    "trial_office": "impress", "procurement": "sykehusinnkjop", "decision_forum": "nye-metoder",
    "rhf_finance": "helse-vest", "partner": "astrazeneca", "auditor": "riksrevisjonen",
    "migration": "impress", "scheduler": "impress-scheduler",
}
VALID_NATIONAL_ID = "01010110013"  # check digits valid: must be refused everywhere


def settings_for(tmp_path: Path, database_url: str | None = None) -> Settings:
    return Settings(database_url=database_url or f"sqlite:///{tmp_path}/ledger.db",
                    data_dir=tmp_path / "data", auth_mode="dev")


class Api:
    """A TestClient on create_app (or `create`: another app around the API), with a token per
    role."""

    def __init__(self, settings: Settings, ledger: Ledger | None = None, *,
                 create: Callable[..., FastAPI] = create_app) -> None:
        self.settings = settings
        self.app = create(settings, ledger, configure_logging=False)
        # entered: the app's lifespan runs, as under uvicorn (on PostgreSQL it opens the async
        # pool who pays is read on, api.served.Served.who_pays)
        self.client = TestClient(self.app, raise_server_exceptions=False).__enter__()
        self.ledger: Ledger = self.app.state.service.ledger
        self._tokens: dict[tuple[str, str], str] = {}

    def token(self, role: str, org: str | None = None, subject: str | None = None) -> str:
        org = org or ORGANISATIONS[role]
        key = (role, org + (subject or ""))
        if key not in self._tokens:
            self._tokens[key] = issue_dev_token(self.settings, role=role, organisation=org,
                                                subject=subject or f"{role}@{org}")
        return self._tokens[key]

    def auth(self, role: str, org: str | None = None, **headers: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, org)}", **headers}

    def get(self, path: str, role: str | None, org: str | None = None, **kw: Any) -> Any:
        """As a client that reads its writes: an actor's read waits for the read models to
        reach the log's head (what this test recorded, through the API or the ledger). Without
        a role (/health, /ready) or with the database down, the read asks for no position."""
        headers = dict(kw.pop("headers", {}))
        if role:
            headers |= self.auth(role, org)
            try:
                headers.setdefault("Impress-Min-Position", str(self.ledger.head()))
            except Exception:  # noqa: BLE001 - the database is down: the server answers that
                pass
        return self.client.get(path, headers=headers, **kw)

    def post(self, path: str, role: str | None, body: Any = None, org: str | None = None,
             headers: dict[str, str] | None = None, **kw: Any) -> Any:
        h = {**(self.auth(role, org) if role else {}), **(headers or {})}
        if isinstance(body, str):
            return self.client.post(path, content=body.encode(), headers={**NDJSON, **h}, **kw)
        return self.client.post(path, json=body, headers=h, **kw)

    def seed(self, extra: str = "") -> None:
        """The health trusts, then the example history (and `extra` lines) as one import."""
        self.ledger.install_reference(SYSTEM, date(2021, 1, 1))
        r = self.post("/v1/imports", "migration", EXAMPLE.read_text() + extra)
        assert r.status_code == 201, r.text

    def issue(self, role: str, statement: str, period: str, **party: str) -> str:
        """Issue a statement (its number), as procurement (a company's) or as the RHF's own
        officer (its public cost)."""
        org = party.get("rhf") if role == "rhf_finance" else None
        r = self.post("/v1/statements/issued", role,
                      {"statement": statement, "period": period, **party}, org=org)
        assert r.status_code == 201, r.text
        return str(r.json()["issued"]["number"])

    def close(self) -> None:
        self.client.__exit__(None, None, None)
        self.app.state.service.close()
        self.ledger.close()
