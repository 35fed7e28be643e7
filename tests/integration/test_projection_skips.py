"""For every history, on SQLite and PostgreSQL: the who-pays rebuild, which does not read the
fact types that cannot change a row (projections.folds.SKIPPED_TYPES), writes exactly the rows
(bitemporal positions and all) of a replay that reads every fact; and a projector's position
passes over skipped facts at the log's end, so a reader waiting for one is not kept waiting."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

from hypothesis import given

from domain import commands as c
from projections import rows as r
from projections.folds import SKIPPED_TYPES
from projections.maintenance import _snapshot, compare, rebuild
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
        every = r.Tables("every~fact", f"every_{uuid4().hex[:8]}")
        try:
            head = ledger.log.head()
            assert rebuild(ledger, url, batch_size=7) == head
            create_tables(db, every, indexes=False)
            Projector(ledger.log, db, every, batch_size=5, skip=frozenset()).catch_up()
            filtered, unfiltered = _snapshot(db, r.LIVE), _snapshot(db, every)
            assert filtered[0] == unfiltered[0] == head
            assert compare(filtered[1], unfiltered[1]) == []
            assert filtered[1] == unfiltered[1]
        finally:
            db.close()
            ledger.close()


def test_the_position_reaches_a_dispensation_at_the_end_of_the_log(world: World,
                                                                   view: WhoPaysView) -> None:
    patient_life(world)
    world.today = d("2024-01-10")
    catch_up(world.ledger, view)
    before = view.timeline("IMP-0042")
    receipt = world.run(c.DispenseDrug(patient_id="IMP-0042", packs=2,
                                       dispensed_on=d("2023-12-01")))
    types = {f.type for f in receipt.facts}  # with what the ledger derives on the way
    assert "DrugDispensed" in types and types <= SKIPPED_TYPES
    assert not view.wait_for(receipt.position, timeout=0)
    assert catch_up(world.ledger, view) == receipt.position == world.ledger.log.head()
    assert view.wait_for(receipt.position, timeout=0)
    assert view.timeline("IMP-0042") == before


def test_catching_up_to_a_skipped_fact_stops_exactly_there(world: World, view: WhoPaysView
                                                           ) -> None:
    patient_life(world)
    world.today = d("2024-01-10")
    first = world.run(c.DispenseDrug(patient_id="IMP-0042", packs=1,
                                     dispensed_on=d("2023-12-01")))
    world.run(c.DispenseDrug(patient_id="IMP-0042", packs=3, dispensed_on=d("2023-12-02")))
    assert catch_up(world.ledger, view, until=first.position) == first.position
    assert view.position() == first.position
    assert catch_up(world.ledger, view, until=10**9) == world.ledger.log.head()
