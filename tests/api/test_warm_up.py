"""A server process folds the long streams (registry, companies, drugs, agreements, cohorts)
into its ledger's cache at start, in the background, so that its first pages do not; the
patients stay cold; `IMPRESS_WARM_UP=false` leaves the cache empty; closing stops it between
two streams."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from api import served
from api.settings import Settings
from application.ledger import Ledger
from tests.api.support import Api, settings_for


def _long_streams(api: Api) -> list[str]:
    return [s for s in api.ledger.log.streams("") if not s.startswith("patient/")]


def _started(settings: Settings) -> Api:
    """A server process started on a ledger another process recorded."""
    return Api(settings)


def test_a_server_holds_every_long_stream_after_start_and_no_patient(any_db_api: Api) -> None:
    settings = any_db_api.settings
    api = _started(settings)
    try:
        warming = api.app.state.service._warming
        assert warming is not None
        warming[1].join(timeout=60)
        assert not warming[1].is_alive()
        states = api.ledger.states
        long = _long_streams(api)
        assert any(s.startswith("cohort/") for s in long)
        assert any(s.startswith("agreement/") for s in long)
        held = [s for s in long if states.state(s) is not None]
        assert held == long
        patients = [s for s in api.ledger.log.streams("patient/")]
        assert patients and all(states.state(s) is None for s in patients)
        # what it holds is what another process's fold of the log gives
        other = Ledger.open(settings.database_url, create_tables=False)
        try:
            fresh = other.workspace()
            assert all(states.state(s) == fresh.get(s) for s in long)
        finally:
            other.close()
    finally:
        api.close()


def test_with_warm_up_off_a_server_folds_nothing_at_start(tmp_path: Path) -> None:
    seeded = Api(settings_for(tmp_path))
    seeded.seed()
    seeded.close()
    api = _started(settings_for(tmp_path).model_copy(update={"warm_up": False}))
    try:
        assert api.app.state.service._warming is None
        assert all(api.ledger.states.state(s) is None for s in _long_streams(api))
    finally:
        api.close()


def test_warming_stops_when_asked_between_two_streams(api: Api) -> None:
    fresh = _started(api.settings.model_copy(update={"warm_up": False}))
    try:
        asked = []

        def stop() -> bool:
            asked.append(1)
            return len(asked) > 3

        folded = fresh.ledger.warm(stop)
        assert 0 < folded <= 3 < len(_long_streams(fresh))
        held = [s for s in _long_streams(fresh) if fresh.ledger.states.state(s) is not None]
        assert len(held) == folded
    finally:
        fresh.close()


def test_a_warm_up_held_by_a_read_that_never_returns_does_not_hold_the_servers_stop(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    # a database that accepts connections and answers nothing holds the warm-up's read
    monkeypatch.setattr(served, "WARM_UP_STOP_SECONDS", 0.2)
    fresh = _started(api.settings.model_copy(update={"warm_up": False}))
    answered = threading.Event()
    monkeypatch.setattr(fresh.ledger, "warm", lambda stop: answered.wait(60) and 0)
    fresh.app.state.service.warm_up()
    closing = threading.Thread(target=fresh.close)
    closing.start()
    closing.join(timeout=30)
    try:
        assert not closing.is_alive(), "the server's stop waited for the warm-up's read"
    finally:
        answered.set()
        closing.join()
