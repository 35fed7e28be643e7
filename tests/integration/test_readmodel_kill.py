"""A process following the log, killed with SIGKILL in the middle of catching up, leaves the
read models at the end of a batch it committed: the next process goes on from the tracking row
(loading what it needs from the tables, not from a replay) and the read models then equal a
replay of the log, row for row and statement for statement. On SQLite and PostgreSQL. (A
rebuild killed half-way, and what the next one clears: test_rebuild_killed.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from application import demo
from application.ledger import Ledger
from projections.maintenance import verify
from projections.whopays import WhoPaysView, catch_up
from reports.readmodels import ReadModelSources
from reports.statements import Scope
from reports.statements_replay import ReplaySources
from tests.integration.test_readmodel_statements import SCOPES, statements

FOLLOW = """
import sys, time
from application.ledger import Ledger
from projections.projector import Projector
from projections.store import Database

url = sys.argv[1]
ledger = Ledger.open(url, create_tables=False)

def progress(position, head):
    print(position, flush=True)  # after the batch's commit
    time.sleep(0.05)

Projector(ledger.log, Database(url), batch_size=20).catch_up(progress=progress)
print("done", flush=True)
"""


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    opened = Ledger.open(database_url)
    try:
        demo.load_demo(opened)
        yield opened
    finally:
        opened.close()


def killed_after(url: str, batches: int) -> list[int]:
    """Run a child process that follows the log, and kill it with SIGKILL once it has
    committed `batches` batches. Returns the positions it reported."""
    child = subprocess.Popen([sys.executable, "-c", FOLLOW, url], stdout=subprocess.PIPE,
                             text=True)
    assert child.stdout is not None
    reported = []
    for line in child.stdout:
        assert line.strip() != "done", "the child finished before it could be killed"
        reported.append(int(line))
        if len(reported) == batches:
            break
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    return reported


def test_a_follower_killed_mid_catch_up_leaves_a_batch_boundary_and_the_next_one_goes_on(
        database_url: str, ledger: Ledger) -> None:
    models = WhoPaysView(database_url)
    try:
        reported = killed_after(database_url, batches=5)
        head = ledger.log.head()
        stopped = models.position()
        assert reported[-1] <= stopped < head  # at least what it reported, not the whole log
        assert catch_up(ledger, models) == head  # another process, from the tracking row
        assert verify(ledger, database_url) == []
        read, replay = ReadModelSources(models, ledger.log), ReplaySources(ledger)
        companies = [Scope.company(s.partition("/")[2]) for s in ledger.log.streams("company/")]
        for at in (stopped, head):
            for scope in [*SCOPES[:1], *SCOPES[2:], *companies]:
                assert statements(read.at(at), scope) == statements(replay.at(at), scope)
    finally:
        models.close()

