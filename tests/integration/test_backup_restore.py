"""Backup and restore, verified (issue 15). A backup taken while the ledger runs, restored
elsewhere, is proven by a digest saved before it to be the same history; a restore refuses to
replace an existing ledger unless told, and refuses a copy that is not the history it claims.
SQLite: `impress-ledger backup` / `restore` (the online backup API). PostgreSQL: the procedure
in docs/operations.md (pg_dump, pg_restore into a new database, verify against the digest)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import threading
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

import cli.audit  # noqa: F401  (registers its commands)
import cli.operations  # noqa: F401
from audit.verify import Digest, digest, verify
from cli.main import app
from eventstore import EventLog, NewEvent
from tests.conftest import PostgresDatabases, as_role

ACTOR = {"subject": "trial-office:kari", "role": "trial_office", "organisation": "ous"}


def noted(stream: str, version: int) -> NewEvent:
    return NewEvent(stream=stream, version=version, type="Noted", schema=1,
                    data={"note": f"{stream} v{version}"}, valid_on=date(2023, 6, 1), actor=ACTOR)


def history(log: EventLog, streams: range) -> None:
    for n in streams:
        log.append([noted(f"patient/P{n}", 1), noted(f"patient/P{n}", 2)])


def cli(*args: str | Path) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


def same_history(a: EventLog, b: EventLog, up_to: int) -> bool:
    return list(a.entries(up_to=up_to)) == list(b.entries(up_to=up_to))


# --- SQLite: the commands ----------------------------------------------------------------------

@pytest.fixture
def ledger(tmp_path: Path) -> Any:
    log = EventLog(f"sqlite:///{tmp_path}/ledger.db")
    history(log, range(1, 11))
    yield log
    log.close()


def test_a_backup_restored_elsewhere_is_the_same_history_by_a_digest_saved_before(
        ledger: EventLog, tmp_path: Path) -> None:
    saved = digest(ledger)  # an auditor's, kept outside
    result = cli("backup", tmp_path / "copy.db", "--database", ledger.url)
    assert result.exit_code == 0, result.output
    history(ledger, range(11, 13))  # the ledger goes on after the backup

    restored_url = f"sqlite:///{tmp_path}/restored.db"
    result = cli("restore", tmp_path / "copy.db", "--database", restored_url,
                 "--digest", json.dumps(saved.to_dict()))
    assert result.exit_code == 0, result.output
    with EventLog(restored_url, create_tables=False) as restored:
        assert verify(restored, [saved]).ok
        assert restored.head() == saved.position == 20
        assert same_history(ledger, restored, up_to=saved.position)
        # and the restored ledger takes appends where the copy ended
        assert restored.append([noted("patient/P99", 1)])[0].position == 21


def test_the_backup_writes_its_digest_beside_it_and_restore_proves_against_it(
        ledger: EventLog, tmp_path: Path) -> None:
    assert cli("backup", tmp_path / "copy.db", "--database", ledger.url).exit_code == 0
    beside = Digest.from_dict(json.loads((tmp_path / "copy.db.digest.json").read_text()))
    assert beside == digest(ledger)
    result = cli("restore", tmp_path / "copy.db", "--database", f"sqlite:///{tmp_path}/r.db")
    assert result.exit_code == 0, result.output
    assert beside.chain_hash in result.output


def test_a_backup_taken_while_facts_are_appended_is_a_whole_prefix_of_the_log(
        ledger: EventLog, tmp_path: Path) -> None:
    stop, appending = threading.Event(), threading.Event()

    def append() -> None:
        n = 100
        while not stop.is_set():
            ledger.append([noted(f"patient/P{n}", 1)])
            appending.set()
            n += 1

    writer = threading.Thread(target=append)
    writer.start()
    try:
        assert appending.wait(30)
        result = cli("backup", tmp_path / "copy.db", "--database", ledger.url)
    finally:
        stop.set()
        writer.join()
    assert result.exit_code == 0, result.output
    beside = Digest.from_dict(json.loads((tmp_path / "copy.db.digest.json").read_text()))
    assert beside.position > 20
    assert digest(ledger, beside.position) == beside  # the log as it was at that position


def test_restore_refuses_to_replace_an_existing_ledger_unless_told(
        ledger: EventLog, tmp_path: Path) -> None:
    assert cli("backup", tmp_path / "copy.db", "--database", ledger.url).exit_code == 0
    history(ledger, range(11, 13))

    refused = cli("restore", tmp_path / "copy.db", "--database", ledger.url)
    assert refused.exit_code == 2
    assert "already holds a ledger (head 24)" in refused.output and "--force" in refused.output
    assert ledger.head() == 24

    forced = cli("restore", tmp_path / "copy.db", "--database", ledger.url, "--force")
    assert forced.exit_code == 0, forced.output
    with EventLog(ledger.url, create_tables=False) as again:
        assert again.head() == 20 and verify(again).ok


def test_a_backup_file_is_not_overwritten_unless_told(ledger: EventLog, tmp_path: Path) -> None:
    (tmp_path / "copy.db").write_text("an earlier backup")
    result = cli("backup", tmp_path / "copy.db", "--database", ledger.url)
    assert result.exit_code == 2 and "--force" in result.output
    assert (tmp_path / "copy.db").read_text() == "an earlier backup"


def test_a_copy_changed_after_the_backup_is_refused_and_nothing_restored(
        ledger: EventLog, tmp_path: Path) -> None:
    assert cli("backup", tmp_path / "copy.db", "--database", ledger.url).exit_code == 0
    edit = sqlite3.connect(tmp_path / "copy.db", isolation_level=None)
    for (name,) in edit.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
        edit.execute(f"DROP TRIGGER {name}")
    edit.execute("UPDATE stored_events SET state = replace(state, 'P3 v1', 'P3 v9') "
                 "WHERE rowid = 5")
    edit.close()

    result = cli("restore", tmp_path / "copy.db", "--database", f"sqlite:///{tmp_path}/r.db")
    assert result.exit_code == 1
    assert "not the history it should be at position 5" in result.output
    assert not (tmp_path / "r.db").exists()


def test_backup_of_a_postgresql_ledger_points_to_its_procedure(tmp_path: Path) -> None:
    result = cli("backup", tmp_path / "copy.db", "--database",
                 "postgresql://ledger@db.example/impress")
    assert result.exit_code == 2 and "pg_dump" in result.output


# --- PostgreSQL: the documented procedure ------------------------------------------------------

def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.mark.postgres
def test_a_pg_dump_restored_into_a_new_database_is_the_same_history(
        postgres_databases: PostgresDatabases, tmp_path: Path) -> None:
    with postgres_databases.fresh() as url, postgres_databases.fresh() as new_url:
        with EventLog(url) as log:
            history(log, range(1, 11))
            saved = digest(log)  # docs/operations.md step 1: the digest, kept outside
            dump = tmp_path / "ledger.dump"
            made = run("pg_dump", "--format=custom", f"--file={dump}", url)  # step 2
            assert made.returncode == 0, made.stderr
            history(log, range(11, 13))  # the ledger goes on

            # Step 3, the new database only: over the live one pg_restore stops at the first
            # table that is there, and changes nothing.
            over = run("pg_restore", "--exit-on-error", "--no-owner", f"--dbname={url}", str(dump))
            assert over.returncode != 0 and "already exists" in over.stderr
            assert log.head() == 24 and verify(log).ok

        # Step 3: as the owner role (docs/adr/0018), into a new database it may create in;
        # then init grants the runtime role its rights again.
        with psycopg.connect(new_url, autocommit=True) as conn:
            conn.execute("ALTER SCHEMA public OWNER TO impress_owner")
            conn.execute("GRANT USAGE ON SCHEMA public TO PUBLIC")
        owner, runtime = as_role(new_url, "impress_owner"), as_role(new_url, "impress_app")
        restored = run("pg_restore", "--exit-on-error", "--no-owner", "--no-privileges",
                       f"--dbname={owner}", str(dump))
        assert restored.returncode == 0, restored.stderr
        assert cli("init", "--admin-url", owner, "--database", runtime).exit_code == 0
        with EventLog(runtime) as log:  # step 4: verify against the digest
            assert verify(log, [saved]).ok
            assert log.append([noted("patient/P99", 1)])[0].position == 21 + 17  # + the trusts
        with psycopg.connect(new_url) as conn:  # --no-privileges gave it back to PUBLIC; init not
            assert not conn.execute("SELECT has_function_privilege('pg_monitor', "
                                    "'impress_lock_log()', 'EXECUTE')").fetchone()[0]  # type: ignore[index]
        result = cli("audit", "verify", "--digest", json.dumps(saved.to_dict()),
                     "--database", runtime)
        assert result.exit_code == 0, result.output
