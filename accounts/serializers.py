"""Input and output shapes of the accounts API (API.md "Auth and account")."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import (
    TokenObtainPairSerializer,
    TokenRefreshSerializer,
)
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.errors import AccountsErrorCode
from accounts.models import User
from accounts.tokens import refresh_token_for
from onevoice.serializers import InputSerializer, RejectUnknownFieldsMixin


class UserOutputSerializer(serializers.ModelSerializer):
    """The user of API.md. Credits are billing's, which accounts does not read: the caller
    passes them in the context as "credits" (portal.account.account_credits)."""

    email_verified = serializers.BooleanField(read_only=True)
    credits = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "email", "name", "locale", "email_verified", "credits", "date_joined"]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField())
    def get_credits(self, user: User) -> int:
        return self.context["credits"]


class RegisterInputSerializer(InputSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, trim_whitespace=False, max_length=128)
    name = serializers.CharField(allow_blank=True, max_length=150, default="")


class TokenInputSerializer(InputSerializer):
    token = serializers.CharField(max_length=2000)


class EmailLoginSerializer(RejectUnknownFieldsMixin, TokenObtainPairSerializer):
    """simplejwt's pair serializer with our own error code for a wrong email or password."""

    @classmethod
    def get_token(cls, user):
        return refresh_token_for(user=user)

    def validate(self, attrs):
        try:
            return super().validate(attrs)
        except AuthenticationFailed:
            raise AuthenticationFailed(
                _("The email or password is not correct."), AccountsErrorCode.INVALID_CREDENTIALS.value
            ) from None


class RotatingRefreshSerializer(RejectUnknownFieldsMixin, TokenRefreshSerializer):
    """simplejwt's refresh, with the old token's row locked while it is checked and blacklisted.

    Without the lock two requests presenting the same refresh token at once could both pass the
    blacklist check and both get a new pair; with it the second one waits and is refused.
    """

    def validate(self, attrs):
        try:
            # Unverified read, only to find which row to lock; super() verifies everything.
            jti = RefreshToken(attrs["refresh"], verify=False).get(jwt_settings.JTI_CLAIM)
        except TokenError:
            jti = None
        with transaction.atomic():
            if jti:
                # order_by(): the model orders by user, a nullable join FOR UPDATE cannot lock.
                list(OutstandingToken.objects.select_for_update().filter(jti=jti).order_by().values_list("pk"))
            return super().validate(attrs)


class TokenPairOutputSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class RefreshInputSerializer(InputSerializer):
    refresh = serializers.CharField()


class LogoutInputSerializer(InputSerializer):
    refresh = serializers.CharField()
    everywhere = serializers.BooleanField(
        default=False, help_text="Sign out every device: all refresh tokens and every access token stop working.")


class EmailInputSerializer(InputSerializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmInputSerializer(InputSerializer):
    token = serializers.CharField(max_length=2000)
    password = serializers.CharField(write_only=True, trim_whitespace=False, max_length=128)


class UserUpdateInputSerializer(InputSerializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    locale = serializers.ChoiceField(required=False, choices=[code for code, _ in settings.LANGUAGES])


class PasswordChangeInputSerializer(InputSerializer):
    old_password = serializers.CharField(write_only=True, trim_whitespace=False, max_length=128)
    new_password = serializers.CharField(write_only=True, trim_whitespace=False, max_length=128)


class PasswordChangeOutputSerializer(serializers.Serializer):
    detail = serializers.CharField()
    access = serializers.CharField(help_text="A fresh access token: the old refresh tokens were revoked.")
    refresh = serializers.CharField()


class PasswordInputSerializer(InputSerializer):
    password = serializers.CharField(write_only=True, trim_whitespace=False, max_length=128)


class DetailOutputSerializer(serializers.Serializer):
    detail = serializers.CharField()
