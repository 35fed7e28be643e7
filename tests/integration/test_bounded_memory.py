"""What a server holds in memory is bounded by its settings, not by how many patients it has met
(issue 15's soak): the ledger's cache holds at most its bound of patients and keeps no recorded
fact of the long streams (a state every CHECKPOINT versions instead, and answers as known at
any earlier position exactly as a ledger that reads every stream afresh); the projector lets
go of a patient's rows with its folded state; a worker thread's read-model connection closes
with its thread. Memory figures belong to the soak (docs/reliability.md), not to this suite.
"""

from __future__ import annotations

import gc
import os
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest

from api.imports import parse
from application.cache import CHECKPOINT
from application.ledger import Ledger
from bench.clients import setup_lines
from bench.enrolments import held_per_enrolment
from domain import commands as c
from domain import events as ev
from domain.financing import PayerKind
from domain.money import Money
from domain.values import LEDGER, Outcome
from eventstore import EventLog
from projections.projector import Projector
from projections.store import Database
from projections.whopays import WhoPaysView, verify
from tests.api.support import Api, settings_for

START = date(2024, 1, 2)


def _world(ledger: Ledger, clients: int = 1) -> None:
    """The soak's world (bench.clients): a company, a drug, per client an agreement and an
    expansion cohort soak-c1, soak-c2, ..."""
    ledger.install_reference(LEDGER, date(2021, 1, 1))
    ledger.record(parse(setup_lines(clients)).commands, LEDGER)


def _live(ledger: Ledger, n: int, cohort: str = "soak-c1") -> None:
    """Patient n's life as the soak's clients record it: enrolment, start, a dispensation and
    the 16-week assessment, each its own command."""
    pid = f"IMP-{n:05d}"
    for command in (c.EnrolPatient(patient_id=pid, cohort_id=cohort, hf_id="ous",
                                   enrolled_on=START),
                    c.StartTreatment(patient_id=pid, started_on=START),
                    c.DispenseDrug(patient_id=pid, packs=2, dispensed_on=START),
                    c.RecordAssessment(patient_id=pid, assessed_on=START + timedelta(weeks=16),
                                       outcome=Outcome.STABLE_DISEASE)):
        ledger.record([command], LEDGER)


@pytest.fixture
def ledger(database_url: str) -> Ledger:
    found = Ledger(EventLog(database_url), cache_streams=5)
    _world(found)
    yield found  # type: ignore[misc]
    found.close()


def test_the_ledger_holds_at_most_its_bound_of_patients_however_many_it_meets(
        ledger: Ledger) -> None:
    for n in range(1, 41):
        _live(ledger, n)
        ledger.case(f"IMP-{max(1, n - 10):05d}")  # a read of an earlier patient, too
        assert ledger.states.sizes()["patients"] <= 5
    started = ledger.case("IMP-00001").patient.started  # read again, whole
    assert started is not None and started.since == START


def test_the_ledgers_cache_keeps_no_recorded_fact_of_a_long_stream(ledger: Ledger) -> None:
    for n in range(1, 3 * CHECKPOINT + 10):
        ledger.record([c.EnrolPatient(patient_id=f"IMP-{n:05d}", cohort_id="soak-c1",
                                      hf_id="ous", enrolled_on=START)], LEDGER)
    gc.collect()
    alive = sum(isinstance(o, (ev.PatientAdmitted, ev.PatientSlotUsed)) for o in gc.get_objects())
    # Before: every admission and slot used stayed in the cache, 2 per enrolment.
    assert alive < CHECKPOINT
    sizes = ledger.states.sizes()
    assert sizes["long"] >= 2  # the cohort and the agreement are held
    assert sizes["marks"] <= sizes["long"] + 2 * (3 * CHECKPOINT + 10) // CHECKPOINT


def test_a_cohort_and_its_agreement_hold_under_100_bytes_per_enrolment() -> None:
    # What no bound of the cache holds, and grows with every patient enrolled: measured with
    # tracemalloc as the cache keeps the two streams folded from the log (bench.enrolments).
    # Before (an Admission with its ref, a string per patient id, a date, per stream): 397.
    per_enrolment, _ = held_per_enrolment(5_000)
    assert per_enrolment < 100


def test_a_long_stream_as_known_at_every_earlier_position_is_what_a_fresh_read_folds(
        ledger: Ledger, database_url: str) -> None:
    for n in range(1, 2 * CHECKPOINT + 20):
        ledger.record([c.EnrolPatient(patient_id=f"IMP-{n:05d}", cohort_id="soak-c1",
                                      hf_id="ous", enrolled_on=START)], LEDGER)
    uncached = Ledger(EventLog(database_url, create_tables=False), cache_streams=0)
    try:
        head = ledger.head()
        for at in [*range(1, head + 1, 5), head, head - 1, head - 1]:  # the last: its memo
            mine, theirs = ledger.workspace(up_to=at), uncached.workspace(up_to=at)
            assert mine.cohort("soak-c1") == theirs.cohort("soak-c1"), at
            assert mine.agreement("soak-c1") == theirs.agreement("soak-c1"), at
    finally:
        uncached.close()


def test_a_projector_holds_the_rows_of_at_most_its_bound_of_patients_and_projects_the_same(
        database_url: str) -> None:
    ledger = Ledger(EventLog(database_url))
    try:
        _world(ledger)
        for n in range(1, 31):
            _live(ledger, n)
        for n in range(1, 31):  # facts about patients let go long before
            ledger.record([c.DispenseDrug(patient_id=f"IMP-{n:05d}", packs=1,
                                          dispensed_on=START + timedelta(weeks=4))], LEDGER)
        models = WhoPaysView(database_url)
        try:
            bounded = Projector(ledger.log, models.db, batch_size=7, patients=3)
            bounded.catch_up()
            assert len(bounded.folds.patients) <= 3
            for table in bounded.held.patient_tables:
                assert len(bounded.held.rows(table)) <= 3, table.base
            assert len(bounded.models.index.enrolled_at) <= 3
        finally:
            models.close()
        assert verify(ledger, database_url) == []  # every row, against a replay of the log
    finally:
        ledger.close()


def test_a_projector_following_the_log_keeps_nothing_per_patient_it_has_written(
        database_url: str) -> None:
    """The soak's growth (docs/reliability.md): a server's projector kept every enrolment
    (which cohort, agreement) and every patient's latest dispensing date per drug. Written
    rows answer for them now; facts that reach patients written long ago (a revoked
    exemption, a new price, a new trust) still reach every one of them."""
    ledger = Ledger(EventLog(database_url))
    try:
        _world(ledger)
        for n in range(1, 21):
            _live(ledger, n)
        models = WhoPaysView(database_url)
        try:
            follower = Projector(ledger.log, models.db, batch_size=7, patients=3)
            follower.catch_up()
            held = follower.models
            assert (held.index.all, held.index.by_cohort, held.index.by_agreement) == (
                set(), {}, {})
            assert held.drugs == {}
            ledger.record([c.RevokeGroupExemption(
                cohort_id="soak-c1", exemption_ref="BF-SOAK-1",
                effective_from=START + timedelta(weeks=20), reason="the soak's test")], LEDGER)
            ledger.record([c.SetPrice(drug_id="soakinib", price_per_pack=Money.of("1200", "NOK"),
                                      effective_from=START)], LEDGER)
            ledger.record([c.RegisterHealthTrust(
                hf_id="soak-hf", name="Soak HF", rhf_id="helse-vest", rhf_name="Helse Vest",
                registered_on=START)], LEDGER)
            _live(ledger, 21)  # enrolled and reached in the same batch
            ledger.record([c.SetPrice(drug_id="soakinib", price_per_pack=Money.of("1300", "NOK"),
                                      effective_from=START)], LEDGER)
            follower.catch_up()
            assert held.index.all == set() and held.drugs == {}
            before = models.payer_on("IMP-00003", START + timedelta(weeks=18))
            revoked = models.payer_on("IMP-00003", START + timedelta(weeks=30))
            assert before is not None and before.kind is PayerKind.PUBLIC
            assert revoked is not None and revoked.kind is PayerKind.TREATING_HF
        finally:
            models.close()
        assert verify(ledger, database_url) == []  # every row, against a replay of the log
    finally:
        ledger.close()


def _open_files(path: Path) -> int:
    found = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            found += os.readlink(f"/proc/self/fd/{fd}").startswith(str(path))
        except OSError:
            pass
    return found


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="counts open files in /proc")
def test_a_worker_thread_that_ends_closes_its_read_model_connection(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/models.db")
    with db.writing() as cur:
        cur.run("CREATE TABLE t (x INTEGER)")
    opened = _open_files(tmp_path)

    def read() -> None:
        with db.reading() as cur:
            cur.rows("SELECT x FROM t", [])

    for _ in range(20):  # a server's thread pool: its threads end when idle, new ones start
        thread = threading.Thread(target=read)
        thread.start()
        thread.join()
    gc.collect()
    assert _open_files(tmp_path) <= opened  # before: two more files for every thread
    db.close()


def test_the_cache_setting_bounds_both_caches_of_a_server(tmp_path: Path) -> None:
    settings = settings_for(tmp_path).model_copy(update={"cache_streams": 7})
    api = Api(settings)
    try:
        service = api.app.state.service
        assert service.ledger.states.limit == 7
        assert service.runner.projector.patients == 7
    finally:
        api.close()
