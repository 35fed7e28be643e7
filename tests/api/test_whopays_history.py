"""Who pays on a date as known now and as known at an earlier moment; history with corrections
linked both ways; the raw log in pages."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote

from tests.api.support import Api


def payer(api: Api, patient: str, on: str, extra: str = "") -> dict[str, object]:
    answer = api.get(f"/v1/patients/{patient}/payer?on={on}{extra}", "auditor")
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()["payer"]
    return body


def test_company_then_public_after_sixteen_weeks_with_benefit_and_exemption(any_db_api: Api) -> None:
    api = any_db_api
    assert payer(api, "IMP-0042", "2023-10-01")["kind"] == "company"
    public = payer(api, "IMP-0042", "2023-10-02")
    assert (public["kind"], public["party"], public["treating_hf"]) == (
        "public", "helse-vest", "helse-stavanger")
    assert "cohort/olaparib-brca@2" in public["basis"]  # the group exemption


def test_a_late_assessment_changes_the_answer_only_from_when_it_was_recorded(api: Api) -> None:
    assert api.post("/v1/patients", "trial_office", {"patient_id": "IMP-0043", "cohort_id":
                    "olaparib-brca", "hf_id": "helse-bergen", "enrolled_on": "2023-08-01"}
                    ).status_code == 201
    start = api.post("/v1/patients/IMP-0043/treatment-start", "trial_office",
                     {"started_on": "2023-08-07"}).json()
    before = start["position"]
    moment = datetime.fromisoformat(start["facts"][-1]["recorded_at"].replace("Z", "+00:00"))
    api.post("/v1/patients/IMP-0043/assessments", "trial_office",
             {"assessed_on": "2023-11-20", "outcome": "objective_response"})
    on = "2023-12-01"
    assert payer(api, "IMP-0043", on)["kind"] == "public"
    assert payer(api, "IMP-0043", on, f"&position={before}")["kind"] == "pending"
    oslo = (moment + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%f+01:00")
    assert payer(api, "IMP-0043", on, f"&known_at={quote(oslo)}")["kind"] == "pending"
    # An unencoded '+' arrives as a space; it is still read as the offset.
    assert payer(api, "IMP-0043", on, f"&known_at={oslo}")["kind"] == "pending"
    answer = api.get(f"/v1/patients/IMP-0043/timeline?position={before}", "auditor").json()
    assert [i["payer"]["kind"] for i in answer["intervals"]] == ["nobody", "company", "pending"]
    assert answer["known_at_position"] == before


def test_a_patient_enrolled_after_the_moment_asked_about_is_unknown_then(api: Api) -> None:
    answer = api.get("/v1/patients/IMP-0042/payer?on=2023-10-02&position=5", "auditor")
    assert answer.status_code == 404


def test_history_links_a_correction_and_the_fact_it_supersedes(api: Api) -> None:
    fixed = api.post("/v1/patients/IMP-0042/corrections/assessment", "trial_office",
                     {"assessed_on": "2023-09-28", "outcome": "progressive_disease",
                      "reason": "radiology report revised"})
    assert fixed.status_code == 201
    facts = api.get("/v1/patients/IMP-0042/history", "auditor").json()["facts"]
    original = next(f for f in facts if f["type"] == "AssessmentRecorded")
    correction = next(f for f in facts if f["type"] == "AssessmentCorrected")
    assert correction["corrects"] == original["ref"]
    assert original["corrected_by"] == [correction["ref"]]
    assert correction["data"]["reason"] == "radiology report revised"
    assert correction["actor"]["role"] == "trial_office"
    assert correction["recorded_at"] >= original["recorded_at"]
    # The derived takeover no longer follows: the ledger retracts it, linked the same way.
    retractions = [f for f in facts if f["type"] == "DerivedFactRetracted"]
    for r in retractions:
        assert next(f for f in facts if f["ref"] == r["retracts"])["retracted_by"] == [r["ref"]]
    assert payer(api, "IMP-0042", "2023-10-02")["kind"] == "treating_hf"


def test_the_raw_log_pages_in_commit_order_and_filters_by_type(api: Api) -> None:
    first = api.get("/v1/log?limit=10", "auditor").json()
    assert [f["position"] for f in first["facts"]] == list(range(1, 11))
    assert first["next_after"] == 10
    rest = api.get(f"/v1/log?after={first['next_after']}&limit=1000", "auditor").json()
    assert rest["next_after"] is None
    assert rest["facts"][-1]["position"] == rest["head"]
    enrolled = api.get("/v1/log?type=PatientEnrolled", "auditor").json()["facts"]
    assert {f["data"]["patient_id"] for f in enrolled} == {"IMP-0042", "IMP-0050", "IMP-0007"}
