"""Field types shared by the request and response schemas: bounded, documented, with examples."""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

from pydantic_core import PydanticCustomError

from domain.money import CURRENCIES, Money

FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)
"""Dates outside this range are refused: no IMPRESS fact lies there, and date arithmetic
near year 9999 would overflow."""

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
STUDY_ID_PATTERN = r"^IMP-[0-9]{4,6}$"
CASE_REF_PATTERN = r"^ID[0-9]{4}_[0-9]{3}$"
FACT_REF_PATTERN = r"^patient/IMP-[0-9]{4,6}@[1-9][0-9]{0,8}$"

Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=64)]
StudyId = Annotated[str, StringConstraints(pattern=STUDY_ID_PATTERN),
                    Field(examples=["IMP-0042"])]
CaseRef = Annotated[str, StringConstraints(pattern=CASE_REF_PATTERN),
                    Field(examples=["ID2019_041"])]
FactRef = Annotated[str, StringConstraints(pattern=FACT_REF_PATTERN),
                    Field(examples=["patient/IMP-0042@4"])]


def _iso_date_text(value: Any) -> Any:
    # JSON has no date type: only the text YYYY-MM-DD is a date (no numbers as timestamps).
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("a date is written YYYY-MM-DD")
    return value


DAY_PATTERN = r"^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
Day = Annotated[date, BeforeValidator(_iso_date_text), Field(ge=FIRST_DAY, le=LAST_DAY),
                WithJsonSchema({"type": "string", "format": "date", "pattern": DAY_PATTERN,
                                "examples": ["2023-06-12"],
                                "description": "A calendar date, YYYY-MM-DD, 2000 to 2099."})]


def Count(low: int, high: int, example: int) -> Any:  # noqa: N802 - reads like a type
    """`Annotated[int, Count(1, 520, 16)]`: a whole number (JSON's, never text) in bounds."""
    return Field(strict=True, ge=low, le=high, examples=[example])
# Control characters (C0, DEL, C1), line and paragraph separators and bidirectional overrides
# have no place in a name or a reason: they break exports and can disguise text. Refused with
# their own problem type (`control-character`), never stored.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
PRINTABLE_PATTERN = "^[^\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]*$"
CONTROL_CHARACTER = "control_character"


def _printable(value: str) -> str:
    found = CONTROL.search(value)
    if found:
        raise PydanticCustomError(
            CONTROL_CHARACTER, "holds a control character (U+{code}): tabs, line breaks and "
            "other invisible characters are not stored; write plain text",
            {"code": f"{ord(found[0]):04X}"})
    return value


def _text(low: int, high: int, **field: Any) -> Any:
    return Annotated[str, StringConstraints(min_length=low, max_length=high),
                     AfterValidator(_printable),
                     Field(json_schema_extra={"pattern": PRINTABLE_PATTERN}, **field)]


Name = _text(1, 200)
Text = _text(1, 500)
ShortText = _text(1, 100)
Reason = _text(1, 500, description="Why: kept with the fact forever.",
               examples=["date taken from the wrong visit"])
if TYPE_CHECKING:
    Currency = str
else:
    Currency = Literal[tuple(sorted(CURRENCIES))]


class Schema(BaseModel):
    """Base of request bodies: unknown fields are refused, so a typo is never silently ignored."""

    model_config = ConfigDict(extra="forbid")


class MoneyIn(Schema):
    """An exact amount with its ISO 4217 currency. The amount is text, never a float."""

    amount: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,12}(\.[0-9]{1,2})?$"),
                      Field(examples=["50000.00"])]
    currency: Currency = Field(examples=["NOK"])

    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [{"amount": "50000.00",
                                                               "currency": "NOK"}]})

    def money(self) -> Money:
        return Money.of(self.amount, self.currency)


class MoneyOut(BaseModel):
    amount: str = Field(examples=["50000.00"])
    currency: str = Field(examples=["NOK"])

    @classmethod
    def of(cls, money: Money) -> MoneyOut:
        return cls(amount=str(money.amount), currency=money.currency)


def examples(*values: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": list(values)})
