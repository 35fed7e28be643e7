"""A bundle edited in any field fails `impress-verify` (ADR 0023): a line's figure or what it rests
on, a fact's field, a salt, a node of the multiproof, the head's signature or size, a fact dropped from
within its stream, a fact of another partner slipped in. Property-based over which field, which
fact and which hash; on partners' issued company statements of the demo history, whose lines are
also anchored by the hash the ledger recorded when it issued them.

A fact dropped from the end of its stream is caught when a figure rests on it; when none does,
the bundle still proves the ledger's issued figures from fewer facts, which is what it claims
(that nothing about the partner was left out is beyond any bundle: ADR 0019, 0023).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application.demo import load_demo
from domain import commands as c
from domain.statements.company import company_statement
from domain.statements.period import Period
from domain.statements.scope import Scope
from reports.statements import known_at
from application.ledger import Ledger
from audit import proofs
from domain.statement_lines import StatementLine, lines_hash
from domain.tree import BadDocument
from proofs.bundle import Bundle
from proofs.check import Failed
from proofs.check_bundle import check_bundle
from proofs.cli import main as verify
from tests.bundle_support import BUYER, Signed, company_book, late_enrolment, partner

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


class Demo:
    def __init__(self, signed: Signed) -> None:
        self.signed = signed
        # one more dispensation at Roche's cost in the half-year: the last fact of its stream
        h1 = company_statement(known_at(signed.ledger), Period(date(2024, 1, 1),
                               date(2024, 6, 30)), Scope.company("roche-norge"))
        paid = h1.dispensations[-1]
        self.last_dispensed = signed.record(c.DispenseDrug(
            patient_id=paid.patient_id, packs=1, dispensed_on=paid.on))
        # and one more enrolment in it: the last fact of its agreement's stream, a slot used
        late_enrolment(signed, "roche-norge", Period(date(2024, 1, 1), date(2024, 6, 30)),
                       "IMP-0998")
        self.numbers = {co: signed.issue(company_book(co), "2024H1", BUYER)
                        for co in ("roche-norge", "novartis-norge")}
        signed.sign()
        self.docs = {co: signed.issued(partner(co), n).to_dict()
                     for co, n in self.numbers.items()}
        issued = {f.data["number"]: f.data["lines_hash"]
                  for f in signed.ledger.log.read(types=["StatementIssued"])}
        self.recorded = {co: issued[n] for co, n in self.numbers.items()}

    def doc(self, company: str = "roche-norge") -> dict[str, Any]:
        return copy.deepcopy(self.docs[company])


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    ledger = Ledger.open(f"sqlite:///{tmp_path_factory.mktemp('tamper')}/ledger.db")
    load_demo(ledger)
    yield Demo(Signed(ledger))
    ledger.close()


def rejected(demo: Demo, doc: dict[str, Any]) -> str:
    """Why the edited bundle is rejected (the test fails if it verifies)."""
    try:
        check_bundle(Bundle.from_dict(json.loads(json.dumps(doc))), demo.signed.keys)
    except (Failed, BadDocument) as e:
        return str(e)
    raise AssertionError("the edited bundle verified")


def flip(text: str, index: int) -> str:
    """One hex digit changed."""
    i = index % len(text)
    return text[:i] + ("0" if text[i] != "0" else "1") + text[i + 1:]


def test_the_untouched_bundles_verify(demo: Demo) -> None:
    for company in demo.docs:
        out = check_bundle(Bundle.from_dict(demo.doc(company)), demo.signed.keys)
        assert demo.recorded[company] in out[-1] or any(demo.recorded[company] in x for x in out)


# --- the statement's lines ------------------------------------------------------------------

FIGURE = st.sampled_from(["add one", "drop a value", "new value"])


@given(data=st.data(), how=FIGURE, rehash=st.booleans())
@SETTINGS
def test_an_edited_figure_of_a_line_fails(demo: Demo, data: st.DataObject, how: str,
                                         rehash: bool) -> None:
    doc = demo.doc()
    lines = doc["statement"]["lines"]
    line = data.draw(st.sampled_from(lines))
    name = data.draw(st.sampled_from(sorted(line["values"])))
    value = line["values"][name]
    if how == "add one":
        line["values"][name] = _plus_one(value)
    elif how == "drop a value":
        del line["values"][name]
    else:
        line["values"]["note"] = "settled"
    if rehash:  # the forger recomputes the lines' hash too
        doc["statement"]["lines_hash"] = lines_hash(StatementLine.from_json(x) for x in lines)
    assert rejected(demo, doc)


def _plus_one(value: str) -> str:
    """A figure changed by one unit: a count, an amount's last digit, or any text."""
    if value.isdigit():
        return str(int(value) + 1)
    digits = [i for i, ch in enumerate(value) if ch.isdigit()]
    if not digits:
        return value + "x"
    i = digits[-1]
    return value[:i] + str((int(value[i]) + 1) % 10) + value[i + 1:]


@given(data=st.data())
@SETTINGS
def test_a_line_that_rests_on_other_facts_fails(demo: Demo, data: st.DataObject) -> None:
    doc = demo.doc()
    line = data.draw(st.sampled_from(doc["statement"]["lines"]))
    streams = sorted({e["fact"]["stream"] for e in doc["facts"]} - set(line["rests_on"]))
    line["rests_on"] = sorted([*line["rests_on"], data.draw(st.sampled_from(streams))])
    assert "rests on" in rejected(demo, doc)


def test_a_dropped_or_added_line_fails(demo: Demo) -> None:
    doc = demo.doc()
    doc["statement"]["lines"].pop()
    assert rejected(demo, doc)
    doc = demo.doc()
    doc["statement"]["lines"].append(copy.deepcopy(doc["statement"]["lines"][0]))
    assert rejected(demo, doc)


# --- the facts and their proofs ---------------------------------------------------------------


def leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from leaves(item, (*path, i))
    else:
        yield path


def edited(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if value is None:
        return "2024-01-01"
    return value[:-1] + ("0" if value[-1:] != "0" else "1") if value else "x"


@given(data=st.data())
@SETTINGS
def test_an_edited_field_of_a_fact_fails(demo: Demo, data: st.DataObject) -> None:
    doc = demo.doc()
    entry = data.draw(st.sampled_from(doc["facts"]))
    path = data.draw(st.sampled_from(sorted(leaves(entry["fact"]), key=str)))
    holder = entry["fact"]
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = edited(holder[path[-1]])
    assert rejected(demo, doc)


@given(data=st.data(), what=st.sampled_from(["salt", "node", "leaf_index"]))
@SETTINGS
def test_an_edited_salt_multiproof_node_or_position_fails(demo: Demo, data: st.DataObject,
                                                          what: str) -> None:
    doc = demo.doc()
    entry = data.draw(st.sampled_from(doc["facts"]))
    digit = data.draw(st.integers(0, 63))
    if what == "salt":
        entry["salt"] = flip(entry["salt"], digit)
    elif what == "node":
        i = data.draw(st.integers(0, len(doc["multiproof"]) - 1))
        doc["multiproof"][i] = flip(doc["multiproof"][i], digit)
    else:
        entry["leaf_index"] += data.draw(st.sampled_from([-1, 1]))
    assert rejected(demo, doc)


@given(data=st.data(), what=st.sampled_from(["drop", "add", "swap"]))
@SETTINGS
def test_a_multiproof_node_dropped_added_or_swapped_fails(demo: Demo, data: st.DataObject,
                                                         what: str) -> None:
    doc = demo.doc()
    nodes = doc["multiproof"]
    i = data.draw(st.integers(0, len(nodes) - 1))
    if what == "drop":
        nodes.pop(i)
    elif what == "add":
        nodes.insert(i, nodes[data.draw(st.integers(0, len(nodes) - 1))])
    else:
        j = data.draw(st.integers(0, len(nodes) - 1).filter(lambda j: nodes[j] != nodes[i]))
        nodes[i], nodes[j] = nodes[j], nodes[i]
    assert "multiproof" in rejected(demo, doc) or "not proved" in rejected(demo, doc)


def reproved(demo: Demo, doc: dict[str, Any]) -> dict[str, Any]:
    """The bundle with a multiproof made anew for the facts it now holds: a ledger can prove any
    set of its facts, so what a bundle leaves out or slips in must be caught by what follows."""
    positions = [e["fact"]["position"] for e in doc["facts"]]
    size = doc["head"]["tree_size"]
    doc["multiproof"] = list(proofs.multiproof(demo.signed.ledger.log, positions, size)[1])
    return doc


def test_a_fact_dropped_without_a_new_multiproof_fails_the_multiproof(demo: Demo) -> None:
    doc = demo.doc()
    doc["facts"].pop(len(doc["facts"]) // 2)
    assert "multiproof" in rejected(demo, doc) or "not proved" in rejected(demo, doc)


@given(digit=st.integers(0, 127), by=st.integers(-3, 3).filter(bool))
@SETTINGS
def test_an_edited_head_signature_or_size_fails(demo: Demo, digit: int, by: int) -> None:
    doc = demo.doc()
    doc["head"]["signature"] = flip(doc["head"]["signature"], digit)
    assert "signature" in rejected(demo, doc)
    doc = demo.doc()
    doc["head"]["tree_size"] += by
    assert rejected(demo, doc)


@given(data=st.data())
@SETTINGS
def test_a_fact_dropped_from_within_its_stream_fails(demo: Demo, data: st.DataObject) -> None:
    doc = demo.doc()
    last = {}
    for e in doc["facts"]:
        last[e["fact"]["stream"]] = max(last.get(e["fact"]["stream"], 0), e["fact"]["version"])
    inner = [i for i, e in enumerate(doc["facts"]) if e["fact"]["version"] < last[e["fact"]["stream"]]]
    doc["facts"].pop(data.draw(st.sampled_from(inner)))
    assert "missing" in rejected(demo, reproved(demo, doc))


@given(data=st.data())
@SETTINGS
def test_a_fact_dropped_from_the_end_of_its_stream_fails_or_changes_no_issued_figure(
        demo: Demo, data: st.DataObject) -> None:
    doc = demo.doc()
    last: dict[str, int] = {}
    for i, e in enumerate(doc["facts"]):
        last[e["fact"]["stream"]] = i
    doc["facts"].pop(data.draw(st.sampled_from(sorted(last.values()))))
    try:
        out = check_bundle(Bundle.from_dict(reproved(demo, doc)), demo.signed.keys)
    except Failed:
        return
    assert any(demo.recorded["roche-norge"] in line for line in out)  # still the issued figures


def test_dropping_the_last_fact_of_a_stream_a_figure_rests_on_fails(demo: Demo) -> None:
    doc = demo.doc()
    at = [i for i, e in enumerate(doc["facts"]) if e["fact"]["position"] == demo.last_dispensed]
    assert at  # the dispensation at Roche's cost recorded last for its patient
    doc["facts"].pop(at[0])
    # "...: packs is '3' in the bundle, the facts give '2'"
    assert "packs is" in rejected(demo, reproved(demo, doc))
    doc = demo.doc()
    doc["facts"] = [e for e in doc["facts"] if e["fact"]["stream"] != "company/roche-norge"]
    assert "no company 'roche-norge'" in rejected(demo, reproved(demo, doc))


@given(data=st.data())
@SETTINGS
def test_a_fact_of_another_partner_slipped_in_fails(demo: Demo, data: st.DataObject) -> None:
    doc = demo.doc()
    theirs = [e for e in demo.doc("novartis-norge")["facts"]
              if e["fact"]["stream"] != "registry/health-trusts"]
    foreign = data.draw(st.sampled_from(theirs))
    doc["facts"] = sorted([*doc["facts"], foreign], key=lambda e: e["leaf_index"])
    reason = rejected(demo, reproved(demo, doc))
    assert "not one the statement rests on" in reason or "missing" in reason


# --- the command, as a partner runs it ----------------------------------------------------------


def test_impress_verify_bundle_exits_0_1_or_2_with_one_line(
        demo: Demo, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = tmp_path / "keys.pem"
    keys.write_text(demo.signed.key.public_pem())
    good, bad = tmp_path / "bundle.json", tmp_path / "edited.json"
    good.write_text(json.dumps(demo.doc()))
    doc = demo.doc()
    doc["statement"]["lines"][0]["values"] = {**doc["statement"]["lines"][0]["values"],
                                              "slots used": "999"}
    bad.write_text(json.dumps(doc))
    assert verify(["bundle", str(good), "--keys", str(keys)]) == 0
    assert "OK" in capsys.readouterr().out
    assert verify(["bundle", str(bad), "--keys", str(keys)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("impress-verify: FAILED:") and err.count("\n") == 1
    assert verify(["bundle", str(tmp_path / "none.json"), "--keys", str(keys)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_a_bundle_of_the_first_format_is_refused_by_name_not_misread(demo: Demo) -> None:
    doc = demo.doc()
    doc["format"] = "impress-bundle-v1"
    for e in doc["facts"]:
        e["path"] = []
    del doc["multiproof"]
    with pytest.raises(BadDocument, match="impress-bundle-v1 .*reads impress-bundle-v2"):
        Bundle.from_dict(doc)


def test_dropping_an_agreements_last_slot_used_is_caught_by_its_slots_used(demo: Demo) -> None:
    # An agreement line counts the agreement's own PatientSlotUsed facts (ADR 0024): the last
    # one left out, with a multiproof made anew, gives another count than the line says.
    doc = demo.doc()
    last: dict[str, int] = {}
    for i, e in enumerate(doc["facts"]):
        last[e["fact"]["stream"]] = i
    counted = [i for s, i in last.items() if s.startswith("agreement/")
               and doc["facts"][i]["fact"]["type"] == "PatientSlotUsed"
               and doc["facts"][i]["fact"]["valid_on"] <= "2024-06-30"]
    assert counted  # Roche's agreements enrol patients up to the end of the half-year
    doc["facts"].pop(counted[0])
    reason = rejected(demo, reproved(demo, doc))  # "... enrolled in period is '2' in the
    assert reason.startswith("the agreement line") and "the facts give" in reason  # bundle, ..."
