"""Fresh databases for each phase of a benchmark run, and the machine it runs on.

PostgreSQL: one server (the URL of `scripts/with-postgres`), a new database per phase.
SQLite: a new file per phase in the work directory (WAL, as the event store configures it).
"""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg


@dataclass(frozen=True)
class Databases:
    kind: str  # "sqlite" | "postgres"
    base: str  # postgres: the server's URL; sqlite: the work directory

    def fresh(self, name: str) -> str:
        """The URL of a new, empty database called `name` (an old one of that name is dropped)."""
        if self.kind == "sqlite":
            path = Path(self.base) / f"{name}.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            return f"sqlite:///{path}"
        with psycopg.connect(self.base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        parts = urlsplit(self.base)
        return urlunsplit(parts._replace(path=f"/{name}"))

    def existing(self, name: str) -> str:
        """The URL of the database `name` an earlier run kept; LookupError if there is none."""
        if self.kind == "sqlite":
            path = Path(self.base) / f"{name}.db"
            if not path.exists():
                raise LookupError(f"no kept ledger at {path}: run with --keep first")
            return f"sqlite:///{path}"
        with psycopg.connect(self.base, autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() \
                    is None:
                raise LookupError(f"no kept database {name}: run with --keep first")
        return urlunsplit(urlsplit(self.base)._replace(path=f"/{name}"))

    def drop(self, url: str) -> None:
        if self.kind == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{url.removeprefix('sqlite:///')}{suffix}").unlink(missing_ok=True)
            return
        name = urlsplit(url).path.strip("/")
        with psycopg.connect(self.base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def size_bytes(self, url: str) -> int:
        if self.kind == "sqlite":
            path = url.removeprefix("sqlite:///")
            return sum(os.path.getsize(p) for p in (path, f"{path}-wal") if os.path.exists(p))
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
            return int(row[0]) if row else 0


def connect_raw(url: str) -> Any:
    """A plain DB-API connection: psycopg (autocommit off) or sqlite3 (explicit transactions)."""
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        return conn
    return psycopg.connect(url)


def machine(pg_url: str | None) -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))
    except (OSError, StopIteration):
        mem = 0
    info: dict[str, Any] = {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem / 2**20, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        # 1: each PostgreSQL backend (setsid) is its own scheduling group, and under full load
        # backends wait 0.1-1 s to run: the tail of who pays (docs/benchmarks.md, sixth time).
        "sched_autogroup": _read_int("/proc/sys/kernel/sched_autogroup_enabled"),
    }
    if pg_url:
        with psycopg.connect(pg_url) as conn:
            info["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
            info["postgresql_settings"] = {
                k: conn.execute(f"SHOW {k}").fetchone()[0]  # type: ignore[index]
                for k in ("fsync", "synchronous_commit", "shared_buffers")}
    return info


def _read_int(path: str) -> int | None:
    try:
        return int(Path(path).read_text().strip())
    except (OSError, ValueError):
        return None


def git_revision() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return rev + ("+uncommitted" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
