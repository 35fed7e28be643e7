"""Who pays on a date, for every patient an actor may see: one page at a time.

Pages follow the patient id (keyset pagination): a page is the first `limit` patients after
the last one of the previous page, so a page costs the same wherever it is in the list, and a
patient enrolled meanwhile never shifts the others. What an actor may see (`Tenancy`) is part
of the query: a partner's patients are those of its company, an RHF officer's those treated in
its region at some time (application.access.View), or an explicit set of patient ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from application import access
from domain.values import Actor
from projections import rows as r
from projections.view import ReadModels

PAGE = 500


@dataclass(frozen=True)
class Tenancy:
    """The patients an actor may see: every filter given must hold (none: every patient)."""

    patients: frozenset[str] | None = None  # these patient ids
    company: str | None = None  # a company's patients
    region: str | None = None  # patients treated in this RHF's region at some time

    @classmethod
    def of(cls, actor: Actor) -> Tenancy:
        """As application.access.View judges it."""
        if actor.role == access.PARTNER:
            return cls(company=actor.organisation)
        if actor.role == access.RHF_FINANCE:
            return cls(region=actor.organisation)
        if actor.role in access.READ_PATIENTS:
            return cls()
        return cls(patients=frozenset())

    def where(self, models: ReadModels, alias: str, *, by_id: bool = False
              ) -> tuple[list[str], list[Any]]:
        """The conditions on the table under `alias`. `by_id`: the query names its patients by
        id, and the company's index must not be chosen over the table's key (a partner's
        company holds a third of the patients at M: without this, each patient judged alone
        read them all)."""
        where: list[str] = []
        params: list[Any] = []
        if self.patients is not None:
            sql, values = models.among(f"{alias}.patient_id", sorted(self.patients))
            where.append(sql)
            params += values
        if self.company is not None:  # `|| ''`: the same value, and no index on it chosen
            where.append(f"{alias}.company_id || '' = ?" if by_id else f"{alias}.company_id = ?")
            params.append(self.company)
        if self.region is not None:
            where.append(f"EXISTS (SELECT 1 FROM {models.name(r.REGIONS)} g WHERE "
                         f"g.patient_id = {alias}.patient_id AND g.rhf_id = ?)")
            params.append(self.region)
        return where, params


@dataclass(frozen=True)
class Page:
    on: date
    position: int  # the log position the page is as known at
    rows: list[r.IntervalRow]  # one per patient enrolled by `on`, by patient id
    after: str | None  # the last patient id of this page: ask for the next page after it

    @property
    def last(self) -> bool:
        return self.after is None


def payers_on(models: ReadModels, on: date, *, tenancy: Tenancy = Tenancy(),
              after: str | None = None, limit: int = PAGE, known_at_position: int | None = None,
              min_position: int | None = None) -> Page:
    """The payer of each visible patient on `on` (the interval covering it), as known now or
    at a position, `limit` patients after the patient id `after`."""
    if not 1 <= limit <= 10 * PAGE:
        raise ValueError(f"a page holds 1 to {10 * PAGE} patients, not {limit}")
    at = models.as_of(known_at_position, min_position)
    position = models.position() if at is None else at
    day = models.db.date_in(on)
    where = ["i.start_on <= ? AND (i.end_on IS NULL OR i.end_on >= ?)"]
    params: list[Any] = [day, day]
    if after is not None:
        where.append("i.patient_id > ?")
        params.append(after)
    scope, values = tenancy.where(models, "i")
    rows = models.rows(r.INTERVALS, at, " AND ".join(where + scope), params + values,
                       order="i.patient_id", limit=limit, alias="i")
    return Page(on, position, rows, rows[-1].patient_id if len(rows) == limit else None)
