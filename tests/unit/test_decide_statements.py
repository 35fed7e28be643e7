"""Issuing statements, closing periods and reopening them: given a scope's book, when a
command, then its fact or a refusal that records nothing (domain/decide_statements.py, ADR 0022).
"""

from __future__ import annotations

from datetime import date

import pytest

from domain import commands as c
from domain import errors as err
from domain import events as ev
from domain.books import BookKey, Number, StatementKind
from domain.periods import Grain, StatementPeriod
from domain.statement_lines import Digest
from tests.support import Book, refused, with_company_and_drug, with_reference

HASH = "ab" * 32
VEST = BookKey.of("public-cost", "rhf", "helse-vest")
TODAY = date(2024, 9, 1)


def book() -> Book:
    return with_company_and_drug(with_reference(Book(today=TODAY)))


def issue(period: str = "2024Q1", *, party: str = "helse-vest", kind: str = "rhf",
          statement: str = "public-cost", position: int = 40, digest: str = HASH,
          version: int | None = None, b: Book | None = None) -> c.IssueStatement:
    if version is None:
        assert b is not None
        stream = BookKey.of(statement, kind, party).stream
        version = sum(1 for s, _, _ in b.log if s == stream)
    return c.IssueStatement(statement=statement, scope_kind=kind, party=party, period=period,
                            position=position, book_version=version, digest=Digest(digest),
                            line_count=3)


def close(period: str = "2024Q1", party: str = "helse-vest") -> c.ClosePeriod:
    return c.ClosePeriod(statement="public-cost", scope_kind="rhf", party=party, period=period)


def reopen(period: str = "2024Q1", reason: str = "a late invoice") -> c.ReopenPeriod:
    return c.ReopenPeriod(statement="public-cost", scope_kind="rhf", party="helse-vest",
                          period=period, reason=reason)


def test_statements_are_numbered_per_scope_and_period_and_a_reissue_names_what_it_supersedes() -> None:
    b = book()
    (first,) = b.run(issue(b=b))
    (second,) = b.run(issue(b=b, position=52))
    (other,) = b.run(issue("2024Q2", b=b))
    assert isinstance(first, ev.StatementIssued) and isinstance(second, ev.StatementIssued)
    assert (first.number, first.supersedes) == ("PC-helse-vest-2024Q1-1", None)
    assert (second.number, second.supersedes) == ("PC-helse-vest-2024Q1-2", "PC-helse-vest-2024Q1-1")
    assert isinstance(other, ev.StatementIssued) and other.number == "PC-helse-vest-2024Q2-1"
    assert (first.position, first.lines_hash, first.issued_on) == (40, HASH, TODAY)
    assert (first.period_start, first.period_end) == (date(2024, 1, 1), date(2024, 3, 31))
    assert b.types(VEST.stream) == ["StatementIssued"] * 3


def test_numbers_of_a_health_trust_and_a_company_name_their_party() -> None:
    b = book()
    (hf,) = b.run(issue(party="ous", kind="hf", b=b))
    (co,) = b.run(issue("2024H1", statement="company", kind="company", party="nordlys", b=b))
    assert isinstance(hf, ev.StatementIssued) and hf.number == "PC-ous-2024Q1-1"
    assert isinstance(co, ev.StatementIssued) and co.number == "CO-nordlys-2024H1-1"
    assert Number.parse(co.number) == Number(StatementKind.COMPANY, "nordlys",
                                             StatementPeriod.of(Grain.HALF, 2024, 1), 1)


def test_a_statement_built_against_an_older_book_is_refused() -> None:
    """Someone closed a period (or issued) while this statement was being built: its lines may
    lack adjustments the book now requires."""
    b = book()
    b.run(issue(b=b))
    refused(b, issue(version=0), err.BooksChanged)


@pytest.mark.parametrize(("command", "error"), [
    (issue("2024Q5", version=0), err.InvalidPeriod),
    (issue(statement="company", version=0), err.InvalidStatementScope),
    (issue(kind="ward", version=0), err.InvalidStatementScope),
    (issue(digest="not a hash", version=0), err.InvalidLinesHash),
    (issue(position=-1, version=0), err.InvalidQuantity),
    (issue(party="helse-atlantis", version=0), err.NotFound),
    (issue(kind="hf", party="nowhere", version=0), err.UnknownHealthTrust),
    (issue(statement="company", kind="company", party="acme", version=0), err.UnknownCompany),
    (issue("2024Q3", version=0), err.PeriodNotOver),
])
def test_issuing_refuses_what_can_never_be_issued(command: c.Command,
                                                  error: type[Exception]) -> None:
    refused(book(), command, error)


def test_a_period_closes_on_its_latest_statement_and_is_then_issued_no_more() -> None:
    b = book()
    b.run(issue(b=b))
    b.run(issue(b=b, position=52))
    (closed,) = b.run(close())
    assert isinstance(closed, ev.PeriodClosed)
    assert (closed.booked, closed.booked_position) == ("PC-helse-vest-2024Q1-2", 52)
    error = refused(b, issue(b=b), err.StatementPeriodClosed)
    assert "PC-helse-vest-2024Q1-2" in str(error)
    refused(b, close(), err.PeriodAlreadyClosed)


def test_a_period_overlapping_a_closed_one_is_not_issued() -> None:
    b = book()
    b.run(issue("2024M01", b=b))
    b.run(close("2024M01"))
    error = refused(b, issue("2024Q1", b=b), err.PeriodOverlapsClosed)
    assert "2024M01" in str(error)


def test_periods_close_in_order_and_only_with_a_statement_issued() -> None:
    b = book()
    refused(b, close(), err.NoStatementIssued)
    b.run(issue(b=b))
    b.run(close())
    b.run(issue("2024M05", b=b))
    error = refused(b, close("2024M05"), err.PeriodNotNext)
    assert "2024-03-31" in str(error)
    refused(b, close("2024Q3"), err.PeriodNotOver)


def test_the_next_period_closes_only_on_a_statement_issued_after_the_closure_before_it() -> None:
    """A statement of Q2 built while Q1 was still open carries none of Q1's adjustments."""
    b = book()
    b.run(issue("2024Q2", b=b))
    b.run(issue(b=b))
    b.run(close())
    refused(b, close("2024Q2"), err.StatementPredatesClosure)
    b.run(issue("2024Q2", b=b))
    (closed,) = b.run(close("2024Q2"))
    assert isinstance(closed, ev.PeriodClosed) and closed.booked == "PC-helse-vest-2024Q2-2"


def test_only_the_last_closed_period_reopens_with_a_reason_and_can_then_be_issued_again() -> None:
    b = book()
    b.run(issue(b=b))
    b.run(close())
    b.run(issue("2024Q2", b=b))
    b.run(close("2024Q2"))
    refused(b, reopen("2024Q1"), err.NotTheLastClosedPeriod)
    refused(b, reopen("2024Q2", reason="  "), err.ReasonRequired)
    refused(b, reopen("2024M07"), err.PeriodNotClosed)
    (reopened,) = b.run(reopen("2024Q2"))
    assert isinstance(reopened, ev.PeriodReopened) and reopened.reason == "a late invoice"
    (again,) = b.run(issue("2024Q2", b=b))
    assert isinstance(again, ev.StatementIssued) and again.number == "PC-helse-vest-2024Q2-2"
    assert again.supersedes == "PC-helse-vest-2024Q2-1"


def test_books_of_different_scopes_are_kept_apart() -> None:
    b = book()
    b.run(issue(b=b))
    b.run(close())
    (other,) = b.run(issue(party="helse-nord", b=b))
    assert isinstance(other, ev.StatementIssued) and other.number == "PC-helse-nord-2024Q1-1"


@pytest.mark.parametrize("text", ["PC-helse-vest-2024Q1", "XX-a-2024Q1-1", "PC-helse-vest-2024Q1-0",
                                  "PC--2024Q1-1", "PC-a-2024Q9-1"])
def test_a_malformed_statement_number_is_refused(text: str) -> None:
    with pytest.raises((err.InvalidStatementNumber, err.InvalidPeriod)):
        Number.parse(text)


def test_an_unknown_statement_number_is_refused_as_unknown() -> None:
    from domain.books import issued

    b = book()
    b.run(issue(b=b))
    ws = b.workspace()
    assert issued(ws.book(VEST.stream), "PC-helse-vest-2024Q1-1").position == 40
    with pytest.raises(err.UnknownStatement):
        issued(ws.book(VEST.stream), "PC-helse-vest-2024Q1-2")
