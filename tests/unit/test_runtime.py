"""Every ledger process collects cycles at the threshold application.runtime sets: the server,
each of its workers and the CLI (a statement at M spent a third of its time in the collector
at Python's default)."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from application.runtime import YOUNG, tune_collector
from cli.main import main
from tests.api.support import Api, settings_for


@pytest.fixture(autouse=True)
def python_default() -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*before)


def test_tuning_sets_the_young_threshold_and_keeps_the_older_ones() -> None:
    gc.set_threshold(700, 11, 12)
    tune_collector()
    assert gc.get_threshold() == (YOUNG, 11, 12)


def test_the_server_tunes_the_collector(tmp_path: Path) -> None:
    api = Api(settings_for(tmp_path))
    try:
        assert gc.get_threshold()[0] == YOUNG
    finally:
        api.close()


def test_the_cli_tunes_the_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["impress-ledger", "--help"])
    with pytest.raises(SystemExit):
        main()
    assert gc.get_threshold()[0] == YOUNG
