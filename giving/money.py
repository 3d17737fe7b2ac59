"""Money as integer minor units with a currency; never a float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _

from giving.errors import ValidationError

# Minor units per currency (ISO 4217 exponents) for the currencies campaigns may use.
CURRENCY_EXPONENTS: dict[str, int] = {"CNY": 2, "USD": 2, "HKD": 2, "EUR": 2}
SUPPORTED_CURRENCIES: tuple[str, ...] = tuple(CURRENCY_EXPONENTS)
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


def parse_major_amount(text: str, currency: str) -> Money:
    """Turn what a person typed ("1,250.50") into Money, refusing anything inexact."""
    if currency not in CURRENCY_EXPONENTS:
        raise ValidationError(_("Unsupported currency %(code)s", code=currency), field="currency")
    cleaned = text.strip().replace(",", "").replace("，", "")
    for symbol in ("¥", "￥", "$", "€", "HK$"):
        cleaned = cleaned.replace(symbol, "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValidationError(_("Enter an amount such as 100 or 99.50"), field="amount") from None
    if not value.is_finite():
        raise ValidationError(_("Enter an amount such as 100 or 99.50"), field="amount")
    exponent = CURRENCY_EXPONENTS[currency]
    minor = value.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise ValidationError(
            _("Use at most %(count)s decimal places for %(code)s", count=exponent, code=currency),
            field="amount",
        )
    amount = int(minor)
    if amount <= 0:
        raise ValidationError(_("The amount must be more than zero"), field="amount")
    if amount > MAX_AMOUNT_MINOR:
        raise ValidationError(_("That amount is larger than Giving accepts"), field="amount")
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
