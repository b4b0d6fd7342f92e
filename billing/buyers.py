"""Where a buyer is and what they pay in, read from their request (no account field holds it)."""

from __future__ import annotations

import re

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
