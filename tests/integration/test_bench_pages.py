"""`make page-timings` times every page it lists, for each role, on a ledger it builds (the
demo here): every page answers 200 from the read models it builds first."""

from __future__ import annotations

from pathlib import Path

import pytest
import structlog

from bench import pages


def test_page_timings_time_every_listed_page_on_a_ledger_they_build(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    was = structlog.get_config()
    try:
        assert pages.main(["--size", "demo", "--db", str(tmp_path / "ledger.db"), "--runs", "1"]) == 0
    finally:
        structlog.configure(**was)
    rows = [row.split() for row in capsys.readouterr().out.splitlines()[1:]]
    listed = [(role, path) for role, (_, paths) in pages.ROLES.items() for path in paths]
    assert len(rows) == len(listed)
    for (role, path), (timed_role, url, median, slowest) in zip(listed, rows, strict=True):
        assert timed_role == role and url.startswith(path.split("{")[0])
        assert 0 < float(median) <= float(slowest)
