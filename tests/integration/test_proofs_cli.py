"""From the operator's command line to a partner's offline check, on the demo history, on SQLite
and PostgreSQL: `impress-ledger audit keygen / head / inclusion / consistency / keys` write the
documents, `impress-verify` accepts them (exit 0), rejects every tampered one (exit 1) and
refuses input it cannot use (exit 2), each with one line on stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import cli.core  # noqa: F401  (registers its commands)
import cli.proofs  # noqa: F401
from application.demo import load_demo
from application.ledger import Ledger
from cli.main import app
from domain.values import LEDGER
from proofs.cli import main as verify


@pytest.fixture
def demo(database_url: str) -> str:
    ledger = Ledger.open(database_url)
    try:
        ledger.install_reference(LEDGER, ledger.clock())
        load_demo(ledger)
    finally:
        ledger.close()
    return database_url


def ledger_cli(url: str | None, *args: str) -> Any:
    return CliRunner().invoke(app, [*args, *(["--database", url] if url else [])])


def ok(url: str | None, *args: str) -> str:
    result = ledger_cli(url, *args)
    assert result.exit_code == 0, result.stderr + result.stdout
    return str(result.stdout)


def edited(path: Path, tmp: Path, old: str, new: str) -> str:
    text = path.read_text()
    assert old in text
    target = tmp / f"edited-{path.name}"
    target.write_text(text.replace(old, new, 1))
    return str(target)


def test_an_operators_documents_verify_offline_and_every_tampered_one_fails(
        demo: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key, pub = tmp_path / "head-key.pem", tmp_path / "public.pem"
    pub.write_text(ok(None, "audit", "keygen", "--output", str(key)))
    h1, h2 = tmp_path / "h1.json", tmp_path / "h2.json"
    ok(demo, "audit", "head", "--key", str(key), "--output", str(h1))
    size = json.loads(h1.read_text())["tree_size"]
    inc, con, keys = tmp_path / "inclusion.json", tmp_path / "consistency.json", tmp_path / "k.json"
    ok(demo, "audit", "inclusion", "--position", "200", "--output", str(inc))
    ok(demo, "audit", "head", "--key", str(key), "--output", str(h2))  # covers h1's own fact
    ok(demo, "audit", "consistency", "--first", str(size), "--output", str(con))
    ok(demo, "audit", "keys", "--output", str(keys))
    assert len(ok(demo, "audit", "heads").splitlines()) == 2

    good = {"head": ["head", str(h1), str(h2), "--keys", str(pub)],
            "inclusion": ["inclusion", str(inc), "--keys", str(keys)],
            "consistency": ["consistency", "--head", str(h2), "--archived", str(h1), "--proof",
                            str(con), "--keys", str(pub)]}
    for argv in good.values():
        assert verify(argv) == 0, capsys.readouterr().err

    fact = json.loads(inc.read_text())["fact"]
    stranger = tmp_path / "stranger.pem"  # a key the partner does not trust
    stranger.write_text(ok(None, "audit", "keygen", "--output", str(tmp_path / "s.pem")))
    tampered = [
        ["head", str(h1), "--keys", str(stranger)],
        ["head", edited(h1, tmp_path, f'"tree_size": {size}', f'"tree_size": {size - 1}'),
         "--keys", str(pub)],
        ["inclusion", edited(inc, tmp_path, fact["stream"], "patient/IMP-0999"), "--keys",
         str(keys)],
        ["inclusion", edited(inc, tmp_path, f'"recorded_at": "{fact["recorded_at"]}"',
                             f'"recorded_at": "{int(fact["recorded_at"][:4]) - 1}'
                             f'{fact["recorded_at"][4:]}"'), "--keys", str(keys)],
        ["consistency", "--head", str(h1), "--archived", str(h2), "--keys", str(pub)],
        ["consistency", "--head", str(h2), "--archived", str(h1), "--proof",
         edited(con, tmp_path, json.loads(con.read_text())["path"][0], "0" * 64),
         "--keys", str(pub)],
    ]
    for argv in tampered:
        assert verify(argv) == 1, argv
        err = capsys.readouterr().err
        assert err.startswith("impress-verify: FAILED: ") and len(err.splitlines()) == 1

    bad_input = [
        ["consistency", "--head", str(h2), "--archived", str(h1), "--keys", str(pub)],
        ["inclusion", str(tmp_path / "missing.json"), "--keys", str(pub)],
        ["inclusion", str(h1), "--keys", str(pub)],  # a head is not a proof
        ["head", str(h1), "--keys", str(con)],  # a proof is not a key
    ]
    for argv in bad_input:
        assert verify(argv) == 2, argv
        assert len(capsys.readouterr().err.splitlines()) == 1


def test_the_operators_commands_refuse_in_one_line(demo: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IMPRESS_HEAD_KEY_FILE", raising=False)
    for args, message in [
        (("audit", "head"), "no signing key"),
        (("audit", "inclusion", "--position", "3"), "no tree head is signed yet"),
        (("audit", "head", "--key", str(tmp_path / "none.pem")), "cannot read the signing key"),
    ]:
        result = ledger_cli(demo, *args)
        assert result.exit_code == 2 and message in result.stderr, result.stderr
    key = tmp_path / "k.pem"
    ok(None, "audit", "keygen", "--output", str(key))
    again = ledger_cli(None, "audit", "keygen", "--output", str(key))
    assert again.exit_code == 2 and "never overwritten" in again.stderr
    assert (key.stat().st_mode & 0o777) == 0o600


def test_impress_verify_runs_as_a_console_program() -> None:
    done = subprocess.run([sys.executable, "-c", "from proofs.cli import entry; entry()",
                           "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "consistency" in done.stdout
