"""Property-based API testing with schemathesis against the app's own OpenAPI document.

Every operation gets schema-valid and schema-breaking requests, plus valid ones aimed at ids
that exist (so requests reach the ledger's rules, not only the 404 of a random id). The token
is the trial office's, the role that reaches the most endpoints; operations it may not use get
a token of a role that may (the role x endpoint matrix is test_role_matrix's job). The ledger
holds the example history. Asserted: no 5xx; every status code, content type and body as
documented. At least 1 000 requests in all.
"""

from __future__ import annotations

from pathlib import Path

import schemathesis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from audit import heads
from proofs.keys import SigningKey
from tests.api.support import SYSTEM, Api, settings_for

EXAMPLES_PER_OPERATION = 30
MINIMUM_REQUESTS = 1000
SIGNED = 51  # facts of the example history: the size of the tree head signed after it
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection]
KNOWN = {"patient_id": ["IMP-0042", "IMP-0050", "IMP-0007"], "cohort_id": ["olaparib-brca",
         "olaparib-prostate"], "drug_id": ["lynparza"], "agreement_id": ["astrazeneca-impress"],
         "company_id": ["astrazeneca"], "kind": ["company", "public-cost"],
         "tree_size": [SIGNED, 1, SIGNED + 1],
         "number": ["PC-helse-vest-2023Q4-1", "CO-astrazeneca-2023H1-1", "PC-helse-vest-2023Q4-9"]}
ROLE = {
    "POST /v1/companies": "procurement", "POST /v1/drugs": "procurement",
    "POST /v1/drugs/{drug_id}/prices": "procurement", "POST /v1/agreements": "procurement",
    "POST /v1/agreements/{agreement_id}/contributions": "procurement",
    "POST /v1/agreements/{agreement_id}/amendments": "procurement",
    "POST /v1/drugs/{drug_id}/introduction-decisions": "decision_forum",
    "POST /v1/cohorts/{cohort_id}/exemptions": "decision_forum",
    "POST /v1/cohorts/{cohort_id}/exemption-revocations": "decision_forum",
    "POST /v1/cohorts/{cohort_id}/permanent-financing": "decision_forum",
    "GET /v1/log": "auditor", "POST /v1/imports": "migration",
    "GET /v1/audit/digest": "auditor", "GET /v1/audit/verify": "auditor",
    "GET /v1/audit/patients/{patient_id}/history": "auditor",
    "GET /v1/audit/cohorts/{cohort_id}/history": "auditor",
    "GET /v1/audit/agreements/{agreement_id}/history": "auditor", "GET /v1/audit/replay": "auditor",
    "GET /v1/statements/company": "auditor", "GET /v1/statements/public-cost": "auditor",
    "GET /v1/statements/{kind}/restatement": "auditor",
    "POST /v1/statements/issued": "rhf_finance", "POST /v1/statements/closures": "rhf_finance",
    "POST /v1/statements/reopenings": "rhf_finance", "GET /v1/statements/books": "auditor",
    "GET /v1/statements/issued/{number}": "auditor",
    "GET /v1/statements/issued/{number}/restatement": "auditor", "POST /v1/tick": "scheduler",
    "GET /v1/statements/issued/{number}/bundle": "auditor",
    "GET /v1/statements/issued/{number}/restatement/bundle": "auditor",
    "GET /v1/statements/{kind}/bundle": "auditor",
}

schemathesis.serializer.alias("application/x-ndjson", "text/plain")


def cases(operation: schemathesis.APIOperation) -> st.SearchStrategy[schemathesis.Case]:
    names = [p.name for p in operation.path_parameters]
    known = [operation.as_strategy(GenerationMode.POSITIVE, path_parameters={n: KNOWN[n][i % len(
        KNOWN[n])] for n in names}) for i in range(3)] if names else []
    return st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                     operation.as_strategy(GenerationMode.NEGATIVE), *known)


def test_generated_requests_never_get_a_5xx_or_an_undocumented_answer(tmp_path: Path) -> None:
    api = Api(settings_for(tmp_path))
    api.seed()
    assert heads.sign(api.ledger, SigningKey(Ed25519PrivateKey.generate()),
                      SYSTEM).signed.head.tree_size == SIGNED
    # issued statements for the number routes (KNOWN), after the head is signed
    api.issue("rhf_finance", "public-cost", "2023Q4", rhf="helse-vest")
    api.issue("procurement", "company", "2023H1", company="astrazeneca")
    # The token is ours to send: generating Authorization headers would only test the 401 path.
    config = SchemathesisConfig.from_dict({"generation": {"with-security-parameters": False}})
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app, config=config)
    sent: dict[str, int] = {}
    statuses: dict[int, int] = {}

    for result in schema.get_all_operations():
        operation = result.ok()
        token = api.token(ROLE.get(operation.label, "trial_office"))

        @given(case=cases(operation))
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  derandomize=True, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def exercise(case: schemathesis.Case) -> None:
            sent[operation.label] = sent.get(operation.label, 0) + 1  # noqa: B023 - called at once
            response = case.call_and_validate(headers={"Authorization": f"Bearer {token}"},  # noqa: B023
                                              checks=CHECKS)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        exercise()

    api.close()
    operations = sum(len(methods) for methods in api.app.openapi()["paths"].values())
    assert len(sent) == operations
    print(f"schemathesis: {sum(sent.values())} requests over {operations} operations; "
          f"answers by status: {dict(sorted(statuses.items()))}")
    assert sum(sent.values()) >= MINIMUM_REQUESTS, sent
    assert statuses.get(500, 0) == 0
