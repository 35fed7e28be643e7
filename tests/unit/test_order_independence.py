"""The same facts recorded in a different order end in the same answers (ADR 0014): only what
was known in between may differ.

Valid histories (tests/late_histories.py: three cohorts, a stage decision on partner evidence,
a closure, exemptions granted and revoked, permanent financing, amended terms, transfers,
corrections of every kind, grants invoiced and paid) are recorded once as soon as each fact can
be, and again in shuffled orders that keep only their real prerequisites; every fact recorded
late is recorded on a later day than it happened. Every order records every fact, and the
final answers are identical: the timeline of every patient (which fixes who pays on every
date: tests/unit/test_properties.py proves a timeline agrees with `payer_on` day by day), the
facts the ledger derived and still holds, the grants, the company obligations and the public
cost. The orders a history must not be recorded in are in test_refused_orders.py.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from domain import events as ev
from domain.financing import timeline
from reports.statements import Known, Period, Scope
from domain.statements.company import company_statement
from domain.statements.public import By, public_cost
from tests.late_histories import History, date_order, histories, record, shuffled
from tests.support import Book

ORDERS = settings(max_examples=100, deadline=None, print_blob=True,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
WHOLE = Period(date(2022, 1, 1), date(2026, 12, 31))


@ORDERS
@given(history=histories(), seeds=st.lists(st.integers(0, 2**32 - 1), min_size=3, max_size=3))
def test_the_same_facts_in_any_order_keeping_their_prerequisites_give_the_same_answers(
        history: History, seeds: list[int]) -> None:
    note(describe(history))
    first = record(history, date_order(history))
    assert first.refused == [], f"a valid history was refused in date order: {first.refused}"
    expected = answers(first.book, history)
    for seed in seeds:
        order = shuffled(history, seed)
        note(f"recorded in the order {[f.key for f in order]}")
        other = record(history, order)
        assert other.refused == [], f"refused in the order of seed {seed}: {other.refused}"
        got = answers(other.book, history)
        for what in expected:
            assert got[what] == expected[what], f"{what} differs in the order of seed {seed}"


def describe(history: History) -> str:
    """The history as a reader would check it: each fact, its day and what it needs first."""
    lines = [f"coverage weeks {history.weeks}; facts:"]
    for f in history.facts:
        fields = {k: v for k, v in vars(f.command).items() if k != "reason"}
        needs = f" after {', '.join(f.after)}" if f.after else ""
        lines.append(f"  {f.key}: {type(f.command).__name__} {fields} from {f.day}{needs}")
    return "\n".join(lines)


def answers(book: Book, history: History) -> dict[str, Any]:
    """Every answer a user can get, with facts named by what they are (stream, type, date)
    rather than by their version in a stream, which depends on the recording order."""
    patients = history.patients()
    ws = book.workspace()
    known = Known.from_workspace(ws, patients, ["nordlys-impress"], len(book.log))
    return {
        "stage": {k.patient.patient_id: k.patient.stage for k in known.cases},
        "timeline": {k.patient.patient_id: [
            (i.start, i.end, i.payer.kind, i.payer.party, i.payer.hf_id, i.payer.reason,
             frozenset(_fact(book, r) for r in i.payer.basis)) for i in timeline(k)]
            for k in known.cases},
        "derived": {k.patient.patient_id: sorted(_signature(book, f)
                                                 for _, f in k.patient.derived)
                    for k in known.cases},
        "grants": {k.patient.patient_id: _grant(k.patient.grant) for k in known.cases},
        "company": _lines(book, company_statement(known, WHOLE, Scope.everything()).lines()),
        "public": _lines(book, public_cost(known, WHOLE, Scope.everything(), By.MONTH).lines()),
    }


def _fact(book: Book, ref: str) -> tuple[str, str, date | None]:
    stream, _, version = ref.rpartition("@")
    event = next(e for s, v, e in book.log if s == stream and v == int(version))
    return stream, event.type, event.valid_on


def _signature(book: Book, fact: ev.Event) -> str:
    """A derived fact's content; the fact a takeover names as its public basis by what it is."""
    fields = {k: v for k, v in vars(fact).items() if k != "basis"} | {"type": fact.type}
    if isinstance(fact, ev.PublicPayerTookOver):
        fields["public_basis"] = _fact(book, fact.public_basis)
    return repr(fields)


def _grant(grant: Any) -> object:
    if grant is None:
        return None
    return (grant.amount, grant.hf_id, grant.due_from, grant.invoiced, grant.paid,
            grant.withdrawn)


def _lines(book: Book, lines: list[Any]) -> list[object]:
    """Lines keyed by a dispensation's reference are keyed by the dispensation instead."""
    out = []
    for line in lines:
        key = tuple(_fact(book, k) if "@" in k else k for k in line.key)
        out.append((line.section, key, sorted(line.values.items()), line.patients))
    return sorted(out, key=repr)
