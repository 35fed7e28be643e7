"""One JSON log line per request: actor, route, outcome, latency, request id; never a payload."""

from __future__ import annotations

import json
import re
import time

from structlog.testing import capture_logs

from api.logging import configure, new_request_id
from tests.api.support import Api

SECRET = "reason-only-the-body-holds"


def test_each_request_logs_actor_route_outcome_latency_and_no_payload(api: Api) -> None:
    began = time.perf_counter()
    with capture_logs() as logs:
        api.post("/v1/patients/IMP-0042/corrections/treatment-start", "trial_office",
                 {"started_on": "2023-06-11", "reason": SECRET},
                 headers={"X-Request-ID": "req-abc-1"})
        api.get("/v1/patients/IMP-0042/payer?on=2023-10-02&known_at=2024-01-01T00:00:00Z",
                "rhf_finance")
        api.get("/v1/patients/IMP-9999", "auditor")
    lines = [entry for entry in logs if entry["event"] == "request"]
    assert len(lines) == 3
    write, read, missing = lines
    assert write["request_id"] == "req-abc-1"
    assert write["route"] == "/v1/patients/{patient_id}/corrections/treatment-start"
    assert (write["status"], write["outcome"]) == (201, "ok")
    assert (write["actor_subject"], write["actor_role"], write["actor_organisation"]) == (
        "trial_office@impress", "trial_office", "impress")
    assert isinstance(write["latency_ms"], float)
    # the time the request took, not the process's age (a flag once reused its start time)
    elapsed_ms = (time.perf_counter() - began) * 1000
    assert all(0 <= line["latency_ms"] <= elapsed_ms for line in lines)
    assert read["route"] == "/v1/patients/{patient_id}/payer"
    assert (missing["status"], missing["outcome"]) == (404, "unknown-patient")
    text = json.dumps(logs)
    for leaked in (SECRET, "2023-06-13", "known_at", "IMP-0042", "2024-01-01"):
        assert leaked not in text


def test_the_request_id_is_stored_with_the_facts_and_answered_in_a_header(api: Api) -> None:
    answer = api.post("/v1/patients/IMP-0042/dispensations", "trial_office",
                      {"packs": 1, "dispensed_on": "2023-07-01"})
    request_id = answer.headers["x-request-id"]
    fact = api.get("/v1/patients/IMP-0042/history", "auditor").json()["facts"][-1]
    assert fact["actor"] == {"subject": "trial_office@impress", "role": "trial_office",
                             "organisation": "impress", "request_id": request_id,
                             "triggered_by": None}


def test_the_log_lines_are_json(capsys: object) -> None:
    import structlog

    configure()
    structlog.get_logger("impress.api").info("request", route="/health", status=200)
    out = capsys.readouterr().out.strip().splitlines()[-1]  # type: ignore[attr-defined]
    assert json.loads(out)["route"] == "/health"
    structlog.reset_defaults()


def test_an_unexpected_error_quoting_the_request_leaves_no_client_text_in_any_log(
        api: Api, monkeypatch: object, capsys: object) -> None:
    import application.ledger as service_module
    from fastapi.testclient import TestClient

    def fails(ws: object, command: object) -> None:
        raise RuntimeError(f"could not decide {command!r}")  # quotes the reason

    monkeypatch.setattr(service_module, "execute", fails)  # type: ignore[attr-defined]
    configure()  # the JSON lines production writes
    strict = TestClient(api.app, raise_server_exceptions=True)
    try:
        with capture_logs() as logs:
            answer = strict.post("/v1/patients/IMP-0042/corrections/treatment-start",
                                 json={"started_on": "2023-06-11", "reason": SECRET},
                                 headers=api.auth("trial_office"))
        # Answered, and not raised on to the server, whose own log would print the text.
        assert answer.status_code == 500
        assert answer.json()["type"].endswith("/internal-error")
        assert SECRET not in answer.text
        error = next(e for e in logs if e["event"] == "unhandled_error")
        assert error["error"] == "RuntimeError"
        assert any("ledger.py" in frame for frame in error["frames"])
        assert SECRET not in json.dumps(logs, default=str)
        structlog_out = capsys.readouterr()  # type: ignore[attr-defined]
        assert SECRET not in structlog_out.out + structlog_out.err
    finally:
        import structlog

        structlog.reset_defaults()


def test_a_logged_exception_is_rendered_without_its_message() -> None:
    from api.logging import without_text

    try:
        raise ValueError(f"bad input {SECRET}")
    except ValueError as e:
        event = without_text(None, "error", {"event": "x", "exc_info": (type(e), e, e.__traceback__)})
    assert event["error"] == "ValueError" and SECRET not in json.dumps(event)


def test_a_request_id_the_server_makes_holds_no_digit_so_never_an_identity_number() -> None:
    made = {new_request_id() for _ in range(2000)}
    assert len(made) == 2000
    assert all(re.fullmatch(r"[a-p]{32}", m) for m in made)
