"""Grown, the append-only sequence an agreement's patients are held in: every state sees
exactly the items appended on its own path, however states branch."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as s

from domain.state import Grown


@given(s.lists(s.tuples(s.integers(min_value=0, max_value=30), s.text(max_size=3)),
               max_size=60))
def test_each_state_holds_exactly_its_own_path(steps: list[tuple[int, str]]) -> None:
    # Each step extends one earlier state (chosen by index): branches must not see each other.
    states: list[Grown[str]] = [Grown()]
    expected: list[tuple[str, ...]] = [()]
    for pick, item in steps:
        i = pick % len(states)
        states.append(states[i].plus(item))
        expected.append((*expected[i], item))
    for grown, want in zip(states, expected, strict=True):
        assert tuple(grown) == want
        assert len(grown) == len(want)
        assert grown == want and grown == Grown(want)
        if want:
            assert grown[-1] == want[-1] and grown[0] == want[0]


def test_a_state_extended_twice_keeps_both_branches_apart() -> None:
    base = Grown(["IMP-0001"]).plus("IMP-0002")
    left, right = base.plus("IMP-0003"), base.plus("IMP-0004")
    assert list(base) == ["IMP-0001", "IMP-0002"]
    assert list(left) == ["IMP-0001", "IMP-0002", "IMP-0003"]
    assert list(right) == ["IMP-0001", "IMP-0002", "IMP-0004"]
    assert left != right and hash(base) == hash(("IMP-0001", "IMP-0002"))


def test_a_state_extended_twice_with_the_same_item_shares_one_list() -> None:
    # A workspace folds a new enrolment, then the ledger's cache folds the same fact: before,
    # the second copied the whole list (every enrolment, and every state kept for as-known-at).
    base = Grown(["IMP-0001"]).plus("IMP-0002")
    workspace, cache = base.plus("IMP-0003"), base.plus("IMP-0003")
    assert workspace == cache == ("IMP-0001", "IMP-0002", "IMP-0003")
    assert cache._items is base._items  # noqa: SLF001 - the sharing is what is tested
    later = cache.plus("IMP-0004")
    assert list(workspace) == ["IMP-0001", "IMP-0002", "IMP-0003"]
    assert list(later) == ["IMP-0001", "IMP-0002", "IMP-0003", "IMP-0004"]
