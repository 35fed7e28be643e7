"""On random national histories (the benchmark's generator: several companies, agreements and
cohorts, every health trust, late and corrected facts, ticks; a seed drawn by hypothesis), on
SQLite and PostgreSQL: every partner's company statement bundle verifies from its own facts
alone and holds nothing of another partner, and every RHF's public-cost bundle verifies with
other regions' facts withheld (ADR 0023)."""

from __future__ import annotations

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
