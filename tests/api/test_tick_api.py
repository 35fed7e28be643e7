"""The daily tick over HTTP (docs/scheduler.md): only the scheduler's role, idempotent, and what
it records is what the ledger's own tick records on the same history."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from api import imports
from application.ledger import Ledger
from application.writer import Writer
from domain.values import Actor
from eventstore import EventLog
from tests.api.support import EXAMPLE, SYSTEM, Api

NEW = ('{"command": "EnrolPatient", "args": {"patient_id": "IMP-0060", "cohort_id": '
       '"olaparib-brca", "hf_id": "helse-bergen", "enrolled_on": "2026-09-01"}}\n'
       '{"command": "StartTreatment", "args": {"patient_id": "IMP-0060", '
       '"started_on": "2026-09-01"}}\n')
MIGRATION = Actor(subject="migration@impress", role="migration", organisation="impress")


def started_before_the_tick(api: Api) -> None:
    """IMP-0060 starts on 2026-09-01 in the expansion cohort: by 2026-12-30 its company's 16
    weeks have run out, which only a tick records (nothing else happens to it meanwhile)."""
    api.ledger.clock = lambda: date(2026, 9, 1)
    for path, body in (("/v1/patients", {"patient_id": "IMP-0060", "cohort_id": "olaparib-brca",
                                         "hf_id": "helse-bergen", "enrolled_on": "2026-09-01"}),
                       ("/v1/patients/IMP-0060/treatment-start", {"started_on": "2026-09-01"})):
        assert api.post(path, "trial_office", body).status_code == 201
    api.ledger.clock = lambda: date(2026, 12, 30)


def test_only_the_scheduler_ticks_and_a_second_tick_records_nothing(api: Api) -> None:
    started_before_the_tick(api)
    for role in ("trial_office", "auditor", "migration", "rhf_finance"):
        assert api.post("/v1/tick", role).status_code == 403
    assert api.post("/v1/tick", None).status_code == 401
    first = api.post("/v1/tick", "scheduler")
    assert first.status_code == 200, first.text
    assert [(f["stream"], f["type"]) for f in first.json()["facts"]] == [
        ("patient/IMP-0060", "CompanyCoverageEnded")]
    again = api.post("/v1/tick", "scheduler")
    assert again.status_code == 200 and again.json()["facts"] == []
    assert again.json()["position"] == first.json()["position"] == api.ledger.log.head()


def test_the_http_tick_records_what_the_ledgers_tick_records(api: Api, tmp_path: Path) -> None:
    started_before_the_tick(api)
    over_http = sorted((f["stream"], f["type"]) for f in
                       api.post("/v1/tick", "scheduler").json()["facts"])
    assert over_http
    other = Ledger(EventLog(f"sqlite:///{tmp_path}/other.db"), clock=lambda: date(2026, 9, 1))
    try:
        other.install_reference(SYSTEM, date(2021, 1, 1))
        imports.run(Writer(other), EXAMPLE.read_text() + NEW,
                    MIGRATION)
        assert sorted((f.stream, f.type) for f in
                      other.tick(date(2026, 12, 30)).facts) == over_http
    finally:
        other.close()
