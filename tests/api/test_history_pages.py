"""A stream's history a page at a time: the pages, followed by their `Link`, are the whole
history fact for fact, corrections linked both ways across pages, what an actor may not see left
out of each page as it is of the whole (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from tests.api.support import Api

WHOLE = "limit=1000"


def pages(api: Api, path: str, limit: int, role: str, org: str | None = None
          ) -> list[dict[str, Any]]:
    """Every page of a history from the first, following `Link`."""
    out, url = [], f"{path}?limit={limit}"
    while True:
        answer = api.get(url, role, org=org)
        assert answer.status_code == 200, answer.text
        out.append(answer.json())
        link = answer.headers.get("link")
        if link is None:
            assert out[-1]["next_after"] is None
            return out
        assert link.endswith('>; rel="next"')
        url = link[1:-len('>; rel="next"')].removeprefix("http://testserver")
        assert f"after={out[-1]['next_after']}" in url and f"limit={limit}" in url


def a_corrected_patient(api: Api) -> None:
    """IMP-0042 with dispensations, then corrections (and the ledger's retraction) at its end."""
    for day, packs in (("2023-07-10", 2), ("2023-08-07", 1), ("2023-09-04", 3)):
        assert api.post("/v1/patients/IMP-0042/dispensations", "trial_office",
                        {"dispensed_on": day, "packs": packs}).status_code == 201
    whole = api.get(f"/v1/patients/IMP-0042/history?{WHOLE}", "auditor").json()["facts"]
    first = next(f for f in whole if f["type"] == "DrugDispensed")
    assert api.post("/v1/patients/IMP-0042/corrections/dispensation", "trial_office",
                    {"dispensation": first["ref"], "packs": 1, "dispensed_on": first["valid_on"],
                     "reason": "one pack returned"}
                    ).status_code == 201, first
    assert api.post("/v1/patients/IMP-0042/corrections/assessment", "trial_office",
                    {"assessed_on": "2023-09-28", "outcome": "progressive_disease",
                     "reason": "radiology report revised"}).status_code == 201


def test_a_patients_history_in_pages_of_any_size_is_the_whole_history(any_db_api: Api) -> None:
    api = any_db_api
    a_corrected_patient(api)
    path = "/v1/patients/IMP-0042/history"
    whole = api.get(f"{path}?{WHOLE}", "auditor").json()
    facts = whole["facts"]
    assert whole["next_after"] is None and len(facts) >= 10
    # the corrections and the retraction are the stream's last facts: a small page holds the
    # facts they correct without them, and must name them all the same
    linked = [f for f in facts if f["corrected_by"] or f["retracted_by"]]
    assert len(linked) >= 3 and max(f["version"] for f in linked) < facts[-3]["version"]
    for limit in range(1, len(facts) + 2):
        got = pages(api, path, limit, "auditor")
        assert [f for page in got for f in page["facts"]] == facts, limit
        assert [len(p["facts"]) for p in got[:-1]] == [limit] * (len(got) - 1)
        assert len(got) == -(-len(facts) // limit)  # no empty page after a full one
        assert all(p["stream"] == "patient/IMP-0042" for p in got)


def test_a_cohorts_pages_leave_out_what_the_whole_leaves_out(any_db_api: Api) -> None:
    api = any_db_api
    for patient, hf in (("IMP-0060", "unn"), ("IMP-0061", "helse-bergen"), ("IMP-0062", "unn"),
                        ("IMP-0063", "helse-stavanger")):
        assert api.post("/v1/patients", "trial_office", {
            "patient_id": patient, "cohort_id": "olaparib-brca", "hf_id": hf,
            "enrolled_on": "2023-09-01"}).status_code == 201
    path = "/v1/cohorts/olaparib-brca/history"
    for role, org in (("rhf_finance", "helse-vest"), ("auditor", None),
                      ("partner", "astrazeneca")):
        whole = api.get(f"{path}?{WHOLE}", role, org=org).json()["facts"]
        for limit in (1, 2, 3, 5):
            got = pages(api, path, limit, role, org)
            assert [f for page in got for f in page["facts"]] == whole, (role, limit)
    named = {f["data"].get("patient_id") for p in pages(api, path, 2, "rhf_finance", "helse-vest")
             for f in p["facts"]} - {None}
    assert named == {"IMP-0042", "IMP-0061", "IMP-0063"}


def test_an_agreements_history_pages_by_version(any_db_api: Api) -> None:
    api = any_db_api
    path = "/v1/agreements/astrazeneca-impress/history"
    whole = api.get(f"{path}?{WHOLE}", "trial_office").json()["facts"]
    assert len(whole) >= 3
    got = pages(api, path, 2, "trial_office")
    assert [f for page in got for f in page["facts"]] == whole
    assert [p["next_after"] for p in got[:-1]] == [f["version"] for f in whole[1::2]][:len(got) - 1]
    # by default a page of 500: the example's history is one page
    first = api.get(path, "trial_office")
    assert first.json()["facts"] == whole and "link" not in first.headers


def test_a_page_asked_for_badly_is_refused(api: Api) -> None:
    for query in ("limit=0", "limit=1001", "after=-1", "after=x"):
        answer = api.get(f"/v1/patients/IMP-0042/history?{query}", "auditor")
        assert answer.status_code == 422, query
        assert answer.headers["content-type"].startswith("application/problem+json")
    past = api.get("/v1/patients/IMP-0042/history?after=999", "auditor").json()
    assert past["facts"] == [] and past["next_after"] is None
