"""Ingest paths: bulk import (Ledger.execute_all in batches), one command per transaction
through the application, and the raw baseline (the same rows with psycopg / sqlite3).

Every figure carries wall-clock seconds and this process's CPU seconds: the machine is shared,
and on PostgreSQL the server's own work is in another process.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bench.dbs import connect_raw
from bench.world import Step
from domain import commands as c
from application.ledger import Ledger
from domain.values import Actor

MIGRATION = Actor(subject="bench:migration", role="migration", organisation="impress")


class Clock:
    """The ledger's `today`, set by the runner to each step's day."""

    def __init__(self, today: date) -> None:
        self.today = today

    def __call__(self) -> date:
        return self.today


@dataclass
class Tally:
    commands: int = 0
    facts: int = 0
    ticks: int = 0
    tick_facts: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    tick_seconds: float = 0.0
    refused: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        work = self.seconds - self.tick_seconds
        out = {
            "commands": self.commands, "facts": self.facts, "seconds": round(self.seconds, 2),
            "cpu_seconds": round(self.cpu_seconds, 2),
            "commands_per_second": round(self.commands / work) if work else None,
            "facts_per_second": round(self.facts / work) if work else None,
            "ticks": self.ticks, "tick_facts": self.tick_facts,
            "tick_seconds": round(self.tick_seconds, 2), "refused": len(self.refused),
            "refusals_first": self.refused[:5],
        }
        if self.latencies:
            out["command_ms"] = percentiles(self.latencies)
        return out


def percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"n": len(ordered), "p50": round(pick(0.50) * 1000, 3),
            "p99": round(pick(0.99) * 1000, 3), "max": round(ordered[-1] * 1000, 3)}


def _tick(ledger: Ledger, today: date, tally: Tally) -> None:
    started = time.perf_counter()
    receipt = ledger.tick(today)
    tally.tick_seconds += time.perf_counter() - started
    tally.ticks += 1
    tally.tick_facts += len(receipt.facts)


def bulk(ledger: Ledger, clock: Clock, steps: Iterable[Step], *, batch: int = 1000,
         progress: Any = None) -> Tally:
    """Whole days of commands per `execute_all` (at least `batch` commands, the ledger's
    today the batch's last day), as one importing actor; a tick where the history has one."""
    tally = Tally()
    pending: list[c.Command] = []
    started, cpu = time.perf_counter(), time.process_time()

    def flush() -> None:
        if not pending:
            return
        receipt, refusals = ledger.execute_all(pending, MIGRATION)
        tally.commands += len(pending)
        if refusals:
            tally.refused += [f"{type(pending[i]).__name__}: {r}" for i, r in refusals[:5]]
        elif receipt is not None:
            tally.facts += len(receipt.facts)
        pending.clear()
        if progress:
            progress(tally)

    for step in steps:
        if isinstance(step.command, c.Tick):
            flush()
            clock.today = step.today
            _tick(ledger, step.today, tally)
            continue
        if len(pending) >= batch and step.today != clock.today:
            flush()
        clock.today = step.today
        pending.append(step.command)
    flush()
    tally.seconds, tally.cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    return tally


def single(ledger: Ledger, clock: Clock, steps: Iterable[Step], *,
           progress: Any = None) -> Tally:
    """One command per transaction through `Ledger.execute`, each by its own actor."""
    from domain.errors import Refused

    tally = Tally()
    started, cpu = time.perf_counter(), time.process_time()
    for step in steps:
        clock.today = step.today
        if isinstance(step.command, c.Tick):
            _tick(ledger, step.today, tally)
            continue
        t = time.perf_counter()
        try:
            tally.facts += len(ledger.execute(step.command, step.actor).facts)
        except Refused as refusal:
            tally.refused.append(f"{type(step.command).__name__}: {refusal}")
        tally.latencies.append(time.perf_counter() - t)
        tally.commands += 1
        if progress and tally.commands % 5000 == 0:
            progress(tally)
    tally.seconds, tally.cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    return tally


# --- the raw baseline -------------------------------------------------------------------------

Row = tuple[Any, int, str, bytes]


def stored_rows(url: str, limit: int) -> list[Row]:
    """The first `limit` event rows exactly as the event store wrote them, in log order."""
    conn = connect_raw(url)
    try:
        if url.startswith("sqlite"):
            sql = ("SELECT originator_id, originator_version, topic, state FROM stored_events "
                   "ORDER BY rowid LIMIT ?")
        else:
            sql = ("SELECT originator_id, originator_version, topic, state FROM impress_events "
                   "ORDER BY notification_id LIMIT %s")
        return [(a, b, t, bytes(s)) for a, b, t, s in conn.execute(sql, (limit,)).fetchall()]
    finally:
        conn.close()


RAW_DDL = {
    "postgres": ["CREATE TABLE raw_events (originator_id uuid NOT NULL, originator_version "
                 "bigint NOT NULL, topic text, state bytea, notification_id bigserial, "
                 "PRIMARY KEY (originator_id, originator_version))",
                 "CREATE UNIQUE INDEX raw_events_position ON raw_events (notification_id)"],
    "sqlite": ["CREATE TABLE raw_events (originator_id TEXT, originator_version INTEGER, "
               "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))"],
}


def raw_insert(url: str, rows: list[Row], *, per_commit: int) -> dict[str, Any]:
    """Insert the rows into a table shaped like the event store's, `per_commit` rows per
    transaction; rows per second."""
    kind = "sqlite" if url.startswith("sqlite") else "postgres"
    conn = connect_raw(url)
    mark = "?" if kind == "sqlite" else "%s"
    sql = (f"INSERT INTO raw_events (originator_id, originator_version, topic, state) "
           f"VALUES ({mark}, {mark}, {mark}, {mark})")
    try:
        for ddl in RAW_DDL[kind]:
            conn.execute(ddl)
        if kind == "postgres":
            conn.commit()
        started, cpu = time.perf_counter(), time.process_time()
        for chunk in _chunks(rows, per_commit):
            if kind == "sqlite":
                conn.execute("BEGIN")
                conn.executemany(sql, chunk)
                conn.execute("COMMIT")
            else:
                with conn.cursor() as cur:
                    cur.executemany(sql, chunk)
                conn.commit()
        seconds = time.perf_counter() - started
        return {"rows": len(rows), "rows_per_commit": per_commit, "seconds": round(seconds, 2),
                "cpu_seconds": round(time.process_time() - cpu, 2),
                "rows_per_second": round(len(rows) / seconds) if seconds else None}
    finally:
        conn.close()


def _chunks(rows: list[Row], n: int) -> Iterator[list[Row]]:
    for i in range(0, len(rows), n):
        yield rows[i:i + n]
