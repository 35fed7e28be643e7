"""Grown, the append-only sequences a cohort's admissions and an agreement's patients and
enrolment dates are held in (domain.grown): every state sees exactly the items appended on its
own path, however states branch, whatever column packs them; and the counts the rules ask of
them are the counts of the items."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import given
from hypothesis import strategies as s

from domain.grown import Admission, Admissions, Grown, GrownDays, GrownTexts

TEXTS = s.text(max_size=6)  # any text, not only ASCII ids: the column packs UTF-8
DATES = s.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))
KINDS: list[tuple[type[Grown[Any]], s.SearchStrategy[Any]]] = [
    (Grown, TEXTS),
    (GrownTexts, TEXTS),
    (GrownDays, DATES),
    (Admissions, s.builds(Admission, TEXTS, s.integers(min_value=0, max_value=255), DATES)),
]


@s.composite
def branching(draw: s.DrawFn) -> tuple[type[Grown[Any]], list[tuple[int, Any]]]:
    kind, items = draw(s.sampled_from(KINDS))
    return kind, draw(s.lists(s.tuples(s.integers(min_value=0, max_value=30), items),
                              max_size=60))


@given(branching())
def test_each_state_holds_exactly_its_own_path(case: tuple[type[Grown[Any]], list[Any]]) -> None:
    # Each step extends one earlier state (chosen by index): branches must not see each other.
    kind, steps = case
    states: list[Grown[Any]] = [kind()]
    expected: list[tuple[Any, ...]] = [()]
    for pick, item in steps:
        i = pick % len(states)
        states.append(states[i].plus(item))
        expected.append((*expected[i], item))
    for grown, want in zip(states, expected, strict=True):
        assert type(grown) is kind
        assert tuple(grown) == want
        assert len(grown) == len(want)
        assert grown == want and grown == kind(want)
        assert [grown[i] for i in range(len(want))] == list(want)
        if want:
            assert grown[-1] == want[-1] and grown[0] == want[0]


@given(s.lists(s.tuples(s.integers(min_value=0, max_value=10), s.sampled_from([1, 2, 3]),
                        DATES), max_size=40),
       s.sets(s.integers(min_value=0, max_value=4)), DATES)
def test_the_counts_the_rules_ask_are_those_of_the_admissions_and_dates(
        steps: list[tuple[int, int, date]], stages: set[int], on: date) -> None:
    admissions, days = [Admissions()], [GrownDays()]
    for pick, stage, enrolled_on in steps:  # branches too: a count sees its own path only
        i = pick % len(admissions)
        admissions.append(admissions[i].plus(Admission(f"IMP-{len(admissions)}", stage,
                                                       enrolled_on)))
        days.append(days[i].plus(enrolled_on))
    for a, d in zip(admissions, days, strict=True):
        assert a.count_in(stages) == sum(1 for x in a if x.stage in stages)
        assert a.by_stage() == {n: sum(1 for x in a if x.stage == n) for n in {x.stage for x in a}}
        assert a.in_stages(stages) == [x for x in a if x.stage in stages]
        assert a.enrolled_from(on) == [x for x in a if x.enrolled_on >= on]
        assert d.count_before(on) == sum(1 for x in d if x < on)


def test_a_state_extended_twice_keeps_both_branches_apart() -> None:
    base = GrownTexts(["IMP-0001"]).plus("IMP-0002")
    left, right = base.plus("IMP-0003"), base.plus("IMP-0004")
    assert list(base) == ["IMP-0001", "IMP-0002"]
    assert list(left) == ["IMP-0001", "IMP-0002", "IMP-0003"]
    assert list(right) == ["IMP-0001", "IMP-0002", "IMP-0004"]
    assert left != right and hash(base) == hash(("IMP-0001", "IMP-0002"))


def test_a_state_extended_twice_with_the_same_item_shares_one_column() -> None:
    # A workspace folds a new enrolment, then the ledger's cache folds the same fact: before,
    # the second copied the whole list (every enrolment, and every state kept for as-known-at).
    base = GrownTexts(["IMP-0001"]).plus("IMP-0002")
    workspace, cache = base.plus("IMP-0003"), base.plus("IMP-0003")
    assert workspace == cache == ("IMP-0001", "IMP-0002", "IMP-0003")
    assert cache._items is base._items  # noqa: SLF001 - the sharing is what is tested
    later = cache.plus("IMP-0004")
    assert list(workspace) == ["IMP-0001", "IMP-0002", "IMP-0003"]
    assert list(later) == ["IMP-0001", "IMP-0002", "IMP-0003", "IMP-0004"]
