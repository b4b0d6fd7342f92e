"""Authentication that does not read the database, for endpoints clients poll.

`StatelessJWTAuthentication` checks a Bearer access token's signature and expiry exactly like
simplejwt's `JWTAuthentication`, then trusts its `user_id` claim instead of loading the user:
`request.user` is a `TokenUser` (`.id` / `.pk` are the claim, `.is_authenticated` is true).
Job-detail polling uses it so that a poll is one indexed row read (bench/api.py).

What that trades away, knowingly: an access token keeps working for its lifetime (15 minutes,
SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"]) after its user is deactivated or deleted. Only read-only
views scoped by `owner_id=request.user.id` should use it; anything that writes, spends credits
or needs the user's fields keeps the default `JWTAuthentication`, which loads the user.
"""

from __future__ import annotations

import time

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import (
    JWTAuthentication,
    JWTStatelessUserAuthentication,
)
from rest_framework_simplejwt.models import TokenUser

from onevoice.locale import locale_activate


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


class LocaleJWTScheme(SimpleJWTScheme):
    """In the schema: the same Bearer JWT scheme as simplejwt's own class."""

    target_class = "onevoice.auth.LocaleJWTAuthentication"


class StatelessJWTAuthentication(JWTStatelessUserAuthentication):
    """A Bearer access token, validated without a user query.

    A poller sends the same token every second for its whole lifetime, so each process keeps
    the tokens it has already verified (keyed by the whole token, signature included, so
    nothing unverified can match) until their `exp`: a repeat costs a dict lookup and a clock
    read instead of a base64 + JSON + HMAC round. Access tokens cannot be revoked before
    `exp` in this project (only refresh tokens are blacklisted), so the answer is the same.
    """

    def get_validated_token(self, raw_token: bytes):
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
