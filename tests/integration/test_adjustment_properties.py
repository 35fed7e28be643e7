"""For any order of late dispensations and quarter closings on the demo history: a closed
quarter's statement never changes after its closure, and its booked figures plus every
adjustment carried for it since (in the booked statements of later quarters and in the first
open one now) equal its figures as known now, patient by patient (ADR 0022). On SQLite: each
example starts from a copy of one demo ledger."""

from __future__ import annotations

import shutil
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application.demo import load_demo
from application.ledger import Ledger
from application.writer import Writer
from domain import commands as c
from domain.books import BookKey
from domain.periods import StatementPeriod
from domain.values import Actor
from reports import bookkeeping as bk
from domain.statements.adjustments import figures
from reports.books import Books
from domain.statements.periods import period_statement
from reports.statements import Period
from domain.statements.public import By, public_cost
from reports.statements_replay import ReplaySources

VEST = BookKey.of("public-cost", "rhf", "helse-vest")
QUARTERS = [StatementPeriod.parse(q) for q in ("2024Q1", "2024Q2", "2024Q3")]
OFFICER = Actor(subject="kari@helse-vest", role="rhf_finance", organisation="helse-vest")
TRIAL = Actor(subject="ola@impress", role="trial_office", organisation="impress")
PATIENT = "IMP-0027"  # public at Helse Fonna through 2024's first three quarters (the demo)

steps = st.lists(st.one_of(
    st.tuples(st.just("late"), st.integers(0, 240), st.integers(1, 3)),
    st.just(("close", 0, 0))), min_size=2, max_size=8)


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "ledger.db"
    ledger = Ledger.open(f"sqlite:///{path}")
    try:
        load_demo(ledger)
    finally:
        ledger.close()
    return path


@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=steps)
def test_booked_figures_never_change_and_add_up_with_their_adjustments(
        demo_file: Path, tmp_path_factory: pytest.TempPathFactory,
        steps: list[tuple[str, int, int]]) -> None:
    path = tmp_path_factory.mktemp("example") / "ledger.db"
    shutil.copy(demo_file, path)
    ledger = Ledger.open(f"sqlite:///{path}")
    try:
        check(ledger, steps)
    finally:
        ledger.close()


def check(ledger: Ledger, steps: list[tuple[str, int, int]]) -> None:
    service, books, sources = Writer(ledger), Books(ledger), \
        ReplaySources(ledger)
    scope = books.scope_of(VEST)
    booked: dict[str, object] = {}  # closed quarter -> its booked statement
    for action, offset, packs in steps:
        if action == "late":
            on = date(2024, 1, 1) + timedelta(days=offset)
            ledger.execute(c.DispenseDrug(patient_id=PATIENT, packs=packs, dispensed_on=on),
                           TRIAL)
        elif len(booked) < len(QUARTERS):
            quarter = QUARTERS[len(booked)]
            issued = bk.issue(service, lambda: sources, books, OFFICER, VEST, quarter)
            bk.close(service, OFFICER, VEST, quarter)
            booked[quarter.label] = issued.statement
    open_now = QUARTERS[len(booked)] if len(booked) < len(QUARTERS) else \
        StatementPeriod.parse("2024Q4")
    current = period_statement(sources, books, VEST.statement, scope, open_now)
    carriers = [booked[q.label] for q in QUARTERS if q.label in booked] + [current]
    for quarter in QUARTERS:
        statement = booked.get(quarter.label)
        if statement is None:
            continue
        again = period_statement(sources, books, VEST.statement, scope, quarter)
        assert again.lines_hash() == statement.lines_hash()  # type: ignore[attr-defined]
        now = public_cost(sources.at(None), Period(quarter.start, quarter.end), scope, By.MONTH)
        patients = {x.patient_id for s in (statement.base, now)  # type: ignore[attr-defined]
                    for x in s.contributions}
        for patient in patients:
            total: defaultdict[tuple[str, str | None], Decimal] = defaultdict(Decimal)
            total.update(figures(statement.base, patient))  # type: ignore[attr-defined]
            for carrier in carriers:
                for a in carrier.adjustments:  # type: ignore[attr-defined]
                    if a.period == quarter.label and a.patient_id == patient:
                        total[(a.what, a.currency)] += a.change
            assert {k: v for k, v in total.items() if v} == {
                k: v for k, v in figures(now, patient).items() if v}, (quarter, patient, steps)
