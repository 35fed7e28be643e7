"""Statements and restatements from the read models.

A restatement names the facts that changed a patient's figures between two positions K1 and
K2. The read models are bitemporal: every row of a patient records the position at which it
became the answer (`known_from`) and the one at which it stopped (`known_to`), so the positions
in (K1, K2] at which anything of the patient changed are read from the rows themselves. At each
of them the patient's own lines are built from the rows as known there and compared with the
previous ones: a position whose lines differ is a cause. That is what a replay of the log finds
fact by fact (domain.statements.replay), with the rows instead of the folds. The facts' actor,
type and recorded moment are then read from the log, by position.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from copy import copy
from datetime import date, datetime
from typing import Any

from eventstore import EventLog, StoredFact
from domain.values import Actor
from projections import queries
from projections.source import ReadSource, Window
from projections.view import WAIT, ReadModels
from domain.statements.source import Rows
from domain.statements.text import LinesOf, own_lines


class ReadModelSources:
    """Rows as known at any position the read models have reached (after waiting for
    `min_position`, if given: a write's position). A position asked for beyond it is waited
    for in the same way: an answer is never silently as known at an earlier position."""

    def __init__(self, models: ReadModels, log: EventLog, *,
                 min_position: int | None = None, wait: float = WAIT) -> None:
        self.models, self.log, self.wait = models, log, wait
        self.reached = models.reached(min_position, wait)
        self._held: dict[tuple[str, int], Rows] = {}
        self._window: Window | None = None

    def at(self, position: int | None) -> ReadSource:
        if position is not None and position > self.reached:
            self.reached = self.models.reached(position, self.wait)  # or ViewBehind: 503
        at = self.reached if position is None else position
        return ReadSource(self.models, at, self.recorded_at(at), window=self._window)

    def between(self, first: int, last: int | None) -> ReadModelSources:
        """These sources, reading each query's rows once for every position from `first` to
        `last` (None: now): what a restatement compares."""
        end = self.at(last).position
        shared = copy(self)
        shared._window = Window(self.models, min(first, end), end)
        return shared

    def patient_at(self, patient_id: str, position: int, since: int) -> Rows:
        """One patient's rows (and its agreement's slots) as known at `position`, read once
        for every position after `since`."""
        held = self._held.get((patient_id, since))
        if held is None:
            now = self.at(None)
            held = self._held[(patient_id, since)] = Rows(
                now.position, companies=now.company_ids(), rhfs=now.rhf_ids(),
                tables=now.changes([patient_id], since))
        return held.at(position)

    def changed(self, before: ReadSource, after: ReadSource) -> set[str] | None:
        """The patients with a row read for the two positions that is not the same row at both
        (None without a window, or if a row of no patient, a party or slots, changed)."""
        window = self._window
        if window is None or (before.position, after.position) != (window.first, window.last):
            return None
        return window.changed()

    def visible(self, actor: Actor, patient_ids: Collection[str]) -> list[str]:
        """Those of the patients the actor may see, as the read models' SQL judges it now
        (projections.payers.Tenancy, tested to agree with application.access.View): a View
        told so (`View.judged`) reads no stream to judge them again."""
        return queries.visible_patients(self.models, actor, patient_ids)

    def first_enrolment(self) -> Any:
        return self.at(None).first_enrolment()

    def recorded_at(self, position: int) -> datetime | None:
        fact = self.fact(position)
        return fact.recorded_at if fact else None

    def fact(self, position: int) -> StoredFact | None:
        if position <= 0:
            return None
        return next(iter(self.log.read(after=position - 1, up_to=position, batch=1)), None)

    def causes(self, patients: Sequence[str], before: ReadSource, after: ReadSource,
               lines_of: LinesOf, span: tuple[date, date] | None = None
               ) -> dict[int, tuple[StoredFact, set[str]]]:
        if not patients:
            return {}
        rows = after.changes(patients, before.position)
        if span is not None:  # a line of a period reads only its dispensations and spans
            rows = _about(rows, span)
        companies, rhfs = after.company_ids(), after.rhf_ids()
        found: dict[int, tuple[StoredFact, set[str]]] = {}
        slots = rows.pop("agreement_slots", [])
        for patient_id in patients:
            mine = Rows(after.position, companies=companies, rhfs=rhfs, tables={
                table: [x for x in xs if x.patient_id == patient_id]
                for table, xs in rows.items()})
            # with its agreement's slots: a late enrolment is named for the slot it used
            agreements = {p.agreement_id for p in mine.tables.get("patients", [])}
            mine.tables["agreement_slots"] = [x for x in slots if x.agreement_id in agreements]
            for position in _causes(mine, patient_id, before.position, lines_of):
                fact = self.fact(position)
                if fact is not None:
                    found.setdefault(position, (fact, set()))[1].add(patient_id)
        return found


def _about(rows: dict[str, list[Any]], span: tuple[date, date]) -> dict[str, list[Any]]:
    """The rows a statement of the span can read: dispensations in it, payer intervals that
    meet it, and everything else. A row outside changes none of its lines, so its positions
    need not be looked at (a replay finds them changing nothing)."""
    first, last = span
    out = dict(rows)
    out["cost_lines"] = [x for x in rows.get("cost_lines", []) if first <= x.on <= last]
    out["intervals"] = [x for x in rows.get("intervals", [])
                        if x.start <= last and (x.end is None or x.end >= first)]
    return out


def _causes(rows: Rows, patient_id: str, issued: int, lines_of: LinesOf) -> list[int]:
    """The positions after `issued` at which the patient's own lines changed."""
    changed = sorted({p for xs in rows.tables.values() for x in xs
                      for p in (x.known_from, x.known_to)
                      if p is not None and issued < p <= rows.position})
    previous = own_lines(lines_of(rows.at(issued)), patient_id)
    out = []
    for position in changed:
        current = own_lines(lines_of(rows.at(position)), patient_id)
        if current != previous:
            out.append(position)
        previous = current
    return out
