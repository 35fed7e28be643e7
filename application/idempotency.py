"""Idempotency keys: a retried POST returns the first result and records nothing new.

Design (why it cannot diverge from the log on a crash): the log itself is the record of which
keys were used. Every fact a keyed request records carries, in its actor, the key and a
fingerprint of the request's commands; they are written in the same transaction as the facts,
so either both exist or neither. The table `impress_idempotency` is only an index over the log
(subject, key -> fingerprint, first and last position), kept like a projection: it remembers
the log position it has read up to, and every lookup first reads the facts recorded since.
A crash between a command's commit and the index update loses nothing; the next lookup indexes
those facts. The index can be dropped at any time: it is rebuilt from the log.

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
from eventstore import EventLog, StoredFact

KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,200}$")
TABLE = "impress_idempotency"
TRACKING = "impress_idempotency_tracking"


def fingerprint(commands: list[c.Command]) -> str:
    """The same commands always give the same fingerprint, however the JSON was spelled."""
    canonical = [
        [type(cmd).__name__, {f.name: codec.encode_value(getattr(cmd, f.name)) for f in fields(cmd)}]
        for cmd in commands
    ]
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Used:
    """A key already used: what it was used for, and where its facts are in the log."""

    fingerprint: str
    first_position: int
    last_position: int


class IdempotencyIndex:
    """(subject, key) -> Used, over the log, in the log's own database."""

    def __init__(self, log: EventLog, *, create_table: bool = True) -> None:
        self.log = log
        self.datastore = log.application.recorder.datastore
        self.postgres = "postgres" in type(self.datastore).__module__
        schema = getattr(self.datastore, "schema", "") if self.postgres else ""
        prefix = f'"{schema}".' if schema else ""
        self.table, self.tracking = prefix + TABLE, prefix + TRACKING
        if create_table:
            self.create_table()

    # --- SQL, for both databases ------------------------------------------------------------

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.postgres else statement

    def _rows(self, cursor: Any) -> list[tuple[Any, ...]]:
        return [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in cursor.fetchall()]

    def create_table(self) -> None:
        big = "BIGINT" if self.postgres else "INTEGER"
        with self.datastore.transaction(commit=True) as cur:
            if self.postgres:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (0x1DE4907,))
            cur.execute(f"CREATE TABLE IF NOT EXISTS {self.table} (subject TEXT NOT NULL, "
                        f"key TEXT NOT NULL, fingerprint TEXT NOT NULL, first_position {big} "
                        f"NOT NULL, last_position {big} NOT NULL, PRIMARY KEY (subject, key))")
            cur.execute(f"CREATE TABLE IF NOT EXISTS {self.tracking} (id INTEGER PRIMARY KEY, "
                        f"position {big} NOT NULL)")
            conflict = "ON CONFLICT (id) DO NOTHING"
            cur.execute(self._sql(f"INSERT INTO {self.tracking} (id, position) "
                                  f"VALUES (1, 0) {conflict}"))

    # --- the index ----------------------------------------------------------------------------

    def catch_up(self) -> None:
        """Index every keyed fact recorded since the last catch-up (by any process)."""
        with self.datastore.transaction(commit=False) as cur:
            cur.execute(self._sql(f"SELECT position FROM {self.tracking} WHERE id = 1"))
            rows = self._rows(cur)
        after = int(rows[0][0]) if rows else 0
        found: dict[tuple[str, str], list[Any]] = {}
        last = after
        for fact in self.log.read(after=after):
            last = fact.position
            key, subject = fact.actor.get("idempotency_key"), owner(fact.actor)
            if isinstance(key, str) and isinstance(subject, str):
                entry = found.setdefault((subject, key), [fact.actor.get("fingerprint", ""),
                                                          fact.position, fact.position])
                entry[1], entry[2] = min(entry[1], fact.position), max(entry[2], fact.position)
        if last == after:
            return
        with self.datastore.transaction(commit=True) as cur:
            for (subject, key), (fp, first, final) in found.items():
                cur.execute(self._sql(
                    f"INSERT INTO {self.table} (subject, key, fingerprint, first_position, "
                    "last_position) VALUES (?, ?, ?, ?, ?) ON CONFLICT (subject, key) DO NOTHING"),
                    (subject, key, fp, first, final))
            cur.execute(self._sql(f"UPDATE {self.tracking} SET position = ? WHERE id = 1 "
                                  "AND position < ?"), (last, last))

    def lookup(self, subject: str, key: str) -> Used | None:
        self.catch_up()
        with self.datastore.transaction(commit=False) as cur:
            cur.execute(self._sql(f"SELECT fingerprint, first_position, last_position FROM "
                                  f"{self.table} WHERE subject = ? AND key = ?"), (subject, key))
            rows = self._rows(cur)
        return Used(str(rows[0][0]), int(rows[0][1]), int(rows[0][2])) if rows else None

    def facts(self, subject: str, key: str, used: Used) -> list[StoredFact]:
        """The facts the first request with this key recorded: its result, to replay."""
        return [
            f for f in self.log.read(after=used.first_position - 1, up_to=used.last_position)
            if f.actor.get("idempotency_key") == key and owner(f.actor) == subject
        ]


def owner(actor: dict[str, Any]) -> Any:
    """Whose key it is: the subject, or for a fact the ledger derived, who triggered it."""
    return actor.get("triggered_by") or actor.get("subject")


class IdempotencyKeyReused(err.Refused):
    """The key was already used for a different request: nothing was recorded."""

    code = "idempotency-key-reused"
    kind = "invalid"

    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was already used for a different request; "
                         "use a new key for a new request")
