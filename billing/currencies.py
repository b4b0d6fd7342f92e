"""Currencies we sell in: their minor units, and money shown in the reader's locale.

Amounts are integers in the currency's smallest unit everywhere (won for KRW, cents for USD and
EUR), as PortOne, Paddle and Stripe count them; only display and staff input convert.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils import translation
from django.utils.formats import number_format

# Digits after the decimal point (ISO 4217 minor units) of the currencies we may sell in.
MINOR_DIGITS = {"KRW": 0, "JPY": 0, "USD": 2, "EUR": 2, "GBP": 2}
SYMBOLS = {"KRW": "₩", "USD": "$", "EUR": "€", "JPY": "¥", "GBP": "£"}
# Languages that write the symbol after the amount ("9,99 €").
_SYMBOL_AFTER = frozenset({"es", "de", "fr"})


def minor_digits(currency: str) -> int:
    return MINOR_DIGITS.get(currency.upper(), 2)


def to_major(amount: int, currency: str) -> Decimal:
    """999 USD cents -> Decimal("9.99"); 15000 KRW -> Decimal("15000")."""
    return Decimal(int(amount)).scaleb(-minor_digits(currency))


def to_minor(value: Decimal, currency: str) -> int:
    """Decimal("9.99") USD -> 999. Raises ValueError for more digits than the currency has."""
    scaled = Decimal(value).scaleb(minor_digits(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{currency} has {minor_digits(currency)} digits after the point")
    return int(scaled)


def money_format(amount: int, currency: str) -> str:
    """An amount in the active language's number format: "$9.99", "₩15,000", "9,99 €" (es)."""
    currency = str(currency).upper()
    digits = minor_digits(currency)
    number = number_format(to_major(amount, currency), decimal_pos=digits, use_l10n=True, force_grouping=True)
    symbol = SYMBOLS.get(currency)
    if symbol is None:
        return f"{number} {currency}"
    if (translation.get_language() or "en").split("-")[0] in _SYMBOL_AFTER:
        return f"{number} {symbol}"
    return f"{symbol}{number}"
