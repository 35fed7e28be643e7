"""Every fact survives the trip to stored JSON and back (domain/codec.py): what the log holds is
exactly what was decided, whatever the event type."""

from __future__ import annotations

import json
import typing
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import codec
from domain import events as ev
from domain.events import EVENT_TYPES, field_names
from domain.money import CURRENCIES, Money
from domain.values import Outcome


@st.composite
def money(draw: st.DrawFn) -> Money:
    currency = draw(st.sampled_from(sorted(CURRENCIES)))
    amount = draw(st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"),
                              places=CURRENCIES[currency], allow_nan=False,
                              allow_infinity=False))
    return Money.of(amount, currency)


def field_strategy(hint: Any) -> st.SearchStrategy[Any]:
    if hint is Money:
        return money()
    if hint == Money | None:
        return st.none() | money()
    return st.from_type(hint)


def events_of(cls: type[ev.Event]) -> st.SearchStrategy[ev.Event]:
    hints = typing.get_type_hints(cls)
    return st.builds(cls, **{name: field_strategy(hints[name]) for name in field_names(cls)})


def stored(event: ev.Event) -> ev.Event:
    """Encode, write as JSON text, read back and decode: the path every fact takes in the log."""
    text = json.dumps(codec.encode(event), ensure_ascii=False, allow_nan=False)
    return codec.decode(event.type, event.schema, json.loads(text))


@pytest.mark.parametrize("type_name", sorted(EVENT_TYPES))
def test_every_event_type_round_trips_through_json(type_name: str) -> None:
    cls = EVENT_TYPES[type_name]

    @settings(max_examples=30, deadline=None)
    @given(events_of(cls))
    def round_trip(event: ev.Event) -> None:
        data = codec.encode(event)
        assert set(data) == set(field_names(cls))
        back = stored(event)
        assert back == event
        assert type(back) is cls and back.valid_on == event.valid_on

    round_trip()


def test_money_is_stored_as_text_with_its_currency_never_as_a_float() -> None:
    grant = ev.GrantPaid(patient_id="IMP-0042", payment_ref="PAY-1",
                         amount=Money.of("50000.50", "NOK"), paid_on=date(2024, 1, 2))
    data = json.loads(json.dumps(codec.encode(grant)))
    assert data["amount"] == {"amount": "50000.50", "currency": "NOK"}
    assert data["paid_on"] == "2024-01-02"


def test_enums_and_references_are_stored_as_plain_values() -> None:
    fact = ev.PublicPayerTookOver(patient_id="IMP-0042", from_date=date(2023, 10, 2),
                                  public_basis="cohort/olaparib-brca@2",
                                  basis=("patient/IMP-0042@1", "patient/IMP-0042@4"))
    assert codec.encode(fact)["basis"] == ["patient/IMP-0042@1", "patient/IMP-0042@4"]
    assessed = ev.AssessmentRecorded(patient_id="IMP-0042", assessed_on=date(2023, 10, 1),
                                     outcome=Outcome.STABLE_DISEASE)
    assert codec.encode(assessed)["outcome"] == "stable_disease"
    assert stored(assessed).outcome is Outcome.STABLE_DISEASE


def test_an_older_schema_is_upcast_on_read_and_never_rewritten(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Suppose TreatmentStarted v2 renamed 'started' to 'started_on': v1 data stays as stored,
    # and reads through the registered upcaster.
    monkeypatch.setattr(ev.TreatmentStarted, "schema", 2)
    monkeypatch.setitem(codec.UPCASTERS, ("TreatmentStarted", 1),
                        lambda data: {"patient_id": data["patient_id"],
                                      "started_on": data["started"]})
    old = {"patient_id": "IMP-0042", "started": "2023-06-12"}
    assert codec.decode("TreatmentStarted", 1, old) == ev.TreatmentStarted(
        patient_id="IMP-0042", started_on=date(2023, 6, 12))
    assert old == {"patient_id": "IMP-0042", "started": "2023-06-12"}


@pytest.mark.parametrize(("typed", "outcome"), [
    ("SD", Outcome.STABLE_DISEASE),
    (" pr", Outcome.OBJECTIVE_RESPONSE),
    ("Complete  response", Outcome.OBJECTIVE_RESPONSE),
    ("PD", Outcome.PROGRESSIVE_DISEASE),
    ("not evaluable", Outcome.NOT_EVALUABLE),
])
def test_a_schema_1_assessment_reads_its_typed_recist_response_as_an_outcome(
        typed: str, outcome: Outcome) -> None:
    stored_v1 = {"patient_id": "IMP-0042", "assessed_on": "2023-10-01", "result": typed}
    assert codec.decode("AssessmentRecorded", 1, stored_v1) == ev.AssessmentRecorded(
        patient_id="IMP-0042", assessed_on=date(2023, 10, 1), outcome=outcome)


def test_a_schema_1_assessment_that_is_no_recist_response_fails_loudly() -> None:
    # guessing would change who pays
    with pytest.raises(ValueError, match="RECIST"):
        codec.decode("AssessmentRecorded", 1, {"patient_id": "IMP-0042",
                                               "assessed_on": "2023-10-01", "result": "better"})
