"""For every history, on SQLite and PostgreSQL: the read models' rebuild, which does not read the
fact types that cannot change a row (projections.folds.SKIPPED_TYPES), writes exactly the rows
(bitemporal positions and all) of a replay that reads every fact; and a projector's position
passes over skipped facts at the log's end, so a reader waiting for one is not kept waiting."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given

from domain import commands as c
from domain.values import Decision
from projections import rows as r
from projections.folds import SKIPPED_TYPES
from projections.maintenance import compare, fresh_tables, rebuild, snapshot
from projections.projector import Projector, create_tables
from projections.store import Database
from projections.whopays import WhoPaysView, catch_up
from tests.integration.test_projection_properties import (PROPERTY_SETTINGS, fresh_database,
                                                          play)
from tests.integration.test_whopays_projection import (  # noqa: F401 - fixtures
    World, patient_life, view, world)
from tests.strategies import History, histories
from tests.support import d


@given(history=histories())
@PROPERTY_SETTINGS
def test_a_rebuild_reading_only_what_can_change_a_row_equals_a_replay_of_every_fact(
        database_url: str, tmp_path: Path, history: History) -> None:
    with fresh_database(database_url, tmp_path) as url:
        ledger, _ = play(url, history)
        db = Database(url)
        every = fresh_tables("every")
        try:
            head = ledger.log.head()
            assert rebuild(ledger, url, batch_size=7) == head
            create_tables(db, every, indexes=False)
            Projector(ledger.log, db, every, batch_size=5, skip=frozenset()).catch_up()
            filtered, unfiltered = snapshot(db, r.LIVE), snapshot(db, every)
            assert filtered[0] == unfiltered[0] == head
            assert compare(filtered[1], unfiltered[1]) == []
            assert filtered[1] == unfiltered[1]
        finally:
            db.close()
            ledger.close()


def decision(case_ref: str) -> c.RecordIntroductionDecision:
    """A fact no read model reads (folds.SKIPPED_TYPES): an introduction decision."""
    return c.RecordIntroductionDecision(drug_id="lynparza", decision=Decision.INTRODUCED,
                                        case_ref=case_ref, indication="prostate cancer",
                                        decided_on=d("2023-11-01"))


def test_the_position_reaches_a_skipped_fact_at_the_end_of_the_log(world: World,
                                                                   view: WhoPaysView) -> None:
    patient_life(world)
    world.today = d("2024-01-10")
    catch_up(world.ledger, view)
    before = view.timeline("IMP-0042")
    receipt = world.run(decision("ID2023_001"))
    assert {f.type for f in receipt.facts} <= SKIPPED_TYPES
    assert not view.wait_for(receipt.position, timeout=0)
    assert catch_up(world.ledger, view) == receipt.position == world.ledger.log.head()
    assert view.wait_for(receipt.position, timeout=0)
    assert view.timeline("IMP-0042") == before


def test_catching_up_to_a_skipped_fact_stops_exactly_there(world: World, view: WhoPaysView
                                                           ) -> None:
    patient_life(world)
    world.today = d("2024-01-10")
    first = world.run(decision("ID2023_001"))
    world.run(decision("ID2023_002"))
    assert catch_up(world.ledger, view, until=first.position) == first.position
    assert view.position() == first.position
    assert catch_up(world.ledger, view, until=10**9) == world.ledger.log.head()
