"""Every refusal is application/problem+json with its own type; 4xx for every bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from application.ledger import Ledger
from eventstore import ConcurrentModification, EventLog
from tests.api.support import VALID_NATIONAL_ID, Api, settings_for

BASE = "https://impress-ledger.example/problems/"


def problem(answer: Any, status: int, slug: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = answer.json()
    assert body["type"] == BASE + slug, body
    assert body["status"] == status
    assert body["title"] and body["detail"]
    # The instance is the path, unless the path itself must not be echoed.
    assert body.get("instance", answer.request.url.path) == answer.request.url.path
    return body


def test_a_full_stage_is_refused_with_its_own_type(api: Api) -> None:
    for n in range(8):  # olaparib-prostate: stage 1 holds 8; IMP-0050 is the first
        pid = f"IMP-{n + 201:04d}"
        answer = api.post("/v1/patients", "trial_office", {
            "patient_id": pid, "cohort_id": "olaparib-prostate", "hf_id": "ous",
            "enrolled_on": "2022-04-01"})
        if n < 7:
            assert answer.status_code == 201
    body = problem(answer, 409, "stage-full")
    assert "stage 1 of cohort 'olaparib-prostate' is full" in body["detail"]


def test_no_exemption_for_a_drug_not_introduced(api: Api) -> None:
    answer = api.post("/v1/cohorts/alectinib-alk/exemptions", "decision_forum", {
        "exemption_ref": "BF-X", "effective_from": "2023-01-01", "decided_on": "2023-01-01"})
    problem(answer, 409, "drug-not-introduced")


def test_a_treatment_start_before_enrolment_is_refused(api: Api) -> None:
    api.post("/v1/patients", "trial_office", {"patient_id": "IMP-0301", "cohort_id": "olaparib-brca",
                                              "hf_id": "ous", "enrolled_on": "2023-09-01"})
    answer = api.post("/v1/patients/IMP-0301/treatment-start", "trial_office",
                      {"started_on": "2023-08-01"})
    problem(answer, 409, "start-before-enrolment")


@pytest.mark.parametrize("path", ["/v1/patients/IMP-9999", "/v1/cohorts/no-such-cohort",
                                  "/v1/drugs/no-such-drug", "/v1/agreements/none",
                                  "/v1/companies/nobody"])
def test_unknown_ids_are_404(api: Api, path: str) -> None:
    assert api.get(path, "auditor").status_code == 404


def test_a_command_on_an_unknown_patient_is_404(api: Api) -> None:
    answer = api.post("/v1/patients/IMP-9999/assessments", "trial_office",
                      {"assessed_on": "2023-09-28", "outcome": "stable_disease"})
    problem(answer, 404, "unknown-patient")


def test_malformed_json_is_422(api: Api) -> None:
    answer = api.client.post("/v1/patients/IMP-0042/dispensations", content=b'{"packs": 1,',
                             headers={**api.auth("trial_office"), "content-type": "application/json"})
    problem(answer, 422, "malformed-json")


@pytest.mark.parametrize("body", [
    {"packs": 1, "dispensed_on": "2023-02-30"},        # no such day
    {"packs": 1, "dispensed_on": "23-02-01"},          # not a date
    {"packs": 1, "dispensed_on": 1686528000},          # a number is not a date
    {"packs": 1, "dispensed_on": "9999-12-31"},        # outside the ledger's years
    {"packs": "1", "dispensed_on": "2023-07-01"},      # text is not a count
    {"packs": 1.5, "dispensed_on": "2023-07-01"},
    {"packs": 0, "dispensed_on": "2023-07-01"},
    {"packs": 1, "dispensed_on": "2023-07-01", "note": "unknown field"},
    {}, [], "text", None,
])
def test_invalid_input_is_422_invalid_request(api: Api, body: Any) -> None:
    answer = api.post("/v1/patients/IMP-0042/dispensations", "trial_office", body)
    body_out = problem(answer, 422, "invalid-request")
    assert body_out["errors"] and all("input" not in e for e in body_out["errors"])


def test_invalid_query_and_path_values_are_422(api: Api) -> None:
    problem(api.get("/v1/patients/IMP-0042/payer?on=2023-13-01", "auditor"), 422, "invalid-request")
    problem(api.get("/v1/patients/IMP-0042/payer", "auditor"), 422, "invalid-request")
    problem(api.get("/v1/patients/P42/payer?on=2023-01-01", "auditor"), 422, "invalid-request")
    problem(api.get("/v1/patients/IMP-0042/payer?on=2023-01-01&known_at=0001-01-01T00:00:00Z",
                    "auditor"), 422, "invalid-request")


def test_a_domain_refusal_of_invalid_input_is_422(api: Api) -> None:
    answer = api.post("/v1/companies", "procurement", {"company_id": "x",
                      "name": "   ", "registered_on": "2021-01-01"})
    problem(answer, 422, "invalid-input")


def test_unknown_routes_and_methods_are_problems_too(api: Api) -> None:
    problem(api.get("/v1/nothing-here", "auditor"), 404, "not-found")
    answer = api.client.delete("/v1/patients/IMP-0042", headers=api.auth("auditor"))
    problem(answer, 405, "method-not-allowed")


@pytest.mark.parametrize("where", ["body", "nested", "path", "query", "key", "import", "number"])
def test_a_national_identity_number_is_refused_everywhere_and_never_echoed(
        api: Api, where: str) -> None:
    nid = VALID_NATIONAL_ID
    head = api.ledger.log.head()
    if where == "body":
        answer = api.post("/v1/companies", "procurement", {"company_id": "x", "name": nid,
                          "registered_on": "2021-01-01"})
    elif where == "nested":
        answer = api.post("/v1/agreements", "procurement", {"agreement_id": "x", "company_id":
                          "astrazeneca", "signed_on": "2021-01-01",
                          "grant_per_patient": {"amount": "1", "currency": nid}})
    elif where == "path":
        answer = api.get(f"/v1/patients/{nid}", "auditor")
    elif where == "query":
        answer = api.get(f"/v1/patients/IMP-0042/payer?on=2023-01-01&x={nid[:6]}-{nid[6:]}",
                         "auditor")
    elif where == "key":
        answer = api.post("/v1/patients/IMP-0042/dispensations", "trial_office",
                          {"packs": 1, "dispensed_on": "2023-07-01"},
                          headers={"Idempotency-Key": f"retry-{nid}"})
    elif where == "import":
        answer = api.post("/v1/imports", "migration", '{"command": "RegisterCompany", "args": '
                          f'{{"company_id": "x", "name": "{nid}", "registered_on": "2021-01-01"}}}}')
    else:  # a JSON number, as a spreadsheet would export it
        answer = api.post("/v1/patients/IMP-0042/dispensations", "trial_office",
                          {"packs": int(nid), "dispensed_on": "2023-07-01"})
    problem(answer, 422, "national-identity-number")
    assert nid not in answer.text and nid[:6] + "-" not in answer.text
    assert api.ledger.log.head() == head


def test_a_concurrent_modification_is_409_and_safe_to_retry(tmp_path: Path) -> None:
    class Unlucky(EventLog):
        failures = 1

        def append(self, events):  # type: ignore[no-untyped-def]
            if self.failures:
                self.failures -= 1
                raise ConcurrentModification([e.stream for e in events])
            return super().append(events)

    api = Api(settings_for(tmp_path))
    api.seed()
    api.close()
    api = Api(settings_for(tmp_path), Ledger(Unlucky(f"sqlite:///{tmp_path}/ledger.db")))
    try:
        body = {"packs": 1, "dispensed_on": "2023-07-01"}
        first = api.post("/v1/patients/IMP-0042/dispensations", "trial_office", body)
        answer = problem(first, 409, "concurrent-modification")
        assert answer["retryable"] is True and "patient/IMP-0042" in answer["detail"]
        retry = api.post("/v1/patients/IMP-0042/dispensations", "trial_office", body)
        assert retry.status_code == 201
    finally:
        api.close()


def test_every_problem_names_its_request(api: Api) -> None:
    answer = api.get("/v1/patients/IMP-9999", "auditor")
    assert answer.json()["request_id"] == answer.headers["x-request-id"]


def test_a_price_says_what_a_pack_is_and_a_pack_that_does_not_is_refused(api: Api) -> None:
    answer = api.post("/v1/drugs/lynparza/prices", "procurement", {
        "price_per_pack": {"amount": "41000.00", "currency": "NOK"},
        "effective_from": "2024-01-01", "pack": "150 mg × 56"})
    assert answer.status_code == 201, answer.text
    prices = api.get("/v1/drugs/lynparza", "auditor").json()["prices"]
    assert prices[-1]["pack"] == "150 mg x 56"
    assert all("pack" in p for p in prices)
    refused = api.post("/v1/drugs/lynparza/prices", "procurement", {
        "price_per_pack": {"amount": "41000.00", "currency": "NOK"},
        "effective_from": "2024-02-01", "pack": "one box"})
    problem(refused, 422, "invalid-pack-description")


def test_a_fact_dated_after_the_day_it_is_recorded_is_refused_with_its_own_type(
        api: Api) -> None:
    answer = api.post("/v1/patients/IMP-0042/dispensations", "trial_office",
                      {"packs": 1, "dispensed_on": "2099-01-05"})
    body = problem(answer, 409, "dated-in-the-future")
    assert "dated 2099-01-05, after today" in body["detail"]
