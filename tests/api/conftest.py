from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.support import Api, settings_for


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    """The API over a fresh SQLite ledger holding the example history."""
    a = Api(settings_for(tmp_path))
    a.seed()
    yield a
    a.close()


@pytest.fixture
def any_db_api(tmp_path: Path, database_url: str) -> Iterator[Api]:
    """The same, on SQLite and on PostgreSQL (the `database_url` fixture of tests/conftest.py)."""
    a = Api(settings_for(tmp_path, database_url))
    a.seed()
    yield a
    a.close()
