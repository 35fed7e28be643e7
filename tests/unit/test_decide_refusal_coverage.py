"""Every refusal a command can raise is pinned by a decide test, and carries a stable code and
kind the API can rely on. A new refusal type without a test fails here."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from domain import errors as err
from domain.errors import NationalIdRefused

# Groupings, never raised themselves: their concrete subclasses are.
GROUPS = {err.Refused, err._Auto, err.NotFound, err.Conflict, err.DateBefore,  # noqa: SLF001
          err.DateAfter}

REFUSALS = sorted(
    (cls for _, cls in inspect.getmembers(err, inspect.isclass)
     if issubclass(cls, err.Refused) and cls.__module__ == err.__name__ and cls not in GROUPS),
    key=lambda cls: cls.__name__,
)

DECIDE_TESTS = "\n".join(
    p.read_text(encoding="utf-8") for p in sorted(Path(__file__).parent.glob("test_decide_*.py"))
    if p.name != Path(__file__).name
)


@pytest.mark.parametrize("refusal", REFUSALS, ids=lambda cls: cls.__name__)
def test_every_refusal_is_pinned_by_a_decide_test(refusal: type[err.Refused]) -> None:
    assert re.search(rf"\b{refusal.__name__}\b", DECIDE_TESTS), (
        f"no test_decide_* test expects {refusal.__name__}")


def test_refusal_codes_are_unique_and_kinds_known() -> None:
    every = list(dict.fromkeys([*REFUSALS, NationalIdRefused]))
    codes = [cls.code for cls in every]
    assert len(set(codes)) == len(codes)
    assert {cls.kind for cls in every} == {"invalid", "not_found", "conflict"}
    assert err.StageFull.code == "stage-full"
    assert NationalIdRefused.kind == "invalid"


def test_unknown_ids_are_not_found_refusals() -> None:
    unknown = [cls for cls in REFUSALS if cls.__name__.startswith("Unknown")]
    assert unknown
    assert all(issubclass(cls, err.NotFound) and cls.kind == "not_found" for cls in unknown)
