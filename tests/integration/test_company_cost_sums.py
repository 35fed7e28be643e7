"""The company statement's figures summed by the database (projections.source.ReadSource
.company_cost, what a partner's overview reads) are the rule's own sums over the same rows
(domain.statements.source.at_company_cost, as the statement keeps its lines), for any rows,
as known at any position, for every scope a statement is built for, on SQLite and PostgreSQL.

The histories the ledger records never cost a line to a company other than its own (the payer
in force is the agreement's company), so that half of the rule is drawn here on rows."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.financing import PayerKind
from domain.statements.rows import CostLine
from domain.statements.scope import Scope
from domain.statements.source import Rows
from projections import rows as r
from projections import tables as tb
from projections.source import ReadSource
from projections.store import TRACKING, ensure_tracking
from projections.view import ReadModels
from tests.integration.test_projection_properties import PROPERTY_SETTINGS, fresh_database

COMPANIES = ("nordlys", "roche-norge")
TRUSTS = {"haukeland": "helse-vest", "ous": "helse-sor-ost"}
FIRST = date(2023, 1, 1)
SCOPES = (Scope.everything(), *(Scope.company(c) for c in COMPANIES),
          *(Scope.rhf(rhf) for rhf in sorted(set(TRUSTS.values()))),
          *(Scope.hf(hf, rhf) for hf, rhf in TRUSTS.items()))


@st.composite
def lines(draw: st.DrawFn) -> list[CostLine]:
    out = []
    for i in range(draw(st.integers(0, 25))):
        hf = draw(st.sampled_from([None, *TRUSTS]))
        priced = draw(st.sampled_from([None, "NOK", "EUR"]))
        known_from = draw(st.integers(0, 6))
        company = draw(st.sampled_from(COMPANIES))
        out.append(CostLine(
            patient_id=f"IMP-{draw(st.integers(1, 4)):04d}", ref=f"patient/{i}/1", seq=i,
            last_ref=f"patient/{i}/1", drug_id="lynparza",
            on=FIRST + timedelta(days=draw(st.integers(0, 60))), packs=draw(st.integers(0, 9)),
            # mostly a line of the statement's, so that each part of the rule is what drops one
            payer_kind=draw(st.sampled_from([PayerKind.COMPANY, PayerKind.COMPANY, *PayerKind])),
            party=draw(st.sampled_from([company, company, None, *COMPANIES, *TRUSTS.values()])),
            hf_id=hf, rhf_id=TRUSTS.get(hf or ""), company_id=company,
            cohort_id="c1", price_minor=None if priced is None else 100,
            currency=priced if draw(st.booleans()) else None, price_since=None, price_ref=None,
            value_minor=draw(st.one_of(st.none(), st.integers(-10**6, 10**9))), pack=None,
            gap=None, gap_detail=None, gap_basis=(), known_from=known_from,
            known_to=draw(st.one_of(st.none(), st.integers(known_from + 1, 8)))))
    return out


@given(rows=lines(), data=st.data())
@settings(PROPERTY_SETTINGS, max_examples=max(30, PROPERTY_SETTINGS.max_examples))
def test_the_sums_the_database_gives_are_the_rules_sums_over_the_same_rows(
        database_url: str, tmp_path: Path, rows: list[CostLine], data: st.DataObject) -> None:
    with fresh_database(database_url, tmp_path) as url, ReadModels(url) as models:
        codec = tb.Codec(models.db, r.COST_LINES)
        with models.db.writing() as cur:
            cur.many(tb.insert(models.tables, r.COST_LINES), [codec.to_db(x) for x in rows])
            ensure_tracking(cur, models.tables.name)  # the models have reached position 8
            cur.run(f"UPDATE {TRACKING} SET position = 8 WHERE name = ?", (models.tables.name,))
        at = data.draw(st.one_of(st.none(), st.integers(0, 8)), label="as known at")
        days = st.integers(-5, 65).map(lambda n: FIRST + timedelta(days=n))
        on = st.sampled_from([x.on for x in rows]) if rows else days  # ends on a line's day
        first, last = sorted(data.draw(st.tuples(st.one_of(on, days), st.one_of(on, days)),
                                       label="span"))
        span = (first, last)
        held = Rows(position=8, tables={"cost_lines": rows})
        for scope in SCOPES:
            expected = (held.at(at) if at is not None else Rows(
                position=8, tables={"cost_lines": [x for x in rows if x.known_to is None]}))
            assert (ReadSource(models, at).company_cost(span=span, scope=scope)
                    == expected.company_cost(span=span, scope=scope)), scope
