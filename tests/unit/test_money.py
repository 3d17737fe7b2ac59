"""Reading typed amounts with Babel: currency symbols, locales, decimals from CLDR."""

from __future__ import annotations

import pytest
from babel.numbers import get_currency_precision

from giving.money import (
    CURRENCY_EXPONENTS,
    SUPPORTED_CURRENCIES,
    AmountError,
    AmountProblem,
    Money,
    currency_digits,
    parse_major_amount,
)


def test_the_minor_units_of_every_currency_come_from_babels_currency_data() -> None:
    from_babel = {code: get_currency_precision(code) for code in SUPPORTED_CURRENCIES}
    assert from_babel == CURRENCY_EXPONENTS
    assert currency_digits("JPY") == 0  # not a campaign currency, but the rule is CLDR's


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("HK$50", "HKD", 5000),  # the "$" must not be taken before "HK$"
        ("HK$ 1,250.50", "HKD", 125050),
        ("$50", "HKD", 5000),
        ("50 HKD", "HKD", 5000),
        ("¥50", "CNY", 5000),
        ("￥５０.５", "CNY", 5050),  # full-width, as Chinese input methods type it
        ("CN¥1,250", "CNY", 125000),
        ("US$19.99", "USD", 1999),
        ("€5", "EUR", 500),
    ],
)
def test_amounts_are_read_with_their_currency_symbol(text: str, currency: str, minor: int) -> None:
    assert parse_major_amount(text, currency) == Money(minor, currency)
    assert parse_major_amount(text, currency, locale="zh_Hans_CN") == Money(minor, currency)


@pytest.mark.parametrize(
    ("text", "currency", "problem"),
    [
        ("50.001", "CNY", AmountProblem.TOO_MANY_DECIMALS),
        ("0", "CNY", AmountProblem.NOT_POSITIVE),
        ("-10", "CNY", AmountProblem.NOT_POSITIVE),
        ("NaN", "CNY", AmountProblem.NOT_A_NUMBER),
        ("1,2,3", "CNY", AmountProblem.NOT_A_NUMBER),
        ("HK$50", "CNY", AmountProblem.NOT_A_NUMBER),  # another currency's symbol
        ("1000000000000", "CNY", AmountProblem.TOO_LARGE),
        ("", "CNY", AmountProblem.NOT_A_NUMBER),
    ],
)
def test_refusals_say_which_rule_refused_the_amount(
    text: str, currency: str, problem: AmountProblem
) -> None:
    with pytest.raises(AmountError) as caught:
        parse_major_amount(text, currency)
    assert caught.value.problem is problem
    assert caught.value.digits == 2
    assert caught.value.field == "amount"
