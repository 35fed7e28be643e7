"""Idempotency keys: a retried POST returns the first result and records nothing new.

Design (why it cannot diverge from the log on a crash): the log itself is the record of which
keys were used. Every fact a keyed request records carries, in its actor, the key, its owner
(the principal: subject, role and organisation) and a fingerprint of the request's commands;
they are written in the same transaction as the facts, so either both exist or neither. The
table `impress_idempotency_keys` is only an index over the log (owner, key -> fingerprint,
first and last position), kept like a projection: it remembers the log position it has read up
to, and every lookup first reads the facts recorded since. A crash between a command's commit
and the index update loses nothing; the next lookup indexes those facts. The table or its
tracking row can be lost at any time: the index is then rebuilt from the log.

Two requests with the same key at the same time: the service looks the key up again after
deciding (after reading the streams it writes to) and before appending. If the twin committed
before that lookup, it is found and replayed; if it commits after, it took the versions this
request expected, so the append fails with a concurrent modification, and the key is looked up
once more and replayed. So a key never records twice.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, fields
from typing import Any

from domain import codec
from domain import errors as err
from domain import commands as c
from domain.values import Actor
from eventstore import EventLog, StoredFact

KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,200}$")
# Renamed when the key's owner became the principal (subject, role, organisation): the old
# index, keyed by subject alone, is dropped and this one is built from the log (issue 15).
TABLE = "impress_idempotency_keys"
TRACKING = "impress_idempotency_keys_tracking"
OLD_TABLES = ("impress_idempotency", "impress_idempotency_tracking")


def fingerprint(commands: list[c.Command]) -> str:
    """The same commands always give the same fingerprint, however the JSON was spelled."""
    canonical = [
        [type(cmd).__name__, {name: codec.encode_value(getattr(cmd, name)) for name in _asked(cmd)}]
        for cmd in commands
    ]
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _asked(cmd: c.Command) -> tuple[str, ...]:
    """The fields a person asked for: all of them, but for a command that also carries what the
    ledger worked out (an issued statement's position and hash), so a retry of the same request
    after other facts were recorded is still the same request."""
    return getattr(cmd, "ASKED", None) or tuple(f.name for f in fields(cmd))


def principal(actor: Actor) -> str:
    """Whose key it is: the authenticated subject in its role for its organisation. Two
    partners' tokens may carry the same subject (issuers number their clients themselves)."""
    return json.dumps([actor.role, actor.organisation, actor.subject], separators=(",", ":"))


@dataclass(frozen=True)
class Used:
    """A key already used: what it was used for, and where its facts are in the log."""

    fingerprint: str
    first_position: int
    last_position: int


class IdempotencyIndex:
    """(principal, key) -> Used, over the log, in the log's own database.

    A projection: its rows and its tracking row (the log position read up to) are written in
    one transaction, which also checks that the tracking row still holds the position the
    catch-up started from (else another process moved it, or rebuilt the index: this one starts
    again). If the table or the tracking row is missing, the index is emptied and rebuilt from
    the log before the next lookup."""

    def __init__(self, log: EventLog, *, create_table: bool = True) -> None:
        self.log = log
        self.datastore = log.application.recorder.datastore  # type: ignore[attr-defined]
        self.postgres = "postgres" in type(self.datastore).__module__
        schema = getattr(self.datastore, "schema", "") if self.postgres else ""
        self.prefix = f'"{schema}".' if schema else ""
        self.table, self.tracking = self.prefix + TABLE, self.prefix + TRACKING
        if create_table:
            self.create_table()

    # --- SQL, for both databases ------------------------------------------------------------

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.postgres else statement

    def _rows(self, cursor: Any) -> list[tuple[Any, ...]]:
        return [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in cursor.fetchall()]

    def create_table(self) -> None:
        if self._tracked() is None:
            self._rebuild()

    def _rebuild(self) -> None:
        """Create the tables if they are missing, empty the index and set its tracking row to 0:
        the next catch-up reads the whole log.

        On PostgreSQL in one transaction, under an advisory lock. On SQLite each statement that
        creates or drops is a transaction of its own, then the index is emptied in one: the
        library begins SQLite's transactions deferred, and a transaction that first only reads
        (a `... IF NOT EXISTS` that finds the table) and then writes is refused at once
        ("database is locked", no wait) if another connection, a server's read-model runner,
        committed in between. A transaction whose first statement writes waits for its turn."""
        big = "BIGINT" if self.postgres else "INTEGER"
        schema = [f"DROP TABLE IF EXISTS {self.prefix}{old}" for old in OLD_TABLES] + [
            f"CREATE TABLE IF NOT EXISTS {self.table} (owner TEXT NOT NULL, key TEXT NOT NULL, "
            f"fingerprint TEXT NOT NULL, first_position {big} NOT NULL, last_position {big} "
            "NOT NULL, PRIMARY KEY (owner, key))",
            f"CREATE INDEX IF NOT EXISTS {TABLE}_fingerprint ON {self.table} (fingerprint)",
            f"CREATE TABLE IF NOT EXISTS {self.tracking} (id INTEGER PRIMARY KEY, "
            f"position {big} NOT NULL)"]
        empty = [f"DELETE FROM {self.table}", f"DELETE FROM {self.tracking}",
                 f"INSERT INTO {self.tracking} (id, position) VALUES (1, 0)"]
        if self.postgres:
            with self.datastore.transaction(commit=True) as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (0x1DE4907,))
                for statement in schema + empty:
                    cur.execute(statement)
            return
        for statement in schema:
            with self.datastore.transaction(commit=True) as cur:
                cur.execute(statement)
        with self.datastore.transaction(commit=True) as cur:
            for statement in empty:
                cur.execute(statement)

    # --- the index ----------------------------------------------------------------------------

    def catch_up(self) -> None:
        """Index every keyed fact recorded since the last catch-up (by any process)."""
        while not self._catch_up_once():
            pass

    def _tracked(self) -> int | None:
        """The position read up to, or None if the table or the tracking row is gone."""
        try:
            with self.datastore.transaction(commit=False) as cur:
                cur.execute(f"SELECT 1 FROM {self.table} WHERE 1 = 0")
                cur.execute(self._sql(f"SELECT position FROM {self.tracking} WHERE id = 1"))
                rows = self._rows(cur)
        except Exception as e:
            if _missing_table(e):
                return None
            raise
        return int(rows[0][0]) if rows else None

    def _catch_up_once(self) -> bool:
        after = self._tracked()
        if after is None:
            self._rebuild()
            return False
        found: dict[tuple[str, str], list[Any]] = {}
        # The head first: every fact up to it is committed (positions are given out in commit
        # order), so none is passed over. Of those, only facts that mention a key are read:
        # after a bulk import (ingested without keys) the whole log may be new to the index,
        # and a server starts by catching up (at M, 1.3 M facts: minutes, read whole).
        last = self.log.head()
        if last <= after:
            return True
        for fact in self.log.read(after=after, up_to=last, mentioning='"idempotency_key"'):
            key, who = fact.actor.get("idempotency_key"), owner(fact.actor)
            if isinstance(key, str) and isinstance(who, str):
                entry = found.setdefault((who, key), [fact.actor.get("fingerprint", ""),
                                                      fact.position, fact.position])
                entry[1], entry[2] = min(entry[1], fact.position), max(entry[2], fact.position)
        try:
            with self.datastore.transaction(commit=True) as cur:
                cur.execute(self._sql(f"UPDATE {self.tracking} SET position = ? WHERE id = 1 "
                                      "AND position = ? RETURNING position"), (last, after))
                if not self._rows(cur):
                    raise _Moved()  # rolls back: another process caught up or rebuilt
                for (who, key), (fp, first, final) in found.items():
                    cur.execute(self._sql(
                        f"INSERT INTO {self.table} (owner, key, fingerprint, first_position, "
                        "last_position) VALUES (?, ?, ?, ?, ?) ON CONFLICT (owner, key) DO NOTHING"),
                        (who, key, fp, first, final))
        except _Moved:
            return False
        return True

    def lookup(self, actor: Actor, key: str) -> Used | None:
        self.catch_up()
        with self.datastore.transaction(commit=False) as cur:
            cur.execute(self._sql(f"SELECT fingerprint, first_position, last_position FROM "
                                  f"{self.table} WHERE owner = ? AND key = ?"),
                        (principal(actor), key))
            rows = self._rows(cur)
        return Used(str(rows[0][0]), int(rows[0][1]), int(rows[0][2])) if rows else None

    def landed(self, fp: str) -> Used | None:
        """The first request, by anyone, whose commands had this fingerprint (an import that
        already landed), or None."""
        self.catch_up()
        with self.datastore.transaction(commit=False) as cur:
            cur.execute(self._sql(f"SELECT fingerprint, first_position, last_position FROM "
                                  f"{self.table} WHERE fingerprint = ? ORDER BY first_position "
                                  "LIMIT 1"), (fp,))
            rows = self._rows(cur)
        return Used(str(rows[0][0]), int(rows[0][1]), int(rows[0][2])) if rows else None

    def facts(self, actor: Actor, key: str, used: Used) -> list[StoredFact]:
        """The facts the first request with this key recorded: its result, to replay."""
        who = principal(actor)
        return [
            f for f in self.log.read(after=used.first_position - 1, up_to=used.last_position)
            if f.actor.get("idempotency_key") == key and owner(f.actor) == who
        ]


class _Moved(Exception):
    pass


def owner(actor: dict[str, Any]) -> Any:
    """Whose key a fact's key is: the principal written with it (`key_owner`). A fact keyed
    before principals were written has the principal of its own actor; a fact the ledger
    derived then has none, and a replay of such an old request leaves it out."""
    if isinstance(actor.get("key_owner"), str):
        return actor["key_owner"]
    if actor.get("triggered_by"):
        return None  # derived before principals were written: its principal is unknown
    if all(isinstance(actor.get(k), str) for k in ("subject", "role", "organisation")):
        return principal(Actor(subject=actor["subject"], role=actor["role"],
                               organisation=actor["organisation"]))
    return None


def _missing_table(error: BaseException | None) -> bool:
    """SQLite's "no such table" or PostgreSQL's undefined_table (42P01), however wrapped."""
    while error is not None:
        if getattr(error, "sqlstate", None) == "42P01" or "no such table" in str(error):
            return True
        error = error.__cause__ or error.__context__
    return False


class IdempotencyKeyReused(err.Refused):
    """The key was already used for a different request: nothing was recorded."""

    code = "idempotency-key-reused"
    kind = "invalid"

    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was already used for a different request; "
                         "use a new key for a new request")
