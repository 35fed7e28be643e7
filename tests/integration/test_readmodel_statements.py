"""For every history, also with prices changed, dispensations corrected and grants invoiced and
paid, on SQLite and PostgreSQL: the read models, followed by projectors that restart anywhere
and hold few patients' states (reading the others again),
give the statements a replay of the log gives (company obligations, public cost, the worklist,
upcoming coverage ends), as known at any position and for every scope, and the same
restatements with the same facts named; they equal a fresh replay (verify); and the due-date
index names exactly the patients a tick would record something for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from application.ledger import Ledger
from domain import commands as c
from domain.decide import tick
from domain.errors import Refused
from domain.money import Money
from eventstore import EventLog
from projections.due import due_patients
from projections.maintenance import verify
from projections.projector import PATIENTS as PATIENTS_HELD
from projections.projector import Projector
from projections.whopays import WhoPaysView
from reports.readmodels import ReadModelSources
from reports.statements import Period, Scope
from domain.statements.company import company_statement, company_totals
from domain.statements.public import By, public_cost
from reports.statements_replay import ReplaySources
from reports.statements_restate import StatementKind, restate
from domain.statements.worklist import Gap
from reports.worklist import upcoming, worklist
from tests.integration.test_projection_properties import (PROPERTY_SETTINGS, LedgerBook,
                                                          fresh_database, setup)
from tests.strategies import BASE, PATIENTS, History, Played, histories, play_step
from tests.support import nok

WHOLE = Period(date(2021, 1, 1), date(2028, 12, 31))
YEAR = Period(date(2023, 1, 1), date(2023, 12, 31))
SCOPES = (Scope.everything(), Scope.company("nordlys"), Scope.rhf("helse-vest"),
          Scope.rhf("helse-sor-ost"), Scope.rhf("helse-nord"), Scope.rhf("helse-midt-norge"))
BUILDERS = {
    "company": lambda s, p, scope: company_statement(s, p, scope),
    "public cost": lambda s, p, scope: public_cost(s, p, scope, By.MONTH),
    "worklist": lambda s, p, scope: worklist(s, p, scope),
    "worklist and its dispensations": lambda s, p, scope: worklist(s, p, scope,
                                                                   dispensations=True),
    "upcoming": lambda s, p, scope: upcoming(s, Period(p.start, p.start + timedelta(400)), scope),
}


@dataclass(frozen=True)
class Extra:
    """A step the shared histories do not take: a price, a dispensation corrected, a grant
    invoiced or paid."""

    action: str
    target: int
    offset: int


extras = st.lists(st.tuples(
    st.integers(0, 40),
    st.builds(Extra, st.sampled_from(["dispense", "dispense", "dispense", "price", "correct",
                                      "correct", "invoice", "pay"]),
              st.integers(0, 5), st.integers(-300, 60))), max_size=16)


def extra_command(book: LedgerBook, x: Extra, today: date) -> c.Command | None:
    ws = book.workspace()
    patients = [ws.patient(pid) for pid in PATIENTS if ws.patient(pid).exists]
    if x.action == "price":
        return c.SetPrice(drug_id="lynparza", price_per_pack=nok(1000 + 137 * x.target),
                          effective_from=today + timedelta(days=x.offset))
    if x.action == "dispense":
        started = [p for p in patients if p.started is not None]
        if not started:
            return None
        p = started[x.target % len(started)]
        assert p.started is not None
        on = max(p.started.since, today - timedelta(x.offset % 90))
        return c.DispenseDrug(patient_id=p.patient_id, packs=1 + x.target % 3, dispensed_on=on)
    if x.action == "correct":
        dispensed = [(p, d) for p in patients for d in p.dispensations]
        if not dispensed:
            return None
        p, d = dispensed[x.target % len(dispensed)]
        return c.CorrectDispensation(patient_id=p.patient_id, dispensation=d.ref,
                                     packs=x.target % 4, reason="recorded from the wrong chart",
                                     dispensed_on=d.dispensed_on + timedelta(x.offset % 21 - 10))
    with_grant = [p for p in patients if p.grant is not None]
    if not with_grant:
        return None
    p = with_grant[x.target % len(with_grant)]
    assert p.grant is not None
    if x.action == "invoice":
        return c.InvoiceGrant(patient_id=p.patient_id, invoice_ref=f"INV-{p.patient_id}",
                              invoiced_on=p.grant.due_from + timedelta(x.offset % 90))
    if not p.grant.invoices:
        return None
    left = p.grant.outstanding
    amount = left if x.offset % 2 else Money.of((left.amount / 2).quantize(Decimal("0.01")),
                                                left.currency)
    return c.RecordGrantPayment(patient_id=p.patient_id, amount=amount,
                                payment_ref=f"PAY-{p.patient_id}-{len(p.grant.payments)}",
                                paid_on=p.grant.invoices[0].invoiced_on + timedelta(x.offset % 60))


def play(url: str, history: History, more: list[tuple[int, Extra]]) -> tuple[Ledger, int]:
    ledger = Ledger(EventLog(url))
    book = LedgerBook(ledger)
    setup(book, history.setup)
    after_setup = ledger.log.head()
    played = Played(book, clock=BASE)  # type: ignore[arg-type]
    for i, step in enumerate([*history.steps, None]):
        if step is not None:
            play_step(played, step)
        for _, x in [m for m in more if m[0] % (len(history.steps) + 1) == i]:
            command = extra_command(book, x, played.clock)
            if command is not None:
                try:
                    book.run(command, today=played.clock)
                except Refused:
                    pass  # as the shared player: a refused step records nothing
    return ledger, after_setup


def statements(source: Any, scope: Scope, clip: Period = YEAR) -> dict[str, Any]:
    """Every statement of the whole history, of 2023 and of the `clip` period (the
    worklist's items it cuts are worked out again from the rows in it). The company
    statement's totals, summed by the source without the statement, are its totals; the
    worklist of some kinds of item is the worklist's items of those kinds."""
    out = {f"{name} {period}": build(source, period, scope).to_dict()
           for name, build in BUILDERS.items() for period in (WHOLE, YEAR, clip)}
    for period in (WHOLE, YEAR, clip):
        assert company_totals(source, period, scope) == out[f"company {period}"]["totals"]
        every = worklist(source, period, scope).items
        for kinds in ({Gap.ASSESSMENT_MISSING}, {Gap.BENEFIT_WITHOUT_EXEMPTION,
                                                 Gap.DISPENSED_AFTER_END}, set()):
            assert (worklist(source, period, scope, gaps=kinds).items
                    == tuple(i for i in every if i.gap in kinds)), kinds
    return out


def would_tick(ledger: Ledger, today: date) -> set[str]:
    """The patients a tick on `today` records something for (reconciled one by one)."""
    out = set()
    for pid in PATIENTS:
        ws = ledger.workspace(today=today)
        if ws.patient(pid).exists:
            tick(ws, pid)
            if ws.pending:
                out.add(pid)
    return out


@given(history=histories(), more=extras, data=st.data())
@PROPERTY_SETTINGS
def test_the_read_models_give_the_statements_and_restatements_of_a_replay_of_the_log(
        database_url: str, tmp_path: Path, history: History, more: list[tuple[int, Extra]],
        data: st.DataObject) -> None:
    with fresh_database(database_url, tmp_path) as url:
        ledger, after_setup = play(url, history, more)
        models = WhoPaysView(url)
        try:
            head = ledger.log.head()
            stops = data.draw(st.lists(st.integers(0, head), max_size=3), label="restarts")
            sizes = data.draw(st.lists(st.integers(1, 9), min_size=1, max_size=3), label="batches")
            # patients held at most: few, so that folded states are let go and read again
            keep = data.draw(st.sampled_from([1, 2, PATIENTS_HELD]), label="patients held")
            for i, stop in enumerate([*sorted(stops), None]):
                Projector(ledger.log, models.db, batch_size=sizes[i % len(sizes)],
                          patients=keep).catch_up(until=stop)
            read, replay = ReadModelSources(models, ledger.log), ReplaySources(ledger)
            scope = data.draw(st.sampled_from(SCOPES), label="scope")
            middle = data.draw(st.integers(after_setup, head), label="issued")
            first = BASE + timedelta(days=data.draw(st.integers(0, 900), label="from"))
            clip = Period(first, first + timedelta(days=data.draw(st.integers(0, 400),
                                                                  label="days")))
            for at in sorted({after_setup, middle, head}):
                assert (statements(read.at(at), scope, clip)
                        == statements(replay.at(at), scope, clip)), at
            for kind in StatementKind:
                for period in (WHOLE, YEAR):
                    mine = restate(read, kind, period, scope, issued=middle, now=head)
                    theirs = restate(ledger, kind, period, scope, issued=middle, now=head)
                    assert mine.to_dict() == theirs.to_dict()
            # The public cost as issued, from the one as known now with the shares of any
            # patients among whom are all whose rows changed (a restatement's shortcut), is
            # the one built whole.
            window = read.between(middle, head)
            then, now = window.at(middle), window.at(head)
            now_as = public_cost(now, WHOLE, scope, By.MONTH)
            changed = window.changed(then, now)
            some = set(PATIENTS) if changed is None else changed | data.draw(
                st.sets(st.sampled_from(PATIENTS)), label="shares replaced too")
            assert now_as.replacing(some, public_cost(then, WHOLE, scope, By.MONTH,
                                                      patients=some)) == public_cost(
                read.at(middle), WHOLE, scope, By.MONTH)
            assert verify(ledger, url) == []
            today = BASE + timedelta(days=data.draw(st.integers(0, 1500), label="today"))
            assert set(due_patients(models, today)) == would_tick(ledger, today)
        finally:
            models.close()
            ledger.close()
