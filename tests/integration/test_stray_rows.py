"""A row written into the log round the ledger (issue 15, defect 8). The database refuses an
INSERT that is not the ledger's own append, on both databases. If one gets in anyway (a
superuser with the triggers off, a SQLite file edited with the triggers dropped), appends are
refused with a message that says what is wrong, `audit verify` names the row, the command line
does not call it an unreachable database, and the repair in docs/operations.md makes the
ledger write again."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

import cli.audit  # noqa: F401  (registers its commands)
import cli.server  # noqa: F401
from audit.verify import Kind, verify
from cli.main import app
from eventstore import EventLog, LogInconsistent, NewEvent

ACTOR = {"subject": "trial-office:kari", "role": "trial_office", "organisation": "ous"}
COMPANY = ('{"command": "RegisterCompany", "args": {"company_id": "nordlys", '
           '"name": "Nordlys Pharma AS", "registered_on": "2021-01-04"}}\n')


def noted(stream: str, version: int) -> NewEvent:
    return NewEvent(stream=stream, version=version, type="Noted", schema=1,
                    data={"note": f"{stream} {version}"}, valid_on=date(2023, 6, 1), actor=ACTOR)


def sqlite(url: str) -> bool:
    return url.startswith("sqlite:")


def connect(url: str) -> Any:
    if sqlite(url):
        return sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    return psycopg.connect(url, autocommit=True)


def events_table(url: str) -> tuple[str, str]:
    return ("stored_events", "rowid") if sqlite(url) else ("impress_events", "notification_id")


def copy_event(conn: Any, url: str, source: int, position: int) -> None:
    """A stray INSERT: the fact at `source` again, as another version, at `position`."""
    table, pos = events_table(url)
    p = "?" if sqlite(url) else "%s"
    conn.execute(f"INSERT INTO {table} (originator_id, originator_version, topic, state, {pos}) "
                 f"SELECT originator_id, originator_version + 100, topic, state, {p} FROM {table} "
                 f"WHERE {pos} = {p}", (position, source))


def triggers_off(conn: Any, url: str) -> None:
    """What only the owner of the tables, or a superuser, can do (docs/adr/0018)."""
    if sqlite(url):
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"
                                    ).fetchall():
            conn.execute(f"DROP TRIGGER {name}")
    else:
        conn.execute("SET session_replication_role = replica")


@pytest.fixture
def history(log: EventLog) -> EventLog:
    log.append([noted("patient/P1", 1), noted("patient/P1", 2)])
    log.append([noted("patient/P2", 1)])
    return log


def test_an_insert_that_is_not_the_ledger_s_append_is_refused(history: EventLog) -> None:
    url = history.url
    message = ("no such function: impress_append_only_through_the_ledger" if sqlite(url)
               else "facts are appended only by the ledger")
    conn = connect(url)
    try:
        for table in (events_table(url)[0], "impress_recorded", "impress_streams"):
            with pytest.raises((sqlite3.Error, psycopg.Error), match=message):
                if table == events_table(url)[0]:
                    copy_event(conn, url, source=1, position=4)
                else:
                    conn.execute(f"INSERT INTO {table} SELECT * FROM {table} LIMIT 0")
    finally:
        conn.close()
    assert history.append([noted("patient/P2", 2)])[0].position == 4
    assert verify(history).ok


def test_a_sqlite_connection_that_answers_the_guard_wrongly_gets_the_guard_s_message(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ledger.db"
    with EventLog(url) as log:
        log.append([noted("patient/P1", 1)])
    conn = sqlite3.connect(tmp_path / "ledger.db")
    conn.create_function("impress_append_only_through_the_ledger", 0, lambda: 0)
    with pytest.raises(sqlite3.IntegrityError, match="facts are appended only by the ledger"):
        conn.execute("INSERT INTO impress_streams VALUES ('patient/P9', 2)")
    conn.close()


@pytest.fixture
def strayed(history: EventLog) -> EventLog:
    """The history with a fact copied to head + 1 round the triggers, as only the owner of the
    tables or a superuser could."""
    conn = connect(history.url)
    try:
        triggers_off(conn, history.url)
        copy_event(conn, history.url, source=1, position=4)
    finally:
        conn.close()
    return history


def test_a_stray_row_at_the_head_stops_appends_with_a_message_that_names_it(
        strayed: EventLog) -> None:
    history = strayed
    with pytest.raises(LogInconsistent, match="facts end at position 4, their recorded times "
                                              "and chain hashes at 3") as refused:
        history.append([noted("patient/P2", 2)])
    assert "a row was written round the ledger" in str(refused.value)
    result = verify(history)
    assert result.first_difference is not None
    assert (result.first_difference.position, result.first_difference.kind) == (4, Kind.UNRECORDED)


def test_the_command_line_says_the_log_needs_an_operator_not_that_it_is_unreachable(
        strayed: EventLog, tmp_path: Path) -> None:
    history = strayed
    lines = tmp_path / "company.jsonl"
    lines.write_text(COMPANY)
    result = CliRunner().invoke(app, ["import", str(lines), "--database", history.url])
    assert result.exit_code == 70
    assert "the ledger's log needs an operator" in result.output
    assert "cannot reach" not in result.output
    audit = CliRunner().invoke(app, ["audit", "verify", "--database", history.url])
    assert audit.exit_code == 1 and "4" in audit.output


def test_removing_the_stray_row_as_the_repair_says_lets_the_ledger_write_again(
        strayed: EventLog) -> None:
    history = strayed
    # docs/operations.md, "A row written round the ledger": after `audit verify` named the
    # position, the owner removes that row, with the triggers off for that transaction only.
    table, pos = events_table(history.url)
    if sqlite(history.url):
        with EventLog(history.url):
            pass  # the file's triggers come back when the ledger opens it
        repair = sqlite3.connect(history.url.removeprefix("sqlite:///"), isolation_level=None)
        repair.execute("BEGIN")
        repair.execute("DROP TRIGGER stored_events_no_delete")
        repair.execute(f"DELETE FROM {table} WHERE {pos} = 4")
        repair.execute("COMMIT")
        repair.close()
        with EventLog(history.url):
            pass  # and again after the repair
    else:
        with psycopg.connect(history.url) as repair:
            repair.execute("SET LOCAL session_replication_role = replica")
            repair.execute(f"DELETE FROM {table} WHERE {pos} = 4")
    assert history.append([noted("patient/P2", 2)])[0].position == 4
    assert verify(history).ok
