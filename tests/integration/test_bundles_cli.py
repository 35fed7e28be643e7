"""From the operator's command line to a partner's offline check, on the demo history, on SQLite
and PostgreSQL: `impress-ledger statement bundle` writes every partner's issued company
statement as a bundle, `impress-verify bundle` (the installed command, in a process of its own)
accepts it with exit 0 and says what it proved; an edited bundle exits 1, a rewritten log is
caught against a head archived before it, and input it cannot use exits 2, each with one line;
a quarter asked `--earlier` the previous one's head verifies against the store that bundle
filled (`--store`), and without it exits 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import cli.books  # noqa: F401  (registers its commands)
import cli.bundles  # noqa: F401
from tests.bundle_support import COMPANIES
from tests.integration.test_proofs_cli import demo, ok  # noqa: F401  (the demo fixture)
from tests.integration.test_tamper import rechain, tampering

VERIFY = Path(sys.executable).parent / "impress-verify"


def signed(url: str, tmp_path: Path) -> tuple[Path, Path, Path, int]:
    """A key made, and a head signed with it: the key, its public half, the head, its size."""
    key, pub, head = tmp_path / "head-key.pem", tmp_path / "public.pem", tmp_path / "head0.json"
    pub.write_text(ok(None, "audit", "keygen", "--output", str(key)))
    ok(url, "audit", "head", "--key", str(key), "--output", str(head))
    return key, pub, head, json.loads(head.read_text())["tree_size"]


def verify(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VERIFY), "bundle", *argv], capture_output=True, text=True,
                          check=False)


def test_every_partners_bundle_verifies_with_the_installed_command_and_a_tampered_one_fails(
        demo: str, tmp_path: Path) -> None:  # noqa: F811
    key, pub = tmp_path / "head-key.pem", tmp_path / "public.pem"
    pub.write_text(ok(None, "audit", "keygen", "--output", str(key)))
    for company in COMPANIES:
        ok(demo, "statement", "issue", "company", "--company", company, "--period", "2024H1")
    ok(demo, "audit", "head", "--key", str(key), "--output", str(tmp_path / "head.json"))
    files = {}
    for company in COMPANIES:
        files[company] = tmp_path / f"{company}.json"
        ok(demo, "statement", "bundle", f"CO-{company}-2024H1-1", "--output", str(files[company]))
        done = verify(str(files[company]), "--keys", str(pub))
        assert done.returncode == 0, done.stderr
        assert f"CO-{company}-2024H1-1: these are the lines the ledger issued" in done.stdout
    ok(demo, "statement", "bundle", "--statement", "public-cost", "--rhf", "helse-vest",
       "--from", "2021-01-01", "--to", "2025-12-31", "--output", str(tmp_path / "vest.json"))
    done = verify(str(tmp_path / "vest.json"), "--keys", str(pub))
    assert done.returncode == 0 and "NOTE" in done.stdout, done.stderr

    doc = json.loads(files["roche-norge"].read_text())
    theirs = json.loads(files["novartis-norge"].read_text())
    ours = {e["fact"]["stream"] for e in doc["facts"]}
    doc["facts"] = sorted([*doc["facts"], next(e for e in theirs["facts"] if e["fact"][
        "stream"] not in ours)], key=lambda e: e["leaf_index"])
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(doc))
    done = verify(str(edited), "--keys", str(pub))
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    # the multiproof is for the facts the ledger gave (one slipped in with a multiproof made
    # anew for it: tests/integration/test_bundle_tampering.py)
    assert "multiproof" in done.stderr

    for argv in ([str(tmp_path / "missing.json")], [str(tmp_path / "head.json")]):
        done = verify(*argv, "--keys", str(pub))
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr


def test_a_rewritten_log_is_caught_against_a_head_archived_before_it(
        demo: str, tmp_path: Path) -> None:  # noqa: F811
    key, pub, archived, size = signed(demo, tmp_path)
    before = tmp_path / "before.json"
    ok(demo, "statement", "bundle", "--statement", "company", "--company", "astrazeneca",
       "--period", "2023H1", "--output", str(before))
    first = next(e["fact"] for e in json.loads(before.read_text())["facts"]
                 if e["fact"]["stream"] == "company/astrazeneca")  # the company's registration

    from eventstore import EventLog

    log = EventLog(demo)
    with tampering(log) as t:  # rewritten from there, chain and tree computed afresh
        state = t.state(first["position"])
        assert b"AstraZeneca" in state
        t.set_state(first["position"], state.replace(b"AstraZeneca", b"AstraZeneka"))
        rechain(log, t, first["position"])
    log.close()
    ok(demo, "audit", "head", "--key", str(key), "--output", str(tmp_path / "later.json"))
    after = tmp_path / "after.json"
    ok(demo, "statement", "bundle", "--statement", "company", "--company", "astrazeneca",
       "--period", "2023H1", "--archived", str(size), "--output", str(after))
    assert verify(str(after), "--keys", str(pub)).returncode == 0  # alone, it proves itself
    done = verify(str(after), "--head", str(archived), "--keys", str(pub))
    assert done.returncode == 1, done.stdout
    assert f"history up to position {size} was rewritten" in done.stderr


@pytest.mark.parametrize("args", [["CO-nobody-2024H1-1"], [], ["--statement", "company",
                                                                "--period", "2024H1"]])
def test_the_bundle_command_refuses_in_one_line(demo: str, args: list[str]) -> None:  # noqa: F811
    from tests.integration.test_proofs_cli import ledger_cli

    result = ledger_cli(demo, "statement", "bundle", *args)
    assert result.exit_code != 0 and len(result.stderr.splitlines()) == 1, result.stderr


def test_a_quarter_resting_on_the_previous_one_from_the_command_line(
        demo: str, tmp_path: Path) -> None:  # noqa: F811
    key, pub, _, size = signed(demo, tmp_path)
    q1, q2, store = tmp_path / "q1.json", tmp_path / "q2.json", tmp_path / "store.db"
    company = ["--statement", "company", "--company", "roche-norge"]
    ok(demo, "statement", "bundle", *company, "--period", "2024Q1", "--output", str(q1))
    assert verify(str(q1), "--keys", str(pub), "--store", str(store)).returncode == 0
    ok(demo, "statement", "issue", "company", "--company", "roche-norge", "--period", "2024H1")
    ok(demo, "audit", "head", "--key", str(key))
    ok(demo, "statement", "bundle", *company, "--period", "2024Q2", "--earlier", str(size),
       "--output", str(q2))
    assert json.loads(q2.read_text())["format"] == "impress-bundle-v3"
    done = verify(str(q2), "--keys", str(pub), "--store", str(store))
    assert done.returncode == 0 and "taken from the store" in done.stdout, done.stderr
    done = verify(str(q2), "--keys", str(pub))
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "--store" in done.stderr
    from tests.integration.test_proofs_cli import ledger_cli

    for wrong in (str(size - 1), "0"):
        result = ledger_cli(demo, "statement", "bundle", *company, "--period", "2024Q2",
                            "--earlier", wrong)
        assert result.exit_code != 0 and len(result.stderr.splitlines()) == 1, result.stderr
