"""Who pays for a patient's drug, on any date, as known now or at any earlier log position:
the read model's public API.

    view = WhoPaysView(url)                      # the event log's URL: same database
    catch_up(ledger, view)                       # SQLite: poll; or run a ViewRunner
    view.payer_on("IMP-0042", date(2024, 3, 3))  # IntervalRow: kind, party, basis, reason...
    at = ledger.position(known_at=moment)        # "as known at moment K" is a log position
    view.timeline("IMP-0042", known_at_position=at)

Writes through the application return a position (`Receipt.position`); a reader that must
see its own write calls `view.wait_for(receipt.position)` (a ViewRunner follows the log), or
calls the function `update_in_process(ledger, view)` returns right after writing.
Maintenance: `rebuild(ledger, url, progress)`, `verify(ledger, url)` and `clean(url)` (what killed
rebuilds left behind) (projections.maintenance, projections.scratch).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Any

from application.ledger import Ledger, Receipt
from domain.financing import PayerKind
from projections import rows as r
from projections.maintenance import clean, rebuild, verify
from projections.projector import Projector, create_tables
from projections.rows import Difference, IntervalRow, PatientRow
from projections.runner import ViewRunner
from projections.scratch import Leftovers, MaintenanceRunning
from projections.store import Database, read_tracking

__all__ = [
    "Difference", "IntervalRow", "Leftovers", "MaintenanceRunning", "PatientRow", "ViewBehind",
    "ViewRunner", "WhoPaysView", "catch_up", "clean", "rebuild", "update_in_process", "verify",
]


class ViewBehind(LookupError):
    """Asked as known at a position the view has not reached yet (wait_for it first)."""

    def __init__(self, asked: int, reached: int) -> None:
        self.asked, self.reached = asked, reached
        super().__init__(f"the who-pays view has read the log up to position {reached}, "
                         f"not yet {asked}")


class WhoPaysView:
    """Queries on the who-pays tables. Thread-safe; opens no more than a few connections."""

    def __init__(self, url: str, *, create: bool = True) -> None:
        self.url = url
        self.db = Database(url)
        self.tables = r.LIVE
        if create:
            create_tables(self.db, self.tables)

    # --- where the view is ------------------------------------------------------------------

    def position(self) -> int:
        """The last log position the view reflects."""
        with self.db.reading() as cur:
            return read_tracking(cur, self.tables.name)[0]

    def wait_for(self, position: int, timeout: float = 5.0) -> bool:
        """Wait until the view reflects `position` (a Receipt's); False on timeout. Something
        must be following the log: a ViewRunner, or catch_up called by the writer."""
        deadline = time.monotonic() + timeout
        pause = 0.005
        while True:
            if self.position() >= position:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, 0.1)

    # --- answers ----------------------------------------------------------------------------

    def payer_on(self, patient_id: str, on: date, known_at_position: int | None = None
                 ) -> IntervalRow | None:
        """The interval covering `on`: payer (kind, party, hf, rhf), basis and reason, as known
        now or at a position. None if the patient was not enrolled by then (or is unknown)."""
        sql, params = self._known(known_at_position)
        sql += " AND patient_id = ? AND start_on <= ? AND (end_on IS NULL OR end_on >= ?)"
        found = self._intervals(sql, [*params, patient_id, self.db.date_in(on),
                                      self.db.date_in(on)])
        return found[0] if found else None

    def timeline(self, patient_id: str, known_at_position: int | None = None
                 ) -> list[IntervalRow]:
        """The patient's payers from enrolment on, in date order; the last interval is open."""
        sql, params = self._known(known_at_position)
        return self._intervals(sql + " AND patient_id = ? ORDER BY start_on",
                               [*params, patient_id])

    def intervals(self, *, known_at_position: int | None = None, kind: PayerKind | str | None = None,
                  party: str | None = None, rhf_id: str | None = None, hf_id: str | None = None,
                  overlapping: tuple[date, date] | None = None) -> list[IntervalRow]:
        """Intervals of every patient (for statements), optionally those of one payer kind,
        party, RHF or HF, overlapping a period (first day, last day), in patient/date order."""
        sql, params = self._known(known_at_position)
        for column, value in (("kind", kind), ("party", party), ("rhf_id", rhf_id),
                              ("hf_id", hf_id)):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value.value if isinstance(value, PayerKind) else value)
        if overlapping is not None:
            first, last = overlapping
            sql += " AND start_on <= ? AND (end_on IS NULL OR end_on >= ?)"
            params += [self.db.date_in(last), self.db.date_in(first)]
        return self._intervals(sql + " ORDER BY patient_id, start_on", params)

    def patients(self, *, rhf_id: str | None = None, company_id: str | None = None,
                 cohort_id: str | None = None, agreement_id: str | None = None,
                 hf_id: str | None = None) -> list[PatientRow]:
        """Patients as currently known, filtered (all filters must hold), by patient id."""
        sql, params = r.select_patients(self.tables) + " WHERE 1 = 1", []
        for column, value in (("rhf_id", rhf_id), ("company_id", company_id),
                              ("cohort_id", cohort_id), ("agreement_id", agreement_id),
                              ("hf_id", hf_id)):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value)
        with self.db.reading() as cur:
            return [r.patient_from(self.db, x) for x in cur.rows(sql + " ORDER BY patient_id",
                                                                 params)]

    def patient(self, patient_id: str) -> PatientRow | None:
        with self.db.reading() as cur:
            row = cur.one(r.select_patients(self.tables) + " WHERE patient_id = ?", (patient_id,))
        return r.patient_from(self.db, row) if row else None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> WhoPaysView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- helpers ----------------------------------------------------------------------------

    def _known(self, at: int | None) -> tuple[str, list[Any]]:
        base = r.select_intervals(self.tables)
        if at is None:
            return base + " WHERE known_to IS NULL", []
        reached = self.position()
        if at > reached:
            raise ViewBehind(at, reached)
        return base + " WHERE known_from <= ? AND (known_to IS NULL OR known_to > ?)", [at, at]

    def _intervals(self, sql: str, params: list[Any]) -> list[IntervalRow]:
        with self.db.reading() as cur:
            return [r.interval_from(self.db, x) for x in cur.rows(sql, params)]


# --- keeping the view up to date --------------------------------------------------------------


def catch_up(ledger: Ledger, view: WhoPaysView | str, *, until: int | None = None) -> int:
    """Apply everything the log holds after the view's position (SQLite has no
    subscriptions: call this to poll). Returns the view's position."""
    own = isinstance(view, str)
    db = Database(view) if isinstance(view, str) else view.db
    try:
        projector = Projector(ledger.log, db)
        projector.create_tables()
        return projector.catch_up(until)
    finally:
        if own:
            db.close()


def update_in_process(ledger: Ledger, view: WhoPaysView) -> Callable[[Receipt | None], int]:
    """A function to call right after a write: it brings the view up to (at least) the
    write's position, in the writing process, and returns the view's position. It keeps
    what it has folded between calls, so each call reads only the new facts."""
    projector = Projector(ledger.log, view.db)
    projector.create_tables()

    def after_write(receipt: Receipt | None = None) -> int:
        return projector.catch_up()

    return after_write
