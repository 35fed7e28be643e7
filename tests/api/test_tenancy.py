"""A partner sees only its own company, drugs, agreements, cohorts and patients; an RHF finance
officer only the patients treated in its region. Anything else answers 404, as if it did not
exist: the same answer as for an id that was never recorded."""

from __future__ import annotations

import pytest

from tests.api.support import Api

ROCHE_ONLY = [
    "/v1/companies/roche-norge",
    "/v1/drugs/alecensa",
    "/v1/agreements/roche-norge-impress",
    "/v1/agreements/roche-norge-impress/history",
    "/v1/cohorts/alectinib-alk",
    "/v1/cohorts/alectinib-alk/history",
    "/v1/patients/IMP-0007",
    "/v1/patients/IMP-0007/payer?on=2023-01-01",
    "/v1/patients/IMP-0007/timeline",
    "/v1/patients/IMP-0007/history",
]


@pytest.mark.parametrize("path", ROCHE_ONLY)
def test_a_partner_asking_for_another_partners_data_gets_404(api: Api, path: str) -> None:
    theirs = api.get(path, "partner", org="astrazeneca")
    assert theirs.status_code == 404
    # "not found, or not yours": never "not recorded", which would be false (issue 13)...
    assert theirs.json()["type"].rsplit("/", 1)[1] == "not-found-or-not-yours"
    assert "is not found, or not yours to see (you see astrazeneca's)" in theirs.json()["detail"]
    # ...exactly as for something that does not exist, and the owner sees it.
    missing = api.get(path.replace("IMP-0007", "IMP-9999").replace("alectinib-alk", "nothing")
                      .replace("alecensa", "nothing").replace("roche-norge-impress", "nothing"),
                      "partner", org="astrazeneca")
    assert missing.status_code == 404 and missing.json()["type"] == theirs.json()["type"]
    assert api.get(path, "partner", org="roche-norge").status_code == 200


def test_a_partners_lists_hold_only_its_own(api: Api) -> None:
    def ids(path: str, key: str) -> set[str]:
        return {x[key] for x in api.get(path, "partner", org="astrazeneca").json()}

    assert ids("/v1/companies", "company_id") == {"astrazeneca"}
    assert ids("/v1/drugs", "drug_id") == {"lynparza"}
    assert ids("/v1/agreements", "agreement_id") == {"astrazeneca-impress"}
    assert ids("/v1/cohorts", "cohort_id") == {"olaparib-brca", "olaparib-prostate"}
    assert ids("/v1/patients", "patient_id") == {"IMP-0042", "IMP-0050"}
    payers = api.get("/v1/payers?on=2023-01-01", "partner", org="roche-norge").json()
    assert [p["patient_id"] for p in payers["patients"]] == ["IMP-0007"]


def test_an_rhf_officer_sees_only_patients_treated_in_its_region(api: Api) -> None:
    nord = api.get("/v1/patients", "rhf_finance", org="helse-nord").json()
    assert [p["patient_id"] for p in nord] == ["IMP-0007"]
    assert api.get("/v1/patients/IMP-0042/payer?on=2023-10-02", "rhf_finance",
                   org="helse-nord").status_code == 404
    assert api.get("/v1/patients/IMP-0042/payer?on=2023-10-02", "rhf_finance",
                   org="helse-vest").status_code == 200


def test_after_a_transfer_both_regions_see_the_patient(api: Api) -> None:
    moved = api.post("/v1/patients/IMP-0042/transfers", "trial_office",
                     {"to_hf": "ous", "effective_from": "2024-01-15"})
    assert moved.status_code == 201
    for rhf in ("helse-vest", "helse-sor-ost"):
        assert api.get("/v1/patients/IMP-0042", "rhf_finance", org=rhf).status_code == 200
    assert api.get("/v1/patients/IMP-0042", "rhf_finance", org="helse-nord").status_code == 404
    answer = api.get("/v1/patients/IMP-0042/payer?on=2024-02-01", "rhf_finance", org="helse-sor-ost")
    assert answer.json()["payer"]["party"] == "helse-sor-ost"


def test_a_cohorts_history_leaves_out_patients_of_other_regions(api: Api) -> None:
    enrol = api.post("/v1/patients", "trial_office", {"patient_id": "IMP-0060",
                     "cohort_id": "olaparib-brca", "hf_id": "unn", "enrolled_on": "2023-09-01"})
    assert enrol.status_code == 201
    history = api.get("/v1/cohorts/olaparib-brca/history", "rhf_finance", org="helse-vest").json()
    named = {f["data"].get("patient_id") for f in history["facts"]} - {None}
    assert named == {"IMP-0042"}
    everything = api.get("/v1/cohorts/olaparib-brca/history", "auditor").json()
    assert {f["data"].get("patient_id") for f in everything["facts"]} - {None} == {
        "IMP-0042", "IMP-0060"}


def test_a_partner_records_grant_payments_for_its_own_patients_only(api: Api) -> None:
    payment = {"payment_ref": "RN-1", "amount": {"amount": "100.00", "currency": "NOK"},
               "paid_on": "2022-05-01"}
    assert api.post("/v1/patients/IMP-0050/grant/payments", "partner", payment,
                    org="roche-norge").status_code == 404
    own = api.post("/v1/patients/IMP-0050/grant/payments", "partner", payment, org="astrazeneca")
    assert own.status_code == 201
    fact = api.get("/v1/patients/IMP-0050/history", "auditor").json()["facts"][-1]
    assert fact["type"] == "GrantPaid"
    assert fact["actor"]["role"] == "partner" and fact["actor"]["organisation"] == "astrazeneca"


def test_roles_without_patient_access_cannot_read_patients(api: Api) -> None:
    for role in ("procurement", "decision_forum", "migration"):
        assert api.get("/v1/patients/IMP-0042", role).status_code == 403


def test_statements_are_scoped_to_the_partner_or_region_whatever_is_asked(api: Api) -> None:
    period = "from=2022-01-01&to=2024-12-31"
    own = api.get(f"/v1/statements/company?{period}", "partner", org="roche-norge").json()
    assert own["scope"] == {"kind": "company", "party": "roche-norge"}
    assert {a["agreement_id"] for a in own["agreements"]} == {"roche-norge-impress"}
    for asked in ("company=astrazeneca", "rhf=helse-vest"):
        assert api.get(f"/v1/statements/company?{period}&{asked}", "partner",
                       org="roche-norge").status_code == 404
    region = api.get(f"/v1/statements/public-cost?{period}", "rhf_finance", org="helse-nord")
    assert region.json()["scope"] == {"kind": "rhf", "party": "helse-nord"}
    assert api.get(f"/v1/statements/public-cost?{period}&rhf=helse-vest", "rhf_finance",
                   org="helse-nord").status_code == 404
    narrowed = api.get(f"/v1/statements/company?{period}&company=astrazeneca", "auditor").json()
    assert narrowed["scope"] == {"kind": "company", "party": "astrazeneca"}


def test_the_patients_list_pages_by_its_link_header_through_exactly_what_the_actor_sees(
        api: Api) -> None:
    for role, org in (("trial_office", "impress"), ("rhf_finance", "helse-vest"),
                      ("partner", "astrazeneca")):
        whole = api.get("/v1/patients", role, org=org)
        assert whole.status_code == 200 and "link" not in whole.headers
        expected = [p["patient_id"] for p in whole.json()]
        assert expected == sorted(expected) and whole.headers["x-total-count"] == str(
            len(expected))
        listed, path, pages = [], "/v1/patients?limit=2", 0
        while path:
            answer = api.get(path, role, org=org)
            assert answer.status_code == 200
            assert answer.headers["x-total-count"] == str(len(expected))
            page = answer.json()
            assert page == whole.json()[len(listed):len(listed) + len(page)]  # the same records
            listed += [p["patient_id"] for p in page]
            link = answer.headers.get("link")
            path = link[link.index("/v1/"):link.index(">")] if link else ""
            pages += 1
        assert listed == expected and pages >= len(expected) // 2, (role, org)
