"""On random national histories (the benchmark's generator: several companies, agreements and
cohorts, every health trust, late and corrected facts, ticks; a seed drawn by hypothesis), on
SQLite and PostgreSQL: every partner's company statement bundle verifies from its own facts
alone and holds nothing of another partner, and every RHF's public-cost bundle verifies with
other regions' facts withheld (ADR 0023). Cut anywhere (a head signed at a drawn point of the
history, each partner's bundle verified into its store there), a bundle resting on the earlier
one (impress-bundle-v3, ADR 0031) holds nothing of another partner either, and the store and it
give exactly the whole bundle's facts and figures."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application.ledger import Ledger
from audit import bundles
from bench.generate import Size, steps
from bench.ingest import Clock, bulk
from bench.world import START
from domain.books import StatementKind
from domain.statements.period import Period
from domain.statements.scope import Scope
from domain.values import LEDGER
from proofs.check_bundle import check_bundle
from proofs.store import Store
from tests.bundle_support import Signed, officer
from tests.integration.test_projection_properties import fresh_database

SMALL = Size("bundles", 36, 150, 120)
RHFS = ("helse-vest", "helse-sor-ost", "helse-nord", "helse-midt-norge")


def owners(ledger: Ledger) -> dict[str, str]:
    """Every company-owned stream's company, from the ledger's own states."""
    ws, out = ledger.workspace(), {}
    for stream in ledger.log.streams(""):
        kind, _, name = stream.partition("/")
        if kind == "patient":
            out[stream] = ws.agreement(ws.patient(name).agreement_id).company_id
        elif kind == "cohort":
            out[stream] = ws.agreement(ws.cohort(name).agreement_id).company_id
        elif kind in ("agreement", "drug", "company"):
            state = ws.get(stream)
            out[stream] = name if kind == "company" else state.company_id  # type: ignore[union-attr]
    return out


@pytest.mark.filterwarnings("ignore::ResourceWarning")
@given(seed=st.integers(0, 10_000))
@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_every_tenants_bundle_verifies_and_holds_only_its_own_facts(
        database_url: str, tmp_path: Path, seed: int) -> None:
    with fresh_database(database_url, tmp_path) as url:
        ledger = Ledger.open(url)
        try:
            clock = Clock(START)
            ledger.clock = clock
            ledger.install_reference(LEDGER, START)
            assert bulk(ledger, clock, steps(SMALL, seed)).refused == []
            _check(Signed(ledger), Period(START, clock.today))
        finally:
            ledger.close()


@pytest.mark.filterwarnings("ignore::ResourceWarning")
@given(seed=st.integers(0, 10_000), cut=st.floats(0.3, 0.95))
@settings(max_examples=5, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_the_store_and_a_bundle_resting_on_it_give_the_whole_bundle_for_any_earlier_head(
        database_url: str, tmp_path: Path, seed: int, cut: float) -> None:
    history = list(steps(SMALL, seed))
    at = int(len(history) * cut)
    with fresh_database(database_url, tmp_path) as url, tempfile.TemporaryDirectory() as work:
        ledger = Ledger.open(url)
        try:
            clock = Clock(START)
            ledger.clock = clock
            ledger.install_reference(LEDGER, START)
            assert bulk(ledger, clock, history[:at]).refused == []
            signed = Signed(ledger)
            k = signed.sign().signed.head.tree_size
            companies = sorted(s.partition("/")[2] for s in ledger.log.streams("company/"))
            stores = {co: Store.open(Path(work) / f"{co}.db", create=True) for co in companies}
            for company in companies:
                check_bundle(signed.company(company, period=Period(START, clock.today)),
                             signed.keys, store=stores[company])
            assert bulk(ledger, clock, history[at:]).refused == []
            signed.sign()
            owner = owners(ledger)
            left_out = [_resting(signed, company, k, stores[company], Period(START, clock.today),
                                 owner) for company in companies]
            assert any(left_out)  # slots used before the cut, taken from the stores
        finally:
            ledger.close()


def _resting(signed: Signed, company: str, k: int, store: Store, whole: Period,
             owner: dict[str, str]) -> int:
    """How many facts the resting bundle left out."""
    full = signed.company(company, period=whole)
    resting = signed.company(company, period=whole, earlier=k)
    out = check_bundle(resting, signed.keys, store=store)
    assert out[-2] == check_bundle(full, signed.keys)[-1]  # the same figures, recomputed
    assert resting.lines == full.lines
    given = {e.position: e.fact for e in resting.facts}
    assert resting.earlier is not None
    assert {p: f for p, f in ((e.position, e.fact) for e in full.facts)
            if p > k or f["stream"] not in resting.earlier.streams} == given
    streams = {f["stream"] for f in given.values()} | set(resting.earlier.streams)
    assert {owner.get(s, company) for s in streams} == {company}, streams
    text = str(resting.to_dict())
    assert not [s for s, o in owner.items() if o != company and s.partition("/")[2] in text]
    return len(full.facts) - len(resting.facts)


def _check(signed: Signed, whole: Period) -> None:
    signed.sign()
    owner = owners(signed.ledger)
    companies = sorted({o for s, o in owner.items() if s.startswith("company/")})
    assert len(companies) > 1
    for company in companies:
        bundle = signed.company(company, period=whole)
        check_bundle(bundle, signed.keys)
        streams = {e.fact["stream"] for e in bundle.facts}
        assert {owner.get(s, company) for s in streams} == {company}, streams
        text = str(bundle.to_dict())
        others = [s for s, o in owner.items() if o != company]
        assert not [s for s in others if s.partition("/")[2] in text]
    for rhf in RHFS:
        spec = bundles.asked_spec(signed.ledger, StatementKind.PUBLIC_COST, Scope.rhf(rhf),
                                  period=whole)
        check_bundle(signed.bundle(officer(rhf), spec), signed.keys)
