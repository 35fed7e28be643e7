"""Two processes post to the same patient at once: no lost update. Both decide on the same
state (a barrier holds each before its append); one append wins, the other answers 409
concurrent-modification, and its retry is recorded too. On SQLite and on PostgreSQL."""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from api.settings import Settings
from application.ledger import Ledger
from eventstore import EventLog, NewEvent, StoredFact
from tests.api.support import Api, settings_for

PATH = "/v1/patients/IMP-0042/dispensations"


class BarrierLog(EventLog):
    """The first append of this process waits until the other process is ready to append."""

    def __init__(self, url: str, barrier: Any) -> None:
        super().__init__(url, create_tables=False)
        self.barrier = barrier

    def append(self, events: Sequence[NewEvent]) -> list[StoredFact]:
        if self.barrier is not None:
            barrier, self.barrier = self.barrier, None
            barrier.wait(timeout=60)
        return super().append(events)


def post_dispensation(url: str, data_dir: str, token: str, packs: int, barrier: Any,
                      results: Any) -> None:
    """In its own process: one app, one dispensation; on 409, the same request again."""
    settings = Settings(database_url=url, data_dir=Path(data_dir), auth_mode="dev",
                        create_tables=False)
    api = Api(settings, Ledger(BarrierLog(url, barrier)))
    headers = {"Authorization": f"Bearer {token}"}
    body = {"packs": packs, "dispensed_on": "2023-07-10"}
    try:
        first = api.client.post(PATH, json=body, headers=headers)
        outcome = [packs, first.status_code, first.json().get("type")]
        if first.status_code == 409:
            outcome.append(api.client.post(PATH, json=body, headers=headers).status_code)
        results.put(outcome)
    finally:
        api.close()


def test_two_processes_one_patient_no_lost_update(tmp_path: Path, database_url: str) -> None:
    setup = Api(settings_for(tmp_path, database_url))
    setup.seed()
    token = setup.token("trial_office")
    setup.close()

    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    workers = [ctx.Process(target=post_dispensation,
                           args=(database_url, str(tmp_path / "data"), token, packs, barrier,
                                 results)) for packs in (3, 5)]
    for w in workers:
        w.start()
    outcomes = sorted((results.get(timeout=120) for _ in workers), key=lambda o: o[1])
    for w in workers:
        w.join(60)
        assert w.exitcode == 0

    assert [o[1] for o in outcomes] == [201, 409]
    loser = outcomes[1]
    assert loser[2].endswith("/concurrent-modification") and loser[3] == 201

    check = Api(settings_for(tmp_path, database_url))
    try:
        patient = check.get("/v1/patients/IMP-0042", "auditor").json()
        packs = sorted(d["packs"] for d in patient["dispensations"][1:])
        assert packs == [3, 5]  # both recorded: the seeded one, then one per process
    finally:
        check.close()
