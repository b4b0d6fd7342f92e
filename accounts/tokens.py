"""Opaque, signed tokens for the links we email: email verification and password reset.

Both are `django.core.signing` strings, so the user id inside cannot be forged or swapped.
The verification token also carries the address it was sent to: if the email ever changes,
old links stop working. The reset token wraps Django's `default_token_generator` token, which
is bound to the password hash and last login, so it dies once used or once the password changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.utils.translation import gettext_lazy as _

from rest_framework_simplejwt.tokens import RefreshToken

from accounts.errors import InvalidToken, TokenExpired
from accounts.models import User
from onevoice.auth import TOKEN_GENERATION_CLAIM, token_generation_remember

_VERIFY_SALT = "accounts.email-verification"
_RESET_SALT = "accounts.password-reset"


def email_verification_token_make(*, user: User) -> str:
    return signing.dumps({"u": str(user.id), "e": user.email.lower()}, salt=_VERIFY_SALT, compress=True)


@dataclass(frozen=True)
class VerificationClaim:
    user_id: str
    email: str


def email_verification_token_read(*, token: str) -> VerificationClaim:
    try:
        data = signing.loads(token, salt=_VERIFY_SALT, max_age=settings.EMAIL_VERIFICATION_MAX_AGE)
    except signing.SignatureExpired:
        raise TokenExpired() from None
    except signing.BadSignature:
        raise InvalidToken() from None
    if not isinstance(data, dict) or not {"u", "e"} <= data.keys():
        raise InvalidToken()
    return VerificationClaim(user_id=str(data["u"]), email=str(data["e"]))


def password_reset_token_make(*, user: User) -> str:
    return signing.dumps({"u": str(user.id), "t": default_token_generator.make_token(user)}, salt=_RESET_SALT)


def password_reset_token_user(*, token: str) -> User:
    """The active user the token was made for, or InvalidToken (expired, used, forged)."""
    try:
        # The inner token expires by itself (PASSWORD_RESET_TIMEOUT); the signature only
        # proves we issued the pair.
        data = signing.loads(token, salt=_RESET_SALT)
    except signing.BadSignature:
        raise InvalidToken() from None
    if not isinstance(data, dict) or not {"u", "t"} <= data.keys():
        raise InvalidToken()
    user = User.objects.filter(id=data["u"], is_active=True).first()
    if user is None or not default_token_generator.check_token(user, str(data["t"])):
        raise InvalidToken(_("This password reset link has expired or was already used. Ask for a new one."))
    return user


def refresh_token_for(*, user: User) -> RefreshToken:
    """A new refresh token (its `.access_token` too) carrying the user's token generation, so
    that logging out everywhere or changing the password ends it (onevoice/auth.py)."""
    token = RefreshToken.for_user(user)
    token[TOKEN_GENERATION_CLAIM] = user.token_generation
    token_generation_remember(user.pk, user.token_generation)  # the first poll then reads no row for it
    return token
