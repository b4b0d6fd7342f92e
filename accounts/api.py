"""The accounts JSON API (API.md "Auth and account"). Views parse input and call services."""

from __future__ import annotations

from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from accounts import serializers as s
from accounts import services
from accounts.errors import (
    AccountsErrorCode,
    AlreadyVerified,
    EmailTaken,
    TokenExpired,
    WeakPassword,
    WrongPassword,
)
from accounts.errors import InvalidToken as InvalidLinkToken
from onevoice.account import account_credits, account_register
from onevoice.deletion import account_delete
from onevoice.errors import ServiceError
from onevoice.schema import ErrorResponsesAutoSchema, raises
from onevoice.throttling import AnonRateThrottle, ScopedRateThrottle, UserRateThrottle

THROTTLES = [AnonRateThrottle, UserRateThrottle, ScopedRateThrottle]


class _AnonymousApi(APIView):
    # No session auth here: these endpoints act on what the body proves (credentials or a
    # token), so a browser's session cookie must not drag CSRF checks into them.
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = THROTTLES

    def get_authenticate_header(self, request) -> str:
        # Without an authenticator DRF would turn a bad token's 401 into 403.
        return 'Bearer realm="api"'


class RegisterApi(_AnonymousApi):
    throttle_scope = "register"
    error_responses = (EmailTaken, WeakPassword)

    @extend_schema(
        tags=["auth"],
        request=s.RegisterInputSerializer,
        responses={201: s.UserOutputSerializer},
        summary="Create an account; a verification email is sent",
    )
    def post(self, request):
        data = _valid(s.RegisterInputSerializer, request)
        user = account_register(**data)
        return Response(_user_body(user), status=status.HTTP_201_CREATED)


class VerifyEmailApi(_AnonymousApi):
    error_responses = (InvalidLinkToken, TokenExpired)
    @extend_schema(
        tags=["auth"],
        request=s.TokenInputSerializer,
        responses={200: s.UserOutputSerializer},
        summary="Verify an email address with the token from the emailed link",
    )
    def post(self, request):
        data = _valid(s.TokenInputSerializer, request)
        user = services.user_verify_email(token=data["token"])
        return Response(_user_body(user))


class VerifyEmailResendApi(APIView):
    throttle_classes = THROTTLES
    throttle_scope = "verify_resend"
    error_responses = (AlreadyVerified,)

    @extend_schema(
        tags=["auth"],
        request=None,
        responses={202: s.DetailOutputSerializer},
        summary="Send the verification email again",
    )
    def post(self, request):
        services.user_verification_email_resend(user=request.user)
        return Response({"detail": gettext("Verification email sent.")}, status=status.HTTP_202_ACCEPTED)


class TokenObtainApi(TokenObtainPairView):
    serializer_class = s.EmailLoginSerializer
    throttle_classes = THROTTLES
    throttle_scope = "login"
    error_responses = ((401, AccountsErrorCode.INVALID_CREDENTIALS.value),)

    @extend_schema(
        tags=["auth"],
        request=s.EmailLoginSerializer,
        responses={200: s.TokenPairOutputSerializer},
        summary="Log in with email and password",
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class TokenRefreshApi(TokenRefreshView):
    serializer_class = s.RotatingRefreshSerializer
    error_responses = (InvalidToken,)

    @extend_schema(
        tags=["auth"],
        request=s.RefreshInputSerializer,
        responses={200: s.TokenPairOutputSerializer},
        summary="Trade a refresh token for a new pair; the old refresh token stops working",
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class LogoutApi(_AnonymousApi):
    # Holding the refresh token is the proof needed to revoke it, so a client whose access
    # token has already expired can still log out.
    error_responses = (InvalidToken,)

    @extend_schema(
        tags=["auth"],
        request=s.RefreshInputSerializer,
        responses={205: OpenApiResponse(description="The refresh token is revoked")},
        summary="Revoke a refresh token",
    )
    def post(self, request):
        data = _valid(s.RefreshInputSerializer, request)
        try:
            RefreshToken(data["refresh"]).blacklist()
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc
        return Response(status=status.HTTP_205_RESET_CONTENT)


class PasswordResetApi(_AnonymousApi):
    throttle_scope = "password_reset"

    @extend_schema(
        tags=["auth"],
        request=s.EmailInputSerializer,
        responses={202: s.DetailOutputSerializer},
        summary="Email a password reset link (same answer whether or not the address exists)",
    )
    def post(self, request):
        data = _valid(s.EmailInputSerializer, request)
        services.user_password_reset_request(email=data["email"])
        return Response(
            {"detail": gettext("If an account uses this address, a reset link is on its way.")},
            status=status.HTTP_202_ACCEPTED,
        )


class PasswordResetConfirmApi(_AnonymousApi):
    error_responses = (InvalidLinkToken, TokenExpired, WeakPassword)
    @extend_schema(
        tags=["auth"],
        request=s.PasswordResetConfirmInputSerializer,
        responses={200: s.DetailOutputSerializer},
        summary="Set a new password with the token from the emailed link",
    )
    def post(self, request):
        data = _valid(s.PasswordResetConfirmInputSerializer, request)
        services.user_password_reset_confirm(token=data["token"], password=data["password"])
        return Response({"detail": gettext("Your password has been changed. Log in with the new one.")})


class _DeleteWithBodySchema(ErrorResponsesAutoSchema):
    """drf-spectacular documents bodies only for POST/PUT/PATCH; DELETE /me takes the password."""

    def _get_request_body(self, direction="request"):
        if self.method != "DELETE":
            return super()._get_request_body(direction)
        self.method = "POST"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"


class MeApi(APIView):
    permission_classes = [IsAuthenticated]
    schema = _DeleteWithBodySchema()

    @extend_schema(tags=["account"], responses={200: s.UserOutputSerializer})
    def get(self, request):
        return Response(_user_body(request.user))

    @extend_schema(
        tags=["account"],
        request=s.UserUpdateInputSerializer,
        responses={200: s.UserOutputSerializer},
    )
    @raises(ServiceError)  # an unknown locale
    def patch(self, request):
        data = _valid(s.UserUpdateInputSerializer, request)
        user = services.user_update(user=request.user, **data)
        return Response(_user_body(user))

    @extend_schema(
        tags=["account"],
        request=s.PasswordInputSerializer,
        responses={204: OpenApiResponse(description="Personal data erased; ledger kept")},
        summary="Delete my account (confirm with the password)",
    )
    @raises(WrongPassword)
    def delete(self, request):
        data = _valid(s.PasswordInputSerializer, request)
        account_delete(user=request.user, password=data["password"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class MePasswordApi(APIView):
    permission_classes = [IsAuthenticated]
    error_responses = (WrongPassword, WeakPassword)

    @extend_schema(
        tags=["account"],
        request=s.PasswordChangeInputSerializer,
        responses={200: s.PasswordChangeOutputSerializer},
        summary="Change my password; other devices are logged out, a fresh token pair is returned",
    )
    def post(self, request):
        data = _valid(s.PasswordChangeInputSerializer, request)
        services.user_password_change(user=request.user, **data)
        refresh = RefreshToken.for_user(request.user)
        return Response(
            {
                "detail": gettext("Your password has been changed."),
                "access": str(refresh.access_token),
                "refresh": str(refresh),
            }
        )


def _user_body(user) -> dict:
    return s.UserOutputSerializer(user, context={"credits": account_credits(user=user)}).data


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
