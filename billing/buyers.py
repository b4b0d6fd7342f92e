"""Where a buyer is and what they pay in, read from their request (no account field holds it)."""

from __future__ import annotations

import re

from django.conf import settings

from billing.errors import PaymentsNotConfigured
from billing.providers import provider_choose

# "en-US,en;q=0.9" -> ("en", "US"): a language tag's region is the only country a browser says.
_TAG = re.compile(r"^\s*([A-Za-z]{2,3})(?:[-_]([A-Za-z]{4}))?(?:[-_]([A-Za-z]{2}|\d{3}))?")


def buyer_country(request) -> str:
    """The country (ISO 3166 alpha-2) of the buyer's first Accept-Language tag with a region,
    else "KR" for a first tag in Korean, else ''. Only routes a checkout to a provider: the
    provider itself checks the card's country where that matters (tax)."""
    header = request.META.get("HTTP_ACCEPT_LANGUAGE", "")
    for part in header.split(","):
        found = _TAG.match(part.split(";")[0])
        if not found:
            continue
        language, _, region = found.groups()
        if region and region.isalpha():
            return region.upper()
        if language.lower() == "ko":
            return "KR"
        return ""
    return ""


# Euro-area countries (ISO 3166 alpha-2): a buyer there sees euros.
_EURO_AREA = frozenset({"AT", "BE", "HR", "CY", "EE", "FI", "FR", "DE", "GR", "IE", "IT", "LV", "LT", "LU", "MT",
                        "NL", "PT", "SK", "SI", "ES"})
CURRENCY_SESSION_KEY = "billing_currency"


def currencies_offered() -> list[str]:
    return list(settings.BILLING_CURRENCIES)


def buyer_currency(request) -> str:
    """The currency the buyer sees prices in: the one they chose (`?currency=`, remembered in
    their session), else by their browser's country (Korea: KRW, the euro area: EUR), else by
    its language (Korean: KRW), else USD; a guess no configured provider takes gives way to one
    that is (the server with PortOne alone sells in KRW). Always one of BILLING_CURRENCIES."""
    offered = currencies_offered()
    chosen = (request.GET.get("currency") or "").upper()
    if chosen in offered:
        if request.session.get(CURRENCY_SESSION_KEY) != chosen:
            request.session[CURRENCY_SESSION_KEY] = chosen
        return chosen
    remembered = request.session.get(CURRENCY_SESSION_KEY, "")
    if remembered in offered:
        return remembered
    country = buyer_country(request)
    language = (request.META.get("HTTP_ACCEPT_LANGUAGE", "").split(",")[0].strip()[:2] or "").lower()
    if country == "KR" or (not country and language == "ko"):
        guess = "KRW"
    elif country in _EURO_AREA:
        guess = "EUR"
    else:
        guess = "USD"
    payable = [code for code in offered if currency_payable(code, country=country)]
    if guess in payable or (guess in offered and not payable):
        return guess
    return payable[0] if payable else offered[0]


def currency_payable(currency: str, *, country: str = "") -> bool:
    """Some configured provider takes checkouts in this currency."""
    try:
        provider_choose(currency=currency, country=country)
    except PaymentsNotConfigured:
        return False
    return True
