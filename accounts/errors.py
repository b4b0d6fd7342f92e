"""Errors the accounts services raise; each renders as {"detail", "code", "errors"?}."""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext_lazy as _
from rest_framework import status

from onevoice.errors import Conflict, ServiceError


class AccountsErrorCode(StrEnum):
    EMAIL_TAKEN = "email_taken"
    WEAK_PASSWORD = "weak_password"
    WRONG_PASSWORD = "wrong_password"
    INVALID_TOKEN = "invalid_token"
    TOKEN_EXPIRED = "token_expired"
    EMAIL_UNVERIFIED = "email_unverified"
    ALREADY_VERIFIED = "already_verified"
    INVALID_CREDENTIALS = "invalid_credentials"


class EmailTaken(ServiceError):
    code = AccountsErrorCode.EMAIL_TAKEN.value
    default_detail = _("An account with this email address already exists.")

    def __init__(self, detail: str | None = None):
        super().__init__(detail, errors={"email": [detail or self.default_detail]})


class WeakPassword(ServiceError):
    """Django's password validators refused the password; `errors` carries their reasons."""

    code = AccountsErrorCode.WEAK_PASSWORD.value
    default_detail = _("Choose a stronger password.")

    def __init__(self, reasons: list[str], *, field: str = "password"):
        super().__init__(f"{field}: {reasons[0]}" if reasons else None, errors={field: reasons})
        self.field = field
        self.reasons = reasons


class WrongPassword(ServiceError):
    code = AccountsErrorCode.WRONG_PASSWORD.value
    default_detail = _("The password is not correct.")

    def __init__(self, *, field: str = "password"):
        super().__init__(errors={field: [self.default_detail]})
        self.field = field


class InvalidToken(ServiceError):
    code = AccountsErrorCode.INVALID_TOKEN.value
    default_detail = _("This link is not valid. Ask for a new one.")

    def __init__(self, detail: str | None = None):
        super().__init__(detail, errors={"token": [detail or self.default_detail]})


class TokenExpired(InvalidToken):
    code = AccountsErrorCode.TOKEN_EXPIRED.value
    default_detail = _("This link has expired. Ask for a new one.")


class EmailUnverified(ServiceError):
    status_code = status.HTTP_403_FORBIDDEN
    code = AccountsErrorCode.EMAIL_UNVERIFIED.value
    default_detail = _("Verify your email address before starting paid work.")


class AlreadyVerified(Conflict):
    code = AccountsErrorCode.ALREADY_VERIFIED.value
    default_detail = _("Your email address is already verified.")
