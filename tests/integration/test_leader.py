"""One projector per database (ADR 0021): of several runners following one ledger, one holds
the leader lock and projects; when it stops, another takes the lock over and the read models go
on following the log. On SQLite (a file lock) and PostgreSQL (an advisory lock)."""

from __future__ import annotations

import time
from datetime import date

from application.ledger import Ledger
from domain import commands as c
from domain.values import Actor
from projections.runner import ViewRunner
from projections.view import ReadModels

LIS = Actor(subject="lis:anne", role="procurement", organisation="sykehusinnkjop")


def leaders(runners: list[ViewRunner], seconds: float = 10.0) -> list[ViewRunner]:
    """The runners holding the lock, once one does."""
    deadline = time.monotonic() + seconds
    while True:
        found = [r for r in runners if r.leadership is not None and r.leadership.held]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def test_one_runner_leads_and_another_takes_over_when_it_stops(database_url: str) -> None:
    ledger = Ledger.open(database_url)
    models = ReadModels(database_url)
    runners = [ViewRunner(ledger, database_url, poll_interval=0.05, leader=True).start()
               for _ in range(2)]
    try:
        ledger.install_reference(LIS, date(2021, 1, 1))
        assert models.wait_for(ledger.head(), 10)
        first = leaders(runners)
        assert len(first) == 1
        first[0].stop()
        rest = [r for r in runners if r is not first[0]]
        ledger.record([c.RegisterCompany(company_id="roche", name="Roche Norge AS",
                                         registered_on=date(2021, 1, 4))], LIS)
        assert models.wait_for(ledger.head(), 10)  # projected by the one that took over
        assert leaders(rest) == rest
    finally:
        for runner in runners:
            runner.stop()
        models.close()
        ledger.close()
