"""A restatement builds the public cost as issued from the one as known now, with the shares of
the patients whose rows changed taken from the statement of those patients alone as known then
(`PublicCostStatement.replacing`); tests/integration/test_readmodel_statements.py checks on
random histories that it is the statement built whole. Here: the order and shape it must keep."""

from __future__ import annotations

from datetime import date

import pytest

from domain.statements.period import Period
from domain.statements.public import (By, Contribution, CostRow, PublicCostStatement, buckets)
from domain.statements.scope import Scope

YEAR = Period(date(2023, 1, 1), date(2023, 12, 31))
JAN, FEB, MAR = buckets(YEAR, By.MONTH)[:3]


def share(bucket: object, patient: str, days: int, hf: str = "ous") -> Contribution:
    return Contribution(bucket, "helse-sor-ost", hf, patient, days, ())  # type: ignore[arg-type]


def statement(known: int, *shares: Contribution) -> PublicCostStatement:
    """Rows as public_cost makes them: by month, RHF and HF; a row's shares by patient."""
    keyed = sorted(shares, key=lambda c: (c.bucket.start, c.rhf_id, c.hf_id, c.patient_id))
    rows: dict[tuple[date, str, str], list[Contribution]] = {}
    for c in keyed:
        rows.setdefault((c.bucket.start, c.rhf_id, c.hf_id), []).append(c)
    return PublicCostStatement(YEAR, Scope.rhf("helse-sor-ost"), {"position": known}, By.MONTH,
                               tuple(CostRow(cs[0].bucket, cs[0].rhf_id, cs[0].hf_id, tuple(cs))
                                     for cs in rows.values()))


def test_the_shares_replaced_take_their_place_among_the_others_and_rows_come_and_go() -> None:
    now = statement(9, share(JAN, "IMP-0001", 31), share(JAN, "IMP-0003", 31),
                    share(JAN, "IMP-0005", 31), share(FEB, "IMP-0002", 28),
                    share(MAR, "IMP-0004", 10, "ahus"))
    # as known then: IMP-0002 had January instead of February, IMP-0004 nothing, and
    # IMP-0003 (unchanged) is among the patients replaced too
    then_theirs = statement(5, share(JAN, "IMP-0002", 20), share(JAN, "IMP-0003", 31))
    issued = now.replacing({"IMP-0002", "IMP-0003", "IMP-0004"}, then_theirs)
    assert issued == statement(5, share(JAN, "IMP-0001", 31), share(JAN, "IMP-0002", 20),
                               share(JAN, "IMP-0003", 31), share(JAN, "IMP-0005", 31))
    assert [c.patient_id for c in issued.rows[0].contributions] == [
        "IMP-0001", "IMP-0002", "IMP-0003", "IMP-0005"]


def test_the_shares_of_each_patient_in_the_order_of_the_rows() -> None:
    now = statement(9, share(FEB, "IMP-0001", 28), share(JAN, "IMP-0001", 31, "ahus"),
                    share(JAN, "IMP-0002", 31))
    assert now.shares({"IMP-0001"}) == {"IMP-0001": [share(JAN, "IMP-0001", 31, "ahus"),
                                                     share(FEB, "IMP-0001", 28)]}


def test_the_shares_of_another_statement_are_refused() -> None:
    now = statement(9, share(JAN, "IMP-0001", 31))
    other = PublicCostStatement(YEAR, Scope.rhf("helse-vest"), {}, By.MONTH, ())
    with pytest.raises(ValueError, match="another statement"):
        now.replacing({"IMP-0001"}, other)
