"""Whether a fact may be shown whole (View.whole_fact, which decides what goes into a bundle and
an inclusion proof) is exactly whether scrubbing it for the actor leaves it as it is: checked
without the copy, it must agree with the copy for every fact of the demo, every partner and RHF
officer, and for values made to hide ids in lists, in text and in tuples."""

from __future__ import annotations

from typing import Any

from application.access import View
from application.demo import load_demo
from application.ledger import Ledger
from audit import proofs
from tests.bundle_support import COMPANIES, officer, partner

REGIONS = ("helse-vest", "helse-nord", "helse-midt", "helse-sor-ost")


def test_a_fact_is_whole_exactly_when_scrubbing_leaves_it_unchanged(database_url: str) -> None:
    ledger = Ledger.open(database_url)
    try:
        load_demo(ledger)
        facts = list(ledger.log.read())
        patients = sorted({f.stream.partition("/")[2] for f in facts
                           if f.stream.startswith("patient/")})
        made: list[Any] = [
            {"patients": patients[:5]}, {"note": f"{patients[0]} and {patients[-1]}"},
            {"refs": [f"patient/{p}@1" for p in patients[-3:]]}, {"ids": tuple(patients[:1])},
            {"companies": list(COMPANIES)}, {"nested": [{"patient_id": p} for p in patients[:3]]},
        ]
        seen = set()
        for actor in [*map(partner, COMPANIES), *map(officer, REGIONS)]:
            view = View(actor, ledger.workspace(), lambda: COMPANIES)
            for data in [*(f.data for f in facts), *made]:
                whole = view.scrub(data) == data
                assert view.unchanged(data) is whole, (actor.organisation, data)
                seen.add(whole)
            # a bundle's facts are judged stream by stream, with the same answer
            assert (proofs.visible_facts(View(actor, ledger.workspace()), facts)
                    == [f for f in facts if proofs.visible(View(actor, ledger.workspace()), f)])
        assert seen == {True, False}  # both answers were put to the test
    finally:
        ledger.close()
