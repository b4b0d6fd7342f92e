"""Voice cloning's consent: the one text a user agrees to (the dub form shows it beside its
checkbox, GET /languages gives it to API clients, and each consent row keeps it as it was shown,
in the reader's language)."""

from __future__ import annotations

import ipaddress

from django.utils.translation import gettext_lazy as _

from onevoice.metrics import client_address

CONSENT_TEXT = _(
    "I confirm that I have the right to use the voices of the people who speak in this video and that "
    "they agreed to have their voices cloned. I agree that OneVoice sends a sample of each speaker's "
    "voice, with what they say in it, to its speech provider, which makes a synthetic copy of the voice "
    "used only for this dub and deleted when the dub ends."
)


def consent_text() -> str:
    """The consent text in the active language, as the user read it."""
    return str(CONSENT_TEXT)


def consent_address(request) -> str | None:
    """The IP address a consent came from (behind NUM_PROXIES trusted proxies, as the throttles
    take it); None when what the request carries is not an address."""
    try:
        return str(ipaddress.ip_address(client_address(request).strip()))
    except ValueError:
        return None
