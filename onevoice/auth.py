"""Authentication that does not read the database, for endpoints clients poll.

`StatelessJWTAuthentication` checks a Bearer access token's signature and expiry exactly like
simplejwt's `JWTAuthentication`, then trusts its `user_id` claim instead of loading the user:
`request.user` is a `TokenUser` (`.id` / `.pk` are the claim, `.is_authenticated` is true).
Job-detail polling uses it so that a poll is one indexed row read (bench/api.py).

Every token carries its user's token generation (claim "gen"); logging out everywhere, a
password change or reset and deleting the account raise it (accounts.services), and both
authentications refuse a token of an older generation: the loading one against the user row it
reads anyway, the stateless one against the cache (`token_generation_current`: one cache read;
the row when the cache does not have it or does not answer), so polling stays one database read.

What the stateless one still trades away, knowingly: it does not see `is_active`. Only
read-only views scoped by `owner_id=request.user.id` should use it; anything that writes, spends
credits or needs the user's fields keeps the default `JWTAuthentication`, which loads the user.
"""

from __future__ import annotations

import logging
import time

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import (
    JWTAuthentication,
    JWTStatelessUserAuthentication,
)
from rest_framework_simplejwt.models import TokenUser
from rest_framework_simplejwt.settings import api_settings

from onevoice.locale import locale_activate

logger = logging.getLogger(__name__)

TOKEN_GENERATION_CLAIM = "gen"
# How long the cache trusts a generation it holds: a bump sets it at once, so this only bounds
# how stale it can be after a bump whose cache write failed (Redis down at that moment).
TOKEN_GENERATION_CACHE_SECONDS = 30
_REVOKED = _("This token is no longer valid: the account was signed out everywhere or its password changed.")


def _generation_key(user_id) -> str:
    return f"auth:token-generation:{user_id}"


def token_generation_current(user_id) -> int | None:
    """The user's token generation (None: no such user), from the cache or else the row."""
    key = _generation_key(user_id)
    try:
        known = cache.get(key)
    except Exception:  # a cache that does not answer: the row is the truth anyway
        logger.warning("token generation: the cache did not answer; reading the user row", exc_info=True)
        known = None
    if known is not None:
        return int(known)
    row = get_user_model().objects.filter(pk=user_id).values_list("token_generation", flat=True).first()
    if row is not None:
        token_generation_remember(user_id, row)
    return row


def token_generation_remember(user_id, generation: int) -> None:
    try:
        cache.set(_generation_key(user_id), generation, TOKEN_GENERATION_CACHE_SECONDS)
    except Exception:
        logger.warning("token generation: could not write the cache", exc_info=True)


def _token_generation(token) -> int:
    value = token.get(TOKEN_GENERATION_CLAIM, 0)
    return value if isinstance(value, int) else -1


class LocaleJWTAuthentication(JWTAuthentication):
    """simplejwt's Bearer authentication (it loads the user), answering in the user's `locale`.

    The locale middleware runs before DRF authenticates, when a token's user is not known yet;
    this is the first moment it is, and everything the view says after it (errors formatted at
    raise time included) is in that language. No user, or no `locale`: Accept-Language stays.
    """

    def authenticate(self, request):
        found = super().authenticate(request)
        if found is not None:
            locale_activate(request, getattr(found[0], "locale", ""))
        return found

    def get_user(self, validated_token):
        user = super().get_user(validated_token)
        if _token_generation(validated_token) != getattr(user, "token_generation", 0):
            raise AuthenticationFailed(_REVOKED, code="token_not_valid")
        return user


class LocaleJWTScheme(SimpleJWTScheme):
    """In the schema: the same Bearer JWT scheme as simplejwt's own class."""

    target_class = "onevoice.auth.LocaleJWTAuthentication"


class StatelessJWTAuthentication(JWTStatelessUserAuthentication):
    """A Bearer access token, validated without a user query.

    A poller sends the same token every second for its whole lifetime, so each process keeps
    the tokens it has already verified (keyed by the whole token, signature included, so
    nothing unverified can match) until their `exp`: a repeat costs a dict lookup and a clock
    read instead of a base64 + JSON + HMAC round. Its generation is checked on every request.
    """

    def get_validated_token(self, raw_token: bytes):
        token = self._verified_token(raw_token)
        # Checked on every request, never remembered with the token: a bump takes effect at once.
        user_id = token.get(api_settings.USER_ID_CLAIM)
        if _token_generation(token) != token_generation_current(user_id):
            raise AuthenticationFailed(_REVOKED, code="token_not_valid")
        return token

    def _verified_token(self, raw_token: bytes):
        key = bytes(raw_token)
        known = _verified.get(key)
        if known is not None:
            token, valid_until = known
            if time.time() < valid_until:
                return token
            _verified.pop(key, None)
        token = super().get_validated_token(raw_token)
        exp = token.get("exp")
        if isinstance(exp, (int, float)):
            if len(_verified) >= _VERIFIED_MAX:
                _verified.clear()  # crude, but bounded; the next poll of each client refills it
            _verified[key] = (token, exp)
        return token


# raw token -> (validated token, its exp as a UNIX time). Plain dict operations are atomic
# under the GIL, which is all the threads of a worker need here.
_verified: dict[bytes, tuple] = {}
_VERIFIED_MAX = 10_000


class StatelessJWTScheme(SimpleJWTScheme):
    """In the schema: a Bearer JWT scheme like every other endpoint's (the same tokens), under
    its own component name because the schema keeps one class per name."""

    target_class = "onevoice.auth.StatelessJWTAuthentication"
    name = "jwtAuthStateless"


# For views that the server-rendered pages poll too (session cookie) and API clients poll
# with a Bearer token: the token first, so a Bearer request never touches the session.
POLLING_AUTHENTICATION = [StatelessJWTAuthentication, SessionAuthentication]


def bearer_token_user(request) -> TokenUser | None:
    """The user of a valid Bearer access token on a plain Django request, without a query.

    None when there is no Bearer header or the token is not valid: the caller then takes the
    normal DRF path, which answers those cases (401 in the API's error shape).
    """
    try:
        found = StatelessJWTAuthentication().authenticate(request)
    except AuthenticationFailed:
        return None
    return found[0] if found else None
