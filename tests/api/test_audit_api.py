"""The auditor's toolkit over HTTP: digest, verify (with a saved digest, and after someone went
round the triggers), history exports as JSON lines and CSV, replay as of a position."""

from __future__ import annotations

import csv
import io
import json

from tests.api.support import Api
from tests.integration.test_tamper import tampering


def ok(api: Api, path: str) -> dict[str, object]:
    answer = api.get(path, "auditor")
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def test_a_digest_then_verify_against_it(any_db_api: Api) -> None:
    api = any_db_api
    digest = ok(api, "/v1/audit/digest")
    assert digest["position"] == api.ledger.log.head() and digest["chain"] == "impress-chain-v1"
    earlier = ok(api, "/v1/audit/digest?position=3")
    result = ok(api, f"/v1/audit/verify?position=3&hash={earlier['hash']}")
    assert result["ok"] and result["head"] == digest
    assert result["digests"] == [{**earlier, "recorded_at": None, "matches": True}]  # as given


def test_verify_names_the_first_difference_after_tampering(any_db_api: Api) -> None:
    api = any_db_api
    [enrolled] = [f for f in api.ledger.log.read(types=["PatientEnrolled"])
                  if f.data["patient_id"] == "IMP-0042"]
    with tampering(api.ledger.log) as t:
        state = t.state(enrolled.position)
        t.set_state(enrolled.position, state.replace(b"helse-stavanger", b"helse-bergen"))
    result = ok(api, "/v1/audit/verify")
    assert not result["ok"] and result["checked"] == enrolled.position - 1
    assert result["first_difference"]["position"] == enrolled.position  # type: ignore[index]
    assert result["first_difference"]["kind"] == "changed"  # type: ignore[index]


def test_a_digest_that_does_not_match_is_a_rewrite_not_an_error(api: Api) -> None:
    result = ok(api, "/v1/audit/verify?position=5&hash=" + "0" * 64)
    assert not result["ok"] and result["first_difference"]["kind"] == "rewritten"  # type: ignore[index]
    assert result["first_difference"]["range"] == [1, 5]  # type: ignore[index]
    for bad in ("?position=5", "?hash=" + "0" * 64, "?position=5&hash=XYZ"):
        answer = api.get("/v1/audit/verify" + bad, "auditor")
        assert answer.status_code == 422
        assert answer.headers["content-type"] == "application/problem+json"
    assert api.get("/v1/audit/digest?position=999999", "auditor").status_code == 404


def test_history_exports_as_json_lines_and_csv(api: Api) -> None:
    lines = api.get("/v1/audit/patients/IMP-0042/history", "auditor")
    assert lines.status_code == 200 and lines.headers["content-type"] == "application/x-ndjson"
    assert "IMP-0042-history.jsonl" in lines.headers["content-disposition"]
    rows = [json.loads(x) for x in lines.text.splitlines()]
    assert rows and all(r["recorded_at"] and r["actor"]["subject"] for r in rows)
    table = api.get("/v1/audit/patients/IMP-0042/history?format=csv", "auditor")
    assert table.headers["content-type"].startswith("text/csv")
    assert [r["ref"] for r in csv.DictReader(io.StringIO(table.text))] == [r["ref"] for r in rows]
    assert api.get("/v1/audit/patients/IMP-9999/history", "auditor").status_code == 404
    assert api.get("/v1/audit/cohorts/no-such/history", "auditor").status_code == 404
    cohort = api.get("/v1/audit/cohorts/olaparib-brca/history?format=csv", "auditor")
    assert "PatientAdmitted" in cohort.text and "GroupExemptionGranted" in cohort.text


def test_replay_as_of_a_position_with_its_digest_and_statements(api: Api) -> None:
    at = 30
    result = ok(api, f"/v1/audit/replay?position={at}&on=2023-10-02&statement=public-cost"
                     "&from=2023-10-01&to=2023-12-31")
    assert result["as_of"]["position"] == at  # type: ignore[index]
    assert result["as_of"]["hash"] == ok(api, f"/v1/audit/digest?position={at}")["hash"]  # type: ignore[index]
    issued = ok(api, f"/v1/statements/public-cost?from=2023-10-01&to=2023-12-31&position={at}")
    assert result["statements"] == [issued]
    now = ok(api, "/v1/audit/replay?on=2023-10-02")
    assert {p["patient_id"] for p in now["payers"]} >= {  # type: ignore[union-attr]
        p["patient_id"] for p in result["payers"]}  # type: ignore[union-attr]
