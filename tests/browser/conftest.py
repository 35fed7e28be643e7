"""A real server and a real browser: uvicorn serving web.app on a free port over a SQLite ledger
holding the demo history, and Debian's Chromium driven by Playwright.

Chromium comes from apt (Playwright cannot download its own browser here): the fixture installs
it when it is missing and the tests run as root; otherwise the browser tests are skipped, except
under CI=true, where they fail. Every page a test opens is watched: a request to any other
origin fails the test.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from api.auth import issue_dev_token
from api.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "web" / "static" / "vendor" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--disable-quic"]
PARTNER, REGION = "astrazeneca", "helse-sor-ost"  # both see IMP-0030
GAP_REGION = "helse-vest"  # a financing gap and public cost in 2024

pytestmark = pytest.mark.browser


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _unavailable(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"{reason} (in CI the browser tests must run, never skip)", pytrace=False)
    pytest.skip(reason)


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        subprocess.run(["apt-get", "update"], check=False, **quiet)  # type: ignore[call-overload]
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "chromium"],
                       check=False, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
                       **quiet)
        found = shutil.which("chromium")
    if found is None:
        _unavailable("Debian's chromium is not installed (apt-get install chromium, as root)")
    assert found is not None
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the process ended ({process.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {seconds} s")


@dataclass
class Server:
    url: str
    settings: Settings
    process: subprocess.Popen[bytes]
    tokens: dict[tuple[str, str], str] = field(default_factory=dict)

    def api(self, path: str, role: str, org: str = "impress") -> Any:
        """The API's answer to the same question, as JSON, with a development token."""
        if (role, org) not in self.tokens:
            self.tokens[(role, org)] = issue_dev_token(self.settings, role=role, organisation=org,
                                                       subject=f"browser-test:{role}")
        request = urllib.request.Request(self.url + path, headers={
            "Authorization": f"Bearer {self.tokens[(role, org)]}"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.load(answer)


def start_server(tmp: Path, env: dict[str, str]) -> Server:
    db = tmp / "ledger.db"
    data = tmp / "data"
    cli = [str(Path(sys.executable).parent / "impress-ledger")]
    base = {**os.environ, "IMPRESS_DATABASE_URL": f"sqlite:///{db}", "IMPRESS_DATA_DIR": str(data)}
    if not db.exists():
        subprocess.run([*cli, "init"], check=True, env=base, capture_output=True)
        subprocess.run([*cli, "demo", "--if-empty"], check=True, env=base, capture_output=True)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "web.app:app_from_environment",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
         "--no-access-log"], env={**base, **env}, cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    wait_for(url + "/health", process)
    return Server(url, Settings(data_dir=data, auth_mode="dev"), process)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The web app in development mode over the demo history (read by the tests, never
    written: tests that record use `writable_server`)."""
    s = start_server(tmp_path_factory.mktemp("web"), {"IMPRESS_AUTH_MODE": "dev"})
    yield s
    s.process.terminate()
    s.process.wait(10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        yield b
        b.close()


class Watched:
    """A browser page whose every request is recorded, signed in through the sign-in page."""

    def __init__(self, browser: Any, server: Server, *, lang: str = "nb") -> None:
        self.server = server
        self.context = browser.new_context(viewport={"width": 1366, "height": 900},
                                           accept_downloads=True, locale="nb-NO")
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.lang = lang

    def open(self, path: str) -> Any:
        answer = self.page.goto(self.server.url + path)
        self.page.wait_for_load_state("networkidle")
        return answer

    def sign_in(self, role: str, org: str = "impress") -> None:
        self.open("/sign-in")
        self.page.select_option("#role", role)
        self.page.select_option("#organisation", org)
        self.page.click("form[action='/sign-in'] button[type=submit]")
        self.page.wait_for_url(self.server.url + "/")
        if self.lang != "nb":
            self.page.click("button[name=lang]")
            self.page.wait_for_load_state("networkidle")

    def figure(self, name: str) -> str:
        return str(self.page.locator(f"[data-figure='{name}']").inner_text()).strip()

    def foreign_requests(self) -> list[str]:
        own = (self.server.url + "/", "data:", "blob:")
        return [u for u in self.requests if not u.startswith(own) and u != self.server.url]

    def axe(self) -> list[dict[str, Any]]:
        """Serious and critical accessibility violations on the page as it is now."""
        if not self.page.evaluate("typeof window.axe !== 'undefined'"):
            self.page.evaluate(AXE.read_text(encoding="utf-8"))  # evaluate is not subject to CSP
        result = self.page.evaluate(
            "async () => await axe.run(document, {resultTypes: ['violations']})")
        return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
                 "nodes": [n["target"] for n in v["nodes"]][:5]}
                for v in result["violations"] if v["impact"] in ("serious", "critical")]

    def screenshot(self, name: str) -> None:
        folder = SCREENSHOTS if os.environ.get("IMPRESS_SCREENSHOTS") else None
        if folder:
            folder.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(folder / f"{name}.png"), full_page=False)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def watched(browser: Any, server: Server) -> Iterator[Any]:
    """Make watched pages; after the test, none may have asked another origin for anything."""
    made: list[Watched] = []

    def make(role: str | None = None, org: str = "impress", lang: str = "nb") -> Watched:
        w = Watched(browser, server, lang=lang)
        made.append(w)
        if role:
            w.sign_in(role, org)
        return w

    yield make
    for w in made:
        foreign = w.foreign_requests()
        w.close()
        assert foreign == [], f"requests left the app's origin: {foreign}"
