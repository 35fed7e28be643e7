"""The statements' rows from the read models, as known at one position, filtered in SQL: the
`Source` a statement is built from (domain.statements.source). Filters narrow the rows by period, payer
kind, company or RHF; the statements check every row again, so a filter here only has to keep
every row they need.

    models = ReadModels(url)
    source = ReadSource(models, position)         # None: as known now (what the models hold)
    public_cost(source, period, Scope.rhf("helse-vest"), By.MONTH)
"""

from __future__ import annotations

import json
from collections.abc import Collection
from json.scanner import make_scanner
from datetime import date, datetime
from typing import Any, cast

from domain.financing import PayerKind
from domain.statements import worklist as wl
from domain.statements.rows import SlotUse
from domain.statements.worklist import Gap, WorkItem
from domain.statements.scope import Scope, ScopeKind
from domain.statements.source import CostSums, uses_of
from projections import rows as r
from projections import tables as tb
from projections.view import ANY_POSITION, ReadModels

Span = tuple[date, date]
_ITEM_FIELDS = ("patient_id", "gap", "cohort_id", "since", "until", "hf_id", "rhf_id", "detail",
                "resolve", "basis", "seq", "packs", "value", "first_on", "last_on",
                "first_end", "last_start")
_GAPS = {g.value: g for g in Gap}
_SCOPE_COLUMNS = {ScopeKind.COMPANY: "company_id", ScopeKind.RHF: "rhf_id",
                  ScopeKind.HF: "hf_id"}  # the column of a cost line a scope sees it by
_WORK_ITEM = tb.builder(WorkItem)  # tens of thousands an RHF's worklist at M


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _json_list() -> Any:
    """A JSON list column (text on both databases: projections.store._json_as_text) as a
    tuple: the text goes to the C scanner directly (json.loads' wrappers were half of its cost
    over tens of thousands of rows)."""
    scan = cast(Any, make_scanner)(json.JSONDecoder())
    return lambda v: () if v == "[]" else tuple(scan(v, 0)[0])


def _pairs() -> Any:
    """A value column ([[currency, minor units], ...]) as a tuple of pairs: its text is
    decoded once per distinct text (few: packs times a price)."""
    decode = _json_list()
    seen: dict[str, tuple[tuple[str, int], ...]] = {}

    def pairs(v: str) -> tuple[tuple[str, int], ...]:
        found = seen.get(v)
        if found is None:
            found = seen[v] = tuple((c, int(m)) for c, m in decode(v))
        return found
    return pairs


class Window:
    """Rows as known at any position from `first` to `last`, each query read once: the two ends
    of a restatement ask the same questions, and most rows are the same at both."""

    def __init__(self, models: ReadModels, first: int, last: int) -> None:
        self.models, self.first, self.last = models, first, last
        self._read: dict[tuple[Any, ...], list[Any]] = {}

    def rows(self, table: Any, at: int, where: str, params: list[Any], order: str) -> list[Any]:
        key = (table.base, where, repr(params), order)
        found = self._read.get(key)
        if found is None:
            alive = "known_from <= ? AND (known_to IS NULL OR known_to > ?)"
            found = self._read[key] = self.models.rows(
                table, ANY_POSITION, f"{alive} AND ({where})", [self.last, self.first, *params],
                order)
        return [x for x in found if x.known_from <= at and (x.known_to is None or x.known_to > at)]

    def changed(self) -> set[str] | None:
        """The patients owning a row read that is not the same at both ends; None if such a
        row belongs to no patient (a party, an agreement's slots)."""
        out: set[str] = set()
        for rows in self._read.values():
            for x in rows:
                if x.known_from > self.first or (x.known_to is not None and x.known_to <= self.last):
                    patient = getattr(x, "patient_id", None)
                    if patient is None:
                        return None
                    out.add(patient)
        return out


class ReadSource:
    def __init__(self, models: ReadModels, position: int | None = None,
                 recorded_at: datetime | None = None, *, min_position: int | None = None,
                 window: Window | None = None) -> None:
        reached = models.reached(min_position)
        self.models, self.db = models, models.db
        self.at = models.as_of(position)
        self.position = reached if position is None else position
        self.recorded_at = recorded_at
        self.window = window if window and window.first <= self.position <= window.last else None

    def _rows(self, table: Any, where: list[str], params: list[Any], order: str = "") -> list[Any]:
        if self.window is not None and table.bitemporal:
            return self.window.rows(table, self.position, " AND ".join(where) or "1 = 1", params,
                                    order)
        return self.models.rows(table, self.at, " AND ".join(where) or "1 = 1", params, order)

    def _scope(self, where: list[str], params: list[Any], company: str | None,
               rhf: str | None) -> None:
        if company is not None:
            where.append("company_id = ?")
            params.append(company)
        if rhf is not None:
            where.append("rhf_id = ?")
            params.append(rhf)

    def _kinds(self, column: str, kinds: Collection[PayerKind]) -> tuple[str, list[Any]]:
        return f"{column} IN ({', '.join('?' * len(kinds))})", [k.value for k in kinds]

    # --- the Source ---------------------------------------------------------------------------

    def company_exists(self, company_id: str) -> bool:
        return bool(self._rows(r.PARTIES, ["party = ?"], [f"company/{company_id}"]))

    def company_ids(self) -> set[str]:
        return {p.party.partition("/")[2]
                for p in self._rows(r.PARTIES, ["party LIKE ?"], ["company/%"])}

    def rhf_ids(self) -> set[str]:
        return set(self.regions().values())

    def regions(self) -> dict[str, str]:
        """Every health trust's RHF."""
        return {p.party.partition("/")[2]: p.rhf_id
                for p in self._rows(r.PARTIES, ["party LIKE ?"], ["trust/%"]) if p.rhf_id}

    def intervals(self, *, kinds: Collection[PayerKind] | None = None, span: Span | None = None,
                  company: str | None = None, rhf: str | None = None,
                  patients: Collection[str] | None = None,
                  ending: Span | None = None) -> list[r.IntervalRow]:
        where: list[str] = []
        params: list[Any] = []
        if kinds is not None:
            sql, values = self._kinds("kind", kinds)
            where.append(sql)
            params += values
        if span is not None:
            where.append("start_on <= ? AND (end_on IS NULL OR end_on >= ?)")
            params += [self.db.date_in(span[1]), self.db.date_in(span[0])]
        if ending is not None:
            where.append("end_on >= ? AND end_on <= ?")
            params += [self.db.date_in(ending[0]), self.db.date_in(ending[1])]
        if patients is not None:
            sql, values = self.models.among("patient_id", list(patients))
            where.append(sql)
            params += values
        self._scope(where, params, company, rhf)
        return self._rows(r.INTERVALS, where, params, "patient_id, start_on")

    def cost_lines(self, *, span: Span, kinds: Collection[PayerKind] | None = None,
                   gaps: bool = False, company: str | None = None,
                   rhf: str | None = None,
                   patients: Collection[str] | None = None) -> list[r.CostLine]:
        """Lines dispensed in the span, of payer `kinds` (or, with `gaps`, needing resolving
        whatever their payer: a second query, so each follows its own index)."""
        def query(condition: str, values: list[Any]) -> list[r.CostLine]:
            where = ["dispensed_on >= ? AND dispensed_on <= ?", condition]
            params = [self.db.date_in(span[0]), self.db.date_in(span[1]), *values]
            self._scope(where, params, company, rhf)
            if patients is not None:
                among, ids = self.models.among("patient_id", list(patients))
                where.append(among)
                params += ids
            return self._rows(r.COST_LINES, where, params, "patient_id, seq")

        if kinds is None:
            return query("1 = 1", [])
        found = query(*self._kinds("payer_kind", kinds))
        if gaps:
            seen = {x.ref for x in found}
            found += [x for x in query("gap IS NOT NULL", []) if x.ref not in seen]
        return found

    def company_cost(self, *, span: Span, scope: Scope) -> CostSums:
        """domain.statements.source.at_company_cost in SQL, summed per currency."""
        where = ["payer_kind = ? AND party = company_id",
                 "dispensed_on >= ? AND dispensed_on <= ?"]
        params: list[Any] = [PayerKind.COMPANY.value, self.db.date_in(span[0]),
                             self.db.date_in(span[1])]
        column = _SCOPE_COLUMNS.get(scope.kind)
        if column is not None:
            where.append(f"{column} = ?")
            params.append(scope.party)
        packs, value = 0, dict[str, int]()
        for currency, packs_of, value_of in self.models.grouped(
                r.COST_LINES, ["currency", "SUM(packs)", "SUM(value_minor)"], ["currency"],
                self.at, " AND ".join(where), params):
            packs += int(packs_of)
            if currency is not None and value_of is not None:
                value[currency] = int(value_of)
        return CostSums(packs, value)

    def work_items(self, *, span: Span, seen_by: Collection[str], company: str | None = None,
                   rhf: str | None = None, gaps: Collection[Gap] | None = None
                   ) -> tuple[list[WorkItem], set[str]]:
        """The kept work items (domain.statements.worklist) meeting the span, of those
        `seen_by` (and of `gaps`, if given), and the patients with such an item the span clips
        (their items are left out: the caller works them out again). Only what an item shows
        is read and decoded: at national scale an RHF's worklist is tens of thousands of
        rows."""
        t, db = r.WORK_ITEMS, self.db
        first, last = db.date_in(span[0]), db.date_in(span[1])
        where = [f"seen_by IN ({', '.join('?' * len(seen_by))})",
                 "since_on <= ? AND (until_on IS NULL OR until_on >= ?)"]
        params: list[Any] = [*seen_by, last, first]
        self._scope(where, params, company, rhf)
        if gaps is not None:
            where.append(f"gap IN ({', '.join('?' * len(gaps))})" if gaps else "1 = 0")
            params += [g.value for g in gaps]
        # in the worklist's order, or nearly (a collation's): its sort finds them in order
        found = self.models.tuples(t, [t.column(f) for f in _ITEM_FIELDS], self.at,
                                   " AND ".join(where), params,
                                   order="since_on, patient_id, gap, seq")
        items, again = [], set()
        day, basis, value = db.date_out, _json_list(), _pairs()
        for (patient, gap, cohort, since, until, hf, region, detail, resolve, refs, seq, packs,
             worth, first_on, last_on, first_end, last_start) in found:
            if wl.clips(first, last, first_on, last_on, first_end, last_start):
                again.add(patient)
            else:
                items.append(_WORK_ITEM(_GAPS[gap], patient, cohort, _day(since), day(until),
                                        hf, region, detail, resolve, basis(refs), int(packs),
                                        value(worth), int(seq), None))
        return [i for i in items if i.patient_id not in again], again

    def patients(self, ids: Collection[str] | None = None, *,
                 agreements: Collection[str] | None = None) -> list[r.PatientRow]:
        where: list[str] = []
        params: list[Any] = []
        for column, values in (("patient_id", ids), ("agreement_id", agreements)):
            if values is not None:
                sql, found = self.models.among(column, list(values))
                where.append(sql)
                params += found
        return self._rows(r.PATIENTS, where, params, "patient_id")

    def grants(self, *, until: date, company: str | None = None,
               rhf: str | None = None) -> list[r.GrantRow]:
        # a grant due after the period has nothing in it: invoices and payments come later
        where, params = ["due_from <= ?"], [self.db.date_in(until)]
        self._scope(where, params, company, rhf)
        return self._rows(r.GRANTS, where, params, "patient_id")

    def movements(self, patients: Collection[str]) -> list[r.MovementRow]:
        where, params = self.models.among("patient_id", list(patients))
        return self._rows(r.MOVEMENTS, [where], params, "patient_id")

    def slots(self, *, company: str | None = None) -> list[r.SlotRow]:
        where, params = [], []
        if company is not None:
            where, params = ["company_id = ?"], [company]
        return self._rows(r.SLOTS, where, params, "agreement_id, drug_id")

    def slot_uses(self, agreements: Collection[str]) -> list[SlotUse]:
        if self.window is not None:  # a restatement reads each query once for both ends
            return uses_of(self.patients(agreements=agreements))
        # uses_of's five columns only: an agreement's patients since it began are tens of
        # thousands, whose whole rows (periods decoded) cost a bundle's build half a second
        among, ids = self.models.among("p.agreement_id", list(agreements))
        rows = self.models.tuples(
            r.PATIENTS, ["agreement_id", "drug_id", "patient_id", "enrolled_on", "enrolled_at"],
            self.at, f"{among} AND p.enrolled_on IS NOT NULL", ids, alias="p")
        out = self.db.date_out
        return [SlotUse(a, d, p, out(on)) for a, d, p, on, _ in  # type: ignore[arg-type]
                sorted(rows, key=lambda x: (x[4], x[2]))]

    def first_enrolment(self) -> date | None:
        known, params = tb.known_at(r.PATIENTS, self.at)
        with self.db.reading() as cur:
            row = cur.one(f"SELECT MIN(enrolled_on) FROM {self.models.name(r.PATIENTS)} "
                          f"WHERE {known}", params)
        return self.db.date_out(row[0]) if row else None

    # --- a restatement's history ------------------------------------------------------------

    def changes(self, patients: Collection[str], after: int) -> dict[str, list[Any]]:
        """Every row of these patients known at some position in (after, self.position], and
        of their agreements' slots: what a restatement compares position by position."""
        out: dict[str, list[Any]] = {}
        between = "known_from <= ? AND (known_to IS NULL OR known_to > ?)"
        sql, values = self.models.among("patient_id", list(patients))
        for table in (r.INTERVALS, r.PATIENTS, r.COST_LINES, r.GRANTS, r.MOVEMENTS):
            out[table.base] = self.models.rows(table, ANY_POSITION, f"{sql} AND {between}",
                                               [*values, self.position, after])
        agreements = sorted({p.agreement_id for p in out[r.PATIENTS.base]})
        sql, values = self.models.among("agreement_id", agreements)
        out[r.SLOTS.base] = self.models.rows(r.SLOTS, ANY_POSITION, f"{sql} AND {between}",
                                             [*values, self.position, after])
        return out
