"""A standby that takes over (issue 15): a primary and a synchronous hot standby, the ledger's
server on a multi-host URL, clients writing under load; the primary killed with -9 and the
standby promoted. Every acknowledged fact is on the new primary at its position, no request is
recorded twice, the chain verifies, the read models (who pays and the rest, ADR 0015) resume
exactly once (they equal a replay), and the same server process writes again: it was never
restarted. The scenario is bench/failover.py; its figures, measured with more load, are in
docs/reliability.md."""

from __future__ import annotations

import shutil

import pytest

from bench import failover
from bench.pgserver import scratch_dir

pytestmark = pytest.mark.postgres


def test_a_synchronous_standby_takes_over_without_losing_an_acknowledged_fact(
        postgres_server_url: str) -> None:
    # postgres_server_url: run where the PostgreSQL tests run (never skipped under CI=true).
    workdir = scratch_dir("impress-failover-")
    try:
        outcome = failover.run(workdir, clients=4, before=60, after=40)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    assert outcome.acknowledged_before_kill >= 60 and outcome.acknowledged_after_kill >= 40
    assert outcome.lost == []
    assert outcome.doubled_keys == []
    assert outcome.chain_ok
    assert outcome.read_model_position == outcome.head
    assert outcome.read_model_differences == 0
    assert outcome.server_ready_after
    assert outcome.standby_answered_as_primary
