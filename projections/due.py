"""The due-date index: which patients a tick must reconcile on a day.

For every patient the read models hold the first day on which `domain.derive.reconcile` would
record something (a derived fact whose date has come and that is not yet recorded, or a
retraction: due at once): `domain.derive.next_due`. A tick on day D reconciles the patients
whose due date is on or before D, and no others: a tick with nothing due reads no patient.

    due = DueIndex(ledger, url)          # follows the log in this process
    ledger.tick(today, due=due)          # Ledger.tick asks due(today) for the patients
"""

from __future__ import annotations

from datetime import date

from application.ledger import Ledger
from projections import rows as r
from projections.projector import Projector
from projections.view import ReadModels


def due_patients(models: ReadModels, today: date, *, min_position: int | None = None
                 ) -> list[str]:
    """The patients with something due on or before `today`, as the read models know now."""
    models.reached(min_position)
    rows = models.rows(r.DUE, None, "due_on <= ?", [models.db.date_in(today)],
                       order="patient_id")
    return [x.patient_id for x in rows]


def due_counts(models: ReadModels, after: date, until: date) -> list[tuple[date, int]]:
    """How many patients fall due on each day in (after, until]: for planning (and the
    benchmark, which picks a day with a given share of patients due)."""
    db = models.db
    with db.reading() as cur:
        found = cur.rows(f"SELECT due_on, COUNT(*) FROM {models.name(r.DUE)} WHERE due_on > ? "
                         "AND due_on <= ? GROUP BY due_on ORDER BY due_on",
                         [db.date_in(after), db.date_in(until)])
    return [(d, int(n)) for x, n in found if (d := db.date_out(x)) is not None]


class DueIndex:
    """`due(today)` for Ledger.tick: brings the read models up to the log's head in this
    process (so nothing recorded before the tick is missed), then reads who is due. Keeps its
    projector between calls, so each call reads only what was recorded since."""

    def __init__(self, ledger: Ledger, models: ReadModels) -> None:
        self.models = models
        self.projector = Projector(ledger.log, models.db)

    def __call__(self, today: date) -> list[str]:
        self.projector.catch_up()
        return due_patients(self.models, today)
