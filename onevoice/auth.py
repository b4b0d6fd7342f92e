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

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.authentication import SessionAuthentication
from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication


class StatelessJWTAuthentication(JWTStatelessUserAuthentication):
    """A Bearer access token, validated without a user query."""


class StatelessJWTScheme(SimpleJWTScheme):
    """In the schema: a Bearer JWT scheme like every other endpoint's (the same tokens), under
    its own component name because the schema keeps one class per name."""

    target_class = "onevoice.auth.StatelessJWTAuthentication"
    name = "jwtAuthStateless"


# For views that the server-rendered pages poll too (session cookie) and API clients poll
# with a Bearer token: the token first, so a Bearer request never touches the session.
POLLING_AUTHENTICATION = [StatelessJWTAuthentication, SessionAuthentication]
