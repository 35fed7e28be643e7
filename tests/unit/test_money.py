"""Money always carries its currency, is exact, and is never summed across currencies."""

from __future__ import annotations

import json
import random
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.money import CURRENCIES, CurrencyMismatch, Money, NotMoney, Totals, UnknownCurrency


def nok(amount: str | int) -> Money:
    return Money.of(amount, "NOK")


# --- making money -----------------------------------------------------------


@pytest.mark.parametrize("code", ["NOK", "EUR", "SEK", "DKK", "USD", "GBP", "CHF"])
def test_the_common_currencies_are_known_with_two_minor_units(code: str) -> None:
    assert CURRENCIES[code] == 2
    assert Money.of(1, code).amount == Decimal("1.00")


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("50000", "50000.00"),
        (50000, "50000.00"),
        (Decimal("1234.5"), "1234.50"),
        ("1.005", "1.01"),
        ("1.004", "1.00"),
        ("-1.005", "-1.01"),
        ("2.675", "2.68"),  # a float would say 2.67
        (" 7 ", "7.00"),
        ("-0", "0.00"),
        ("-0.001", "0.00"),
    ],
)
def test_amounts_are_rounded_half_up_to_the_minor_unit(amount: str | int | Decimal, expected: str) -> None:
    money = Money.of(amount, "NOK")
    assert str(money.amount) == expected
    assert money.currency == "NOK"


def test_currencies_without_minor_units_round_to_whole_units() -> None:
    assert Money.of("1234.5", "JPY").amount == Decimal("1235")
    assert Money.of("99.49", "ISK").to_dict() == {"amount": "99", "currency": "ISK"}


def test_direct_construction_rounds_the_same_way() -> None:
    assert Money(Decimal("1.005"), "NOK") == nok("1.01")


@pytest.mark.parametrize("amount", [1.5, 0.1, float("nan")])
def test_floats_are_refused(amount: float) -> None:
    with pytest.raises(NotMoney, match="float"):
        Money.of(amount, "NOK")  # type: ignore[arg-type]
    with pytest.raises(TypeError):  # NotMoney is a TypeError too
        Money(amount, "NOK")  # type: ignore[arg-type]


@pytest.mark.parametrize("amount", ["12,50", "fifty", "", "NaN", "Infinity", "-inf", True, None, [1]])
def test_things_that_are_not_amounts_are_refused(amount: object) -> None:
    with pytest.raises(NotMoney):
        Money.of(amount, "NOK")  # type: ignore[arg-type]


def test_direct_construction_insists_on_a_decimal() -> None:
    with pytest.raises(NotMoney, match="Money.of"):
        Money("10", "NOK")  # type: ignore[arg-type]
    with pytest.raises(NotMoney):
        Money(Decimal("NaN"), "NOK")


def test_absurdly_large_amounts_are_refused_not_rounded() -> None:
    with pytest.raises(NotMoney, match="too large"):
        Money.of("1e40", "NOK")


@pytest.mark.parametrize("currency", ["nok", "NKR", "kr", "", "XXX", None, 578])
def test_unknown_currencies_are_refused(currency: object) -> None:
    with pytest.raises(UnknownCurrency, match="ISO 4217") as info:
        Money.of(1, currency)  # type: ignore[arg-type]
    assert "NOK" in str(info.value)
    with pytest.raises(UnknownCurrency):
        Money(Decimal(1), currency)  # type: ignore[arg-type]


def test_errors_are_value_errors() -> None:
    assert issubclass(UnknownCurrency, ValueError)
    assert issubclass(CurrencyMismatch, ValueError)
    assert issubclass(NotMoney, ValueError)


def test_money_is_immutable_and_hashable() -> None:
    money = nok(5)
    with pytest.raises(AttributeError):
        money.amount = Decimal(6)  # type: ignore[misc]
    assert {money, nok("5.00")} == {money}


def test_same_amount_in_another_currency_is_different_money() -> None:
    assert Money.of(100, "NOK") != Money.of(100, "EUR")


# --- arithmetic -------------------------------------------------------------


def test_adding_and_subtracting_in_one_currency() -> None:
    assert nok("50000") + nok("0.50") == nok("50000.50")
    assert nok(10) - nok("12.25") == nok("-2.25")
    assert -nok(3) == nok(-3)


@pytest.mark.parametrize("operation", ["add", "subtract"])
def test_adding_across_currencies_is_refused(operation: str) -> None:
    with pytest.raises(CurrencyMismatch, match=f"cannot {operation} NOK and EUR"):
        if operation == "add":
            nok(1) + Money.of(1, "EUR")
        else:
            nok(1) - Money.of(1, "EUR")


def test_adding_a_bare_number_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        nok(1) + 1  # type: ignore[operator]
    with pytest.raises(TypeError):
        nok(1) + Decimal(1)  # type: ignore[operator]


def test_packs_times_price_per_pack() -> None:
    price = nok("12345.67")
    assert price * 3 == nok("37037.01")
    assert 3 * price == price * 3
    assert price * Decimal("0.5") == nok("6172.84")  # 6172.835 rounded half up


@pytest.mark.parametrize("factor", [1.5, True, "2", None])
def test_multiplying_by_anything_but_int_or_decimal_is_refused(factor: object) -> None:
    with pytest.raises(TypeError):
        nok(1) * factor  # type: ignore[operator]


def test_multiplying_money_by_money_is_refused() -> None:
    with pytest.raises(TypeError):
        nok(1) * nok(2)  # type: ignore[operator]


def test_multiplying_by_a_non_finite_decimal_is_refused() -> None:
    with pytest.raises(NotMoney):
        nok(1) * Decimal("Infinity")


# --- dicts ------------------------------------------------------------------


def test_to_dict_keeps_the_amount_as_text() -> None:
    assert nok(50000).to_dict() == {"amount": "50000.00", "currency": "NOK"}
    assert json.loads(json.dumps(nok("0.1").to_dict()))["amount"] == "0.10"


def test_from_dict_reads_what_to_dict_wrote() -> None:
    assert Money.from_dict({"amount": "50000.00", "currency": "EUR"}) == Money.of(50000, "EUR")
    assert Money.from_dict({"amount": 7, "currency": "SEK"}) == Money.of(7, "SEK")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"amount": 1.5, "currency": "NOK"}, NotMoney),
        ({"amount": "1"}, NotMoney),
        ({"amount": "1", "currency": "NOK", "note": "x"}, NotMoney),
        ({"amount": "1", "currency": "nok"}, UnknownCurrency),
        ({"amount": "1", "currency": 578}, UnknownCurrency),
        ("NOK 1", NotMoney),
    ],
)
def test_from_dict_refuses_malformed_input(data: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        Money.from_dict(data)  # type: ignore[arg-type]


# --- totals -----------------------------------------------------------------


def test_totals_keep_one_sum_per_currency_sorted_by_code() -> None:
    totals = Totals()
    totals.add(nok(50000))
    totals.add(Money.of(50000, "EUR"))
    totals.add(nok("0.50"))
    assert totals.by_currency() == {"EUR": Money.of(50000, "EUR"), "NOK": nok("50000.50")}
    assert list(totals.by_currency()) == ["EUR", "NOK"]
    assert list(totals) == [Money.of(50000, "EUR"), nok("50000.50")]
    assert len(totals) == 2


def test_empty_totals() -> None:
    assert Totals().by_currency() == {}
    assert list(Totals()) == []
    assert Totals() == Totals()


def test_totals_equality_ignores_order_of_adding() -> None:
    a, b, c = nok(1), Money.of(2, "EUR"), nok(3)
    assert Totals([a, b, c]) == Totals([c, a, b])
    assert Totals([a]) != Totals([c])
    assert Totals([a]) != {"NOK": a}


def test_a_currency_summing_to_zero_is_kept() -> None:
    assert Totals([nok(5), nok(-5)]).by_currency() == {"NOK": nok(0)}
    assert Totals([nok(5), nok(-5)]) != Totals()


def test_totals_refuse_things_that_are_not_money() -> None:
    with pytest.raises(NotMoney):
        Totals().add(Decimal(5))  # type: ignore[arg-type]


def test_by_currency_is_a_copy() -> None:
    totals = Totals([nok(1)])
    totals.by_currency()["NOK"] = nok(99)
    assert totals.by_currency() == {"NOK": nok(1)}


def test_totals_are_not_hashable() -> None:
    with pytest.raises(TypeError):
        hash(Totals())


def test_totals_repr_shows_each_currency() -> None:
    assert repr(Totals([nok(1), Money.of(2, "EUR")])) == "Totals(EUR 2.00, NOK 1.00)"


# --- properties -------------------------------------------------------------

currencies = st.sampled_from(sorted(CURRENCIES))
amounts = st.decimals(min_value=Decimal("-1e15"), max_value=Decimal("1e15"), allow_nan=False,
                      allow_infinity=False)


@st.composite
def money(draw: st.DrawFn, currency: str | None = None) -> Money:
    return Money.of(draw(amounts), currency or draw(currencies))


@given(currencies.flatmap(lambda c: st.tuples(money(c), money(c), money(c))))
def test_addition_is_associative_and_commutative_within_a_currency(
        triple: tuple[Money, Money, Money]) -> None:
    a, b, c = triple
    assert (a + b) + c == a + (b + c)
    assert a + b == b + a
    assert (a + b) - b == a


@given(st.lists(money(), max_size=20))
def test_totals_never_mix_currencies(items: list[Money]) -> None:
    totals = Totals(items)
    by_currency = totals.by_currency()
    assert set(by_currency) == {m.currency for m in items}
    for code, total in by_currency.items():
        assert total.currency == code
        expected = sum((m.amount for m in items if m.currency == code), Decimal(0))
        assert total.amount == expected
    assert list(by_currency) == sorted(by_currency)


@given(st.lists(money(), max_size=10), st.randoms())
def test_totals_do_not_depend_on_the_order_of_adding(items: list[Money], rnd: random.Random) -> None:
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert Totals(items) == Totals(shuffled)


@given(money())
def test_to_dict_and_from_dict_round_trip(m: Money) -> None:
    assert Money.from_dict(m.to_dict()) == m
    assert Money.from_dict(json.loads(json.dumps(m.to_dict()))) == m


@given(money(), st.integers(-1000, 1000))
def test_multiplying_by_an_int_is_repeated_addition(m: Money, packs: int) -> None:
    total = Money.zero(m.currency)
    for _ in range(abs(packs)):
        total = total + m
    assert m * packs == (total if packs >= 0 else -total)


@given(amounts, currencies)
def test_construction_rounds_to_at_most_the_minor_unit(amount: Decimal, currency: str) -> None:
    m = Money.of(amount, currency)
    assert m.amount.as_tuple().exponent == -CURRENCIES[currency]
    assert abs(m.amount - amount) <= Decimal(1).scaleb(-CURRENCIES[currency]) / 2


@given(st.integers(min_value=-(10**15), max_value=10**15), st.sampled_from(sorted(CURRENCIES)))
def test_money_from_minor_units_is_the_money_of_its_decimal_spelling(minor: int, currency: str) -> None:
    made = Money.from_minor(minor, currency)
    expected = Money.of(Decimal(minor).scaleb(-CURRENCIES[currency]), currency)
    assert made == expected and str(made) == str(expected)
    assert made.amount.as_tuple() == expected.amount.as_tuple()  # the same digits and exponent
    assert Money.from_minor(0, currency) + made == made


@pytest.mark.parametrize("bad", [1.5, "100", True, Decimal("1")])
def test_money_from_minor_units_takes_only_an_int(bad: object) -> None:
    with pytest.raises(NotMoney):
        Money.from_minor(bad, "NOK")  # type: ignore[arg-type]
    with pytest.raises(UnknownCurrency):
        Money.from_minor(100, "XXX")
