"""Issued statements and closed periods on the demo history, on SQLite and PostgreSQL (ADR 0022):
issue, produce again byte for byte, restate since a number; close a quarter, then a late fact
shows as an adjustment in the next quarter while the closed quarter stays as booked; as known
before the closure there is no adjustment; reopening (with a reason) opens the figures again."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pytest

from application.demo import load_demo
from application.ledger import Ledger
from application.access import Forbidden
from application.writer import Writer
from domain import commands as c
from domain import errors as err
from domain.books import BookKey
from domain.periods import StatementPeriod
from domain.statement_lines import document
from domain.values import Actor
from projections.whopays import WhoPaysView, catch_up
from reports import bookkeeping as bk
from reports.books import Books
from domain.statements.periods import CLOSED, PeriodStatement, period_statement
from reports.readmodels import ReadModelSources
from reports.statements_replay import ReplaySources

VEST = BookKey.of("public-cost", "rhf", "helse-vest")
Q1, Q2 = StatementPeriod.parse("2024Q1"), StatementPeriod.parse("2024Q2")
OFFICER = Actor(subject="kari@helse-vest", role="rhf_finance", organisation="helse-vest")
TRIAL = Actor(subject="ola@impress", role="trial_office", organisation="impress")


@dataclass
class World:
    ledger: Ledger
    service: Writer
    books: Books
    _views: list[WhoPaysView] = field(default_factory=list)

    def replay(self) -> ReplaySources:
        return ReplaySources(self.ledger)

    def models(self) -> ReadModelSources:
        view = WhoPaysView(self.ledger.log.url)
        catch_up(self.ledger, view)
        self._views.append(view)
        return ReadModelSources(view, self.ledger.log)

    def statement(self, period: StatementPeriod, at: int | None = None) -> PeriodStatement:
        return period_statement(self.replay(), self.books, VEST.statement,
                                self.books.scope_of(VEST), period, at)

    def record(self, command: c.Command, actor: Actor = TRIAL) -> int:
        return self.service.record([command], actor).position



@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    ledger = Ledger.open(database_url)
    load_demo(ledger)
    w = World(ledger, Writer(ledger), Books(ledger))
    yield w
    for view in w._views:
        view.close()
    ledger.close()


def public_patient(statement: PeriodStatement, hf: str) -> str:
    """A patient the public side paid for at a health trust in the statement's period."""
    return next(x.patient_id for x in statement.base.contributions
                if x.hf_id == hf and x.dispensations)


def late_dispensation(w: World, patient: str, on: str = "2024-02-20", packs: int = 2) -> int:
    return w.record(c.DispenseDrug(patient_id=patient, packs=packs,
                                   dispensed_on=date.fromisoformat(on)))


def test_an_issued_statement_is_numbered_and_produced_again_byte_for_byte(world: World) -> None:
    issued = bk.issue(world.service, world.replay, world.books, OFFICER, VEST, Q1)
    assert issued.fact.number == "PC-helse-vest-2024Q1-1"
    assert issued.fact.position == world.ledger.log.head() - 1  # built at the head, then recorded
    assert issued.fact.lines_hash == issued.statement.lines_hash()
    late_dispensation(world, public_patient(issued.statement, "helse-fonna"))
    for sources in (world.replay(), world.models()):
        again = bk.reproduce(sources, world.books, "PC-helse-vest-2024Q1-1")
        assert document(again.canonical_lines()) == document(issued.statement.canonical_lines())
        assert again.lines_hash() == issued.fact.lines_hash
    now = world.statement(Q1)
    assert now.lines_hash() != issued.fact.lines_hash  # the late fact changed the open quarter


def test_a_restatement_since_a_number_names_the_late_fact(world: World) -> None:
    issued = bk.issue(world.service, world.replay, world.books, OFFICER, VEST, Q1)
    patient = public_patient(issued.statement, "helse-fonna")
    position = late_dispensation(world, patient)
    restated = bk.since(world.models(), world.books, "PC-helse-vest-2024Q1-1")
    assert [f.position for f in restated.causes] == [position]
    assert restated.causes[0].why == "late" and restated.causes[0].patients == (patient,)


def test_after_the_close_a_late_fact_is_an_adjustment_of_the_next_quarter_and_q1_stays(
        world: World) -> None:
    issued = bk.issue(world.service, world.replay, world.books, OFFICER, VEST, Q1)
    patient = public_patient(issued.statement, "helse-fonna")
    closed_at = bk.close(world.service, OFFICER, VEST, Q1).position
    position = late_dispensation(world, patient)

    q1 = world.statement(Q1)
    assert q1.status == CLOSED and q1.closure is not None and q1.number == issued.fact.number
    assert q1.lines_hash() == issued.fact.lines_hash  # the closed figures never change

    q2 = world.statement(Q2)
    money = [a for a in q2.adjustments if a.currency is not None]
    assert [(a.period, a.patient_id, a.what, a.fact.position) for a in money] == [
        ("2024Q1", patient, "public cost", position)]
    price = _price_per_pack(issued.statement, patient)
    assert money[0].change == 2 * price and money[0].currency == "NOK"
    packs = [a for a in q2.adjustments if a.what == "packs"]
    assert [(a.change, a.fact.position) for a in packs] == [(2, position)]
    assert q2.to_dict()["adjustment_totals"] == {"NOK": f"{2 * price:.2f}"}

    # as known before the closure, Q2 carries nothing; at the closure, Q1 was already booked
    assert world.statement(Q2, closed_at - 1).adjustments == ()
    assert world.statement(Q2, closed_at).adjustments == ()
    assert world.statement(Q1, closed_at - 1).status == "open"
    # the same with the read models
    models_q2 = period_statement(world.models(), world.books, VEST.statement,
                                 world.books.scope_of(VEST), Q2)
    assert models_q2.lines_hash() == q2.lines_hash()


def test_q2_booked_carries_q1s_adjustments_and_q3_carries_only_what_came_later(
        world: World) -> None:
    issued = bk.issue(world.service, world.replay, world.books, OFFICER, VEST, Q1)
    patient = public_patient(issued.statement, "helse-fonna")
    bk.close(world.service, OFFICER, VEST, Q1)
    first = late_dispensation(world, patient, "2024-02-20", 2)
    bk.issue(world.service, world.replay, world.books, OFFICER, VEST, Q2)
    bk.close(world.service, OFFICER, VEST, Q2)
    second = late_dispensation(world, patient, "2024-03-01", 1)
    q2 = world.statement(Q2)
    assert {a.fact.position for a in q2.adjustments} == {first}
    q3 = world.statement(StatementPeriod.parse("2024Q3"))
    assert {(a.period, a.fact.position) for a in q3.adjustments} == {("2024Q1", second)}


def test_reopening_with_a_reason_opens_the_figures_and_a_reissue_supersedes(world: World) -> None:
    issued = bk.issue(world.service, world.replay, world.books, OFFICER, VEST, Q1)
    patient = public_patient(issued.statement, "helse-fonna")
    bk.close(world.service, OFFICER, VEST, Q1)
    late_dispensation(world, patient)
    with pytest.raises(err.ReasonRequired):
        bk.reopen(world.service, OFFICER, VEST, Q1, "")
    bk.reopen(world.service, OFFICER, VEST, Q1, "the pharmacy's February invoice came late")
    assert world.statement(Q1).lines_hash() != issued.fact.lines_hash
    assert world.statement(Q2).adjustments == ()
    again = bk.issue(world.service, world.replay, world.books, OFFICER, VEST, Q1)
    assert (again.fact.number, again.fact.supersedes) == ("PC-helse-vest-2024Q1-2",
                                                          "PC-helse-vest-2024Q1-1")
    book = world.books.at(VEST, world.ledger.log.head())
    assert [r.reason for r in book.reopenings] == ["the pharmacy's February invoice came late"]


def test_only_the_regions_own_officer_keeps_its_books(world: World) -> None:
    other = Actor(subject="per@helse-nord", role="rhf_finance", organisation="helse-nord")
    partner = Actor(subject="p@astrazeneca", role="partner", organisation="astrazeneca")
    before = world.ledger.log.head()
    for actor in (other, partner, TRIAL):
        with pytest.raises(Forbidden):
            bk.issue(world.service, world.replay, world.books, actor, VEST, Q1)
    assert world.ledger.log.head() == before


def _price_per_pack(statement: PeriodStatement, patient: str) -> Decimal:
    lines = [d for x in statement.base.contributions if x.patient_id == patient
             for d in x.dispensations]
    price = lines[-1].price
    assert price is not None
    return price.value.amount


def test_booked_figures_and_every_adjustment_since_add_up_to_the_figures_known_now(
        world: World) -> None:
    """Nothing is lost or counted twice: a closed quarter's booked figures, plus what the
    statements after it carried for it, are its figures as known now."""
    from domain.statements.adjustments import figures
    from reports.statements import Period
    from domain.statements.public import By, public_cost

    first = bk.issue(world.service, world.replay, world.books, OFFICER, VEST, Q1)
    patient = public_patient(first.statement, "helse-fonna")
    bk.close(world.service, OFFICER, VEST, Q1)
    late_dispensation(world, patient, "2024-02-20", 2)
    q2 = bk.issue(world.service, world.replay, world.books, OFFICER, VEST, Q2)
    bk.close(world.service, OFFICER, VEST, Q2)
    late_dispensation(world, patient, "2024-03-01", 1)
    late_dispensation(world, patient, "2024-05-02", 3)
    q3 = world.statement(StatementPeriod.parse("2024Q3"))
    scope = world.books.scope_of(VEST)
    for period, booked in ((Q1, first.statement), (Q2, q2.statement)):
        now = public_cost(world.replay().at(None), Period(period.start, period.end), scope,
                          By.MONTH)
        carried = [a for s in (q2.statement, q3) for a in s.adjustments
                   if a.period == period.label and a.patient_id == patient]
        assert carried, period  # late facts reached both quarters after they were closed
        total = figures(booked.base, patient)
        for a in carried:
            total[(a.what, a.currency)] += a.change
        assert {k: v for k, v in total.items() if v} == {
            k: v for k, v in figures(now, patient).items() if v}, period
