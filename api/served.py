"""What the routes and the pages work with: the ledger, whose `record` is the one write path,
and the read models every question is answered from, kept up to date by a runner thread that
projects while this process holds the leader lock (projections.leader, ADR 0021).

    served = Served(ledger, settings)
    receipt = served.record([command], actor, key)          # role and tenancy checked
    answer = queries.who_pays(served.models, actor, ...)     # projections.queries
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import date
from functools import partial
from typing import Any, TypeVar

import structlog
from fastapi.concurrency import run_in_threadpool

from api.settings import Settings
from application import access
from application.ledger import Answer, Ledger, Progress, Receipt
from application.writer import Writer
from domain import commands as c
from domain.values import Actor
from projections import queries
from projections.runner import ViewRunner
from projections.whopays import WhoPaysView
from reports.readmodels import ReadModelSources

T = TypeVar("T")
_LOG = structlog.get_logger("impress.api")
WARM_UP_STOP_SECONDS = 10.0


class Served(Writer):
    def __init__(self, ledger: Ledger, settings: Settings) -> None:
        super().__init__(ledger)
        url = ledger.log.url
        self.wait = settings.read_wait_seconds
        self.models = WhoPaysView(url, create=settings.create_tables)
        ledger.keys.catch_up()  # its tables, before a runner writes beside them
        self.runner: ViewRunner | None = None
        self._warming: tuple[threading.Event, threading.Thread] | None = None
        if settings.follow_log:
            poll = settings.follow_poll_seconds or (1.0 if self.models.db.postgres else 0.1)
            self.runner = ViewRunner(ledger, url, poll_interval=poll, leader=True,
                                     create=settings.create_tables,
                                     patients=settings.cache_streams).start()

    # --- writing: the ledger's one write path, for an authenticated actor -----------------

    def record(self, commands: Sequence[c.Command], actor: Actor,
               key: str | None = None, progress: Progress | None = None) -> Receipt:
        """Writer.record; the runner is woken to project it at once."""
        receipt = super().record(commands, actor, key, progress)
        if self.runner is not None and receipt.facts and not receipt.replayed:
            self.runner.wake()
        return receipt

    # --- reading ----------------------------------------------------------------------------

    def view(self, actor: Actor) -> access.View:
        """The one tenancy rule for this actor; it folds streams only if a judgement needs it."""
        return access.View(actor, self.ledger.workspace,
                           visible=partial(queries.visible_patients, self.models, actor))

    async def read(self, query: Callable[..., T], *args: Any, min_position: int | None = None,
                   **kwargs: Any) -> T:
        """Run a read-model query from an `async def` endpoint: on SQLite in the event loop
        itself (a local file: microseconds, less than a hand-off to the thread pool costs),
        unless it must wait for `min_position`; on PostgreSQL in the thread pool, so that a
        slow answer never holds the worker's other requests (ADR 0021)."""
        if self.models.db.postgres or (min_position is not None
                                       and self.models.position() < min_position):
            return await run_in_threadpool(query, *args, min_position=min_position, **kwargs)
        return query(*args, min_position=min_position, **kwargs)

    async def who_pays(self, actor: Actor, patient_id: str, on: date, *, at: int | None,
                       min_position: int | None) -> Answer:
        """Who pays, from an `async def` endpoint: on PostgreSQL awaited on the async pool when
        the server's lifespan opened it (no thread per read, ADR 0029), else as `read` runs it."""
        if self.models.db.reads_async:
            return await queries.who_pays_async(self.models, actor, patient_id, on, at=at,
                                                min_position=min_position, wait=self.wait)
        return await self.read(queries.who_pays, self.models, actor, patient_id, on, at=at,
                               min_position=min_position, wait=self.wait)

    async def open_async(self) -> None:
        """In the server's event loop, at its start: PostgreSQL reads awaited without threads."""
        await self.models.db.open_async()

    def warm_up(self) -> None:
        """Fold the long streams into the ledger's cache in a thread of its own (Ledger.warm),
        while the server answers; `close` stops it between two streams. A failure is logged:
        the pages then fold what they need, as without it."""
        stop = threading.Event()

        def run() -> None:
            started = time.perf_counter()
            try:
                folded = self.ledger.warm(stop.is_set)
            except Exception as exc:  # noqa: BLE001 - a cache not filled is no fault
                _LOG.warning("warm-up failed", error=f"{type(exc).__name__}: {exc}")
                return
            _LOG.info("warmed up", streams=folded, stopped=stop.is_set(),
                      seconds=round(time.perf_counter() - started, 2))

        thread = threading.Thread(target=run, name="impress-warm-up", daemon=True)
        thread.start()
        self._warming = (stop, thread)

    async def close_async(self) -> None:
        await self.models.db.close_async()

    def sources(self, min_position: int | None = None) -> ReadModelSources:
        """Statement rows from the read models, once they reach `min_position`."""
        return ReadModelSources(self.models, self.ledger.log, min_position=min_position,
                                wait=self.wait)

    def current(self) -> ReadModelSources:
        """Rows as recorded by now, whoever recorded it: once the read models reach the log's
        head (what a page shows, so that it shows the fact a form has just recorded)."""
        return self.sources(self.ledger.head())

    def close(self) -> None:
        if self._warming is not None:
            stop, thread = self._warming
            stop.set()
            # it stops between two streams (under a second at national scale); a read that a
            # database which no longer answers holds must not hold the server's stop too
            thread.join(timeout=WARM_UP_STOP_SECONDS)
            if thread.is_alive():
                _LOG.warning("warm-up still reading at stop", seconds=WARM_UP_STOP_SECONDS)
            self._warming = None
        if self.runner is not None:
            self.runner.stop()
            self.runner = None
        self.models.close()
