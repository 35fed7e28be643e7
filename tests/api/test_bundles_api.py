"""Statement bundles over HTTP, on the demo history, on SQLite and PostgreSQL (ADR 0023): a partner
downloads its own issued statement, period or span as a bundle and verifies it offline; another
partner, asking for it, is told "not found, or not yours" exactly as for a number that does not
exist; an RHF officer's bundle withholds other regions' facts; nothing is provable before a head
is signed (404) or beyond the latest head (409); a statement naming patients the caller may not
see is not given as a bundle (403); a partner's archived heads are carried as consistency
proofs; `earlier=` gives a bundle resting on one the partner kept (impress-bundle-v3), and 422
`unknown-earlier-head` for a size no head has or one after the statement."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from application.demo import load_demo
from audit import heads
from domain.tree import SignedHead
from domain.values import Actor
from proofs.bundle import Bundle
from proofs.check_bundle import check_bundle
from proofs.keys import SigningKey
from proofs.store import Store
from tests.api.support import Api, settings_for

OPERATOR = Actor(subject="cli:operator", role="auditor", organisation="local")
KEY = SigningKey(Ed25519PrivateKey.generate())
TRUSTED = {KEY.key_id: KEY.public_raw}


@pytest.fixture
def demo(tmp_path: Path, database_url: str) -> Iterator[Api]:
    api = Api(settings_for(tmp_path, database_url))
    load_demo(api.ledger)
    yield api
    api.close()


def sign(api: Api) -> SignedHead:
    return heads.sign(api.ledger, KEY, OPERATOR).signed


def problem(answer: Any) -> str:
    assert answer.headers["content-type"] == "application/problem+json", answer.text
    return str(answer.json()["type"].rsplit("/", 1)[1])


def bundle(answer: Any) -> Bundle:
    assert answer.status_code == 200, answer.text
    return Bundle.from_dict(answer.json())


def test_a_partner_downloads_its_statements_as_bundles_that_verify_offline(demo: Api) -> None:
    number = demo.issue("procurement", "company", "2024H1", company="roche-norge")
    assert problem(demo.get(f"/v1/statements/issued/{number}/bundle", "partner",
                            org="roche-norge")) == "no-signed-head"
    sign(demo)
    for url in (f"/v1/statements/issued/{number}/bundle",
                "/v1/statements/company/bundle?period=2024Q1",
                "/v1/statements/company/bundle?from=2021-01-01&to=2025-12-31&by=month"):
        found = bundle(demo.get(url, "partner", org="roche-norge"))
        out = check_bundle(found, TRUSTED)
        assert {e.fact["stream"].partition("/")[0] for e in found.facts} >= {"patient", "drug"}
        assert "roche-norge" in " ".join(out)


def test_another_partner_is_told_not_found_or_not_yours(demo: Api) -> None:
    number = demo.issue("procurement", "company", "2024H1", company="roche-norge")
    sign(demo)
    theirs = demo.get(f"/v1/statements/issued/{number}/bundle", "partner", org="novartis-norge")
    none = demo.get("/v1/statements/issued/CO-roche-norge-2024H1-7/bundle", "partner",
                    org="novartis-norge")  # a number never issued, in the same book
    assert theirs.status_code == none.status_code == 404
    assert problem(theirs) == problem(none) == "not-found-or-not-yours"
    assert theirs.json()["detail"] == none.json()["detail"].replace("-7", "-1")
    asked = demo.get("/v1/statements/company/bundle?period=2024Q1&company=roche-norge",
                     "partner", org="novartis-norge")
    assert asked.status_code == 404 and "not yours" in asked.json()["detail"]
    assert "IMP-" not in theirs.text + asked.text


def test_an_rhf_officers_bundle_withholds_other_regions_facts(demo: Api) -> None:
    number = demo.issue("rhf_finance", "public-cost", "2024Q1", rhf="helse-vest")
    sign(demo)
    found = bundle(demo.get(f"/v1/statements/issued/{number}/bundle", "rhf_finance",
                            org="helse-vest"))
    assert found.withheld
    out = check_bundle(found, TRUSTED)
    assert any("withheld" in line for line in out)


def test_beyond_the_latest_head_answers_409_and_a_statement_naming_hidden_patients_403(
        demo: Api) -> None:
    sign(demo)
    number = demo.issue("procurement", "company", "2024H1", company="astrazeneca")
    answer = demo.get(f"/v1/statements/issued/{number}/bundle", "partner", org="astrazeneca")
    assert answer.status_code == 409 and problem(answer) == "not-yet-signed"
    answer = demo.get("/v1/statements/company/bundle?period=2024Q1&position=5000", "partner",
                      org="astrazeneca")
    assert answer.status_code == 409
    answer = demo.get("/v1/statements/company/bundle?period=2024Q1&company=astrazeneca",
                      "procurement")
    assert answer.status_code == 403 and problem(answer) == "forbidden"


def test_a_bundle_carries_consistency_from_the_heads_the_partner_archived(demo: Api) -> None:
    archived = sign(demo)
    demo.issue("procurement", "company", "2024H1", company="astrazeneca")
    latest = sign(demo)
    size = archived.head.tree_size
    found = bundle(demo.get(f"/v1/statements/company/bundle?period=2024H1&archived={size}",
                            "partner", org="astrazeneca"))
    assert found.head == latest and [p.first for p in found.consistency] == [size]
    out = check_bundle(found, TRUSTED, [archived])
    assert any(f"facts 1..{size} unchanged" in line for line in out)
    restated = bundle(demo.get(
        f"/v1/statements/issued/CO-astrazeneca-2024H1-1/restatement/bundle?archived={size}",
        "partner", org="astrazeneca"))
    assert restated.restatement is not None
    check_bundle(restated, TRUSTED, [archived])


def test_a_partner_downloads_a_quarter_resting_on_the_one_it_verified_and_kept(
        demo: Api, tmp_path: Path) -> None:
    earlier = sign(demo).head.tree_size
    store = Store.open(tmp_path / "store.db", create=True)
    kept = bundle(demo.get("/v1/statements/company/bundle?period=2024Q1", "partner",
                           org="roche-norge"))
    check_bundle(kept, TRUSTED, store=store)
    demo.issue("procurement", "company", "2024H1", company="roche-norge")
    sign(demo)
    url = "/v1/statements/company/bundle?period=2024Q2"
    whole = bundle(demo.get(url, "partner", org="roche-norge"))
    answer = demo.get(f"{url}&earlier={earlier}", "partner", org="roche-norge")
    assert answer.json()["format"] == "impress-bundle-v3"
    resting = bundle(answer)
    assert resting.earlier is not None and resting.earlier.known_at == earlier
    assert len(resting.facts) < len(whole.facts) and resting.lines == whole.lines
    assert check_bundle(resting, TRUSTED, store=store)[-2] == check_bundle(whole, TRUSTED)[-1]
    for wrong, why in ((earlier - 1, "signed no head of"), (10**6, "lies after the position")):
        answer = demo.get(f"{url}&earlier={wrong}", "partner", org="roche-norge")
        assert answer.status_code == 422 and problem(answer) == "unknown-earlier-head"
        assert why in answer.json()["detail"]
    answer = demo.get(f"{url}&earlier=0", "partner", org="roche-norge")
    assert answer.status_code == 422
