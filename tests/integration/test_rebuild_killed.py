"""A rebuild of the read models killed midway (kill -9) leaves its scratch tables and tracking
row behind (issue 15, defect 9) and the live read models as they were. `rebuild --clean`
removes them and nothing else; the next rebuild removes them before it starts, and its models
then equal the live ones and a replay; a second rebuild is refused while one runs. On SQLite and
on PostgreSQL. (A process following the log killed mid-batch: test_readmodel_kill.)"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

import cli.readmodels  # noqa: F401  (registers its commands)
from application import demo
from application.ledger import Ledger
from cli.main import app
from projections import rows as r
from projections import maintenance as m
from projections.maintenance import snapshot
from projections.projector import create_tables
from projections.scratch import Leftovers, leftovers
from projections.store import Database
from projections.whopays import WhoPaysView, catch_up, verify

REBUILD = """
import sys
from application.ledger import Ledger
from projections.whopays import rebuild

ledger = Ledger.open(sys.argv[1], create_tables=False)

def progress(position, head):
    print("replayed", position, flush=True)
    sys.stdin.readline()  # held here until the test kills it

rebuild(ledger, sys.argv[1], progress, batch_size=10)
"""

LEFT = f"removed what killed rebuilds left: {len(r.TABLES)} table(s)"


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    """The demo's history (every read model has rows), the read models caught up."""
    ledger = Ledger.open(database_url)
    demo.load_demo(ledger)
    view = WhoPaysView(database_url)
    catch_up(ledger, view)
    view.close()
    yield ledger
    ledger.close()


def read(url: str, what: Callable[[Database], Any]) -> Any:
    db = Database(url)
    try:
        return what(db)
    finally:
        db.close()


def live_rows(url: str) -> Any:
    """The live read models' position and every row of every table."""
    return read(url, lambda db: snapshot(db, r.LIVE))


def left(url: str) -> Leftovers:
    found: Leftovers = read(url, lambda db: leftovers(db, r.LIVE))
    return found


def start_rebuild(url: str) -> subprocess.Popen[str]:
    """A rebuild in a process of its own, held after its first batch is committed."""
    proc = subprocess.Popen([sys.executable, "-c", REBUILD, url], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().startswith("replayed ")
    return proc


def kill_midway(url: str) -> None:
    proc = start_rebuild(url)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    found = left(url)
    assert len(found.tables) == len(r.TABLES) and len(found.tracking) == 1, found


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_rebuild_clean_removes_what_a_killed_rebuild_left_and_nothing_else(
        ledger: Ledger) -> None:
    url = ledger.log.url
    before = live_rows(url)
    kill_midway(url)
    assert live_rows(url) == before

    result = cli("rebuild", "--clean", "--database", url)
    assert result.exit_code == 0, result.output
    assert LEFT in result.output
    assert not left(url)
    assert live_rows(url) == before
    assert cli("rebuild", "--clean", "--database", url).output.startswith("nothing left behind")


def test_the_next_rebuild_removes_what_a_killed_one_left_before_it_starts(
        ledger: Ledger) -> None:
    url = ledger.log.url
    before = live_rows(url)
    kill_midway(url)
    assert live_rows(url) == before  # the killed one never touched the live models

    result = cli("rebuild", "--database", url)
    assert result.exit_code == 0, result.output
    assert LEFT in result.output
    assert not left(url)
    assert live_rows(url)[1] == before[1]
    assert verify(ledger, url) == []


def test_a_second_rebuild_is_refused_while_one_runs(ledger: Ledger) -> None:
    url = ledger.log.url
    running = start_rebuild(url)
    try:
        result = cli("rebuild", "--database", url)
        assert result.exit_code == 75
        assert "another rebuild or verify of the read models is running" in result.output
        assert len(left(url).tables) == len(r.TABLES)  # the running one's, left alone
        assert cli("verify", "--database", url).exit_code == 75
    finally:
        running.communicate("\n" * 1000)  # let it finish
    assert running.returncode == 0
    assert not left(url)


def indexes(url: str) -> list[tuple[str, tuple[str, ...]]]:
    """Every index of the live tables, as (table, columns); the primary keys' left out."""
    def found(db: Database) -> list[tuple[str, tuple[str, ...]]]:
        live = {r.LIVE.of(t) for t in r.TABLES}
        with db.reading() as cur:
            if db.postgres:
                rows = cur.rows("SELECT i.relname, t.relname, a.attname FROM pg_index x "
                                "JOIN pg_class i ON i.oid = x.indexrelid "
                                "JOIN pg_class t ON t.oid = x.indrelid "
                                "JOIN pg_namespace n ON n.oid = t.relnamespace "
                                "JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY k(attnum, o) "
                                "ON true JOIN pg_attribute a ON a.attrelid = t.oid "
                                "AND a.attnum = k.attnum WHERE n.nspname = ? "
                                "AND NOT x.indisprimary ORDER BY i.relname, k.o", (db.schema,))
            else:
                rows = cur.rows("SELECT m.name, m.tbl_name, i.name FROM sqlite_master m, "
                                "pragma_index_info(m.name) i WHERE m.type = 'index' "
                                "AND m.sql IS NOT NULL ORDER BY m.name, i.seqno")
            columns: dict[tuple[str, str], list[str]] = {}
            for index, table, column in rows:
                columns.setdefault((index, table), []).append(column)
        return sorted((table, tuple(cols)) for (_, table), cols in columns.items()
                      if table in live)
    return read(url, found)


def test_after_a_rebuild_every_live_table_has_its_indexes_once(ledger: Ledger) -> None:
    """On SQLite a rebuild builds the new tables' indexes before its swap (which then holds the
    write lock the log's appends wait for only briefly) and renames the old tables away: the
    live tables keep the indexes built under the rebuild's names. Reopening the read models
    neither doubles them nor leaves one out, and the renamed old tables are gone."""
    url = ledger.log.url
    declared = sorted((r.LIVE.of(t), cols) for t in r.TABLES for cols in t.indexes)
    assert indexes(url) == declared
    for _ in range(2):
        m.rebuild(ledger, url, jobs=1)
        assert indexes(url) == declared
        read(url, lambda db: create_tables(db, r.LIVE))  # as a process opening them does
        assert indexes(url) == declared
        assert not left(url)
    assert verify(ledger, url) == []


SWAPPED_THEN_KILLED = """
import os, sys
from application.ledger import Ledger
from projections import maintenance

maintenance._drop_piecewise = lambda db, tables: os._exit(9)  # killed after the swap's commit
maintenance.rebuild(Ledger.open(sys.argv[1], create_tables=False), sys.argv[1], jobs=1)
"""


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # PostgreSQL drops in the swap
def test_a_rebuild_killed_after_its_swap_leaves_the_old_tables_for_the_next_job(
        ledger: Ledger) -> None:
    """On SQLite a rebuild renames the old tables away in its swap and drops them after it
    (ADR 0037). Killed between the two, the new model is live and right; the old tables are
    left under a scratch set's names, with the indexes they had under the live names. Tables
    made anew meanwhile (a new schema) still get their indexes, and `rebuild --clean` removes
    the old tables."""
    url = ledger.log.url
    declared = sorted((r.LIVE.of(t), cols) for t in r.TABLES for cols in t.indexes)
    before = live_rows(url)
    done = subprocess.run([sys.executable, "-c", SWAPPED_THEN_KILLED, url])
    assert done.returncode == 9
    assert live_rows(url)[1] == before[1]  # (verify would remove the leftovers first)
    found = left(url)
    assert len(found.tables) == len(r.TABLES) and not found.tracking
    assert all(t.startswith("rm_old_") for t in found.tables)
    assert indexes(url) == declared

    def new_schema(db: Database) -> None:  # as a new version of the read models would
        with db.writing() as cur:
            cur.run("UPDATE projection_schema SET digest = 'another' WHERE name = ?",
                    (r.LIVE.name,))
        create_tables(db, r.LIVE)

    read(url, new_schema)
    assert indexes(url) == declared  # the old tables hold the live names: others are used
    result = cli("rebuild", "--clean", "--database", url)
    assert result.exit_code == 0 and LEFT in result.output, result.output
    assert not left(url)
    assert indexes(url) == declared
    assert cli("rebuild", "--database", url).exit_code == 0
    assert verify(ledger, url) == [] and indexes(url) == declared


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # PostgreSQL drops in the swap
def test_old_tables_that_cannot_be_dropped_after_the_swap_do_not_fail_the_rebuild(
        ledger: Ledger, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
        ) -> None:
    """The new model is live once the swap commits: a drop of the old tables that fails (the
    write lock not had in time, say) is logged, and the next job removes what it left."""
    url = ledger.log.url

    def locked(db: Database, tables: object) -> None:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(m, "_drop_piecewise", locked)
    assert m.rebuild(ledger, url, jobs=1) == ledger.log.head()
    assert "were not all dropped" in caplog.text
    assert len(left(url).tables) == len(r.TABLES)
    assert verify(ledger, url) == []  # which removes them first
    assert not left(url)
