"""PostgreSQL roles (docs/adr/0018): the log's tables are created by an owner role; the ledger
runs as a role that may only read and append. That role cannot change or remove a fact, nor
switch the append-only protection off; the owner can, and so can a superuser (the ADR and the
README say so). The runtime role still keeps its own read models, which it rebuilds by
dropping and creating tables.

The roles impress_owner and impress_app are made by scripts/with-postgres."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from typer.testing import CliRunner

import cli.core  # noqa: F401  (registers its commands)
from application.idempotency import TABLE as IDEMPOTENCY_KEYS
from application.idempotency import IdempotencyIndex
from application.ledger import Ledger
from audit.verify import verify
from cli.main import app
from eventstore import EventLog, NewEvent, NotOwner
from projections.rows import LIVE
from projections.whopays import WhoPaysView, catch_up, rebuild
from tests.api.support import Api, settings_for
from tests.conftest import PostgresDatabases, as_role

pytestmark = pytest.mark.postgres

OWNER, RUNTIME = "impress_owner", "impress_app"
LOG_TABLES = ("impress_events", "impress_recorded", "impress_streams")


@dataclass(frozen=True)
class Roles:
    superuser: str
    owner: str
    runtime: str


@pytest.fixture
def roles(postgres_databases: PostgresDatabases) -> Iterator[Roles]:
    with postgres_databases.fresh() as url, psycopg.connect(url, autocommit=True) as conn:
        found = {r for (r,) in conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)",
                                            ([OWNER, RUNTIME],))}
        assert found == {OWNER, RUNTIME}, "scripts/with-postgres makes the test roles"
        # As a DBA would hand it over; USAGE for all, as in a new database.
        conn.execute(f"ALTER SCHEMA public OWNER TO {OWNER}")
        conn.execute("GRANT USAGE ON SCHEMA public TO PUBLIC")
        yield Roles(url, as_role(url, OWNER), as_role(url, RUNTIME))


def init(roles: Roles) -> None:
    result = CliRunner().invoke(app, ["init", "--admin-url", roles.owner,
                                      "--database", roles.runtime])
    assert result.exit_code == 0, result.output
    assert f"belong to '{OWNER}'; '{RUNTIME}' may read and append only" in result.output


def noted(stream: str, version: int) -> NewEvent:
    return NewEvent(stream=stream, version=version, type="Noted", schema=1, data={"n": version},
                    valid_on=None, actor={"subject": "test", "role": "system"})


def counts(url: str) -> list[int]:
    with psycopg.connect(url) as conn:
        return [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[index]
                for t in LOG_TABLES]


SWITCHES_AND_CHANGES = [
    "UPDATE impress_events SET topic = topic",
    "DELETE FROM impress_recorded",
    "TRUNCATE impress_streams",
    "ALTER TABLE impress_events DISABLE TRIGGER impress_append_only",
    "ALTER TABLE impress_events DISABLE TRIGGER ALL",
    "DROP TRIGGER impress_append_only ON impress_recorded",
    "ALTER TABLE impress_recorded ADD COLUMN note text",
    "ALTER TABLE impress_events OWNER TO impress_app",
    "DROP TABLE impress_streams",
    "SET session_replication_role = replica",
    "CREATE OR REPLACE FUNCTION impress_refuse_change() RETURNS trigger LANGUAGE plpgsql "
    "AS $$ BEGIN RETURN NULL; END $$",
]


@pytest.mark.parametrize("statement", SWITCHES_AND_CHANGES)
def test_the_runtime_role_cannot_change_the_log_or_switch_its_protection_off(
        roles: Roles, statement: str) -> None:
    init(roles)
    before = counts(roles.superuser)
    with psycopg.connect(roles.runtime, autocommit=True) as conn, pytest.raises(
            psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)
    assert counts(roles.superuser) == before
    with EventLog(roles.runtime, create_tables=False) as log:
        assert verify(log).ok


def test_the_runtime_role_cannot_grant_itself_more(roles: Roles) -> None:
    init(roles)
    with psycopg.connect(roles.runtime, autocommit=True) as conn:
        conn.execute("GRANT UPDATE, DELETE, TRUNCATE ON impress_events TO impress_app")  # a warning
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE impress_events SET topic = topic")


def test_the_runtime_role_appends_and_reads_through_the_ledger(roles: Roles) -> None:
    init(roles)  # which also records the health trusts, as the runtime role
    with EventLog(roles.runtime) as log:  # create_tables: finds them current, runs no DDL
        head = log.head()
        assert head > 0
        stored = log.append([noted("note/1", 1), noted("note/1", 2)])
        assert [f.position for f in stored] == [head + 1, head + 2]
        assert verify(log).ok


def test_the_runtime_role_may_not_create_the_tables_itself(roles: Roles) -> None:
    with pytest.raises(NotOwner, match="init --admin-url"):
        EventLog(roles.runtime)
    result = CliRunner().invoke(app, ["init", "--database", roles.runtime])
    assert result.exit_code == 77 and "init --admin-url" in result.output


def test_only_the_runtime_role_is_granted_the_log_s_write_lock(roles: Roles) -> None:
    init(roles)
    with psycopg.connect(roles.superuser) as conn:
        may = dict(conn.execute(
            "SELECT r, has_function_privilege(r, 'impress_lock_log()', 'EXECUTE') FROM "
            "unnest(ARRAY['impress_app', 'pg_monitor', 'pg_read_all_data']) AS r").fetchall())
    assert may == {"impress_app": True, "pg_monitor": False, "pg_read_all_data": False}


def test_the_owner_role_can_switch_the_protection_off_as_the_adr_says(roles: Roles) -> None:
    init(roles)
    with psycopg.connect(roles.owner) as conn:
        conn.execute("ALTER TABLE impress_streams DISABLE TRIGGER impress_append_only")
        conn.execute("DELETE FROM impress_streams")
        conn.rollback()  # shown, not kept
    assert counts(roles.superuser)[2] > 0


def test_the_runtime_role_keeps_its_read_models_and_rebuilds_them(roles: Roles,
                                                                  tmp_path: Path) -> None:
    init(roles)
    ledger = Ledger(EventLog(roles.runtime))
    try:
        view = WhoPaysView(roles.runtime)
        catch_up(ledger, view)
        assert rebuild(ledger, roles.runtime) == ledger.log.head()  # drops and renames tables
        view.close()
        api = Api(settings_for(tmp_path, roles.runtime), ledger)
        try:
            api.seed()  # the idempotency index: made by the runtime role on its first use
            assert api.get("/ready", None).status_code == 200
        finally:
            api.app.state.service.close()  # its read-model runner: not left following the
            api.client.close()  # database once it is emptied for the next test
        with psycopg.connect(roles.runtime, autocommit=True) as conn:
            conn.execute(f"DROP TABLE {IDEMPOTENCY_KEYS}")  # derived: the runtime role's own
        IdempotencyIndex(ledger.log).catch_up()  # and rebuilt from the log by it
    finally:
        ledger.close()
    with psycopg.connect(roles.superuser) as conn:
        owners = dict(conn.execute(
            "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public'").fetchall())
    assert {t: owners.pop(t) for t in LOG_TABLES} == dict.fromkeys(LOG_TABLES, OWNER)
    derived = [LIVE.of(t) for t in LIVE.tables] + [IDEMPOTENCY_KEYS]
    assert {t: owners.get(t) for t in derived} == dict.fromkeys(derived, RUNTIME)
    assert set(owners.values()) == {RUNTIME}  # and nothing else: tracking, schema digest


def test_init_refuses_an_admin_url_for_another_database(roles: Roles) -> None:
    other = urlunsplit(urlsplit(roles.owner)._replace(path="/elsewhere"))
    result = CliRunner().invoke(app, ["init", "--admin-url", other, "--database", roles.runtime])
    assert result.exit_code == 2
    assert "names database 'elsewhere'" in result.output

