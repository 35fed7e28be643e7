"""Fixtures shared by every suite: a fresh database per test, on SQLite and on PostgreSQL.

PostgreSQL comes from IMPRESS_TEST_POSTGRES_URL (a server where we may create databases),
which `scripts/with-postgres` sets; `make test` runs pytest under it. Without it the
PostgreSQL cases are skipped, except in CI (CI=true), where they fail: they must run there.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

import psycopg
import pytest
from psycopg import sql

from eventstore import EventLog

POSTGRES_URL_VARIABLE = "IMPRESS_TEST_POSTGRES_URL"

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    url = os.environ.get(POSTGRES_URL_VARIABLE, "").strip()
    if not url:
        reason = f"{POSTGRES_URL_VARIABLE} is not set: run the tests with scripts/with-postgres"
        if _in_ci():
            pytest.fail(f"{reason} (in CI the PostgreSQL tests must run, never skip)",
                        pytrace=False)
        pytest.skip(reason)
    return url


class PostgresDatabases:
    """Fresh, empty databases on the test server. CREATE DATABASE costs a quarter of a second,
    so a database is emptied after its test (every schema dropped, an empty `public` made
    again, stray connections ended) and handed to the next one; all are dropped at the end."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.created: list[str] = []
        self.idle: list[str] = []

    def url(self, name: str) -> str:
        return urlunsplit(urlsplit(self.server_url)._replace(path=f"/{name}"))

    @contextmanager
    def fresh(self) -> Iterator[str]:
        name = self.idle.pop() if self.idle else self._create()
        try:
            yield self.url(name)
        finally:
            self._empty(name)
            self.idle.append(name)

    def _create(self) -> str:
        name = f"impress_test_{uuid4().hex[:16]}"
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.created.append(name)
        return name

    def _empty(self, name: str) -> None:
        with psycopg.connect(self.url(name), autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            schemas = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname <> "
                                   "'information_schema' AND nspname NOT LIKE 'pg\\_%'").fetchall()
            for (schema,) in schemas:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
            conn.execute("CREATE SCHEMA public")

    def drop_all(self) -> None:
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            for name in self.created:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                             .format(sql.Identifier(name)))


def as_role(url: str, role: str) -> str:
    """The same database, as another role (the test server trusts every local role)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port}"))


@pytest.fixture(scope="session")
def postgres_databases(postgres_server_url: str) -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases(postgres_server_url)
    try:
        yield databases
    finally:
        databases.drop_all()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> Iterator[str]:
    """A URL of a fresh, empty database (an EventLog URL: sqlite:/// or postgresql://)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/ledger.db"
        return
    databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
    with databases.fresh() as url:
        yield url


@pytest.fixture
def log(database_url: str) -> Iterator[EventLog]:
    """A fresh, empty EventLog on each backend."""
    event_log = EventLog(database_url)
    try:
        yield event_log
    finally:
        event_log.close()


@pytest.fixture(autouse=True)
def no_runner_left_behind(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test stops every read-model runner it started: one left running follows a database
    that is emptied and handed to the next test, takes its leader lock and projects into it
    (the next test's runners then wait for a lock nobody gives up)."""
    import threading

    def runners() -> set[threading.Thread]:
        return {t for t in threading.enumerate()
                if t.name == "read-model-runner" and t.is_alive()}

    before = runners()
    yield
    if request.node.get_closest_marker("postgres") is not None:  # SQLite: a file per test
        left = runners() - before
        assert not left, f"{len(left)} read-model runner(s) left running by this test"
