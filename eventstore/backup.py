"""Copies of a SQLite ledger file, taken and put back while the ledger may be running, with
SQLite's online backup API (sqlite3.Connection.backup): the copy is one consistent snapshot
(the pages are copied in one step, under a read lock), whatever is written meanwhile. A
PostgreSQL ledger is backed up with the server's own tools (docs/operations.md).

Both write through a file beside the target and move it into place, so a copy cut short leaves
the target as it was; a restore over an existing ledger copies into it instead (its other
connections see the old ledger, then the restored one, never a mix) and only when told to.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote, unquote

from eventstore.facts import StorageError

EVENTS = "stored_events"


class ExistingLedger(Exception):
    """The target already holds a ledger and was not to be replaced."""


def sqlite_path(url: str) -> Path:
    if not url.startswith("sqlite:///") or "?" in url:
        raise ValueError("backup and restore are for a SQLite ledger (sqlite:///path); a "
                         "PostgreSQL ledger is backed up with pg_dump or pg_basebackup "
                         "(docs/operations.md)")
    path = unquote(url[len("sqlite:///"):])
    if not path or path == ":memory:":
        raise ValueError(f"not a ledger file: {url!r}")
    return Path(path)


def head_of(path: Path) -> int | None:
    """The last position of the ledger in a file; None if the file holds no ledger."""
    if not path.exists():
        return None
    conn = _read_only(path)
    try:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (EVENTS,)).fetchone():
            return None
        return int(conn.execute(f"SELECT coalesce(max(rowid), 0) FROM {EVENTS}").fetchone()[0])
    except sqlite3.DatabaseError as e:
        raise StorageError(f"{path} is not a ledger file: {e}") from e
    finally:
        conn.close()


def copy(source: Path, target: Path, *, replace: bool = False) -> None:
    """Copy the ledger in `source` to `target` with the online backup API. An existing ledger
    at `target` is replaced only if `replace`."""
    if head_of(source) is None:
        raise StorageError(f"{source} holds no ledger")
    if target.exists() and head_of(target) is not None:
        if not replace:
            raise ExistingLedger(f"{target} already holds a ledger (head {head_of(target)})")
        _copy_into(source, target)
        return
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    _copy_into(source, partial)
    os.replace(partial, target)


def check(path: Path) -> None:
    """SQLite's own check of every page and index of the file."""
    conn = _read_only(path)
    try:
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check").fetchall()]
    finally:
        conn.close()
    if problems != ["ok"]:
        raise StorageError(f"{path} is damaged: {'; '.join(problems[:5])}")


def _copy_into(source: Path, target: Path) -> None:
    src = _read_only(source)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)  # all pages in one step: one snapshot
    except sqlite3.Error as e:
        raise StorageError(f"copying {source} to {target} failed: {e}") from e
    finally:
        dst.close()
        src.close()


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{quote(str(path.absolute()))}?mode=ro", uri=True)
