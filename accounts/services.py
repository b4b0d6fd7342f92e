"""Writes for accounts: registration, verification, passwords, profile, deletion.

API views, page views and management commands all call these functions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from rest_framework_simplejwt.token_blacklist.models import (
    BlacklistedToken,
    OutstandingToken,
)

from accounts.errors import (
    AlreadyVerified,
    EmailUnverified,
    InvalidToken,
    WeakPassword,
    WrongPassword,
)
from accounts.models import User
from accounts.selectors import user_get_active_by_email, user_must_verify_email
from accounts.tasks import email_send
from accounts.tokens import (
    email_verification_token_make,
    email_verification_token_read,
    password_reset_token_make,
    password_reset_token_user,
)
from onevoice.auth import token_generation_remember
from onevoice.errors import ServiceError

logger = logging.getLogger(__name__)

LOCALES = tuple(code for code, _ in settings.LANGUAGES)


def _password_check(*, password: str, user: User, field: str) -> None:
    try:
        password_validation.validate_password(password, user=user)
    except ValidationError as exc:
        raise WeakPassword(list(exc.messages), field=field) from None


def _locale_check(locale: str) -> None:
    if locale not in LOCALES:
        message = gettext("Choose one of: %(choices)s.") % {"choices": ", ".join(LOCALES)}
        raise ServiceError(message, errors={"locale": [message]})


def _email_queue(*, template: str, user: User, context: dict) -> None:
    """Render now, send from a worker once the surrounding transaction has committed."""
    context = {"user": user, "site_url": settings.SITE_URL, **context}
    with translation.override(user.locale or settings.LANGUAGE_CODE):  # in the user's language
        subject = " ".join(render_to_string(f"accounts/email/{template}_subject.txt", context).split())
        body = render_to_string(f"accounts/email/{template}_body.txt", context)
    recipient = user.email
    transaction.on_commit(lambda: email_send.send(subject=subject, body=body, recipient=recipient))


def user_tokens_revoke(*, user: User) -> int:
    """Sign the user out everywhere: every refresh token still usable is blacklisted, and the
    user's token generation goes up, so every access token already issued is refused from the
    next request on (onevoice/auth.py). Returns how many refresh tokens were revoked."""
    with transaction.atomic():
        live = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True,
                                               expires_at__gt=timezone.now())
        revoked = BlacklistedToken.objects.bulk_create(
            [BlacklistedToken(token=token) for token in live], ignore_conflicts=True
        )
        User.objects.filter(pk=user.pk).update(token_generation=F("token_generation") + 1)
        user.refresh_from_db(fields=["token_generation"])
    # Written at once, not after commit: a poll in between would otherwise re-read the old
    # generation into the cache. A rollback after this point (none of the callers has one)
    # would only sign the user out for TOKEN_GENERATION_CACHE_SECONDS.
    token_generation_remember(user.pk, user.token_generation)
    return len(revoked)


def user_verification_email_send(*, user: User) -> None:
    token = email_verification_token_make(user=user)
    link = settings.SITE_URL + reverse("verify_email", args=[token])
    hours = settings.EMAIL_VERIFICATION_MAX_AGE // 3600
    _email_queue(template="verify_email", user=user, context={"link": link, "hours": hours})


@dataclass(frozen=True)
class Registration:
    """What a sign-up made: the new user, or (`created` false) an unsaved stand-in shaped like
    one, when the address already has an account. The caller answers the same either way."""

    user: User
    created: bool


@transaction.atomic
def user_register(*, email: str, password: str, name: str = "", locale: str = "en") -> Registration:
    """The account alone; portal.account.account_register adds billing's sign-up bonus.

    An address that already has an account is not revealed: its owner gets an email saying
    someone tried (with the links to log in or reset the password), and the caller gets a
    stand-in user that is never saved."""
    email = User.objects.normalize_email(email.strip())
    _locale_check(locale)
    _password_check(password=password, user=User(email=email, name=name), field="password")
    existing = User.objects.filter(email__iexact=email).first()
    if existing is None:
        try:
            with transaction.atomic():  # savepoint: a racing sign-up hits the unique index instead
                user = User.objects.create_user(email=email, password=password, name=name, locale=locale)
        except IntegrityError:
            existing = User.objects.filter(email__iexact=email).first()
        else:
            user_verification_email_send(user=user)
            return Registration(user=user, created=True)
    stand_in = User(email=email, name=name, locale=locale)
    stand_in.set_password(password)  # the same hashing work as a real sign-up: the time tells nothing
    if existing is not None and existing.is_active:
        _email_queue(template="signup_existing", user=existing, context={
            "login_link": settings.SITE_URL + reverse("login"),
            "reset_link": settings.SITE_URL + reverse("password_reset"),
        })
    logger.info("sign-up for an address that has an account")
    return Registration(user=stand_in, created=False)


def user_verification_email_resend(*, user: User) -> None:
    if user.email_verified:
        raise AlreadyVerified()
    user_verification_email_send(user=user)


def user_verify_email(*, token: str) -> User:
    claim = email_verification_token_read(token=token)
    user = User.objects.filter(id=claim.user_id, is_active=True).first()
    if user is None or user.email.lower() != claim.email:
        raise InvalidToken()
    if not user.email_verified:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
    return user


def user_require_verified(*, user: User) -> None:
    """Refuse paid work (jobs, payments) to an unverified user when verification is required."""
    if user_must_verify_email(user=user):
        raise EmailUnverified()


def user_update(*, user: User, name: str | None = None, locale: str | None = None) -> User:
    fields = []
    if name is not None:
        user.name = name.strip()
        fields.append("name")
    if locale is not None:
        _locale_check(locale)
        user.locale = locale
        fields.append("locale")
    if fields:
        user.save(update_fields=fields)
    return user


@transaction.atomic
def user_password_change(*, user: User, old_password: str, new_password: str) -> None:
    """Change the password and sign out every other device (their refresh tokens die)."""
    if not user.check_password(old_password):
        raise WrongPassword(field="old_password")
    _password_check(password=new_password, user=user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    user_tokens_revoke(user=user)


def user_password_reset_request(*, email: str) -> None:
    """Email a reset link if an active account has this address; say nothing either way."""
    user = user_get_active_by_email(email=email)
    if user is None or not user.has_usable_password():
        logger.info("password reset asked for an unknown address")
        return
    token = password_reset_token_make(user=user)
    link = settings.SITE_URL + reverse("password_reset_confirm", args=[token])
    hours = settings.PASSWORD_RESET_TIMEOUT // 3600
    _email_queue(template="password_reset", user=user, context={"link": link, "hours": hours})


@transaction.atomic
def user_password_reset_confirm(*, token: str, password: str) -> User:
    user = password_reset_token_user(token=token)
    _password_check(password=password, user=user, field="password")
    user.set_password(password)  # also makes the reset token unusable (it hashes the password)
    update = ["password"]
    if not user.email_verified:
        # The link reached this mailbox, which is all verification proves.
        user.email_verified_at = timezone.now()
        update.append("email_verified_at")
    user.save(update_fields=update)
    user_tokens_revoke(user=user)
    return user


def user_password_verify(*, user: User, password: str) -> None:
    if not user.check_password(password):
        raise WrongPassword()


def user_delete(*, user: User, password: str) -> None:
    """Anonymise the account in place. Ledger rows and payments keep pointing at it. Callers
    erase the user's files first: portal.deletion.account_delete composes the whole flow."""
    user_password_verify(user=user, password=password)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        user.email = f"deleted-{user.id}@deleted.invalid"
        user.name = ""
        user.email_verified_at = None
        user.set_unusable_password()
        user.is_active = False
        user.deleted_at = timezone.now()
        user.save(update_fields=["email", "name", "email_verified_at", "password", "is_active", "deleted_at"])
        user_tokens_revoke(user=user)
    logger.info("account deleted", extra={"user_id": str(user.id)})


@transaction.atomic
def demo_user_ensure(*, email: str, password: str) -> tuple[User, bool]:
    """Make sure a verified demo account exists with this password. Returns (user, created).
    portal.account.demo_account_ensure adds the sign-up bonus to a new one."""
    user = User.objects.select_for_update().filter(email__iexact=email).first()
    created = user is None
    if created:
        user = User.objects.create_user(email=email, password=None, name="Demo", locale="en")
    # The demo password is printed for whoever runs the command, so the validators do not apply.
    user.set_password(password)
    user.is_active = True
    if not user.email_verified:
        user.email_verified_at = timezone.now()
    user.save()
    return user, created
