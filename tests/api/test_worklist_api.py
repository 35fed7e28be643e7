"""The worklist over HTTP (ADR 0026): each item with the packs and value at stake; the
dispensations themselves only with `dispensations=true`, the items otherwise the same."""

from __future__ import annotations

from tests.api.support import Api

PID = "IMP-0099"


def test_the_worklist_lists_dispensations_only_when_asked_for(api: Api) -> None:
    writes = [("", {"patient_id": PID, "cohort_id": "olaparib-brca", "hf_id": "ous",
                    "enrolled_on": "2023-06-01"}),
              ("/treatment-start", {"started_on": "2023-06-12"})]
    # after the company's 16 weeks with no assessment: who pays is pending
    writes += [("/dispensations", {"packs": 2, "dispensed_on": on})
               for on in ("2023-06-12", "2023-10-09", "2023-11-06")]
    for path, body in writes:
        written = api.post(f"/v1/patients{'/' + PID if path else ''}{path}", "trial_office",
                           body)
        assert written.status_code == 201, written.text
    plain = api.get("/v1/worklist?to=2023-12-31", "auditor")
    listed = api.get("/v1/worklist?to=2023-12-31&dispensations=true", "auditor")
    assert plain.status_code == listed.status_code == 200, plain.text
    items, with_them = plain.json()["items"], listed.json()["items"]
    assert items and all("dispensations" not in i for i in items)
    assert [{k: v for k, v in i.items() if k != "dispensations"} for i in with_them] == items
    for item in with_them:
        assert sum(d["packs"] for d in item["dispensations"]) == item["packs"]
    assert any(d["dispensed_on"] == "2023-11-06" for i in with_them for d in i["dispensations"])
    assert plain.json()["totals"] == listed.json()["totals"]
