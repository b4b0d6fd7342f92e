"""PortOne billing keys at rest: encrypted with Fernet keys from the environment.

`BILLING_KEY_ENCRYPTION_KEYS` (settings): the first key encrypts, every key decrypts, so a key is
rotated by listing the new one first. A billing key is decrypted only to call PortOne with it;
nothing returns it to a client, a page or the admin.
"""

from __future__ import annotations

import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@functools.lru_cache(maxsize=4)
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as error:
        raise ImproperlyConfigured(
            "BILLING_KEY_ENCRYPTION_KEYS must hold Fernet keys (url-safe base64 of 32 bytes)."
        ) from error


def _current() -> MultiFernet:
    return _cipher(tuple(settings.BILLING_KEY_ENCRYPTION_KEYS))


def billing_key_encrypt(billing_key: str) -> str:
    return _current().encrypt(billing_key.encode()).decode()


def billing_key_decrypt(token: str) -> str:
    """The billing key; ImproperlyConfigured when no configured key can read it (a key was
    removed from BILLING_KEY_ENCRYPTION_KEYS before every token was rotated)."""
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise ImproperlyConfigured("A stored billing key cannot be decrypted with BILLING_KEY_ENCRYPTION_KEYS.") from error


def cipher_check() -> None:
    """Raises ImproperlyConfigured when a configured key is not a Fernet key."""
    _current()


def using_development_key() -> bool:
    return settings.BILLING_KEY_DEVELOPMENT_KEY in settings.BILLING_KEY_ENCRYPTION_KEYS
