"""A rebuild of the who-pays read model killed midway (kill -9) leaves its scratch tables and
tracking row behind (issue 15, defect 9). `rebuild --clean` removes them and nothing else; the
next rebuild removes them before it starts; a second rebuild is refused while one runs. The
live model is never touched by the killed one. On SQLite and on PostgreSQL."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

import cli.readmodels  # noqa: F401  (registers its commands)
from application.ledger import Ledger
from cli.main import app
from domain import commands as c
from domain.values import Actor
from projections import rows as r
from projections.scratch import leftovers
from projections.store import Database
from projections.whopays import WhoPaysView, catch_up, verify
from tests.support import d, with_company_and_drug, with_reference

REBUILD = """
import sys
from application.ledger import Ledger
from projections.whopays import rebuild

ledger = Ledger.open(sys.argv[1], create_tables=False)

def progress(position, head):
    print("replayed", position, flush=True)
    sys.stdin.readline()  # held here until the test kills it

rebuild(ledger, sys.argv[1], progress, batch_size=10)
"""


OFFICE = Actor(subject="trial-office-1", role="trial_office", organisation="ous")


class _OnLedger:
    """tests/support's builders, run on a ledger."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def run(self, command: c.Command) -> None:
        self.ledger.execute(command, OFFICE)


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    """Some sixty facts: the trusts, a company, an expansion cohort, twelve patients."""
    ledger = Ledger.open(database_url)
    book = _OnLedger(ledger)
    with_company_and_drug(with_reference(book))  # type: ignore[arg-type]
    book.run(c.OpenCohort(cohort_id="olaparib-brca", drug_id="lynparza",
                          agreement_id="nordlys-impress", indication="solid tumours",
                          molecular_profile="BRCA1/2", opened_on=d("2022-01-10"),
                          evidence_ref="DRUP"))
    for n in range(12):
        pid = f"IMP-{n + 1:04d}"
        book.run(c.EnrolPatient(patient_id=pid, cohort_id="olaparib-brca", hf_id="ous",
                                enrolled_on=d("2023-06-01")))
        book.run(c.StartTreatment(patient_id=pid, started_on=d("2023-06-12")))
    view = WhoPaysView(database_url)
    catch_up(ledger, view)
    view.close()
    yield ledger
    ledger.close()


def live_rows(url: str) -> tuple[list[Any], list[Any]]:
    db = Database(url)
    try:
        with db.reading() as cur:
            return (cur.rows(r.select_intervals(r.LIVE) + " ORDER BY 1, 10, 2"),
                    cur.rows(r.select_patients(r.LIVE) + " ORDER BY 1"))
    finally:
        db.close()


def left(url: str) -> Any:
    db = Database(url)
    try:
        return leftovers(db, r.LIVE.name)
    finally:
        db.close()


def start_rebuild(url: str) -> subprocess.Popen[str]:
    """A rebuild in a process of its own, held after its first batch is committed."""
    proc = subprocess.Popen([sys.executable, "-c", REBUILD, url], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().startswith("replayed ")
    return proc


def kill_midway(url: str) -> None:
    proc = start_rebuild(url)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    found = left(url)
    assert len(found.tables) == 2 and len(found.tracking) == 1, found  # intervals, patients


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_rebuild_clean_removes_what_a_killed_rebuild_left_and_nothing_else(
        ledger: Ledger) -> None:
    url = ledger.log.url
    before = live_rows(url)
    kill_midway(url)
    assert live_rows(url) == before

    result = cli("rebuild", "--clean", "--database", url)
    assert result.exit_code == 0, result.output
    assert "removed what killed rebuilds left: 2 table(s)" in result.output
    assert not left(url)
    assert live_rows(url) == before
    assert cli("rebuild", "--clean", "--database", url).output.startswith("nothing left behind")


def test_the_next_rebuild_removes_what_a_killed_one_left_before_it_starts(
        ledger: Ledger) -> None:
    url = ledger.log.url
    kill_midway(url)

    result = cli("rebuild", "--database", url)
    assert result.exit_code == 0, result.output
    assert "removed what killed rebuilds left: 2 table(s)" in result.output
    assert not left(url)
    assert verify(ledger, url) == []


def test_a_second_rebuild_is_refused_while_one_runs(ledger: Ledger) -> None:
    url = ledger.log.url
    running = start_rebuild(url)
    try:
        result = cli("rebuild", "--database", url)
        assert result.exit_code == 75
        assert "another rebuild or verify of the whopays read model is running" in result.output
        assert len(left(url).tables) == 2  # the running one's, left alone
    finally:
        running.communicate("\n" * 100)  # let it finish
    assert running.returncode == 0
    assert not left(url)
