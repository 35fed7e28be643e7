"""Read your writes (ADR 0021): a command answers with its log position; a read given that
position (query `min_position` or header `Impress-Min-Position`) answers once the read models
have reached it, waits a bounded time, and answers 503 with Retry-After if they do not; a
position the log has never held is the client's error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.support import Api, settings_for

PAYER = "/v1/patients/IMP-0042/payer?on=2023-10-02"
DISPENSE = "/v1/patients/IMP-0042/dispensations"


def raw_get(api: Api, path: str, role: str, **headers: str) -> object:
    """A GET that sends only what the test gives (Api.get waits for the log's head)."""
    return api.client.get(path, headers=api.auth(role, **headers))


@pytest.fixture
def stopped(tmp_path: Path) -> Iterator[Api]:
    """An API whose read models nobody follows after the seed: they stay behind."""
    a = Api(settings_for(tmp_path).model_copy(update={"read_wait_seconds": 0.2}))
    a.seed()
    a.get(PAYER, "trial_office")  # the seed is projected
    assert a.app.state.service.runner is not None
    a.app.state.service.runner.stop()
    yield a
    a.close()


def test_a_read_with_the_writes_position_sees_the_write(any_db_api: Api) -> None:
    api = any_db_api
    enrol = {"patient_id": "IMP-0099", "cohort_id": "olaparib-brca", "hf_id": "ous",
             "enrolled_on": "2023-09-01"}
    written = api.post("/v1/patients", "trial_office", enrol)
    assert written.status_code == 201
    position = written.json()["position"]
    by_header = raw_get(api, "/v1/patients/IMP-0099/payer?on=2023-09-02", "trial_office",
                        **{"Impress-Min-Position": str(position)})
    by_query = raw_get(api, f"/v1/patients/IMP-0099/timeline?min_position={position}",
                       "trial_office")
    assert by_header.status_code == by_query.status_code == 200  # type: ignore[attr-defined]
    assert by_header.json()["known_at_position"] >= position  # type: ignore[attr-defined]
    assert by_query.json()["intervals"]  # type: ignore[attr-defined]


def test_read_models_that_do_not_reach_the_position_in_time_answer_503_with_retry_after(
        stopped: Api) -> None:
    written = stopped.post(DISPENSE, "trial_office", {"packs": 1, "dispensed_on": "2023-07-10"})
    assert written.status_code == 201, written.text
    position = written.json()["position"]
    for path in (f"{PAYER}&min_position={position}",
                 f"/v1/worklist?min_position={position}",
                 f"/v1/payers?on=2023-10-02&min_position={position}"):
        answer = raw_get(stopped, path, "trial_office")
        assert answer.status_code == 503, path  # type: ignore[attr-defined]
        assert answer.headers["retry-after"] == "1"  # type: ignore[attr-defined]
        assert answer.json()["type"].endswith("/read-models-behind")  # type: ignore[attr-defined]
    # without a minimum position: what the read models hold, and the position that is
    now = raw_get(stopped, PAYER, "trial_office")
    assert now.status_code == 200  # type: ignore[attr-defined]
    assert now.json()["known_at_position"] < position  # type: ignore[attr-defined]


def test_a_position_the_log_never_held_is_refused(api: Api) -> None:
    beyond = api.ledger.head() + 1000
    answer = raw_get(api, f"{PAYER}&min_position={beyond}", "trial_office")
    assert answer.status_code == 422  # type: ignore[attr-defined]
    assert answer.json()["type"].endswith("/position-not-recorded")  # type: ignore[attr-defined]
    bad = raw_get(api, PAYER, "trial_office", **{"Impress-Min-Position": "soon"})
    assert bad.status_code == 422  # type: ignore[attr-defined]


def test_every_read_documents_its_minimum_position(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    for path in ("/v1/patients/{patient_id}/payer", "/v1/payers", "/v1/worklist",
                 "/v1/statements/public-cost"):
        names = {(p["in"], p["name"]) for p in paths[path]["get"]["parameters"]}
        assert {("query", "min_position"), ("header", "Impress-Min-Position")} <= names, path
