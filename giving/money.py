"""Money as integer minor units with a currency; never a float.

How many minor units a currency has (its decimal digits) comes from Babel's CLDR currency
data, and what a person types is read with Babel's locale-aware number parsing, so neither
is written out by hand here or anywhere else.
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from babel import Locale
from babel.numbers import NumberFormatError, get_currency_precision, parse_decimal
from flask_babel import gettext as _

from giving.errors import ValidationError

# The currencies campaigns may use.
SUPPORTED_CURRENCIES: tuple[str, ...] = ("CNY", "USD", "HKD", "EUR")


@cache
def currency_digits(currency: str) -> int:
    """Decimal digits of ``currency``'s minor unit (CLDR, via Babel): 2 for CNY, 0 for JPY."""
    return int(get_currency_precision(currency))


# Minor units per currency (the ISO 4217 exponent) for the currencies campaigns may use.
CURRENCY_EXPONENTS: dict[str, int] = {code: currency_digits(code) for code in SUPPORTED_CURRENCIES}
# A ceiling well above any grassroots campaign keeps typos like 10000000 from going live.
MAX_AMOUNT_MINOR = 100_000_000_00


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in minor units (fen, cents) of one currency."""

    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        if type(self.amount_minor) is not int:
            raise TypeError("Money amounts are integers in minor units")
        if self.currency not in CURRENCY_EXPONENTS:
            raise ValidationError(f"Unsupported currency {self.currency!r}")

    def _same_currency(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError("Money only combines with Money")
        if other.currency != self.currency:
            raise ValueError(f"Cannot mix {self.currency} and {other.currency}")
        return other

    def __add__(self, other: object) -> Money:
        return Money(self.amount_minor + self._same_currency(other).amount_minor, self.currency)

    def __sub__(self, other: object) -> Money:
        return Money(self.amount_minor - self._same_currency(other).amount_minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount_minor, self.currency)

    def __lt__(self, other: object) -> bool:
        return self.amount_minor < self._same_currency(other).amount_minor

    def __le__(self, other: object) -> bool:
        return self.amount_minor <= self._same_currency(other).amount_minor

    def __gt__(self, other: object) -> bool:
        return self.amount_minor > self._same_currency(other).amount_minor

    def __ge__(self, other: object) -> bool:
        return self.amount_minor >= self._same_currency(other).amount_minor

    @property
    def major(self) -> Decimal:
        """The amount in major units, exactly, for display only."""
        return Decimal(self.amount_minor).scaleb(-CURRENCY_EXPONENTS[self.currency])

    def __str__(self) -> str:
        return f"{self.major:.{CURRENCY_EXPONENTS[self.currency]}f} {self.currency}"


class AmountProblem(enum.Enum):
    """Why a typed amount was refused, for callers to choose their own wording."""

    UNSUPPORTED_CURRENCY = "unsupported_currency"
    NOT_A_NUMBER = "not_a_number"
    TOO_MANY_DECIMALS = "too_many_decimals"
    NOT_POSITIVE = "not_positive"
    TOO_LARGE = "too_large"


class AmountError(ValidationError):
    """A typed amount that is not an exact, positive amount of the currency.

    ``problem`` says which rule refused it and ``digits`` how many decimals the currency
    allows, so a form never has to look inside the (translated) message.
    """

    def __init__(self, problem: AmountProblem, message: str, *, digits: int) -> None:
        super().__init__(
            message, field="currency" if problem is AmountProblem.UNSUPPORTED_CURRENCY else "amount"
        )
        self.problem = problem
        self.digits = digits


# Locales whose currency symbols a donor or organiser might type: Giving's own languages and
# those of the regions it serves.
_SYMBOL_LOCALES = ("en", "zh_Hans_CN", "zh_Hant_HK", "zh_Hant_MO", "zh_Hant_TW", "en_HK")


@cache
def currency_marks(currency: str) -> tuple[str, ...]:
    """What may stand before or after an amount of ``currency``, longest first.

    The ISO code, CLDR's symbol in each of :data:`_SYMBOL_LOCALES` ("HK$", "CN¥", "US$",
    "€") and the bare sign those symbols end in ("$", "¥"), as people write it locally.
    """
    marks = {currency}
    for name in _SYMBOL_LOCALES:
        symbol = Locale.parse(name).currency_symbols.get(currency, "")
        symbol = unicodedata.normalize("NFKC", symbol)
        if symbol:
            marks.update((symbol, symbol[-1]))
    # Longest first, so "HK$" is taken whole before its "$" is.
    return tuple(sorted(marks, key=lambda mark: (-len(mark), mark)))


def _without_currency_mark(text: str, currency: str) -> str:
    """``text`` without one leading or trailing mark of ``currency`` (e.g. "HK$50" -> "50")."""
    for mark in currency_marks(currency):
        if text[: len(mark)].upper() == mark.upper():
            return text[len(mark) :].strip()
        if text[-len(mark) :].upper() == mark.upper():
            return text[: -len(mark)].strip()
    return text


def parse_major_amount(text: str, currency: str, *, locale: str | Locale = "en") -> Money:
    """Turn what a person typed ("1,250.50", "HK$50", "¥１２０") into Money, refusing anything
    inexact; ``locale`` is the writer's, which decides the decimal and grouping signs."""
    if currency not in CURRENCY_EXPONENTS:
        raise AmountError(
            AmountProblem.UNSUPPORTED_CURRENCY,
            _("Unsupported currency %(code)s", code=currency),
            digits=0,
        )
    digits = CURRENCY_EXPONENTS[currency]
    # NFKC turns full-width digits, signs and commas (１２０，￥) into ASCII ones.
    cleaned = _without_currency_mark(unicodedata.normalize("NFKC", text or "").strip(), currency)
    try:
        value = parse_decimal(cleaned, locale=locale, strict=True) if cleaned else None
    except NumberFormatError:
        value = None
    if value is None or not value.is_finite():
        raise AmountError(
            AmountProblem.NOT_A_NUMBER, _("Enter an amount such as 100 or 99.50"), digits=digits
        )
    minor = value.scaleb(digits)
    if minor != minor.to_integral_value():
        raise AmountError(
            AmountProblem.TOO_MANY_DECIMALS,
            _("Use at most %(count)s decimal places for %(code)s", count=digits, code=currency),
            digits=digits,
        )
    amount = int(minor)
    if amount <= 0:
        raise AmountError(
            AmountProblem.NOT_POSITIVE, _("The amount must be more than zero"), digits=digits
        )
    if amount > MAX_AMOUNT_MINOR:
        raise AmountError(
            AmountProblem.TOO_LARGE, _("That amount is larger than Giving accepts"), digits=digits
        )
    return Money(amount, currency)


# Stripe settles in currencies campaigns do not take; these are the ones whose minor unit is
# not a hundredth (ISO 4217 exponents, as Stripe's "zero-decimal" and three-decimal lists).
_OTHER_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        (
            "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF",
            "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
        ),
        0,
    ),
    **dict.fromkeys(("BHD", "JOD", "KWD", "OMR", "TND"), 3),
}  # fmt: skip


def minor_unit_exponent(currency: str) -> int:
    """Decimal places of ``currency``'s minor unit (2 for any currency not listed otherwise)."""
    code = currency.upper()
    return CURRENCY_EXPONENTS.get(code, _OTHER_EXPONENTS.get(code, 2))


def format_major(amount_minor: int, currency: str) -> str:
    """Exact decimal text of a minor-unit amount: (79, "CNY") -> "0.79"; integers only."""
    exponent = minor_unit_exponent(currency)
    sign = "-" if amount_minor < 0 else ""
    whole, fraction = divmod(abs(amount_minor), 10**exponent)
    return f"{sign}{whole}.{fraction:0{exponent}d}" if exponent else f"{sign}{whole}"
