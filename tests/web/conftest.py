"""The pages over a real SQLite ledger holding the demo history (loaded once per session and
copied for each test, so a test that records starts from the same demo)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from application import demo
from application.ledger import Ledger
from web.app import create_app
from web.settings import WebSettings

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "ledger.db"
    ledger = Ledger.open(f"sqlite:///{path}")
    try:
        demo.load_demo(ledger)
    finally:
        ledger.close()
    return path


class Pages:
    """A browser-like client of the pages: a session cookie, and the form token of the last
    page it read."""

    def __init__(self, settings: WebSettings) -> None:
        self.app = create_app(settings, configure_logging=False)
        # https: the session cookie is Secure, and a client keeps it only over https.
        self.client = TestClient(self.app, base_url="https://testserver",
                                 raise_server_exceptions=False)
        self.ledger: Ledger = self.app.state.service.ledger
        self.csrf = ""

    def get(self, path: str, **kw: Any) -> Any:
        response = self.client.get(path, **kw)
        if found := CSRF.search(response.text):
            self.csrf = found.group(1)
        return response

    def post(self, path: str, data: dict[str, str], *, csrf: str | None = None,
             **kw: Any) -> Any:
        token = self.csrf if csrf is None else csrf
        body = {**data, "csrf_token": token} if token else data
        return self.client.post(path, data=body, follow_redirects=False, **kw)

    def sign_in(self, role: str, organisation: str = "impress") -> None:
        self.get("/sign-in")
        answer = self.post("/sign-in", {"role": role, "organisation": organisation})
        assert answer.status_code == 303, answer.text
        self.get("/")

    def close(self) -> None:
        self.client.close()
        self.app.state.service.close()
        self.ledger.close()


@pytest.fixture
def pages(tmp_path: Path, demo_db: Path) -> Iterator[Pages]:
    db = tmp_path / "ledger.db"
    shutil.copy(demo_db, db)
    p = Pages(WebSettings(database_url=f"sqlite:///{db}", data_dir=tmp_path / "data",
                          auth_mode="dev"))
    yield p
    p.close()
