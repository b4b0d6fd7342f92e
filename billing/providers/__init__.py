"""The payment providers behind one interface (base.py), and which one serves a checkout.

A checkout in KRW, or for a buyer in Korea, goes to PortOne; any other to the first configured of
PAYMENTS_INTERNATIONAL_PROVIDERS (Paddle, then Stripe, by default) that takes the currency. Each
provider is on when its credentials are set (DESIGN.md "Payment providers"). A payment, refund or
webhook always goes back to the provider that took the payment (`Payment.provider`).
"""

from __future__ import annotations

from django.conf import settings

from billing.errors import PaymentsNotConfigured
from billing.models import Provider
from billing.providers.base import PaymentProvider
from billing.providers.paddle import PaddleProvider
from billing.providers.portone import PortOneProvider
from billing.providers.stripe import StripeProvider

_PROVIDERS: dict[str, PaymentProvider] = {
    Provider.PORTONE: PortOneProvider(),
    Provider.STRIPE: StripeProvider(),
    Provider.PADDLE: PaddleProvider(),
}
KOREA = "KR"


def provider_get(name: str) -> PaymentProvider:
    """The provider called `name` (as stored on a payment); KeyError for one this build lacks."""
    return _PROVIDERS[name]


def providers_configured() -> list[PaymentProvider]:
    return [provider for provider in _PROVIDERS.values() if provider.is_configured()]


def provider_choose(*, currency: str, country: str = "") -> PaymentProvider:
    """The provider that serves a checkout in `currency` for a buyer in `country` (ISO 3166
    alpha-2, '' when unknown). Raises PaymentsNotConfigured when none can."""
    currency, country = currency.upper(), country.upper()
    order = [name for name in settings.PAYMENTS_INTERNATIONAL_PROVIDERS if name in _PROVIDERS]
    if currency == "KRW" or country == KOREA:
        order = [Provider.PORTONE, *order]
    for name in order:
        provider = _PROVIDERS[name]
        if provider.is_configured() and provider.supports(currency):
            return provider
    raise PaymentsNotConfigured()
