"""A bundle resting on an earlier one (impress-bundle-v3, ADR 0031) edited in any of its new fields
fails `impress-verify`, and so does a store edited since it recorded the earlier bundle: the
earlier head (its signature, size, root, known_at), the consistency proof, the streams named as
left out, a fact dropped at the boundary (the first after the earlier head, or slots used after it
left out as if before it), a fact of a named stream the bundle holds anyway, and a store holding
another fact, fewer facts, or another root for the head. A failed verification records nothing.

On Roche's 2024Q2 company statement of the demo history, resting on its 2024Q1 bundle verified
under an earlier head; two slots used (late enrolments) and a dispensation recorded in
between.
"""

from __future__ import annotations

import copy
import json
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application.demo import load_demo
from application.ledger import Ledger
from audit import proofs
from domain import commands as c
from domain.statements.period import Period
from domain.tree import BadDocument
from proofs.bundle import Bundle
from proofs.check import Failed
from proofs.check_bundle import check_bundle
from proofs.cli import main as verify
from proofs.store import Store
from tests.bundle_support import Signed, late_enrolment
from tests.integration.test_bundle_tampering import flip

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
AGREEMENT = "agreement/roche-norge-impress"


@dataclass
class Resting:
    signed: Signed
    earlier: int  # the earlier head's size
    doc: dict[str, Any]  # the v3 bundle
    store: Path  # filled by the 2024Q1 bundle, never written to by the tests
    work: Path

    def fresh(self) -> dict[str, Any]:
        return copy.deepcopy(self.doc)

    def copy_of_store(self) -> Path:
        target = self.work / "copy.db"
        shutil.copyfile(self.store, target)
        return target


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Resting]:
    work = tmp_path_factory.mktemp("earlier")
    ledger = Ledger.open(f"sqlite:///{work}/ledger.db")
    load_demo(ledger)
    signed = Signed(ledger)
    k = signed.sign().signed.head.tree_size
    store = Store.open(work / "store.db", create=True)
    check_bundle(signed.company("roche-norge", label="2024Q1"), signed.keys, store=store)
    store.close()
    for patient in ("IMP-0998", "IMP-0999"):  # two slots used after the earlier head
        late_enrolment(signed, "roche-norge", Period(date(2024, 4, 1), date(2024, 6, 30)),
                       patient)
    signed.record(c.DispenseDrug(patient_id="IMP-0027", packs=1, dispensed_on=date(2024, 5, 2)))
    signed.sign()
    doc = signed.company("roche-norge", label="2024Q2", earlier=k).to_dict()
    assert doc["earlier"]["streams"] == [AGREEMENT]
    yield Resting(signed, k, doc, work / "store.db", work)
    ledger.close()


def outcome(demo: Resting, doc: dict[str, Any],
            edit: Callable[[sqlite3.Connection], None] | None = None) -> list[str] | str:
    """What verifying the bundle against a copy of the store gives: its lines, or why it was
    rejected (then the store copy is unchanged)."""
    path = demo.copy_of_store()
    if edit is not None:
        with sqlite3.connect(path) as db:
            edit(db)
    before = path.read_bytes()
    store = Store.open(path, create=False)
    try:
        return check_bundle(Bundle.from_dict(json.loads(json.dumps(doc))), demo.signed.keys,
                            store=store)
    except (Failed, BadDocument) as e:
        assert path.read_bytes() == before  # a refused bundle records nothing
        return str(e)
    finally:
        store.close()


def rejected(demo: Resting, doc: dict[str, Any],
             edit: Callable[[sqlite3.Connection], None] | None = None) -> str:
    found = outcome(demo, doc, edit)
    assert isinstance(found, str), "the edited bundle verified"
    return found


def reproved(demo: Resting, doc: dict[str, Any]) -> dict[str, Any]:
    """A multiproof made anew for the facts the bundle now holds (a ledger can prove any set of
    its facts): what is left out or slipped in must be caught by what follows."""
    positions = [e["fact"]["position"] for e in doc["facts"]]
    doc["multiproof"] = list(proofs.multiproof(demo.signed.ledger.log, positions,
                                               doc["head"]["tree_size"])[1])
    return doc


def test_the_untouched_bundle_verifies_against_the_store(demo: Resting) -> None:
    out = outcome(demo, demo.fresh())
    assert isinstance(out, list) and out[-1].startswith("recorded in the store")


# --- the earlier head and the consistency proof ---------------------------------------------


@given(member=st.sampled_from(["signature", "root_hash"]), digit=st.integers(0, 127))
@SETTINGS
def test_an_edited_earlier_head_fails(demo: Resting, member: str, digit: int) -> None:
    doc = demo.fresh()
    doc["earlier"]["head"][member] = flip(doc["earlier"]["head"][member], digit)
    assert "signature" in rejected(demo, doc)


@given(by=st.integers(-3, 3).filter(bool), where=st.sampled_from(["head", "known_at", "both"]))
@SETTINGS
def test_an_earlier_head_of_another_size_or_known_at_fails(demo: Resting, by: int,
                                                           where: str) -> None:
    doc = demo.fresh()
    if where in ("head", "both"):
        doc["earlier"]["head"]["tree_size"] += by
    if where in ("known_at", "both"):
        doc["earlier"]["known_at"] += by
    assert rejected(demo, doc)


def test_another_signed_head_named_as_the_earlier_one_is_not_in_the_store(demo: Resting) -> None:
    doc = demo.fresh()  # the bundle's own head, validly signed, consistent with itself
    doc["earlier"]["head"] = copy.deepcopy(doc["head"])
    doc["earlier"]["known_at"] = doc["head"]["tree_size"]
    doc["earlier"]["consistency"] = proofs.consistency(
        demo.signed.ledger.log, doc["head"]["tree_size"], doc["head"]["tree_size"]).to_dict()
    assert rejected(demo, doc)  # after the statement's known_at, or not in the store


@given(data=st.data(), what=st.sampled_from(["node", "drop", "first_root", "sizes"]))
@SETTINGS
def test_an_edited_consistency_proof_fails(demo: Resting, data: st.DataObject, what: str) -> None:
    doc = demo.fresh()
    proof = doc["earlier"]["consistency"]
    assert proof["path"]
    if what == "node":
        i = data.draw(st.integers(0, len(proof["path"]) - 1))
        proof["path"][i] = flip(proof["path"][i], data.draw(st.integers(0, 63)))
    elif what == "drop":
        proof["path"].pop(data.draw(st.integers(0, len(proof["path"]) - 1)))
    elif what == "first_root":
        proof["first_root"] = flip(proof["first_root"], data.draw(st.integers(0, 63)))
    else:
        proof["first"] -= 1
    reason = rejected(demo, doc)
    assert "rewritten" in reason or "consistency proof" in reason


# --- the streams left out, and the facts at the boundary ----------------------------------------


def test_a_named_stream_dropped_from_the_list_fails(demo: Resting) -> None:
    doc = demo.fresh()
    doc["earlier"]["streams"] = []
    assert "missing" in rejected(demo, doc)  # its versions start after the earlier head


def test_a_stream_named_but_given_in_the_bundle_fails(demo: Resting) -> None:
    doc = demo.fresh()
    doc["earlier"]["streams"] = sorted([AGREEMENT, "company/roche-norge"])
    assert "which it says it leaves out" in rejected(demo, doc)


def test_a_stream_named_that_the_store_does_not_hold_is_refused(demo: Resting) -> None:
    doc = demo.fresh()
    doc["earlier"]["streams"] = sorted([AGREEMENT, "agreement/novartis-norge-impress"])
    assert "holds nothing of it" in rejected(demo, doc)


def test_the_first_fact_after_the_earlier_head_dropped_fails(demo: Resting) -> None:
    doc = demo.fresh()
    after = [i for i, e in enumerate(doc["facts"]) if e["fact"]["stream"] == AGREEMENT]
    assert after and doc["facts"][after[0]]["fact"]["position"] > demo.earlier
    doc["facts"].pop(after[0])
    assert "missing" in rejected(demo, reproved(demo, doc))


def test_slots_used_after_the_earlier_head_left_out_as_if_before_it_fail(demo: Resting) -> None:
    doc = demo.fresh()  # the agreement's tail cut: its versions still run 1..n
    doc["facts"] = [e for e in doc["facts"] if e["fact"]["stream"] != AGREEMENT]
    reason = rejected(demo, reproved(demo, doc))
    assert reason.startswith("the agreement line") and "the facts give" in reason


def test_a_fact_of_a_named_stream_before_the_earlier_head_given_again_fails(demo: Resting) -> None:
    doc = demo.fresh()
    whole = demo.signed.company("roche-norge", label="2024Q2").to_dict()
    again = next(e for e in whole["facts"] if e["fact"]["stream"] == AGREEMENT)
    doc["facts"] = sorted([*doc["facts"], again], key=lambda e: e["leaf_index"])
    assert "which it says it leaves out" in rejected(demo, reproved(demo, doc))


def test_a_v3_bundle_read_as_a_v2_one_fails(demo: Resting) -> None:
    doc = demo.fresh()
    doc["format"] = "impress-bundle-v2"
    assert "missing" in rejected(demo, doc)
    doc = demo.fresh()
    del doc["earlier"]
    with pytest.raises(BadDocument, match="earlier is a JSON object"):
        Bundle.from_dict(doc)


# --- the store ----------------------------------------------------------------------------------


@given(data=st.data(), how=st.sampled_from(["fact", "salt", "deleted", "unproved"]))
@SETTINGS
def test_a_store_edited_since_it_recorded_the_earlier_bundle_fails(
        demo: Resting, data: st.DataObject, how: str) -> None:
    with sqlite3.connect(demo.store) as db:
        held = [p for (p,) in db.execute(
            "SELECT position FROM facts WHERE stream = ? ORDER BY position", (AGREEMENT,))]
    position = data.draw(st.sampled_from(held))

    def edit(db: sqlite3.Connection) -> None:
        if how == "fact":  # another patient's slot used, say
            fact = json.loads(db.execute("SELECT fact FROM facts WHERE position = ?",
                                         (position,)).fetchone()[0])
            fact["data"] = {**fact["data"], "patient_id": "IMP-0001"} \
                if fact["data"].get("patient_id") != "IMP-0001" else {**fact["data"],
                                                                      "patient_id": "IMP-0002"}
            db.execute("UPDATE facts SET fact = ? WHERE position = ?",
                       (json.dumps(fact, sort_keys=True, separators=(",", ":")).encode(),
                        position))
        elif how == "salt":
            db.execute("UPDATE facts SET salt = ? WHERE position = ?", ("00" * 32, position))
        elif how == "deleted":
            db.execute("DELETE FROM facts WHERE position = ?", (position,))
        else:
            db.execute("DELETE FROM proved WHERE position = ?", (position,))

    assert "the store was changed" in rejected(demo, demo.fresh(), edit)


def test_a_store_holding_the_earlier_head_with_another_root_fails(demo: Resting) -> None:
    def edit(db: sqlite3.Connection) -> None:
        db.execute("UPDATE heads SET root_hash = ?", ("11" * 32,))

    assert "two trees of that size" in rejected(demo, demo.fresh(), edit)


def test_a_bundle_showing_another_fact_at_a_stored_position_is_not_recorded(
        demo: Resting) -> None:
    # the ledger's own bundle, against a store that holds another fact at one of its positions
    given = demo.fresh()["facts"][0]

    def edit(db: sqlite3.Connection) -> None:
        db.execute("INSERT OR REPLACE INTO facts VALUES (?, 'x/y', 1, ?, ?)",
                   (given["fact"]["position"], given["salt"], b"{}"))

    assert "another fact at position" in rejected(demo, demo.fresh(), edit)


# --- the command ------------------------------------------------------------------------------


def test_impress_verify_takes_the_store_and_refuses_without_it_in_one_line(
        demo: Resting, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys, path = tmp_path / "keys.pem", tmp_path / "q2.json"
    keys.write_text(demo.signed.key.public_pem())
    path.write_text(json.dumps(demo.fresh()))
    store = demo.copy_of_store()
    assert verify(["bundle", str(path), "--keys", str(keys), "--store", str(store)]) == 0
    assert "taken from the store" in capsys.readouterr().out
    for extra in ([], ["--store", str(tmp_path / "missing.db")]):
        assert verify(["bundle", str(path), "--keys", str(keys), *extra]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "store" in err
    assert not (tmp_path / "missing.db").exists()
