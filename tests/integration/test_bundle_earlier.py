"""A quarter's bundle resting on the previous quarter's (impress-bundle-v3, ADR 0031), on the demo
history, on SQLite and PostgreSQL: the partner verifies the earlier bundle into its store, the
ledger moves on, and the new bundle, without the agreement streams' facts up to the earlier head,
verifies against that store to the same figures as the whole (v2) bundle of the same quarter;
the ledger refuses an `earlier` that names no signed head or one after the statement, and the
verifier refuses a v3 bundle without the store that holds what it leaves out."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest

from audit import bundles
from domain import commands as c
from domain.books import StatementKind
from domain.statements.period import Period
from domain.statements.scope import Scope
from domain.tree import BadDocument
from proofs.check_bundle import check_bundle
from proofs.store import Store
from tests.bundle_support import COMPANIES, Signed, late_enrolment, partner
from tests.integration.test_bundles import demo  # noqa: F401  (the demo fixture)

Q2 = Period(date(2024, 4, 1), date(2024, 6, 30))


def stored(path: Path) -> Store:
    return Store.open(path, create=True)


def count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_a_quarter_resting_on_the_previous_one_gives_the_whole_bundles_figures(
        demo: Signed, tmp_path: Path) -> None:  # noqa: F811
    k = demo.sign().signed.head.tree_size
    stores = {co: stored(tmp_path / f"{co}.db") for co in COMPANIES}
    for company in COMPANIES:  # each partner verifies its first quarter and keeps it
        check_bundle(demo.company(company, label="2024Q1"), demo.keys, store=stores[company])
    late_enrolment(demo, "roche-norge", Q2)  # a slot used after the earlier head
    demo.record(c.DispenseDrug(patient_id="IMP-0027", packs=1, dispensed_on=date(2024, 5, 2)))
    n = demo.sign().signed.head.tree_size
    for company in COMPANIES:
        whole = demo.company(company, label="2024Q2")
        resting = demo.company(company, label="2024Q2", earlier=k)
        assert resting.earlier is not None and resting.earlier.known_at == k
        assert resting.earlier.streams and all(s.startswith("agreement/")
                                               for s in resting.earlier.streams)
        assert resting.lines == whole.lines and resting.lines_hash == whole.lines_hash
        assert len(resting.facts) < len(whole.facts)
        assert len(resting.to_json()) < len(whole.to_json())
        out = check_bundle(resting, demo.keys, store=stores[company])
        assert out[-2] == check_bundle(whole, demo.keys)[-1]  # the same figures, recomputed
        assert any(f"facts 1..{k} unchanged" in line for line in out)
        left_out = {e.position for e in whole.facts} - {e.position for e in resting.facts}
        assert left_out and all(p <= k for p in left_out)
        assert "taken from the store" in " ".join(out) and n > k


def test_a_bundle_resting_on_the_head_it_is_made_under_leaves_out_every_agreement_fact(
        demo: Signed, tmp_path: Path) -> None:  # noqa: F811
    k = demo.sign().signed.head.tree_size
    store = stored(tmp_path / "store.db")
    check_bundle(demo.company("astrazeneca", label="2024Q1"), demo.keys, store=store)
    resting = demo.company("astrazeneca", label="2024Q2", earlier=k)
    assert not [e for e in resting.facts if e.fact["stream"].startswith("agreement/")]
    check_bundle(resting, demo.keys, store=store)
    assert count(tmp_path / "store.db", "heads") == 1


def test_the_ledger_refuses_an_earlier_that_names_no_signed_head_or_one_after_the_statement(
        demo: Signed) -> None:  # noqa: F811
    k = demo.sign().signed.head.tree_size
    with pytest.raises(bundles.UnknownEarlier, match=f"signed no head of {k - 1} facts"):
        demo.company("roche-norge", label="2024Q1", earlier=k - 1)
    demo.record(c.DispenseDrug(patient_id="IMP-0027", packs=1, dispensed_on=date(2024, 5, 2)))
    later = demo.sign().signed.head.tree_size
    spec = bundles.asked_spec(demo.ledger, StatementKind.COMPANY, Scope.company("roche-norge"),
                              label="2024Q1", at=k)
    with pytest.raises(bundles.UnknownEarlier, match="lies after the position"):
        demo.bundle(partner("roche-norge"), spec, earlier=later)


def test_a_resting_bundle_is_refused_without_the_store_that_holds_what_it_leaves_out(
        demo: Signed, tmp_path: Path) -> None:  # noqa: F811
    k = demo.sign().signed.head.tree_size
    earlier = demo.company("novartis-norge", label="2024Q1")
    shorter = demo.bundle(partner("novartis-norge"), bundles.asked_spec(
        demo.ledger, StatementKind.COMPANY, Scope.company("novartis-norge"), label="2024Q1",
        at=k - 3))
    demo.record(c.DispenseDrug(patient_id="IMP-0027", packs=1, dispensed_on=date(2024, 5, 2)))
    demo.sign()
    resting = demo.company("novartis-norge", label="2024Q2", earlier=k)
    with pytest.raises(BadDocument, match="give the store"):
        check_bundle(resting, demo.keys)
    with pytest.raises(BadDocument, match="no store at"):
        Store.open(tmp_path / "none.db", create=False)
    empty = stored(tmp_path / "empty.db")
    with pytest.raises(BadDocument, match="holds no bundle verified under the head"):
        check_bundle(resting, demo.keys, store=empty)
    assert count(tmp_path / "empty.db", "facts") == 0  # a refused bundle records nothing
    other = stored(tmp_path / "other.db")  # the earlier bundle, its streams not held whole
    check_bundle(earlier, demo.keys, store=other)
    with sqlite3.connect(tmp_path / "other.db") as db:
        db.execute("DELETE FROM whole WHERE stream LIKE 'agreement/%'")
    with pytest.raises(BadDocument, match="holds nothing of it under that head"):
        check_bundle(resting, demo.keys, store=other)
    short = stored(tmp_path / "short.db")  # under that head, but as known before it
    check_bundle(shorter, demo.keys, store=short)
    with pytest.raises(BadDocument, match=f"holds it up to position {k - 3} under that head"):
        check_bundle(resting, demo.keys, store=short)


def test_the_whole_bundle_still_verifies_and_fills_the_store(
        demo: Signed, tmp_path: Path) -> None:  # noqa: F811
    demo.sign()
    whole = demo.company("eli-lilly-norge", label="2024Q1")
    out = check_bundle(whole, demo.keys, store=stored(tmp_path / "s.db"))
    assert out[-1].startswith("recorded in the store") and whole.earlier is None
    assert count(tmp_path / "s.db", "facts") == len(whole.facts)
    out = check_bundle(whole, demo.keys, store=stored(tmp_path / "s.db"))  # again: nothing new
    assert out[-1].endswith("(0 new to it)")
