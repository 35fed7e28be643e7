"""Who pays for a patient's drug, on any date, as known now or at any earlier log position:
the who-pays read model's public API, and keeping every read model up to date.

    view = WhoPaysView(url)                      # the event log's URL: same database
    catch_up(ledger, view)                       # SQLite: poll; or run a ViewRunner
    view.payer_on("IMP-0042", date(2024, 3, 3))  # IntervalRow: kind, party, basis, reason...
    at = ledger.position(known_at=moment)        # "as known at moment K" is a log position
    view.timeline("IMP-0042", known_at_position=at)

Writes through the application return a position (`Receipt.position`); a reader that must
see its own write calls `view.wait_for(receipt.position)` (a ViewRunner follows the log), or
calls the function `update_in_process(ledger, view)` returns right after writing.
Maintenance (of every read model): `rebuild(ledger, url, progress)`, `verify(ledger, url)` and
`clean(url)` (what killed rebuilds left behind) (projections.maintenance, projections.scratch).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from application.ledger import Ledger, Receipt
from domain.financing import PayerKind
from projections import rows as r
from projections.maintenance import clean, rebuild, verify
from projections.projector import Projector
from projections.rows import Difference, IntervalRow, PatientRow
from projections.runner import ViewRunner
from projections.scratch import Leftovers, MaintenanceRunning
from projections.store import Database
from projections.view import ReadModels, ViewBehind

__all__ = [
    "Difference", "IntervalRow", "Leftovers", "MaintenanceRunning", "PatientRow", "ReadModels",
    "ViewBehind", "ViewRunner", "WhoPaysView", "catch_up", "clean", "rebuild",
    "update_in_process", "verify",
]


class WhoPaysView(ReadModels):
    """Who pays, from the intervals and patients read models. Every answer may be asked as
    known at a position, and after waiting for a minimum position (projections.view)."""

    def payer_on(self, patient_id: str, on: date, known_at_position: int | None = None, *,
                 min_position: int | None = None) -> IntervalRow | None:
        """The interval covering `on`: payer (kind, party, hf, rhf), basis and reason, as known
        now or at a position. None if the patient was not enrolled by then (or is unknown)."""
        at = self.as_of(known_at_position, min_position)
        d = self.db.date_in(on)
        found = self.rows(r.INTERVALS, at, "patient_id = ? AND start_on <= ? "
                          "AND (end_on IS NULL OR end_on >= ?)", [patient_id, d, d])
        return found[0] if found else None

    def timeline(self, patient_id: str, known_at_position: int | None = None, *,
                 min_position: int | None = None) -> list[IntervalRow]:
        """The patient's payers from enrolment on, in date order; the last interval is open."""
        at = self.as_of(known_at_position, min_position)
        return self.rows(r.INTERVALS, at, "patient_id = ?", [patient_id], order="start_on")

    def intervals(self, *, known_at_position: int | None = None, kind: PayerKind | str | None = None,
                  party: str | None = None, rhf_id: str | None = None, hf_id: str | None = None,
                  overlapping: tuple[date, date] | None = None,
                  min_position: int | None = None) -> list[IntervalRow]:
        """Intervals of every patient, optionally those of one payer kind, party, RHF or HF,
        overlapping a period (first day, last day), in patient/date order."""
        at = self.as_of(known_at_position, min_position)
        where, params = ["1 = 1"], []
        for column, value in (("kind", kind), ("party", party), ("rhf_id", rhf_id),
                              ("hf_id", hf_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value.value if isinstance(value, PayerKind) else value)
        if overlapping is not None:
            first, last = overlapping
            where.append("start_on <= ? AND (end_on IS NULL OR end_on >= ?)")
            params += [self.db.date_in(last), self.db.date_in(first)]
        return self.rows(r.INTERVALS, at, " AND ".join(where), params,
                         order="patient_id, start_on")

    def patients(self, *, rhf_id: str | None = None, company_id: str | None = None,
                 cohort_id: str | None = None, agreement_id: str | None = None,
                 hf_id: str | None = None, known_at_position: int | None = None,
                 min_position: int | None = None) -> list[PatientRow]:
        """Patients as known now (or at a position), filtered (all filters must hold), by id."""
        at = self.as_of(known_at_position, min_position)
        where, params = ["1 = 1"], []
        for column, value in (("rhf_id", rhf_id), ("company_id", company_id),
                              ("cohort_id", cohort_id), ("agreement_id", agreement_id),
                              ("hf_id", hf_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        return self.rows(r.PATIENTS, at, " AND ".join(where), params, order="patient_id")

    def patient(self, patient_id: str, known_at_position: int | None = None) -> PatientRow | None:
        found = self.rows(r.PATIENTS, known_at_position, "patient_id = ?", [patient_id])
        return found[0] if found else None


# --- keeping the view up to date --------------------------------------------------------------


def catch_up(ledger: Ledger, view: ReadModels | str, *, until: int | None = None) -> int:
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


def update_in_process(ledger: Ledger, view: ReadModels) -> Callable[[Receipt | None], int]:
    """A function to call right after a write: it brings the view up to (at least) the
    write's position, in the writing process, and returns the view's position. It keeps
    what it has folded between calls, so each call reads only the new facts."""
    projector = Projector(ledger.log, view.db)
    projector.create_tables()

    def after_write(receipt: Receipt | None = None) -> int:
        return projector.catch_up()

    return after_write
