"""Issuing statements, closing periods and reopening them (ADR 0022).

A scope's book (one stream per statement kind and party) keeps what was issued and what is
closed. Periods close in order, each booking the latest statement issued for it: the books are
closed from the first closed period through the end of the last one, without gaps, so "the
first open period" is the one starting the day after. Only the last closed period reopens.
"""

from __future__ import annotations

from datetime import timedelta

from domain import commands as c
from domain import errors as err
from domain import events as ev
from domain.books import BookKey, PartyKind
from domain.periods import StatementPeriod
from domain.state import StatementBook
from domain.statement_lines import FORMAT, is_lines_hash
from domain.view import Facts, View


def issue_statement(view: View, cmd: c.IssueStatement) -> Facts:
    key, period = _scope(view, cmd.statement, cmd.scope_kind, cmd.party, cmd.period)
    if not is_lines_hash(cmd.digest.hex):
        raise err.InvalidLinesHash()
    for what, value in (("the position", cmd.position), ("the number of lines", cmd.line_count),
                        ("the book's version", cmd.book_version)):
        if value < 0:
            raise err.InvalidQuantity(what, value, 0)
    _over(view, period, "issued")
    book = view.book(key.stream)
    if book.version != cmd.book_version:
        raise err.BooksChanged(str(key), cmd.book_version, book.version)
    closed = book.closure(period.label)
    if closed is not None:
        raise err.StatementPeriodClosed(period.label, closed.booked)
    overlapping = [x.period for x in book.closures if period.overlaps(x.start, x.end)]
    if overlapping:
        raise err.PeriodOverlapsClosed(period.label, overlapping)
    earlier = book.issued_for(period.label)
    return [(key.stream, ev.StatementIssued(
        number=key.number(period, len(earlier) + 1), statement=key.statement.value,
        scope_kind=key.party_kind.value, party=key.party, period=period.label,
        period_start=period.start, period_end=period.end, position=cmd.position,
        book_version=cmd.book_version, lines_format=FORMAT, lines_hash=cmd.digest.hex,
        line_count=cmd.line_count, supersedes=earlier[-1].number if earlier else None,
        issued_on=view.today))]


def close_period(view: View, cmd: c.ClosePeriod) -> Facts:
    key, period = _scope(view, cmd.statement, cmd.scope_kind, cmd.party, cmd.period)
    _over(view, period, "closed")
    book = view.book(key.stream)
    already = book.closure(period.label)
    if already is not None:
        raise err.PeriodAlreadyClosed(period.label, already.booked)
    last = book.last_closed
    if last is not None and period.start != last.end + timedelta(days=1):
        raise err.PeriodNotNext(period.label, last.end)
    booked = book.latest(period.label)
    if booked is None:
        raise err.NoStatementIssued(period.label)
    if last is not None and booked.book_version < last.version:
        raise err.StatementPredatesClosure(booked.number, last.period)
    return [(key.stream, ev.PeriodClosed(
        statement=key.statement.value, scope_kind=key.party_kind.value, party=key.party,
        period=period.label, period_start=period.start, period_end=period.end,
        booked=booked.number, booked_position=booked.position, closed_on=view.today))]


def reopen_period(view: View, cmd: c.ReopenPeriod) -> Facts:
    if not cmd.reason.strip():
        raise err.ReasonRequired(f"reopening {cmd.period}")
    key, period = _scope(view, cmd.statement, cmd.scope_kind, cmd.party, cmd.period)
    book: StatementBook = view.book(key.stream)
    closure = book.closure(period.label)
    if closure is None:
        raise err.PeriodNotClosed(period.label)
    last = book.last_closed
    assert last is not None
    if last.period != closure.period:
        raise err.NotTheLastClosedPeriod(period.label, last.period)
    return [(key.stream, ev.PeriodReopened(
        statement=key.statement.value, scope_kind=key.party_kind.value, party=key.party,
        period=period.label, reason=cmd.reason.strip(), reopened_on=view.today))]


def _scope(view: View, statement: str, party_kind: str, party: str,
           period: str) -> tuple[BookKey, StatementPeriod]:
    key = BookKey.of(statement, party_kind, party)
    if key.party_kind is PartyKind.COMPANY:
        if not view.company(party).exists:
            raise err.UnknownCompany(party)
    elif key.party_kind is PartyKind.HF:
        if party not in view.registry().trusts:
            raise err.UnknownHealthTrust(party)
    elif party not in {t.rhf_id for t in view.registry().trusts.values()}:
        raise err.NotFound("regional health authority", party)
    return key, StatementPeriod.parse(period)


def _over(view: View, period: StatementPeriod, what: str) -> None:
    if view.today <= period.end:
        raise err.PeriodNotOver(what, period.label, period.end, view.today)
