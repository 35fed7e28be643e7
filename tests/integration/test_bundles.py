"""Statement bundles on the demo history, on SQLite and PostgreSQL (ADR 0023): every partner's
company statement, as issued and as asked for, verifies offline from its own facts alone, built
from the read models or from a replay; an issued statement that carries a closed quarter's
adjustments, and its restatement, verify too; an RHF's bundle withholds other regions' facts and
still verifies; a partner that archived a head catches a log rewritten after it; and a partner's
bundle, whole or resting on an earlier one, holds no fact of anyone else."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import pytest

from application.demo import load_demo
from application.ledger import Ledger
from audit import bundles, proofs
from domain import commands as c
from domain.books import BookKey, StatementKind
from domain.statements.period import Period
from domain.statements.scope import Scope
from domain.statements.bundled import Spec
from projections.whopays import WhoPaysView, catch_up
from proofs.bundle import Bundle
from proofs.check import Failed
from proofs.check_bundle import check_bundle
from reports.readmodels import ReadModelSources
from tests.bundle_support import (BUYER, COMPANIES, Signed, company_book, late_enrolment,
                                  officer, partner)
from tests.integration.test_tamper import rechain, tampering

VEST = BookKey.of("public-cost", "rhf", "helse-vest")
WHOLE = Period(date(2021, 1, 1), date(2025, 12, 31))


@pytest.fixture
def demo(database_url: str) -> Iterator[Signed]:
    ledger = Ledger.open(database_url)
    load_demo(ledger)
    yield Signed(ledger)
    ledger.close()


def verified(signed: Signed, bundle: Bundle, **archived: object) -> list[str]:
    return check_bundle(bundle, signed.keys, **archived)  # type: ignore[arg-type]


def read_models(ledger: Ledger) -> Iterator[ReadModelSources]:
    view = WhoPaysView(ledger.log.url)
    try:
        catch_up(ledger, view)
        yield ReadModelSources(view, ledger.log)
    finally:
        view.close()


def test_every_partners_company_statement_bundle_verifies_from_its_own_facts(demo: Signed) -> None:
    numbers = {co: demo.issue(company_book(co), "2024H1", BUYER) for co in COMPANIES}
    demo.sign()
    for models in read_models(demo.ledger):
        for company in COMPANIES:
            for sources in (None, models):  # a replay of the log, and the read models
                issued = demo.issued(partner(company), numbers[company], sources=sources)
                out = verified(demo, issued)
                assert f"{numbers[company]}: these are the lines the ledger issued" in out[-1]
                # written as bundles always were (the API, the CLI and the benchmark write this)
                assert issued.to_json() == json.dumps(issued.to_dict(), ensure_ascii=False)
                assert issued.lines  # every partner owes something in the first half of 2024
            for bundle in (demo.company(company, label="2023H1"),
                           demo.company(company, period=WHOLE)):
                assert "lines recomputed from the bundle's facts" in verified(demo, bundle)[-1]


def test_a_partners_bundle_holds_only_its_own_facts(demo: Signed) -> None:
    earlier = demo.sign().signed.head.tree_size
    late_enrolment(demo, "roche-norge", Period(date(2024, 4, 1), date(2024, 6, 30)))
    demo.sign()
    ws = demo.ledger.workspace()
    owner: dict[str, str] = {}  # stream -> company, from the ledger's own states
    for stream in demo.ledger.log.streams(""):
        kind, _, name = stream.partition("/")
        if kind == "patient":
            owner[stream] = ws.agreement(ws.patient(name).agreement_id).company_id
        elif kind == "cohort":
            owner[stream] = ws.agreement(ws.cohort(name).agreement_id).company_id
        elif kind == "agreement":
            owner[stream] = ws.agreement(name).company_id
        elif kind == "drug":
            owner[stream] = ws.drug(name).company_id
        elif kind == "company":
            owner[stream] = name
    foreign_patients = {co: {s.partition("/")[2] for s, o in owner.items()
                             if s.startswith("patient/") and o != co} for co in COMPANIES}
    for company in COMPANIES:  # whole, and resting on the partner's bundle at the first head
        for bundle in (demo.company(company, period=WHOLE),
                       demo.company(company, period=WHOLE, earlier=earlier)):
            streams = {e.fact["stream"] for e in bundle.facts}
            if bundle.earlier is not None:
                assert bundle.earlier.streams
                streams |= set(bundle.earlier.streams)
            assert {owner.get(s, company) for s in streams} == {company}
            assert streams - set(owner) <= {"registry/health-trusts"}
            text = str(bundle.to_dict())
            assert not [p for p in foreign_patients[company] if p in text]
            assert not [co for co in COMPANIES if co != company and co in text]


def test_an_issued_statement_with_adjustments_and_its_restatement_verify(demo: Signed) -> None:
    vest = officer("helse-vest")
    q1 = demo.issue(VEST, "2024Q1", vest)
    demo.close(VEST, "2024Q1", vest)
    late = demo.record(c.DispenseDrug(patient_id="IMP-0027", packs=2,
                                      dispensed_on=date(2024, 2, 20)))
    q2 = demo.issue(VEST, "2024Q2", vest)
    demo.sign()
    carried = demo.issued(vest, q2)
    adjustments = [x for x in carried.lines if x.line.section == "adjustment"]
    assert adjustments and {x.line.key[2] for x in adjustments} == {str(late)}
    out = verified(demo, carried)
    assert any(f"{q2}: these are the lines the ledger issued" in line for line in out)
    restated = demo.issued(vest, q1, restated=True)
    assert restated.restatement is not None
    assert [f["position"] for f in restated.restatement["facts"]] == [late]
    out = verified(demo, restated)
    assert any("1 facts that changed them" in line for line in out)
    assert any(line.startswith("NOTE the recorded time") for line in out)


def test_a_restatement_of_slots_used_names_the_late_enrolment_and_verifies(
        demo: Signed) -> None:
    # An agreement line rests on the agreement's stream alone (ADR 0024); its restatement
    # names the enrolment that changed it, so the bundle holds that patient's streams too.
    number = demo.issue(company_book("roche-norge"), "2024H1", BUYER)
    late_enrolment(demo, "roche-norge", Period(date(2024, 1, 1), date(2024, 6, 30)))
    demo.sign()
    restated = demo.issued(partner("roche-norge"), number, restated=True)
    assert restated.restatement is not None
    changed = [ch for ch in restated.restatement["changes"] if ch["section"] == "agreement"]
    assert changed and all(ch["patients"] == ["IMP-0999"] for ch in changed)
    assert "patient/IMP-0999" in [f["stream"] for f in restated.restatement["facts"]]
    out = verified(demo, restated)
    assert any("facts that changed them" in line for line in out)
    doc = restated.to_dict()  # the late patient's own facts left out, the rest proved anew
    doc["facts"] = [e for e in doc["facts"] if e["fact"]["stream"] != "patient/IMP-0999"]
    doc["multiproof"] = list(proofs.multiproof(
        demo.ledger.log, [e["fact"]["position"] for e in doc["facts"]],
        doc["head"]["tree_size"])[1])
    with pytest.raises(Failed, match="names IMP-0999, of whom the bundle holds no enrolment"):
        verified(demo, Bundle.from_dict(doc))


def test_an_rhf_bundle_withholds_other_regions_facts_and_still_verifies(demo: Signed) -> None:
    demo.sign()
    for rhf in ("helse-vest", "helse-sor-ost", "helse-nord"):
        spec = bundles.asked_spec(demo.ledger, StatementKind.PUBLIC_COST, Scope.rhf(rhf), period=WHOLE)
        bundle = demo.bundle(officer(rhf), spec)
        assert bundle.withheld  # other regions' admissions to a shared cohort
        out = verified(demo, bundle)
        assert out[-1].startswith("NOTE") and "withheld" in out[-1]
    spec = bundles.asked_spec(demo.ledger, StatementKind.PUBLIC_COST,
                              Scope.hf("helse-bergen", "helse-vest"), period=WHOLE)
    bergen = demo.bundle(officer("helse-vest"), spec)
    assert bergen.lines and verified(demo, bergen)
    moved = bergen.to_dict()
    moved["statement"]["scope"]["region"] = "helse-nord"  # judged by another region's rows
    with pytest.raises(Failed, match="the registry puts it in helse-vest"):
        verified(demo, Bundle.from_dict(moved))


def test_a_log_rewritten_after_the_partner_archived_a_head_fails_the_bundle(demo: Signed) -> None:
    archived = demo.sign().signed
    size = archived.head.tree_size
    before = demo.company("roche-norge", label="2024H1")
    refs = {x.line.key[0] for x in before.lines if x.line.section == "dispensation"}
    fact = next(e.fact for e in before.facts
                if f"{e.fact['stream']}@{e.fact['version']}" in refs and e.fact["data"]["packs"] > 1)
    dispensed = fact["position"]
    with tampering(demo.ledger.log) as t:  # the packs of a dispensation at the company's cost
        state = t.state(dispensed)
        edited = state.replace(f'"packs":{fact["data"]["packs"]}'.encode(), b'"packs":1')
        assert edited != state
        t.set_state(dispensed, edited)
        rechain(demo.ledger.log, t, dispensed)  # a fresh chain and tree from there on
    demo.record(c.DispenseDrug(patient_id="IMP-0027", packs=1, dispensed_on=date(2024, 3, 1)))
    demo.ledger = Ledger(demo.ledger.log)  # no state cached from before the rewrite
    demo.sign()
    after = demo.company("roche-norge", label="2024H1")
    verified(demo, after)  # alone, the rewritten log proves itself...
    assert after.lines != before.lines
    with pytest.raises(Failed, match=f"history up to position {size} was rewritten"):
        verified(demo, demo.bundle(partner("roche-norge"), Spec.from_dict(after.statement),
                                   archived=[size]), archived=[archived])


def test_a_bundle_of_a_statement_naming_others_patients_is_refused(demo: Signed) -> None:
    demo.sign()
    spec = bundles.asked_spec(demo.ledger, StatementKind.COMPANY, Scope.company("roche-norge"),
                              period=WHOLE)
    with pytest.raises(bundles.NotWhole):
        demo.bundle(BUYER, spec)  # procurement reads no patient
