"""The read side at scale (issue 11): statements, a restatement and the worklist from the read
models, a page of payers, and ticks through the due-date index.

Every figure is measured in this process on read models caught up with the whole log (after the
rebuild), each question asked `repeat` times (the first run is a warm-up), with wall-clock and
CPU time. Which RHF and year: the RHF and the calendar year with the most public days, so the
figure is the heaviest of its kind, not a lucky one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, timedelta
from random import Random
from typing import Any

from application.ledger import Ledger
from bench.ingest import percentiles
from domain.financing import PayerKind
from projections import rows as r
from projections.due import DueIndex, due_counts, due_patients
from projections.payers import PAGE, Tenancy, payers_on
from projections.whopays import WhoPaysView
from reports.readmodels import ReadModelSources
from reports.statements import Period, Scope
from domain.statements.public import By, public_cost
from reports.statements_restate import StatementKind, restate
from reports.worklist import worklist


def timed(run: Callable[[], Any], repeat: int) -> dict[str, Any]:
    run()  # warm-up: the first query of a kind plans it and warms the page cache
    walls, cpus = [], []
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return percentiles(walls) | {"cpu_ms_mean": round(1000 * sum(cpus) / len(cpus), 2)}


def heaviest(models: WhoPaysView, last: date) -> tuple[str, int]:
    """The RHF and the year with the most public intervals (as known now), of the years that
    ended a month before `last` if there are any (a restatement needs an issued statement)."""
    counts: dict[tuple[str, int], int] = {}
    for x in models.intervals(kind=PayerKind.PUBLIC):
        if x.rhf_id:
            key = (x.rhf_id, x.start.year)
            counts[key] = counts.get(key, 0) + 1
    ended = {k: n for k, n in counts.items() if date(k[1] + 1, 2, 1) <= last}
    if not (ended or counts):
        return "helse-sor-ost", last.year
    return max(ended or counts, key=lambda k: (ended or counts)[k])


def issued(ledger: Ledger, after: date) -> int:
    """The log position at which a statement of a period ending the day before `after` would
    be issued: the first fact about a day on or after it. The benchmark's facts are recorded in
    the order of the days they are about (late ones apart), so a binary search on the facts'
    own dates finds it without reading the log."""
    low, high = 1, ledger.log.head()
    while low < high:
        middle = (low + high) // 2
        fact = next(iter(ledger.log.read(after=middle - 1, up_to=middle, batch=1)), None)
        if fact is not None and fact.valid_on is not None and fact.valid_on >= after:
            high = middle
        else:
            low = middle + 1
    return low


def statements(ledger: Ledger, models: WhoPaysView, repeat: int) -> dict[str, Any]:
    sources = ReadModelSources(models, ledger.log)
    rhf, year = heaviest(models, ledger.clock())
    period, scope = Period(date(year, 1, 1), date(year, 12, 31)), Scope.rhf(rhf)
    first = sources.first_enrolment() or period.start
    whole = Period(first, max(first, ledger.clock()))
    # the year's statement as issued a month after it ended, restated now (late facts and
    # corrections since then change some of its figures)
    k = issued(ledger, date(year + 1, 2, 1))
    if k >= ledger.log.head():  # a history too short to have closed a year: half-way
        k = ledger.log.head() // 2
    out: dict[str, Any] = {"rhf": rhf, "year": year, "issued_position": k}

    def cost() -> Any:
        return public_cost(sources.at(None), period, scope, By.MONTH)

    def restated() -> Any:
        return restate(sources, StatementKind.PUBLIC_COST, period, scope, issued=k, by=By.MONTH)

    statement, restatement = cost(), restated()
    out["public_cost"] = timed(cost, repeat) | {
        "rows": len(statement.rows), "dispensations": sum(len(x.dispensations)
                                                          for x in statement.rows)}
    out["restatement"] = timed(restated, repeat) | {
        "changes": len(restatement.changes), "facts": len(restatement.causes)}
    gaps = worklist(sources.at(None), whole, scope)
    out["worklist"] = timed(lambda: worklist(sources.at(None), whole, scope), repeat) | {
        "items": len(gaps.items)}
    return out


def payers(models: WhoPaysView, first: date, last: date, pages: int, seed: int
           ) -> dict[str, Any]:
    """Pages of 500 payers: a random day, a random tenant (everyone, an RHF, a company) and a
    random place in the list, now."""
    rng = Random(seed)
    patients = [p.patient_id for p in models.patients()]
    companies = sorted({p.company_id for p in models.patients()})
    rhfs = ["helse-sor-ost", "helse-vest", "helse-midt-norge", "helse-nord"]
    tenants = [Tenancy()] + [Tenancy(region=x) for x in rhfs] + [Tenancy(company=x)
                                                                 for x in companies]
    seconds, sizes = [], []
    for n in range(pages + 20):
        on = first + timedelta(days=rng.randint(0, max((last - first).days, 1)))
        after = rng.choice(patients) if patients and rng.random() < 0.8 else None
        started = time.perf_counter()
        page = payers_on(models, on, tenancy=rng.choice(tenants), after=after, limit=PAGE)
        if n >= 20:  # the first 20: warm-up
            seconds.append(time.perf_counter() - started)
            sizes.append(len(page.rows))
    return percentiles(seconds) | {"rows_mean": round(sum(sizes) / max(len(sizes), 1))}


def nothing_due(url: str, clock: Any) -> dict[str, Any]:
    """A tick with nothing due: a freshly opened Ledger (cold cache, as a scheduler's process)
    ticks through the due-date index on a day whose due facts a tick has just recorded."""
    ledger = Ledger.open(url, create_tables=False)
    ledger.clock = clock
    models = WhoPaysView(url, create=False)
    try:
        due = DueIndex(ledger, models)
        ledger.tick(clock.today, due=due)  # whatever is due today, recorded (not timed)
        due.projector.catch_up()  # and followed by the read models, as a runner would
        return timed_tick(url, models, clock.today)
    finally:
        models.close()
        ledger.close()


def timed_tick(url: str, models: WhoPaysView, day: date) -> dict[str, Any]:
    """A tick on `day` by a freshly opened Ledger through the due-date index, timed."""
    ledger = Ledger.open(url, create_tables=False)
    try:
        due = DueIndex(ledger, models)
        named = len(due_patients(models, day))
        started, cpu = time.perf_counter(), time.process_time()
        receipt = ledger.tick(day, due=due)
        return {"day": day.isoformat(), "patients_due": named, "facts": len(receipt.facts),
                "seconds": round(time.perf_counter() - started, 3),
                "cpu_seconds": round(time.process_time() - cpu, 3)}
    finally:
        ledger.close()


class SomeDue:
    """A tick with a share of the patients due, measured once during the bulk import, before
    the history's first tick past `after` steps: between ticks, a patient's own facts (a
    dispensation every four weeks) reconcile it, so a tick of the history finds few patients
    due, and at its end few are still treated. So the probe looks ahead: on the first day by
    which `share` of the patients enrolled so far have something due, a freshly opened Ledger
    ticks through the due-date index, timed. That records, ahead of the history, what falls due
    by then for those patients; the history goes on and finds it recorded."""

    def __init__(self, url: str, models: WhoPaysView, due: DueIndex, after: int,
                 share: float = 0.01) -> None:
        self.url, self.models, self.due, self.after, self.share = url, models, due, after, share
        self.figures: dict[str, Any] | None = None

    def __call__(self, today: date, steps: int) -> None:
        if self.figures is not None or steps < self.after:
            return
        self.due.projector.catch_up()
        patients = len(self.models.patients())
        wanted, total = max(1, round(self.share * patients)), 0
        for on, count in due_counts(self.models, date.min, today + timedelta(days=365)):
            total += count
            if total >= wanted:
                self.figures = timed_tick(self.url, self.models, on) | {
                    "share_of_patients": round(total / patients, 4), "patients": patients}
                return


def read_side(url: str, clock: Any, first: date, *, repeat: int, pages: int,
              seed: int) -> dict[str, Any]:
    ledger = Ledger.open(url, create_tables=False)
    ledger.clock = clock
    models = WhoPaysView(url, create=False)
    try:
        out = statements(ledger, models, repeat)
        out["payers_page"] = payers(models, first, clock.today, pages, seed)
        with models.db.reading() as cur:
            found = cur.one(f"SELECT COUNT(*) FROM {models.name(r.COST_LINES)}")
        out["cost_lines"] = int(found[0]) if found else 0
    finally:
        models.close()
        ledger.close()
    out["tick"] = {"nothing_due": nothing_due(url, clock)}
    return out
