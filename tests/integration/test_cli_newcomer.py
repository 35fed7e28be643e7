"""The command line as a newcomer meets it on a fresh clone: only `init` creates a ledger (a
mistyped path is named, never silently created empty), tokens only for organisations the ledger
knows, "not yet enrolled" for a moment before the enrolment was recorded, fixed choices listed
in --help, and a progress bar while a long import is checked."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cli.books  # noqa: F401  (registers its commands)
import cli.core  # noqa: F401
import cli.ledger  # noqa: F401
import cli.readmodels  # noqa: F401
import cli.server  # noqa: F401
from application.demo import load_demo
from application.ledger import Ledger
from cli.main import app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "import-example.jsonl"


def run(*args: str, env: dict[str, str] | None = None) -> object:
    return CliRunner().invoke(app, list(args), env=env)


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo')}/ledger.db"
    ledger = Ledger.open(url)
    try:
        load_demo(ledger)
    finally:
        ledger.close()
    return url


@pytest.mark.parametrize("command", [
    ["who-pays", "IMP-0042", "--on", "2024-03-03"], ["tick"], ["demo"],
    ["statement", "public-cost", "--period", "2024Q1"], ["payers", "--on", "2024-03-03"],
    ["token", "--role", "partner", "--org", "astrazeneca"], ["import", str(EXAMPLE)],
    ["statement", "issue", "public-cost", "--period", "2024Q1", "--rhf", "helse-vest"],
])
def test_only_init_creates_a_ledger_every_other_command_names_the_missing_one(
        tmp_path: Path, command: list[str]) -> None:
    path = tmp_path / "mistyped" / "ledger.db"
    result = run(*command, env={"IMPRESS_DATABASE_URL": f"sqlite:///{path}",
                                "IMPRESS_DATA_DIR": str(tmp_path / "data")})
    assert result.exit_code == 2, result.stdout  # type: ignore[attr-defined]
    assert result.stderr.strip() == (  # type: ignore[attr-defined]
        f"impress-ledger: no ledger at {path}: run `impress-ledger init` first (or give "
        "--database / IMPRESS_DATABASE_URL; the default is data/ledger.db in the folder you run "
        "from)")
    assert not path.exists() and not path.parent.exists()


def test_init_creates_the_ledger_and_its_folder(tmp_path: Path) -> None:
    path = tmp_path / "new" / "ledger.db"
    result = run("init", "--database", f"sqlite:///{path}")
    assert result.exit_code == 0 and path.is_file()  # type: ignore[attr-defined]
    assert run("tick", "--database", f"sqlite:///{path}").exit_code == 0  # type: ignore[attr-defined]


def test_a_token_names_only_an_organisation_the_ledger_knows(demo_url: str,
                                                            tmp_path: Path) -> None:
    env = {"IMPRESS_DATA_DIR": str(tmp_path)}
    refused = run("token", "--role", "partner", "--org", "roche", "--database", demo_url, env=env)
    assert refused.exit_code == 2  # type: ignore[attr-defined]
    line = refused.stderr.strip()  # type: ignore[attr-defined]
    assert line.startswith("impress-ledger: --org: no company 'roche' is recorded in the ledger;"
                           " known: astrazeneca, ") and "roche-norge" in line
    region = run("token", "--role", "rhf_finance", "--org", "helse-west", "--database", demo_url,
                 env=env)
    assert "no regional health authority 'helse-west'" in region.stderr  # type: ignore[attr-defined]
    issued = run("token", "--role", "partner", "--org", "roche-norge", "--database", demo_url,
                 env=env)
    assert issued.exit_code == 0 and issued.stdout.count(".") == 2  # type: ignore[attr-defined]


def test_before_its_enrolment_was_recorded_a_patient_was_not_yet_enrolled(demo_url: str) -> None:
    """The README once asked as known at a moment before the demo was loaded: "unknown"."""
    result = run("who-pays", "IMP-0042", "--on", "2024-03-03", "--known-at",
                 "2024-03-01T12:00:00+01:00", "--database", demo_url)
    assert result.exit_code == 2  # type: ignore[attr-defined]
    line = result.stderr.strip()  # type: ignore[attr-defined]
    assert line.startswith("impress-ledger: refused (not-yet-enrolled): patient IMP-0042 was not "
                           "yet enrolled as known at log position 0 (2024-03-01T12:00:00+01:00);"
                           " its enrolment is recorded at log position ")
    timeline = run("timeline", "IMP-0042", "--position", "20", "--database", demo_url)
    assert "not yet enrolled as known at log position 20" in timeline.stderr  # type: ignore[attr-defined]
    unknown = run("who-pays", "IMP-9999", "--on", "2024-03-03", "--database", demo_url)
    assert "(unknown-patient)" in unknown.stderr  # type: ignore[attr-defined]


@pytest.mark.parametrize(("command", "choices"), [
    (["statement", "public-cost", "--help"], ["table", "json", "csv", "xlsx", "month",
                                              "quarter", "excel-nb", "rfc4180"]),
    (["token", "--help"], ["trial_office", "rhf_finance", "partner", "scheduler"]),
    (["statement", "issue", "--help"], ["public-cost", "company"]),
    (["audit", "history", "--help"], ["patient", "cohort", "agreement", "jsonl"]),
])
def test_fixed_choices_are_listed_in_help(command: list[str], choices: list[str]) -> None:
    shown = subprocess.run([sys.executable, "-c", "from cli.main import main; main()", *command],
                           env={**os.environ, "TERMINAL_WIDTH": "400"}, capture_output=True,
                           text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    for choice in choices:
        assert choice in shown.stdout, choice


def test_a_value_outside_the_choices_is_one_line(demo_url: str) -> None:
    result = run("statement", "public-cost", "--period", "2024Q1", "--format", "pdf",
                 "--database", demo_url)
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert result.stderr == ("impress-ledger: Invalid value for '--format': 'pdf' is not one of "  # type: ignore[attr-defined]
                             "'table', 'json', 'csv', 'xlsx'.\n")


def test_an_import_on_a_terminal_shows_its_progress(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ledger.db"
    assert run("init", "--database", url).exit_code == 0  # type: ignore[attr-defined]
    leader, follower = pty.openpty()  # stderr a terminal, as when a person runs it
    env = {**os.environ, "COLUMNS": "120", "IMPRESS_DATA_DIR": str(tmp_path)}
    with subprocess.Popen([sys.executable, "-c", "from cli.main import main; main()", "import",
                           str(EXAMPLE), "--database", url], stdout=subprocess.PIPE,
                          stderr=follower, env=env) as proc:
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
        out = proc.stdout.read() if proc.stdout else b""
    os.close(leader)
    assert proc.returncode == 0, shown
    assert b"checking the commands" in shown and b"24/24" in shown
    assert b"24 commands imported" in out
