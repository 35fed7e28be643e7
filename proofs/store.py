"""The verifier's store (`impress-verify bundle --store PATH`, docs/proofs.md section 8.5, ADR
0031): a SQLite file (the standard library's sqlite3) of the bundles `impress-verify` accepted, so
that a later bundle (`impress-bundle-v3`) can leave out the facts the partner already verified.

Tables (format `impress-verify-store-v1`, in `meta`):
- `heads`: every head a bundle was accepted under (tree_size, root_hash, the signed document);
- `facts`: every fact of an accepted bundle, once by position: its stream, version, salt and
  canonical bytes (domain.chain), exactly as proved;
- `proved`: which facts were proved under which head (a fact is taken from the store only under
  the head a v3 bundle names: the consistency proof carries it to the new head);
- `whole`: the streams an accepted bundle held whole, under its head, up to its `known_at`, and
  the SHA-256 of their facts as stored (an edited store fails, docs/proofs.md 8.5).

A store is trusted as archived heads are: it holds only what this verifier accepted.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

from domain.tree import BadDocument, SignedHead
from proofs.bundle import Earlier, Entry
from proofs.check import Failed

FORMAT = "impress-verify-store-v1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS heads (tree_size INTEGER PRIMARY KEY, root_hash TEXT NOT NULL,
                                  document TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS facts (position INTEGER PRIMARY KEY, stream TEXT NOT NULL,
                                  version INTEGER NOT NULL, salt TEXT NOT NULL,
                                  fact BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS proved (head_size INTEGER NOT NULL, position INTEGER NOT NULL,
                                   PRIMARY KEY (head_size, position)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS whole (head_size INTEGER NOT NULL, stream TEXT NOT NULL,
                                  up_to INTEGER NOT NULL, digest TEXT NOT NULL,
                                  PRIMARY KEY (head_size, stream)) WITHOUT ROWID;
"""
_BATCH = 500  # positions per IN (...) query


class Store:
    """A verifier's store, open on one file."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path

    @classmethod
    def open(cls, path: Path, *, create: bool) -> Store:
        """BadDocument if the file is missing (and not to be created) or not a store."""
        if not create and not path.is_file():
            raise BadDocument(f"no store at {path}: a bundle that rests on an earlier one needs "
                              "the store its verification recorded (impress-verify bundle "
                              "EARLIER.json --store PATH), or ask the ledger without earlier=")
        try:
            db = sqlite3.connect(path, isolation_level=None)
            db.executescript(_SCHEMA)
            found = db.execute("SELECT value FROM meta WHERE name = 'format'").fetchone()
            if found is None:
                db.execute("INSERT INTO meta VALUES ('format', ?)", (FORMAT,))
            elif found[0] != FORMAT:
                raise BadDocument(f"{path} is a store of format {found[0]!r}, not {FORMAT!r}")
        except sqlite3.DatabaseError as e:
            raise BadDocument(f"{path} is not a verifier's store: {e}") from None
        return cls(db, path)

    def close(self) -> None:
        self._db.close()

    # --- a bundle that rests on an earlier one ----------------------------------------------

    def earlier(self, earlier: Earlier) -> list[Entry]:
        """The facts `earlier` leaves out, as they were verified under its head: BadDocument if
        the store does not hold them, Failed if it holds the head with another root or its facts
        were changed since they were recorded."""
        size, root = earlier.head.head.tree_size, earlier.head.head.root_hash
        found = self._db.execute("SELECT root_hash FROM heads WHERE tree_size = ?",
                                 (size,)).fetchone()
        if found is None:
            raise BadDocument(f"the store {self.path} holds no bundle verified under the head of "
                              f"{size} facts that this bundle rests on: verify that bundle with "
                              "--store first, or ask the ledger without earlier=")
        if found[0] != root:
            raise Failed(f"the store holds the head of {size} facts with root {found[0]}; the "
                         f"bundle rests on one with root {root}: the ledger signed two trees "
                         "of that size (a rewrite, or a split view)")
        out: list[Entry] = []
        for stream in earlier.streams:
            out += self._stream(size, stream)
        return out

    def _stream(self, size: int, stream: str) -> list[Entry]:
        whole = self._db.execute("SELECT up_to, digest FROM whole WHERE head_size = ? AND "
                                 "stream = ?", (size, stream)).fetchone()
        if whole is None or whole[0] < size:
            held = "nothing of it" if whole is None else f"it up to position {whole[0]}"
            raise BadDocument(f"the bundle leaves out {stream} up to position {size}; the store "
                              f"holds {held} under that head: ask the ledger without earlier=")
        rows = self._db.execute(
            "SELECT f.position, f.salt, f.fact FROM proved p JOIN facts f USING (position) "
            "WHERE p.head_size = ? AND f.stream = ? ORDER BY f.position", (size, stream)
        ).fetchall()
        if digest(rows) != whole[1]:
            raise Failed(f"the store's facts of {stream} under the head of {size} facts are not "
                         "those it recorded when it verified them: the store was changed")
        try:  # one parse for all: tens of thousands at M
            facts = json.loads(b"[" + b",".join(fact for _, _, fact in rows) + b"]")
        except ValueError:
            raise Failed(f"the store's facts of {stream} are not JSON: the store was "
                         "changed") from None
        return [Entry.stored(position - 1, fact, salt, canonical)
                for (position, salt, canonical), fact in zip(rows, facts)]

    # --- recording an accepted bundle -------------------------------------------------------

    def record(self, head: SignedHead, facts: Sequence[Entry], given: Sequence[Entry],
               streams: Iterable[str], known_at: int) -> int:
        """Records a bundle the verifier accepted: its head, its `facts` (with those the store
        gave it), of which the bundle itself `given`, and that it held `streams` whole up to
        `known_at`. Failed, and nothing recorded, if the store holds another fact at the
        position of one given, or the head's size with another root. Returns the number of
        facts new to the store."""
        size = head.head.tree_size
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            found = db.execute("SELECT root_hash FROM heads WHERE tree_size = ?",
                               (size,)).fetchone()
            if found is not None and found[0] != head.head.root_hash:
                raise Failed(f"the store holds a head of {size} facts with root {found[0]}; "
                             f"this bundle's head signs {head.head.root_hash}: the ledger "
                             "signed two trees of that size")
            if found is None:
                db.execute("INSERT INTO heads VALUES (?, ?, ?)", (
                    size, head.head.root_hash, json.dumps(head.to_dict(), sort_keys=True)))
            added = self._facts(given)
            db.executemany("INSERT OR IGNORE INTO proved VALUES (?, ?)",
                           ((size, e.position) for e in facts))
            by_stream: dict[str, list[tuple[int, str, bytes]]] = {}
            for e in facts:
                by_stream.setdefault(e.fact["stream"], []).append(
                    (e.position, e.salt, e.canonical))
            for stream in sorted(set(streams) & by_stream.keys()):
                db.execute("INSERT INTO whole VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
                           "up_to = excluded.up_to, digest = excluded.digest "
                           "WHERE excluded.up_to > whole.up_to",
                           (size, stream, known_at, digest(by_stream[stream])))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return added

    def _facts(self, facts: Sequence[Entry]) -> int:
        """Inserts the facts new to the store; Failed if one it holds differs."""
        db, added = self._db, 0
        for i in range(0, len(facts), _BATCH):
            part = facts[i:i + _BATCH]
            held = dict(((p, (s, bytes(f))) for p, s, f in db.execute(
                f"SELECT position, salt, fact FROM facts WHERE position IN "
                f"({','.join('?' * len(part))})", [e.position for e in part])))
            new = []
            for e in part:
                known = held.get(e.position)
                if known is None:
                    new.append((e.position, e.fact["stream"], e.fact["version"], e.salt,
                                e.canonical))
                elif known != (e.salt, e.canonical):
                    raise Failed(f"the store holds another fact at position {e.position} than "
                                 "this bundle: the ledger showed two histories")
            db.executemany("INSERT INTO facts VALUES (?, ?, ?, ?, ?)", new)
            added += len(new)
        return added


def digest(rows: Iterable[tuple[int, str, bytes]]) -> str:
    """SHA-256 over each fact's position, salt and canonical bytes, in position order."""
    h = hashlib.sha256()
    for position, salt, fact in rows:
        h.update(b"%d %s " % (position, salt.encode()))
        h.update(fact)
        h.update(b"\n")
    return h.hexdigest()
