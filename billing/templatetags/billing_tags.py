"""Money on the pages: `{{ amount|money:currency }}` gives ₩15,000 or $9.99 (the amount in the
currency's smallest unit, written in the active locale's format: billing/currencies.py)."""

from __future__ import annotations

from django import template

from billing.currencies import money_format

register = template.Library()


@register.filter
def money(amount, currency: str = "KRW") -> str:
    return money_format(amount, currency)
