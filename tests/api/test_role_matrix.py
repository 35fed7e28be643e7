"""Every endpoint x every role (and no token): the expected answer is in the table below.

Allowed: 200 (read) or 201 (write), with a request that succeeds on the example history; a
partner (AstraZeneca) and an RHF officer (Helse Vest) read their own data here (cross-tenant
reads are in test_tenancy). Denied: 403. No token: 401. Health, readiness and the OpenAPI
document need no token.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import heads
from proofs.keys import SigningKey
from tests.api.support import SYSTEM, Api, settings_for

TRIAL, PROC, FORUM, RHF, PARTNER, AUDITOR, MIGRATION, SCHEDULER = (
    "trial_office", "procurement", "decision_forum", "rhf_finance", "partner", "auditor",
    "migration", "scheduler")
ROLES = (TRIAL, PROC, FORUM, RHF, PARTNER, AUDITOR, MIGRATION, SCHEDULER)
PUBLIC = "public"  # no token needed
READERS = {TRIAL, PROC, FORUM, RHF, PARTNER, AUDITOR}
PATIENT_READERS = {TRIAL, RHF, PARTNER, AUDITOR}
STATEMENT_READERS = {PROC, RHF, PARTNER, AUDITOR}


def line(command: str, **args: Any) -> str:
    return json.dumps({"command": command, "args": args}) + "\n"


# What the matrix's writes need beyond the example history.
EXTRA = "".join([
    line("RegisterDrug", drug_id="spare-drug", brand="Spare", generic="sparinib",
         company_id="astrazeneca", registered_on="2021-01-04"),
    line("OpenCohort", cohort_id="lynparza-spare", drug_id="lynparza",
         agreement_id="astrazeneca-impress", indication="any", molecular_profile="HRD",
         opened_on="2022-05-01"),
    line("OpenCohort", cohort_id="lynparza-closing", drug_id="lynparza",
         agreement_id="astrazeneca-impress", indication="any", molecular_profile="PALB2",
         opened_on="2022-05-01"),
    line("GrantGroupExemption", cohort_id="olaparib-brca", exemption_ref="BF-SPARE",
         effective_from="2022-03-21", decided_on="2022-03-21"),
    line("EnrolPatient", patient_id="IMP-0043", cohort_id="olaparib-brca", hf_id="helse-bergen",
         enrolled_on="2023-08-01"),
    line("EnrolPatient", patient_id="IMP-0044", cohort_id="olaparib-prostate",
         hf_id="helse-bergen", enrolled_on="2022-03-02"),
    line("StartTreatment", patient_id="IMP-0044", started_on="2022-03-08"),
    line("EndTreatment", patient_id="IMP-0044", ended_on="2022-09-01", reason="progression"),
])

Body = Callable[[Api, str], Any] | dict[str, Any] | str | None


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    allowed: frozenset[str] | str
    body: Body = None
    by_role: Callable[[str], str] | None = None  # a path of the role's own (its books)
    ok: int | None = None  # the status when allowed, if not 200 (GET) or 201 (POST)

    def request(self, api: Api, role: str | None) -> Any:
        body = self.body(api, role or "") if callable(self.body) else self.body
        path = self.by_role(role or "") if self.by_role else self.path
        if self.method == "GET":
            return api.get(path, role)
        return api.post(path, role, body)


def ep(method: str, path: str, allowed: set[str] | str, body: Body = None,
       by_role: Callable[[str], str] | None = None, ok: int | None = None) -> Endpoint:
    return Endpoint(method, path, allowed if isinstance(allowed, str) else frozenset(allowed), body,
                    by_role, ok)


# Each keeper of books issues, closes and reopens its own (ADR 0022); each reader reads its own.
OWN_PERIOD = {PROC: {"statement": "company", "company": "astrazeneca", "period": "2023H1"},
              RHF: {"statement": "public-cost", "rhf": "helse-vest", "period": "2023Q4"}}
NUMBERS = {PARTNER: "CO-astrazeneca-2023H1-1", PROC: "CO-astrazeneca-2023H1-1"}


def _own_period(api: Api, role: str) -> dict[str, Any]:
    return OWN_PERIOD.get(role, OWN_PERIOD[RHF])


def _own_book(role: str) -> str:
    return {PARTNER: "/v1/statements/books?statement=company",
            RHF: "/v1/statements/books?statement=public-cost"}.get(
        role, "/v1/statements/books?statement=company&company=astrazeneca")


def _issued(role: str) -> str:
    return f"/v1/statements/issued/{NUMBERS.get(role, 'PC-helse-vest-2023Q4-1')}"


def _first_dispensation(api: Api, role: str) -> dict[str, Any]:
    patient = api.get("/v1/patients/IMP-0042", TRIAL).json()
    return {"dispensation": patient["dispensations"][0]["ref"], "packs": 1,
            "dispensed_on": "2023-06-12", "reason": "one pack was returned unopened"}


IMPORTS = {
    MIGRATION: line("RegisterCompany", company_id="import-mig", name="Migrated AS",
                    registered_on="2021-01-04"),
    TRIAL: line("DispenseDrug", patient_id="IMP-0042", packs=1, dispensed_on="2023-08-01"),
    PROC: line("RegisterCompany", company_id="import-proc", name="Imported AS",
               registered_on="2021-01-04"),
    FORUM: line("RecordIntroductionDecision", drug_id="lynparza", decision="introduced",
                case_ref="ID2024_003", indication="breast cancer", decided_on="2024-03-01"),
}
I42, I50 = "/v1/patients/IMP-0042", "/v1/patients/IMP-0050"
SIGNED = 64  # facts in the world when its tree head is signed (the seed and EXTRA)

MATRIX: list[Endpoint] = [
    ep("GET", "/health", PUBLIC),
    ep("GET", "/ready", PUBLIC),
    ep("GET", "/openapi.json", PUBLIC),
    ep("GET", "/v1/me", set(ROLES)),
    ep("GET", "/v1/health-trusts", READERS),
    ep("POST", "/v1/companies", {PROC}, {"company_id": "matrix-co", "name": "Matrix AS",
                                        "registered_on": "2021-01-04"}),
    ep("GET", "/v1/companies", READERS),
    ep("GET", "/v1/companies/astrazeneca", READERS),
    ep("POST", "/v1/drugs", {PROC}, {"drug_id": "matrix-drug", "brand": "Matrix",
                                    "generic": "matrixib", "company_id": "astrazeneca",
                                    "registered_on": "2021-01-04"}),
    ep("GET", "/v1/drugs", READERS),
    ep("GET", "/v1/drugs/lynparza", READERS),
    ep("POST", "/v1/drugs/lynparza/prices", {PROC},
       {"price_per_pack": {"amount": "43000.00", "currency": "NOK"},
        "effective_from": "2024-01-01"}),
    ep("POST", "/v1/drugs/lynparza/introduction-decisions", {FORUM},
       {"decision": "introduced", "case_ref": "ID2024_002", "indication": "prostate cancer",
        "decided_on": "2024-02-01"}),
    ep("POST", "/v1/agreements", {PROC},
       {"agreement_id": "matrix-agreement", "company_id": "astrazeneca",
        "signed_on": "2024-01-01", "grant_per_patient": {"amount": "40000", "currency": "EUR"}}),
    ep("GET", "/v1/agreements", READERS),
    ep("GET", "/v1/agreements/astrazeneca-impress", READERS),
    ep("POST", "/v1/agreements/astrazeneca-impress/contributions", {PROC},
       {"drug_id": "spare-drug", "patient_slots": 10, "effective_from": "2024-01-01"}),
    ep("POST", "/v1/agreements/astrazeneca-impress/amendments", {PROC},
       {"effective_from": "2030-01-01", "reason": "longer company coverage",
        "coverage_weeks": 20}),
    ep("POST", "/v1/cohorts", {TRIAL},
       {"cohort_id": "lynparza-new", "drug_id": "lynparza", "agreement_id": "astrazeneca-impress",
        "indication": "pancreatic cancer", "molecular_profile": "BRCA2", "opened_on": "2024-01-01"}),
    ep("GET", "/v1/cohorts", READERS),
    ep("GET", "/v1/cohorts/olaparib-brca", READERS),
    ep("POST", "/v1/cohorts/lynparza-spare/stage-decisions", {TRIAL},
       {"to_stage": 3, "decided_on": "2024-01-01", "evidence_ref": "DRUP: HRD cohort"}),
    ep("POST", "/v1/cohorts/lynparza-closing/closure", {TRIAL},
       {"closed_on": "2024-01-01", "reason": "no patients found"}),
    ep("POST", "/v1/cohorts/olaparib-brca/exemptions", {FORUM},
       {"exemption_ref": "BF-2024-NEW", "effective_from": "2024-01-01", "decided_on": "2024-01-01"}),
    ep("POST", "/v1/cohorts/olaparib-brca/exemption-revocations", {FORUM},
       {"exemption_ref": "BF-SPARE", "effective_from": "2030-01-01", "reason": "superseded"}),
    ep("POST", "/v1/cohorts/olaparib-brca/permanent-financing", {FORUM},
       {"decision": "introduced", "case_ref": "ID2025_001", "effective_from": "2030-01-01"}),
    ep("POST", "/v1/patients", {TRIAL}, {"patient_id": "IMP-0100", "cohort_id": "olaparib-brca",
                                        "hf_id": "helse-bergen", "enrolled_on": "2023-09-01"}),
    ep("GET", "/v1/patients", PATIENT_READERS),
    ep("GET", I42, PATIENT_READERS),
    ep("POST", "/v1/patients/IMP-0043/treatment-start", {TRIAL}, {"started_on": "2023-08-07"}),
    ep("POST", f"{I50}/treatment-end", {TRIAL}, {"ended_on": "2023-03-01", "reason": "completed"}),
    ep("POST", f"{I42}/transfers", {TRIAL}, {"to_hf": "helse-bergen", "effective_from": "2024-01-15"}),
    ep("POST", f"{I50}/assessments", {TRIAL}, {"assessed_on": "2022-06-27",
                                               "outcome": "stable_disease"}),
    ep("POST", f"{I42}/dispensations", {TRIAL}, {"packs": 1, "dispensed_on": "2023-07-10"}),
    ep("POST", f"{I42}/corrections/treatment-start", {TRIAL},
       {"started_on": "2023-06-11", "reason": "first dose was on the 11th"}),
    ep("POST", f"{I42}/corrections/assessment", {TRIAL},
       {"assessed_on": "2023-09-28", "outcome": "objective_response", "reason": "report revised"}),
    ep("POST", "/v1/patients/IMP-0044/corrections/treatment-end", {TRIAL},
       {"ended_on": "2022-09-08", "ended_reason": "toxicity", "reason": "typed the wrong week"}),
    ep("POST", f"{I42}/corrections/enrolment-hf", {TRIAL},
       {"hf_id": "helse-fonna", "reason": "enrolled at Haugesund"}),
    ep("POST", f"{I42}/corrections/dispensation", {TRIAL}, _first_dispensation),
    ep("POST", "/v1/patients/IMP-0044/grant/invoices", {TRIAL},
       {"invoice_ref": "HB-2022-0200", "invoiced_on": "2022-04-01"}),
    ep("POST", f"{I50}/grant/payments", {TRIAL, PARTNER}, lambda api, role: {
        "payment_ref": f"PAY-{role}", "amount": {"amount": "1000.00", "currency": "NOK"},
        "paid_on": "2022-05-01"}),
    ep("GET", f"{I42}/payer?on=2023-10-02", PATIENT_READERS),
    ep("GET", f"{I42}/timeline", PATIENT_READERS),
    ep("GET", "/v1/payers?on=2023-10-02", PATIENT_READERS),
    ep("GET", f"{I42}/history", PATIENT_READERS),
    ep("GET", "/v1/cohorts/olaparib-brca/history", READERS),
    ep("GET", "/v1/agreements/astrazeneca-impress/history", READERS),
    ep("GET", "/v1/log", {AUDITOR}),
    ep("GET", "/v1/audit/digest", {AUDITOR}),
    ep("GET", "/v1/audit/verify", {AUDITOR}),
    ep("GET", f"/v1/audit{I42[3:]}/history?format=csv", {AUDITOR}),
    ep("GET", "/v1/audit/cohorts/olaparib-brca/history", {AUDITOR}),
    ep("GET", "/v1/audit/agreements/astrazeneca-impress/history", {AUDITOR}),
    ep("GET", "/v1/audit/replay?on=2023-10-02", {AUDITOR}),
    ep("GET", "/v1/statements/company?from=2023-01-01&to=2023-12-31", STATEMENT_READERS),
    ep("GET", "/v1/statements/public-cost?from=2023-01-01&to=2023-12-31&format=csv&table=patients",
       STATEMENT_READERS),
    ep("GET", "/v1/statements/company/restatement?from=2023-01-01&to=2023-12-31"
       "&issued_position=30", STATEMENT_READERS),
    ep("GET", "/v1/statements/public-cost?period=2023Q4", STATEMENT_READERS),
    ep("POST", "/v1/statements/issued", {PROC, RHF}, _own_period),
    ep("POST", "/v1/statements/closures", {PROC, RHF}, _own_period),
    ep("GET", "/v1/statements/books", STATEMENT_READERS, by_role=_own_book),
    ep("GET", "/v1/statements/issued/{number}", STATEMENT_READERS, by_role=_issued),
    ep("GET", "/v1/statements/issued/{number}/restatement", STATEMENT_READERS,
       by_role=lambda role: _issued(role) + "/restatement"),
    # Bundles (ADR 0023): the world's head was signed before these statements were issued, so
    # every reader gets as far as "not yet signed"; procurement sees no patient, so a
    # statement naming patients is not given to it as a bundle.
    ep("GET", "/v1/statements/issued/{number}/bundle", STATEMENT_READERS,
       by_role=lambda role: _issued(role) + "/bundle", ok=409),
    ep("GET", "/v1/statements/issued/{number}/restatement/bundle", STATEMENT_READERS,
       by_role=lambda role: _issued(role) + "/restatement/bundle", ok=409),
    ep("GET", "/v1/statements/company/bundle?period=2023H1", {RHF, PARTNER, AUDITOR}),
    ep("POST", "/v1/statements/reopenings", {PROC, RHF},
       lambda api, role: {**_own_period(api, role), "reason": "an invoice came late"}),
    ep("GET", "/v1/worklist?format=xlsx", STATEMENT_READERS | {TRIAL}),
    ep("GET", "/v1/upcoming?on=2023-09-01", STATEMENT_READERS | {TRIAL}),
    ep("POST", "/v1/imports", {MIGRATION, TRIAL, PROC, FORUM},
       lambda api, role: IMPORTS.get(role, IMPORTS[MIGRATION])),
    # Proofs (ADR 0019): the world's head signs its first SIGNED facts; position 1 is a
    # health trust, which every reader may see.
    ep("GET", "/v1/proofs/heads", set(ROLES)),
    ep("GET", "/v1/proofs/heads/latest", set(ROLES)),
    ep("GET", f"/v1/proofs/heads/{SIGNED}", set(ROLES)),
    ep("GET", "/v1/proofs/keys", set(ROLES)),
    ep("GET", "/v1/proofs/inclusion?position=1", READERS),
    ep("GET", "/v1/proofs/consistency?first=1", set(ROLES)),
    ep("POST", "/v1/tick", {SCHEDULER}, ok=200),  # idempotent: it may record nothing
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    api = Api(settings_for(Path(tmp_path_factory.mktemp("matrix"))))
    api.seed(EXTRA)
    key = SigningKey(Ed25519PrivateKey.generate())
    assert heads.sign(api.ledger, key, SYSTEM).signed.head.tree_size == SIGNED
    yield api
    api.close()


def expected(endpoint: Endpoint, role: str | None) -> int:
    if endpoint.allowed == PUBLIC:
        return 200
    if role is None:
        return 401
    if role not in endpoint.allowed:
        return 403
    return endpoint.ok or (200 if endpoint.method == "GET" else 201)


@pytest.mark.parametrize("endpoint", MATRIX, ids=[f"{e.method} {e.path}" for e in MATRIX])
def test_each_role_gets_the_answer_the_table_says(world: Api, endpoint: Endpoint) -> None:
    wrong = {}
    for role in (*ROLES, None):
        answer = endpoint.request(world, role)
        if answer.status_code != expected(endpoint, role):
            wrong[role] = (answer.status_code, answer.text[:300])
        if answer.status_code >= 400:
            assert answer.headers["content-type"] == "application/problem+json"
    assert not wrong, wrong


def test_the_matrix_covers_every_operation_of_the_api(world: Api) -> None:
    documented = {(m.upper(), p) for p, ops in world.app.openapi()["paths"].items() for m in ops}
    covered = {(e.method, _template(e.path)) for e in MATRIX}
    assert documented - covered == set()
    assert len(MATRIX) * (len(ROLES) + 1) == 77 * 9  # 66 before issue 13, 74 before bundles


def _template(path: str) -> str:
    path = path.split("?")[0].replace("/company/restatement", "/{kind}/restatement").replace(
        "/company/bundle", "/{kind}/bundle")
    for concrete, name in (("IMP-0042", "{patient_id}"), ("IMP-0043", "{patient_id}"),
                           ("IMP-0044", "{patient_id}"), ("IMP-0050", "{patient_id}"),
                           ("/companies/astrazeneca", "/companies/{company_id}"),
                           ("/drugs/lynparza", "/drugs/{drug_id}"),
                           ("/agreements/astrazeneca-impress", "/agreements/{agreement_id}"),
                           ("/cohorts/olaparib-brca", "/cohorts/{cohort_id}"),
                           ("/cohorts/lynparza-spare", "/cohorts/{cohort_id}"),
                           ("/cohorts/lynparza-closing", "/cohorts/{cohort_id}"),
                           (f"/heads/{SIGNED}", "/heads/{tree_size}")):
        path = path.replace(concrete, name)
    return path
