"""Proofs over HTTP (/v1/proofs): heads, keys and consistency proofs for every role; inclusion
proofs only of facts the actor may see, anything else 404 as if the position held nothing; and
every document verifies offline, as `impress-verify` checks it."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import heads
from domain.tree import SignedHead
from domain.values import Actor
from proofs.check import check_consistency, check_inclusion
from proofs.documents import ConsistencyProof, InclusionProof
from tests.api.support import Api

KEY_OWNER = Actor(subject="cli:operator", role="auditor", organisation="local")
ROLES = ("trial_office", "procurement", "decision_forum", "rhf_finance", "partner", "auditor",
         "migration")


def sign(api: Api) -> SignedHead:
    from proofs.keys import SigningKey

    key = getattr(api, "head_key", None) or SigningKey(Ed25519PrivateKey.generate())
    api.head_key = key  # type: ignore[attr-defined]
    return heads.sign(api.ledger, key, KEY_OWNER).signed


def trusted(api: Api) -> dict[str, bytes]:
    keys = api.get("/v1/proofs/keys", "partner").json()
    return {k["key_id"]: bytes.fromhex(k["public_key"]) for k in keys["keys"]}


def problem_type(answer: Any) -> str:
    assert answer.headers["content-type"] == "application/problem+json"
    return str(answer.json()["type"].rsplit("/", 1)[1])


def test_every_role_reads_the_heads_the_keys_and_consistency_proofs(api: Api) -> None:
    first = sign(api)
    api.post("/v1/patients/IMP-0042/dispensations", "trial_office",
             {"packs": 1, "dispensed_on": "2023-07-10"})
    second = sign(api)
    for role in ROLES:
        latest = api.get("/v1/proofs/heads/latest", role)
        assert latest.status_code == 200 and SignedHead.from_dict(latest.json()) == second
        listed = api.get("/v1/proofs/heads", role).json()["heads"]
        assert [SignedHead.from_dict(h) for h in listed] == [first, second]
        earlier = api.get(f"/v1/proofs/heads/{first.head.tree_size}", role).json()
        assert SignedHead.from_dict(earlier) == first
        answer = api.get(f"/v1/proofs/consistency?first={first.head.tree_size}", role)
        assert answer.status_code == 200
        check_consistency(second, [first], [ConsistencyProof.from_dict(answer.json())],
                          trusted(api))


def visible_ids(api: Api, role: str, org: str) -> dict[str, set[str]]:
    """What the tenant sees through the ordinary read routes (test_tenancy pins those)."""
    def ids(path: str, key: str) -> set[str]:
        answer = api.get(path, role, org=org)
        return {x[key] for x in answer.json()} if answer.status_code == 200 else set()

    return {"company": ids("/v1/companies", "company_id"), "drug": ids("/v1/drugs", "drug_id"),
            "agreement": ids("/v1/agreements", "agreement_id"),
            "cohort": ids("/v1/cohorts", "cohort_id"),
            "patient": ids("/v1/patients", "patient_id")}


def named(value: Any, key: str | None = None) -> set[tuple[str, str]]:
    """(kind, id) of everything a fact's data names: ids in *_id members and references."""
    found: set[tuple[str, str]] = set()
    if isinstance(value, dict):
        for k, item in value.items():
            found |= named(item, k)
    elif isinstance(value, list):
        for item in value:
            found |= named(item, key)
    elif isinstance(value, str):
        kind = (key or "").removesuffix("_id")
        if key and key.endswith("_id") and kind in ("company", "drug", "agreement", "cohort",
                                                    "patient"):
            found.add((kind, value))
        if "/" in value and "@" in value:
            kind, _, rest = value.partition("/")
            found.add((kind, rest.partition("@")[0]))
    return found


@pytest.mark.parametrize(("role", "org"), [("partner", "astrazeneca"),
                                           ("partner", "roche-norge"),
                                           ("rhf_finance", "helse-nord"),
                                           ("rhf_finance", "helse-vest")])
def test_a_tenant_gets_proofs_exactly_of_the_facts_it_may_see(any_db_api: Api, role: str,
                                                              org: str) -> None:
    api = any_db_api
    head = sign(api)
    keys, seen = trusted(api), visible_ids(api, role, org)
    allowed = {(kind, i) for kind, ids in seen.items() for i in ids}
    proved = refused = 0
    for position in range(1, head.head.tree_size + 1):
        answer = api.get(f"/v1/proofs/inclusion?position={position}", role, org=org)
        everything = api.get(f"/v1/proofs/inclusion?position={position}", "auditor").json()
        fact = everything["fact"]
        kind, _, identifier = fact["stream"].partition("/")
        mine = kind in ("registry",) or (
            (kind, identifier) in allowed
            and {n for n in named(fact["data"]) if n[0] != "registry"} <= allowed | {
                ("company", c) for c in seen["company"]})
        if role == "rhf_finance" and kind != "patient":  # its region's patients; parties all
            mine = kind in ("registry", "company", "drug", "agreement", "cohort") and {
                n for n in named(fact["data"]) if n[0] == "patient"} <= allowed
        if mine:
            assert answer.status_code == 200, (position, fact["stream"], answer.text)
            check_inclusion(InclusionProof.from_dict(answer.json()), None, keys)
            proved += 1
        else:
            assert answer.status_code == 404, (position, fact["stream"], fact["data"])
            assert problem_type(answer) == "not-found"
            assert str(position) in answer.json()["detail"] and fact["stream"] not in answer.text
            refused += 1
    assert proved and refused, (proved, refused)


def test_a_partner_asking_for_another_partners_fact_gets_what_a_missing_position_gets(
        api: Api) -> None:
    sign(api)
    roche = next(f for f in api.ledger.history("patient/IMP-0007"))
    theirs = api.get(f"/v1/proofs/inclusion?position={roche.position}", "partner",
                     org="astrazeneca")
    nothing = api.get("/v1/proofs/inclusion?position=999999", "partner", org="astrazeneca")
    assert theirs.status_code == nothing.status_code == 404
    assert problem_type(theirs) == problem_type(nothing) == "not-found"
    own = api.get(f"/v1/proofs/inclusion?position={roche.position}", "partner",
                  org="roche-norge")
    assert own.status_code == 200 and own.json()["fact"]["stream"] == "patient/IMP-0007"


def test_sizes_the_log_or_the_heads_do_not_have_are_refused_clearly(api: Api) -> None:
    assert problem_type(api.get("/v1/proofs/heads/latest", "partner")) == "no-signed-head"
    assert problem_type(api.get("/v1/proofs/inclusion?position=1", "auditor")) == \
        "no-signed-head"
    head = sign(api).head
    api.post("/v1/patients/IMP-0042/dispensations", "trial_office",
             {"packs": 1, "dispensed_on": "2023-07-10"})
    later = api.ledger.log.head()
    assert problem_type(api.get(f"/v1/proofs/inclusion?position={later}", "auditor")) == \
        "not-yet-signed"
    unsigned = api.get(f"/v1/proofs/inclusion?position={later}&tree_size={later}", "auditor")
    assert unsigned.status_code == 200 and unsigned.json()["head"] is None
    too_big = api.get(f"/v1/proofs/inclusion?position=1&tree_size={later + 1}", "auditor")
    assert problem_type(too_big) == "tree-size-out-of-range" and too_big.status_code == 422
    backwards = api.get(f"/v1/proofs/consistency?first={head.tree_size}&second=3", "partner")
    assert problem_type(backwards) == "tree-size-out-of-range"
    assert problem_type(api.get("/v1/proofs/heads/5", "partner")) == "no-signed-head"
    assert api.get("/v1/proofs/inclusion?position=1", "migration").status_code == 403
    assert api.get("/v1/proofs/inclusion?position=0", "auditor").status_code == 422
