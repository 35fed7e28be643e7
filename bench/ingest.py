"""Ingest paths: bulk import (Ledger.record in batches), one command per transaction
through the application, and the raw baseline: the same rows, read back from the store and
written with psycopg / sqlite3 into a table of the same shape, interleaved with the app's
(after each batch of the app, its own rows), so that app and raw are measured minutes apart
at most, on the same load.

Ticks count in the throughput of the phase they happen in (a tick is part of importing a
history), and tick as the product does: through the due-date index, whose catch-up with the
log is part of the tick. Every figure carries wall-clock seconds and this process's CPU seconds:
the machine is shared, and on PostgreSQL the server's own work is in another process.
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
from application.ledger import CommandsRefused, Ledger
from domain.errors import Refused
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
    seconds: float = 0.0  # the app's, ticks included (the raw baseline's time left out)
    cpu_seconds: float = 0.0
    tick_seconds: float = 0.0
    raw: Raw | None = None
    refused: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        work = self.seconds - self.tick_seconds
        out = {
            "commands": self.commands, "facts": self.facts, "seconds": round(self.seconds, 2),
            "cpu_seconds": round(self.cpu_seconds, 2),
            "commands_per_second": round(self.commands / self.seconds) if self.seconds else None,
            "facts_per_second": round(self.facts / self.seconds) if self.seconds else None,
            "commands_per_second_without_ticks": round(self.commands / work) if work else None,
            "ticks": self.ticks, "tick_facts": self.tick_facts,
            "tick_seconds": round(self.tick_seconds, 2), "refused": len(self.refused),
            "refusals_first": self.refused[:5],
        }
        if self.latencies:
            out["command_ms"] = percentiles(self.latencies)
        if self.raw is not None:
            out["raw"] = self.raw.figures()
        return out


def percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"n": len(ordered), "p50": round(pick(0.50) * 1000, 3),
            "p99": round(pick(0.99) * 1000, 3), "max": round(ordered[-1] * 1000, 3)}


def _tick(ledger: Ledger, today: date, tally: Tally, due: Any) -> None:
    started = time.perf_counter()
    receipt = ledger.tick(today, due=due)
    tally.tick_seconds += time.perf_counter() - started
    tally.ticks += 1
    tally.tick_facts += len(receipt.facts)


class Timer:
    """The app's wall-clock and CPU time, paused while the raw baseline runs."""

    def __init__(self) -> None:
        self.seconds = self.cpu = 0.0
        self._started: tuple[float, float] | None = None

    def start(self) -> None:
        self._started = (time.perf_counter(), time.process_time())

    def stop(self) -> None:
        assert self._started is not None
        self.seconds += time.perf_counter() - self._started[0]
        self.cpu += time.process_time() - self._started[1]
        self._started = None


def bulk(ledger: Ledger, clock: Clock, steps: Iterable[Step], *, batch: int = 1000,
         progress: Any = None, due: Any = None, raw: Raw | None = None,
         before_tick: Any = None) -> Tally:
    """Whole days of commands per `Ledger.record` (at least `batch` commands, the ledger's
    today the batch's last day), as one importing actor; a tick where the history has one.
    `raw`: after each batch, its rows are written by the raw baseline too (not timed here).
    `before_tick(today, steps)`: called before each tick, not timed (a probe of its own)."""
    tally = Tally(raw=raw)
    pending: list[c.Command] = []
    timer = Timer()
    timer.start()

    def flush() -> None:
        if not pending:
            return
        after = ledger.log.head()
        tally.commands += len(pending)
        try:
            tally.facts += len(ledger.record(pending, MIGRATION).facts)
        except CommandsRefused as refused:
            tally.refused += [f"{type(pending[i]).__name__}: {r}"
                              for i, r in refused.refusals[:5]]
        except Refused as refusal:  # a batch of one command
            tally.refused.append(f"{type(pending[0]).__name__}: {refusal}")
        pending.clear()
        _mirror(timer, raw, after, ledger.log.head())
        if progress:
            progress(tally)

    for n, step in enumerate(steps):
        if isinstance(step.command, c.Tick):
            flush()
            clock.today = step.today
            if before_tick is not None:
                timer.stop()
                before_tick(step.today, n)
                timer.start()
            after = ledger.log.head()
            _tick(ledger, step.today, tally, due)
            _mirror(timer, raw, after, ledger.log.head())
            continue
        if len(pending) >= batch and step.today != clock.today:
            flush()
        clock.today = step.today
        pending.append(step.command)
    flush()
    timer.stop()
    tally.seconds, tally.cpu_seconds = timer.seconds, timer.cpu
    return tally


def single(ledger: Ledger, clock: Clock, steps: Iterable[Step], *, progress: Any = None,
           due: Any = None, raw: Raw | None = None, chunk: int = 200) -> Tally:
    """One command per transaction through `Ledger.execute`, each by its own actor; every
    `chunk` commands, the raw baseline writes their rows, one per commit."""
    from domain.errors import Refused

    tally = Tally(raw=raw)
    timer = Timer()
    timer.start()
    mark = ledger.log.head()
    for step in steps:
        clock.today = step.today
        if isinstance(step.command, c.Tick):
            _tick(ledger, step.today, tally, due)
            continue
        t = time.perf_counter()
        try:
            tally.facts += len(ledger.execute(step.command, step.actor).facts)
        except Refused as refusal:
            tally.refused.append(f"{type(step.command).__name__}: {refusal}")
        tally.latencies.append(time.perf_counter() - t)
        tally.commands += 1
        if tally.commands % chunk == 0:
            mark = _mirror(timer, raw, mark, ledger.log.head())
        if progress and tally.commands % 5000 == 0:
            progress(tally)
    _mirror(timer, raw, mark, ledger.log.head())
    timer.stop()
    tally.seconds, tally.cpu_seconds = timer.seconds, timer.cpu
    return tally


def _mirror(timer: Timer, raw: Raw | None, after: int, up_to: int) -> int:
    if raw is not None and up_to > after:
        timer.stop()
        raw.copy(after, up_to)
        timer.start()
    return up_to


# --- the raw baseline -------------------------------------------------------------------------

Row = tuple[Any, int, str, bytes]


def stored_rows(url: str, after: int, up_to: int) -> list[Row]:
    """The event rows in (after, up_to] exactly as the event store wrote them, in log order."""
    conn = connect_raw(url)
    try:
        if url.startswith("sqlite"):
            sql = ("SELECT originator_id, originator_version, topic, state FROM stored_events "
                   "WHERE rowid > ? AND rowid <= ? ORDER BY rowid")
        else:
            sql = ("SELECT originator_id, originator_version, topic, state FROM impress_events "
                   "WHERE notification_id > %s AND notification_id <= %s "
                   "ORDER BY notification_id")
        return [(a, b, t, bytes(s)) for a, b, t, s in conn.execute(sql, (after, up_to)).fetchall()]
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


class Raw:
    """The baseline: the rows the event store wrote at `source`, written again into a table of
    the same shape (primary key on stream and version, unique position) at `target` with plain
    psycopg / sqlite3, `per_commit` rows per transaction."""

    def __init__(self, source: str, target: str, per_commit: int) -> None:
        self.source, self.per_commit = source, per_commit
        self.kind = "sqlite" if target.startswith("sqlite") else "postgres"
        self.conn = connect_raw(target)
        for ddl in RAW_DDL[self.kind]:
            self.conn.execute(ddl)
        if self.kind == "postgres":
            self.conn.commit()
        mark = "?" if self.kind == "sqlite" else "%s"
        self.sql = (f"INSERT INTO raw_events (originator_id, originator_version, topic, state) "
                    f"VALUES ({mark}, {mark}, {mark}, {mark})")
        self.rows = 0
        self.seconds = self.cpu = 0.0

    def copy(self, after: int, up_to: int) -> None:
        rows = stored_rows(self.source, after, up_to)  # read back: not part of either figure
        started, cpu = time.perf_counter(), time.process_time()
        for chunk in _chunks(rows, self.per_commit):
            if self.kind == "sqlite":
                self.conn.execute("BEGIN")
                self.conn.executemany(self.sql, chunk)
                self.conn.execute("COMMIT")
            else:
                with self.conn.cursor() as cur:
                    cur.executemany(self.sql, chunk)
                self.conn.commit()
        self.seconds += time.perf_counter() - started
        self.cpu += time.process_time() - cpu
        self.rows += len(rows)

    def figures(self) -> dict[str, Any]:
        return {"rows": self.rows, "rows_per_commit": self.per_commit,
                "seconds": round(self.seconds, 2), "cpu_seconds": round(self.cpu, 2),
                "rows_per_second": round(self.rows / self.seconds) if self.seconds else None}

    def close(self) -> None:
        self.conn.close()


def _chunks(rows: list[Row], n: int) -> Iterator[list[Row]]:
    for i in range(0, len(rows), n):
        yield rows[i:i + n]
