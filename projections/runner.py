"""Following the log in a background thread.

On PostgreSQL the runner LISTENs on the channel the event store NOTIFYs on every insert, and
catches up when told; it also polls every `poll_interval` seconds, because a NOTIFY can be
lost (eventsourcing issue #305) and then nothing would wake it until the next write. SQLite
has no subscriptions: there the runner only polls.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import psycopg
from psycopg import sql

from application.ledger import Ledger
from projections.leader import Leadership
from projections.projector import PATIENTS, Projector
from projections.store import Database

log = logging.getLogger(__name__)

_SLICE = 0.1  # seconds: how often a waiting runner checks whether it was stopped
_RETRY = 0.05  # seconds before the first retry after a failure (a database back from a restart)


class ViewRunner:
    """Keeps the live read models caught up (one projector for all of them, ADR 0015).
    `start()` / `stop()`, or use as a context manager. `channel` defaults to the event store's
    NOTIFY channel (PostgreSQL)."""

    def __init__(self, ledger: Ledger, view_url: str, *, poll_interval: float = 1.0,
                 batch_size: int = 500, channel: str | None = None,
                 leader: bool = False, create: bool = True, patients: int = PATIENTS) -> None:
        """`leader`: project only while this process holds the leader lock (projections.leader);
        otherwise it only waits to take it over. `patients`: whose folded states and rows the
        projector holds at most (IMPRESS_CACHE_STREAMS in a server)."""
        self.poll_interval = poll_interval
        self.db = Database(view_url)
        self.projector = Projector(ledger.log, self.db, batch_size=batch_size, patients=patients)
        if create:
            self.projector.create_tables()
        recorder = ledger.log.application.recorder
        self.channel: str | None = None
        if self.db.postgres:
            self.channel = channel or getattr(recorder, "channel_name", None)
        self.leadership = Leadership(self.db) if leader else None
        self.error: BaseException | None = None  # the last failure (the runner retries)
        self.notifications = 0  # how many NOTIFYs woke it (for tests and metrics)
        self._stop = threading.Event()
        self._woken = threading.Event()
        self._thread: threading.Thread | None = None
        self._listener: psycopg.Connection[Any] | None = None

    def start(self) -> ViewRunner:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="read-model-runner",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._woken.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._close_listener()
        if self.leadership is not None:
            self.leadership.release()
        self.db.close()

    def wake(self) -> None:
        """Catch up now (this process has just written), not at the next poll."""
        self._woken.set()

    @property
    def leading(self) -> bool:
        return self.leadership is None or self.leadership.holds()

    def __enter__(self) -> ViewRunner:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the loop ---------------------------------------------------------------------------

    def _run(self) -> None:
        retry = _RETRY
        while not self._stop.is_set():
            try:
                if self.leading:
                    self._listen()  # before catching up: a write in between still wakes us
                    self.projector.catch_up()
                self.error = None
                retry = _RETRY
                self._wait(self.poll_interval)
            except Exception as e:  # keep following: retry soon, then less often
                log.exception("read-model runner: catching up failed")
                self.error = e
                self._close_listener()
                # a write here since (wake) is a sign the database is back: retry soon again
                retry = _RETRY if self._wait(retry) else min(retry * 2, self.poll_interval)

    def _listen(self) -> None:
        if self.channel is None or self._listener is not None:
            return
        conn = psycopg.connect(self.db.conninfo, autocommit=True)
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
        self._listener = conn

    def _wait(self, seconds: float) -> bool:
        """Until a NOTIFY, a wake(), `seconds` later, or stop(); True if woken."""
        deadline = time.monotonic() + seconds
        while not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if self._woken.is_set():
                self._woken.clear()
                return True
            if self._listener is None:
                self._woken.wait(min(_SLICE, remaining))
                continue
            try:
                woken = any(True for _ in self._listener.notifies(
                    timeout=min(_SLICE, remaining), stop_after=1))
            except psycopg.Error as e:
                self.error = e
                self._close_listener()
                continue
            if woken:
                self.notifications += 1
                return True
        return True  # stopped

    def _close_listener(self) -> None:
        if self._listener is not None:
            try:
                self._listener.close()
            finally:
                self._listener = None
