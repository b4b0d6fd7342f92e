"""Money on the pages: `{{ amount|money:currency }}` gives ₩15,000 (grouped for the active locale)."""

from __future__ import annotations

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma

register = template.Library()
SYMBOLS = {"KRW": "₩", "USD": "$", "EUR": "€", "JPY": "¥"}


@register.filter
def money(amount, currency: str = "KRW") -> str:
    symbol = SYMBOLS.get(str(currency).upper())
    grouped = intcomma(amount)
    return f"{symbol}{grouped}" if symbol else f"{grouped} {currency}"
