"""The PostgreSQL log's tables and the protections on them, created once by the role that owns
them, and what the runtime role is granted (docs/adr/0018).

- UPDATE, DELETE and TRUNCATE are refused by trigger on the three tables (ADR 0002).
- INSERT is refused by trigger unless the transaction took the log's write lock through
  `impress_lock_log()`, as the ledger's append does first: a row written round the ledger (a
  stray INSERT at head + 1) would otherwise stop every later append.
- `impress_lock_log()` runs as the owner (SECURITY DEFINER): the runtime role, which may only
  INSERT and SELECT, could not take the EXCLUSIVE lock itself (LOCK TABLE in that mode needs
  UPDATE, DELETE or TRUNCATE rights). Nobody else may call it.
- The events table carries a comment naming the schema's version: a process that finds the
  current one runs no DDL at all, so the runtime role (which may not) and a hot standby (which
  cannot) start without it.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import PersistenceError
from psycopg.errors import InsufficientPrivilege
from psycopg.sql import SQL, Composed, Identifier

from eventstore.facts import StorageError
from eventstore.writer import (CHAIN_COLUMN, OUTDATED, RECORDED, SALT_COLUMN, SIDE_COLUMNS,
                               TREE_COLUMN)

SCHEMA_VERSION = "impress-ledger log schema 2"
"""2: the Merkle tree's columns (ADR 0019), the INSERT guard and the lock function (ADR 0018)."""
APPEND_SETTING = "impress.append"  # set (transaction-local) by impress_lock_log()
_DDL_LOCK = 0x1A9E55  # advisory lock key: one EventLog at a time runs the DDL


class NotOwner(Exception):
    """The log's tables are missing or older than this version, and this role may not make
    them: the schema is created by the owner role (`impress-ledger init --admin-url`)."""


class PostgresSchema:
    """The DDL half of PostgresRecorder (a mixin: it uses the recorder's datastore, table
    identifiers and the library's create statements)."""

    datastore: Any
    sql_create_statements: list[Any]
    _events: Identifier
    _recorded: Identifier
    _streams: Identifier

    def _function(self, name: str) -> Identifier:
        return Identifier(self.datastore.schema, name)

    def _side_tables(self) -> list[Composed]:
        refuse, guard = self._function("impress_refuse_change"), self._function("impress_guard_insert")
        statements = [
            SQL("CREATE TABLE IF NOT EXISTS {} (position bigint PRIMARY KEY, "
                "recorded_at timestamptz NOT NULL, {} text NOT NULL, {} bytea NOT NULL, "
                "{} bytea NOT NULL)").format(
                    self._recorded, Identifier(CHAIN_COLUMN), Identifier(SALT_COLUMN),
                    Identifier(TREE_COLUMN)),
            SQL("CREATE INDEX IF NOT EXISTS {} ON {} (recorded_at, position)").format(
                Identifier(f"{RECORDED}_at"), self._recorded),
            SQL('CREATE TABLE IF NOT EXISTS {} (stream text COLLATE "C" PRIMARY KEY, '
                "first_position bigint NOT NULL)").format(self._streams),
            SQL("CREATE OR REPLACE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION 'impress: % on %.% refused: the ledger is append-only', "
                "TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME; END $$").format(refuse),
            SQL("CREATE OR REPLACE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF current_setting({}, true) IS DISTINCT FROM 'on' THEN RAISE EXCEPTION "
                "'impress: INSERT into %.% refused: facts are appended only by the ledger "
                "(EventLog.append takes the log''s write lock first); a row written round it "
                "would stop every later append', TG_TABLE_SCHEMA, TG_TABLE_NAME; END IF; "
                "RETURN NULL; END $$").format(guard, APPEND_SETTING),
            SQL("CREATE OR REPLACE FUNCTION {}() RETURNS void LANGUAGE plpgsql SECURITY DEFINER "
                "SET search_path = pg_catalog, pg_temp AS $$ BEGIN "
                "LOCK TABLE {} IN EXCLUSIVE MODE; PERFORM set_config({}, 'on', true); END $$"
                ).format(self._function("impress_lock_log"), self._events, APPEND_SETTING),
            SQL("REVOKE ALL ON FUNCTION {}() FROM PUBLIC").format(
                self._function("impress_lock_log")),
        ]
        for table in (self._events, self._recorded, self._streams):
            statements += [
                SQL("CREATE OR REPLACE TRIGGER impress_append_only BEFORE UPDATE OR DELETE ON {} "
                    "FOR EACH ROW EXECUTE FUNCTION {}()").format(table, refuse),
                SQL("CREATE OR REPLACE TRIGGER impress_no_truncate BEFORE TRUNCATE ON {} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION {}()").format(table, refuse),
                SQL("CREATE OR REPLACE TRIGGER impress_appended_by_the_ledger BEFORE INSERT ON {} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION {}()").format(table, guard),
            ]
        statements.append(SQL("COMMENT ON TABLE {} IS {}").format(
            self._events, SCHEMA_VERSION))
        return statements

    def _lock_statement(self) -> str:
        return SQL("SELECT {}()").format(self._function("impress_lock_log")).as_string()

    def create_table(self) -> None:
        try:
            if not self._schema_is_current():
                self._create_schema()
        except PersistenceError as e:
            if isinstance(e.__cause__, InsufficientPrivilege):
                raise NotOwner(
                    f"the ledger's tables in schema {self.datastore.schema!r} are missing or "
                    "older than this version, and this role may not create them: create them "
                    f"as the owner role (impress-ledger init --admin-url ...): {e}") from e
            raise
        self.datastore.register_type_adapters()

    def _schema_is_current(self) -> bool:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute("SELECT obj_description(to_regclass(%s), 'pg_class') AS version",
                         (self._events.as_string(),))
            row = curs.fetchone()
        return row is not None and row["version"] == SCHEMA_VERSION

    def _create_schema(self) -> None:
        # All DDL in one transaction, serialised by an advisory lock: no races between
        # EventLogs opening the same database. CREATE TYPE has no IF NOT EXISTS.
        types = [s for s in self.sql_create_statements if "CREATE TYPE" in s.as_string()]
        others = [s for s in self.sql_create_statements if "CREATE TYPE" not in s.as_string()]
        with self.datastore.transaction(commit=True) as curs:
            curs.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
            # Only if missing: CREATE SCHEMA IF NOT EXISTS asks for the right to create
            # schemas even when there is nothing to create, and the owner may not have it.
            curs.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (self.datastore.schema,))
            if not curs.fetchone():
                curs.execute(SQL("CREATE SCHEMA {}").format(Identifier(self.datastore.schema)))
            # Lock the events table first, as appends do, so DDL and appends can't deadlock.
            curs.execute("SELECT 1 WHERE to_regclass(%s) IS NOT NULL", (self._events.as_string(),))
            if curs.fetchone():
                curs.execute(SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(self._events))
            for statement in types:
                curs.execute(SQL("DO $$ BEGIN {}; EXCEPTION WHEN duplicate_object THEN NULL; "
                                 "END $$").format(statement), prepare=False)
            for statement in others:
                curs.execute(statement, prepare=False)
            curs.execute("SELECT count(*) AS n FROM information_schema.columns "
                         "WHERE table_schema = %s AND table_name = %s AND column_name = ANY(%s)",
                         (self.datastore.schema, RECORDED, list(SIDE_COLUMNS)))
            if curs.fetchone()["n"] != len(SIDE_COLUMNS):
                raise StorageError(OUTDATED)

    def grant_runtime(self, role: str) -> None:
        """What the runtime role may do: read and append (through the lock function), and make
        tables of its own in the schema (the read models, which it rebuilds by dropping them).
        Anything more it was granted before on the log's tables is taken back."""
        schema = Identifier(self.datastore.schema)
        who = Identifier(role)
        tables = SQL(", ").join([self._events, self._recorded, self._streams])
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL("GRANT USAGE, CREATE ON SCHEMA {} TO {}").format(schema, who))
            curs.execute(SQL("REVOKE ALL ON {} FROM {}").format(tables, who))
            curs.execute(SQL("GRANT SELECT, INSERT ON {} TO {}").format(tables, who))
            lock = self._function("impress_lock_log")
            # Again here: a restore with --no-privileges gives it back to PUBLIC.
            curs.execute(SQL("REVOKE ALL ON FUNCTION {}() FROM PUBLIC").format(lock))
            curs.execute(SQL("GRANT EXECUTE ON FUNCTION {}() TO {}").format(lock, who))
