"""The accounts JSON API (API.md "Auth and account"). Views parse input and call services.

The endpoints whose answer or work reaches above accounts (register with its sign-up bonus,
verify-email and /me, whose body shows the credits, and deleting the account with its dubs and
videos) are portal.api's, at the same paths under the same names."""

from __future__ import annotations

from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from accounts import serializers as s
from accounts import selectors, services
from accounts.errors import (
    AccountsErrorCode,
    AlreadyVerified,
    TokenExpired,
    WeakPassword,
    WrongPassword,
)
from accounts.errors import InvalidToken as InvalidLinkToken
from accounts.tokens import refresh_token_for
from onevoice.throttling import AnonRateThrottle, ScopedRateThrottle, UserRateThrottle

THROTTLES = [AnonRateThrottle, UserRateThrottle, ScopedRateThrottle]


class AnonymousApi(APIView):
    # No session auth here: these endpoints act on what the body proves (credentials or a
    # token), so a browser's session cookie must not drag CSRF checks into them.
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = THROTTLES

    def get_authenticate_header(self, request) -> str:
        # Without an authenticator DRF would turn a bad token's 401 into 403.
        return 'Bearer realm="api"'


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


class LogoutApi(AnonymousApi):
    # Holding the refresh token is the proof needed to revoke it, so a client whose access
    # token has already expired can still log out.
    error_responses = (InvalidToken,)

    @extend_schema(
        tags=["auth"],
        request=s.LogoutInputSerializer,
        responses={205: OpenApiResponse(description="The refresh token is revoked (with everywhere: all the "
                                                    "account's tokens, access tokens included)")},
        summary="Revoke a refresh token, or sign out everywhere",
    )
    def post(self, request):
        data = valid_data(s.LogoutInputSerializer, request)
        try:
            refresh = RefreshToken(data["refresh"])
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc
        if data["everywhere"]:
            user = selectors.user_get_by_token_claim(user_id=refresh.get(jwt_settings.USER_ID_CLAIM))
            if user is None:
                raise InvalidToken()
            services.user_tokens_revoke(user=user)
        else:
            refresh.blacklist()
        return Response(status=status.HTTP_205_RESET_CONTENT)


class PasswordResetApi(AnonymousApi):
    throttle_scope = "password_reset"

    @extend_schema(
        tags=["auth"],
        request=s.EmailInputSerializer,
        responses={202: s.DetailOutputSerializer},
        summary="Email a password reset link (same answer whether or not the address exists)",
    )
    def post(self, request):
        data = valid_data(s.EmailInputSerializer, request)
        services.user_password_reset_request(email=data["email"])
        return Response(
            {"detail": gettext("If an account uses this address, a reset link is on its way.")},
            status=status.HTTP_202_ACCEPTED,
        )


class PasswordResetConfirmApi(AnonymousApi):
    error_responses = (InvalidLinkToken, TokenExpired, WeakPassword)
    @extend_schema(
        tags=["auth"],
        request=s.PasswordResetConfirmInputSerializer,
        responses={200: s.DetailOutputSerializer},
        summary="Set a new password with the token from the emailed link",
    )
    def post(self, request):
        data = valid_data(s.PasswordResetConfirmInputSerializer, request)
        services.user_password_reset_confirm(token=data["token"], password=data["password"])
        return Response({"detail": gettext("Your password has been changed. Log in with the new one.")})


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
        data = valid_data(s.PasswordChangeInputSerializer, request)
        services.user_password_change(user=request.user, **data)
        refresh = refresh_token_for(user=request.user)  # of the generation the change started
        return Response(
            {
                "detail": gettext("Your password has been changed."),
                "access": str(refresh.access_token),
                "refresh": str(refresh),
            }
        )


def valid_data(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
