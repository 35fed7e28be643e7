"""Every command in the README runs as written on a fresh `make run`: a folder of its own with
the checkout's virtualenv in it (`.venv/bin/impress-ledger` as the README writes it), `init`,
`demo --if-empty` and `serve --dev` as `make run` runs them, then every ```sh block of the README
in order, each line as one command in a bash that stops at the first failure (curl with -f
fails on any HTTP error). Blocks a test cannot run (make itself, a remote PostgreSQL) are marked
`<!-- not run ... -->` just above them. The server's banner says how to get a token, runnable
from the checkout as it is printed."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BLOCK = re.compile(r"(<!-- not run[^>]*-->\n)?```sh\n(.*?)```", re.S)


def runnable_blocks(text: str) -> list[str]:
    return [body for marker, body in BLOCK.findall(text) if not marker]


def commands(block: str) -> list[str]:
    """The block's commands: continued lines joined, comment lines and comments dropped (a
    command's own `#` comment follows two spaces or more; `$#`-free shell only)."""
    joined = re.sub(r"\s*\\\n\s*", " ", block)
    out = []
    for line in joined.splitlines():
        code = re.split(r"\s{2,}#|^\s*#", line)[0].strip()
        if code:
            out.append(code)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """A fresh folder standing for the checkout after `make run`: its own data/, the real
    virtualenv, the ledger created and the demo loaded, the server running on a free port."""
    here = tmp_path_factory.mktemp("checkout")
    (here / ".venv").symlink_to(ROOT / ".venv")
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMPRESS_")}
    port = free_port()
    env |= {"LEDGER": f"http://127.0.0.1:{port}", "LANG": "C.UTF-8"}
    for step in (["init"], ["demo", "--if-empty"]):  # as `make run` does
        done = subprocess.run([".venv/bin/impress-ledger", *step], cwd=here, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
    log = (here / "server.log").open("w")
    server = subprocess.Popen([".venv/bin/impress-ledger", "serve", "--dev", "--port", str(port)],
                              cwd=here, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for(f"http://127.0.0.1:{port}/health", server)
        yield here, env
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _wait_for(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server stopped"
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("the server did not answer")


def test_the_readme_holds_the_commands_a_newcomer_needs() -> None:
    text = "\n".join(runnable_blocks(README.read_text(encoding="utf-8")))
    for shown in ("statement issue", "statement close", "statement reopen", "restatement --since",
                  "worklist", "upcoming", "--format xlsx", "--csv excel-nb", "/v1/tick",
                  "/v1/statements/issued", "format=zip"):
        assert shown in text, shown


def test_every_readme_command_runs_as_written(checkout: tuple[Path, dict[str, str]]) -> None:
    here, env = checkout
    for block in runnable_blocks(README.read_text(encoding="utf-8")):
        script = "set -euo pipefail\n" + "\n".join(
            f"echo '>>> {c.replace(chr(39), '')[:200]}' >&2\n{c}" for c in commands(block))
        done = subprocess.run(["bash", "-c", script], cwd=here, env=env, capture_output=True,
                              text=True, timeout=900)
        ran = re.findall(r">>> (.*)", done.stderr)
        assert done.returncode == 0, (f"failed: {ran[-1] if ran else block[:200]}\n"
                                      f"{done.stderr[-2000:]}")
    assert (here / "q1.xlsx").is_file() and (here / "q1-adjustments.csv").is_file()
    assert (here / "q3-patients.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_the_banner_says_how_to_get_a_token_as_it_can_be_pasted(
        checkout: tuple[Path, dict[str, str]]) -> None:
    here, env = checkout
    banner = (here / "server.log").read_text(encoding="utf-8")
    assert "TOKEN=$(.venv/bin/impress-ledger token --role trial_office --org impress)" in banner
    token = subprocess.run(["bash", "-c", ".venv/bin/impress-ledger token --role trial_office "
                            "--org impress"], cwd=here, env=env, capture_output=True, text=True,
                           timeout=120)
    assert token.returncode == 0 and token.stdout.count(".") == 2  # a JWT


def test_the_block_reader_keeps_commands_and_drops_comments() -> None:
    block = ("a --x 1   # why\n# a comment line\ncurl -fsS -d '{\"a\": 1}' \\\n"
             "  \"$LEDGER/v1/x\"\n  \n")
    assert commands(block) == ["a --x 1", "curl -fsS -d '{\"a\": 1}' \"$LEDGER/v1/x\""]
    assert runnable_blocks("<!-- not run: x -->\n```sh\nno\n```\n```sh\nyes\n```") == ["yes\n"]
