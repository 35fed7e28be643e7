"""Money: an exact amount together with its ISO 4217 currency.

Agreements state their amounts in their own currency (the report says the
per-patient grant is NOK 50 000, the project card says EUR), so an amount never
travels without its currency and amounts in different currencies are never
added: ``Totals`` keeps one sum per currency.

Amounts are ``Decimal``, never ``float``; they are rounded to the currency's
minor unit (øre, cents) with ROUND_HALF_UP when a ``Money`` is made and after
multiplication. Arithmetic in between is exact: if a result would need more
than 34 significant digits, NotMoney is raised instead of rounding silently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    DecimalException,
    Inexact,
    InvalidOperation,
    Overflow,
)

__all__ = [
    "CURRENCIES",
    "CurrencyMismatch",
    "Money",
    "NotMoney",
    "Totals",
    "UnknownCurrency",
]

# ISO 4217 code -> number of minor units.
CURRENCIES: Mapping[str, int] = {
    "CHF": 2,
    "DKK": 2,
    "EUR": 2,
    "GBP": 2,
    "ISK": 0,
    "JPY": 0,
    "NOK": 2,
    "SEK": 2,
    "USD": 2,
}

_EXACT = Context(prec=34, traps=[InvalidOperation, Overflow, Inexact])
_ROUNDING = Context(prec=34, rounding=ROUND_HALF_UP, traps=[InvalidOperation, Overflow])


class UnknownCurrency(ValueError):
    def __init__(self, currency: object) -> None:
        self.currency = currency
        known = ", ".join(sorted(CURRENCIES))
        super().__init__(
            f"unknown currency {currency!r}: use an ISO 4217 code in capitals, one of {known}"
        )


class CurrencyMismatch(ValueError):
    def __init__(self, left: str, right: str, operation: str) -> None:
        self.left = left
        self.right = right
        super().__init__(
            f"cannot {operation} {left} and {right}: amounts in different currencies are "
            "never combined; keep them apart (see Totals)"
        )


class NotMoney(ValueError, TypeError):
    """Not a valid amount of money (a float, a bool, text that is no number,
    not finite, too large, or a malformed dict). Both a ValueError and a
    TypeError, so either kind of handler catches it."""


def _minor_units(currency: object) -> int:
    if not isinstance(currency, str) or currency not in CURRENCIES:
        raise UnknownCurrency(currency)
    return CURRENCIES[currency]


def _to_decimal(amount: object) -> Decimal:
    if isinstance(amount, float):
        raise NotMoney(
            f"amount {amount!r} is a float; floats cannot hold money exactly, "
            "give it as text ('50000.00'), an int or a Decimal"
        )
    if isinstance(amount, bool) or not isinstance(amount, (str, int, Decimal)):
        raise NotMoney(
            f"amount must be text, an int or a Decimal, not {type(amount).__name__}"
        )
    try:
        value = Decimal(amount)
    except (InvalidOperation, ValueError):
        raise NotMoney(f"amount {amount!r} is not a number (write it like '50000.00')") from None
    if not value.is_finite():
        raise NotMoney(f"amount {amount!r} is not a finite number")
    return value


_EXPONENTS: dict[str, Decimal] = {}  # the minor unit per currency: Decimal("0.01") for NOK


def _quantize(amount: Decimal, currency: str) -> Decimal:
    exponent = _EXPONENTS.get(currency)
    if exponent is None:
        exponent = _EXPONENTS[currency] = Decimal(1).scaleb(-_minor_units(currency))
    try:
        rounded = amount.quantize(exponent, context=_ROUNDING)
    except DecimalException:
        raise NotMoney(f"amount {amount} {currency} is too large") from None
    # -0.00 and 0.00 are the same money; keep one spelling of it.
    return rounded if rounded != 0 else abs(rounded)


@dataclass(frozen=True)
class Money:
    """An amount in one currency. Make it with ``Money.of``; constructing it
    directly checks and rounds the same way but insists on a Decimal."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            # Same checks and messages as Money.of, but only a Decimal passes.
            _to_decimal(self.amount)
            raise NotMoney(
                f"Money(amount=...) takes a Decimal, not {type(self.amount).__name__}; "
                "use Money.of to convert text or an int"
            )
        if not self.amount.is_finite():
            raise NotMoney(f"amount {self.amount} is not a finite number")
        object.__setattr__(self, "amount", _quantize(self.amount, self.currency))

    @classmethod
    def of(cls, amount: str | int | Decimal, currency: str) -> Money:
        """Money from text ('50000', '1234.50'), an int or a Decimal; a float is
        refused. Rounded to the currency's minor unit, half up."""
        _minor_units(currency)
        return cls(_to_decimal(amount), currency)

    @classmethod
    def from_minor(cls, amount_minor: int, currency: str) -> Money:
        """Money of a whole number of the currency's minor unit (øre): exact, so nothing is
        rounded; the same Money as `Money.of` gives, made without its checks (statements make
        one per patient and month from the read models' integers)."""
        if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
            raise NotMoney(f"an amount in minor units is an int, not {amount_minor!r}")
        money = object.__new__(cls)
        object.__setattr__(money, "amount", Decimal(amount_minor).scaleb(-_minor_units(currency)))
        object.__setattr__(money, "currency", currency)
        return money

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Money:
        """The inverse of to_dict. The amount must be text, an int or a Decimal
        (a JSON number parsed as a float is refused)."""
        if not isinstance(data, Mapping) or set(data) != {"amount", "currency"}:
            raise NotMoney(
                "money must be a mapping with exactly the keys 'amount' and 'currency', "
                f"got {data!r}"
            )
        currency = data["currency"]
        if not isinstance(currency, str):
            raise UnknownCurrency(currency)
        return cls.of(_to_decimal(data["amount"]), currency)

    def to_dict(self) -> dict[str, str]:
        """{"amount": "50000.00", "currency": "NOK"}: the amount as text, so no
        JSON reader turns it into a float."""
        return {"amount": str(self.amount), "currency": self.currency}

    def _same_currency(self, other: Money, operation: str) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(self.currency, other.currency, operation)

    def __add__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other, "add")
        return Money(_exactly(_EXACT.add, self.amount, other.amount), self.currency)

    def __sub__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other, "subtract")
        return Money(_exactly(_EXACT.subtract, self.amount, other.amount), self.currency)

    def __mul__(self, factor: object) -> Money:
        """Money times an int or a Decimal (packs x price per pack), rounded
        to the minor unit, half up."""
        if isinstance(factor, bool) or not isinstance(factor, (int, Decimal)):
            return NotImplemented
        if isinstance(factor, Decimal) and not factor.is_finite():
            raise NotMoney(f"cannot multiply money by {factor}")
        return Money(_exactly(_EXACT.multiply, self.amount, Decimal(factor)), self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __str__(self) -> str:
        return f"{self.currency} {self.amount}"


def _exactly(
    operation: Callable[[Decimal, Decimal], Decimal], left: Decimal, right: Decimal
) -> Decimal:
    try:
        return operation(left, right)
    except DecimalException:
        raise NotMoney(f"result of {left} and {right} is too large to be exact") from None


class Totals:
    """Sums of Money, one per currency; currencies are never added together.

    A currency that has been added stays in the totals even if its sum is zero.
    """

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __init__(self, amounts: Iterable[Money] = ()) -> None:
        self._sums: dict[str, Money] = {}
        for money in amounts:
            self.add(money)

    def add(self, money: Money) -> None:
        if not isinstance(money, Money):
            raise NotMoney(f"Totals add Money only, not {type(money).__name__}")
        current = self._sums.get(money.currency)
        self._sums[money.currency] = money if current is None else current + money

    def by_currency(self) -> dict[str, Money]:
        """A new dict, currency code -> sum, in order of currency code."""
        return {currency: self._sums[currency] for currency in sorted(self._sums)}

    def __iter__(self) -> Iterator[Money]:
        return iter(self.by_currency().values())

    def __len__(self) -> int:
        return len(self._sums)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Totals):
            return NotImplemented
        return self._sums == other._sums

    def __repr__(self) -> str:
        inside = ", ".join(str(money) for money in self)
        return f"Totals({inside})"
