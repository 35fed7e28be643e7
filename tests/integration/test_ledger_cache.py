"""The ledger's cache of folded states changes no answer and no recorded fact: a ledger that
caches and one that reads every stream afresh record the same log and give the same answers,
as known now and as known at every position; and what another process records is seen.
"""

from __future__ import annotations

from datetime import date, timedelta
from random import Random

import pytest

from bench.generate import Size, steps
from bench.ingest import Clock, bulk, single
from bench.world import START
from domain import commands as c
from domain import errors as err
from application.ledger import CommandsRefused, Ledger
from eventstore import EventLog
from domain.values import LEDGER

HISTORY = Size("cache-test", 40, 150)


def _play(url: str, cache_streams: int, *, batch: int | None = None) -> Ledger:
    clock = Clock(START)
    ledger = Ledger(EventLog(url), clock=clock, cache_streams=cache_streams)
    ledger.install_reference(LEDGER, START)
    if batch is None:
        single(ledger, clock, steps(HISTORY))
    else:
        bulk(ledger, clock, steps(HISTORY), batch=batch)
    return ledger


def _log(ledger: Ledger) -> list[tuple[object, ...]]:
    return [(f.position, f.stream, f.version, f.type, f.data) for f in ledger.log.read()]


def _answer(ledger: Ledger, pid: str, on: date, at: int) -> object:
    try:
        return ledger.who_pays(pid, on, position=at).payer, ledger.case(pid, up_to=at)
    except err.Refused as refusal:
        return type(refusal)


@pytest.mark.parametrize("patients_held", [20_000, 3])
def test_a_caching_ledger_records_and_answers_exactly_what_an_uncaching_one_does(
        tmp_path: object, database_url: str, patients_held: int) -> None:
    # 3: patients are dropped and read again all the time, long streams stay held.
    cached = _play(database_url, patients_held)
    clock = Clock(START)  # its own, moved through the same days (the ledger's today matters)
    fresh = Ledger(EventLog(f"sqlite:///{tmp_path}/uncached.db"), clock=clock, cache_streams=0)
    try:
        fresh.install_reference(LEDGER, START)
        single(fresh, clock, steps(HISTORY))
        assert _log(cached) == _log(fresh)
        rng, head = Random(3), cached.log.head()
        patients = [s.partition("/")[2] for s in cached.log.streams("patient/")]
        for _ in range(300):
            pid, at = rng.choice(patients), rng.randint(1, head)
            on = START + timedelta(days=rng.randint(0, 200))
            assert _answer(cached, pid, on, at) == _answer(fresh, pid, on, at)
    finally:
        cached.close()
        fresh.close()


def test_batches_record_what_the_same_commands_one_by_one_with_a_cold_cache_do(
        database_url: str, tmp_path: object) -> None:
    batched = _play(database_url, 20_000, batch=50)
    cold = _play(f"sqlite:///{tmp_path}/cold.db", 0, batch=50)
    try:
        assert _log(batched) == _log(cold)
    finally:
        batched.close()
        cold.close()


def test_what_another_ledger_records_is_seen_by_the_next_command_and_answer(
        database_url: str) -> None:
    clock = Clock(START)
    mine = Ledger(EventLog(database_url), clock=clock)
    theirs = Ledger(EventLog(database_url, create_tables=False), clock=clock)
    try:
        mine.install_reference(LEDGER, START)
        history = list(steps(HISTORY))
        setup = next(i for i, s in enumerate(history) if isinstance(s.command, c.EnrolPatient))
        single(mine, clock, history[:setup + 1])  # caches the cohort and the patient
        enrolled = history[setup].command
        assert isinstance(enrolled, c.EnrolPatient)
        pid = enrolled.patient_id
        theirs.execute(c.StartTreatment(patient_id=pid, started_on=enrolled.enrolled_on),
                       history[0].actor)
        assert mine.case(pid).patient.started is not None
        mine.execute(c.DispenseDrug(patient_id=pid, packs=1, dispensed_on=enrolled.enrolled_on),
                     history[0].actor)  # would conflict on its version if not caught up
        types = [f.type for f in mine.history(f"patient/{pid}")]
        assert "TreatmentStarted" in types and types[-1] == "DrugDispensed"
    finally:
        mine.close()
        theirs.close()


def test_a_refused_command_in_a_batch_keeps_the_facts_of_the_others(database_url: str) -> None:
    clock = Clock(START)
    ledger = Ledger(EventLog(database_url), clock=clock)
    try:
        ledger.install_reference(LEDGER, START)
        played = [s for s in steps(HISTORY) if not isinstance(s.command, c.Tick)]
        history = [s.command for s in played]
        setup = next(i for i, x in enumerate(history) if isinstance(x, c.EnrolPatient))
        clock.today = played[setup].today  # the batch is recorded on its last day
        enrol = history[setup]
        assert isinstance(enrol, c.EnrolPatient)
        start = c.StartTreatment(patient_id=enrol.patient_id, started_on=enrol.enrolled_on)
        # The second enrolment is refused; the start after it still finds the first one.
        with pytest.raises(CommandsRefused) as refused:
            ledger.record([*history[:setup + 1], enrol, start], LEDGER)
        assert [(i, type(r)) for i, r in refused.value.refusals] == [
            (setup + 1, err.AlreadyEnrolled)]
        assert ledger.record([*history[:setup + 1], start], LEDGER).facts
        assert ledger.case(enrol.patient_id).patient.started is not None
    finally:
        ledger.close()
