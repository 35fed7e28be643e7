"""`Ledger.record` is the one write path (ADR 0021): all or nothing over a batch, every refusal
named by its index, role and tenancy checked before any replay, and an idempotency key that
replays the first receipt. The HTTP API, the pages, imports and the CLI all call it; these
tests call it directly, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from application import access
from application.idempotency import IdempotencyKeyReused
from application.ledger import CommandsRefused, Ledger
from domain import commands as c
from domain import errors as err
from domain.values import Actor

LIS = Actor(subject="lis:anne", role=access.PROCUREMENT, organisation="sykehusinnkjop")
OFFICE = Actor(subject="office:kari", role=access.TRIAL_OFFICE, organisation="impress")
DAY = date(2021, 1, 4)


def company(company_id: str, on: date = DAY) -> c.RegisterCompany:
    return c.RegisterCompany(company_id=company_id, name=company_id.title(), registered_on=on)


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    opened = Ledger.open(database_url)
    try:
        yield opened
    finally:
        opened.close()


def test_a_batch_with_refused_commands_records_nothing_and_names_each_by_index(
        ledger: Ledger) -> None:
    ledger.record([company("roche")], LIS)
    head = ledger.head()
    with pytest.raises(CommandsRefused) as refused:
        ledger.record([company("novartis"), company("roche"), company("lilly"),
                       company("novartis")], LIS)
    assert [(i, type(x)) for i, x in refused.value.refusals] == [
        (1, err.AlreadyRecorded), (3, err.AlreadyRecorded)]
    assert ledger.head() == head


def test_one_commands_refusal_is_raised_as_itself(ledger: Ledger) -> None:
    ledger.record([company("roche")], LIS)
    with pytest.raises(err.AlreadyRecorded):
        ledger.record([company("roche")], LIS)


def test_refusals_decides_everything_and_records_nothing(ledger: Ledger) -> None:
    found = ledger.refusals([company("roche"), company("roche")], LIS)
    assert [(i, type(x)) for i, x in found] == [(1, err.AlreadyRecorded)]
    assert ledger.head() == 0


def test_a_keyed_retry_replays_the_first_receipt_and_records_nothing_new(ledger: Ledger) -> None:
    first = ledger.record([company("roche")], LIS, idempotency="k")
    again = ledger.record([company("roche")], LIS, idempotency="k")
    assert (again.position, again.facts, again.replayed) == (first.position, first.facts, True)
    assert not first.replayed and ledger.head() == first.position
    with pytest.raises(IdempotencyKeyReused):
        ledger.record([company("novartis")], LIS, idempotency="k")


def test_a_key_belongs_to_its_principal(ledger: Ledger) -> None:
    first = ledger.record([company("roche")], LIS, idempotency="k")
    colleague = Actor(subject="lis:ola", role=access.PROCUREMENT, organisation="sykehusinnkjop")
    with pytest.raises(err.AlreadyRecorded):  # not a replay of someone else's request
        ledger.record([company("roche")], colleague, idempotency="k")
    assert ledger.head() == first.position


def test_the_role_is_checked_before_a_replay(ledger: Ledger) -> None:
    ledger.record([company("roche")], LIS, authorise=access.authorise, idempotency="k")
    # the same principal in a role that may not register companies gets no replay
    office_with_lis_subject = Actor(subject=LIS.subject, role=access.TRIAL_OFFICE,
                                    organisation=LIS.organisation)
    with pytest.raises(access.Forbidden):
        ledger.record([company("roche")], office_with_lis_subject, authorise=access.authorise,
                      idempotency="k")


def test_without_authorise_a_trusted_caller_records_any_command(ledger: Ledger) -> None:
    with pytest.raises(access.Forbidden):
        ledger.record([company("roche")], OFFICE, authorise=access.authorise)
    assert ledger.record([company("roche")], OFFICE).facts
