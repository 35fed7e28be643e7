"""domain.state.replace, the fold's copy of a state with some fields changed, is
dataclasses.replace for every state of the module: each is a frozen dataclass whose __init__
only sets its fields, and every stream of the demo folds to the same states with either."""

from __future__ import annotations

import dataclasses

import pytest

from domain import state
from tests.unit.test_demo import run_demo

STATES = [kind for kind in vars(state).values()
          if isinstance(kind, type) and dataclasses.is_dataclass(kind)
          and kind.__module__ == state.__name__]


@pytest.mark.parametrize("kind", STATES, ids=lambda k: k.__name__)
def test_every_state_is_a_frozen_dataclass_whose_init_only_sets_its_fields(kind: type) -> None:
    params = kind.__dataclass_params__  # type: ignore[attr-defined]
    assert params.frozen and "__slots__" not in vars(kind)  # its instances have a __dict__
    assert not hasattr(kind, "__post_init__")
    assert all(f.init for f in dataclasses.fields(kind))
    assert all(f._field_type is dataclasses._FIELD  # type: ignore[attr-defined]
               for f in kind.__dataclass_fields__.values())  # no InitVar, no ClassVar


def test_every_stream_of_the_demo_folds_to_the_same_states_with_either_replace(
        monkeypatch: pytest.MonkeyPatch) -> None:
    book, _ = run_demo()
    streams = sorted({s for s, _, _ in book.log})
    fast = [book.workspace().get(s) for s in streams]
    monkeypatch.setattr(state, "replace", dataclasses.replace)
    assert fast == [book.workspace().get(s) for s in streams]
    assert len({type(s) for s in fast}) >= 6  # registry, companies, drugs, ... patients


def test_a_field_a_state_does_not_have_is_refused_as_dataclasses_replace_refuses_it() -> None:
    agreement = state.Agreement("a-1")
    with pytest.raises(TypeError):
        dataclasses.replace(agreement, slots_used=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="slots_used"):
        state.replace(agreement, slots_used=1)
    changed = state.replace(agreement, version=3)
    assert changed == dataclasses.replace(agreement, version=3) and agreement.version == 0
