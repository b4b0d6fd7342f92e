"""The API endpoints whose answer or work crosses apps (API.md "Auth and account", "Videos").

Registering grants billing's sign-up bonus; a user body (register, verify-email, /me) shows the
credits; deleting the account or a video removes its dubs first (portal.account, portal.deletion).
They are served at the same paths under the same names as accounts' and videos' other endpoints
(portal.urls); everything else about an account or a video stays in accounts.api and videos.api.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import serializers as s
from accounts import services
from accounts.api import AnonymousApi, valid_data
from accounts.errors import TokenExpired, WeakPassword, WrongPassword
from accounts.errors import InvalidToken as InvalidLinkToken
from billing import api as billing_api
from billing.ledger_rows import ledger_job_ids
from dubbing.selectors import job_videos
from onevoice.errors import ServiceError
from onevoice.schema import ErrorResponsesAutoSchema, raises
from portal.account import account_credits, account_register, account_registered_credits
from portal.deletion import account_delete, video_delete_everything
from videos import api as videos_api
from videos import selectors as videos_selectors


class RegisterApi(AnonymousApi):
    throttle_scope = "register"
    error_responses = (WeakPassword,)

    @extend_schema(
        tags=["auth"],
        request=s.RegisterInputSerializer,
        responses={201: s.UserOutputSerializer},
        summary="Create an account; a verification email is sent (an address that has an account: the same "
                "answer, and its owner is emailed instead)",
    )
    def post(self, request):
        data = valid_data(s.RegisterInputSerializer, request)
        # The same answer whether or not the address has an account (the owner is emailed).
        registration = account_register(**data)
        credits = account_registered_credits(registration=registration)
        body = s.UserOutputSerializer(registration.user, context={"credits": credits}).data
        return Response(body, status=status.HTTP_201_CREATED)



class VerifyEmailApi(AnonymousApi):
    error_responses = (InvalidLinkToken, TokenExpired)
    @extend_schema(
        tags=["auth"],
        request=s.TokenInputSerializer,
        responses={200: s.UserOutputSerializer},
        summary="Verify an email address with the token from the emailed link",
    )
    def post(self, request):
        data = valid_data(s.TokenInputSerializer, request)
        user = services.user_verify_email(token=data["token"])
        return Response(user_body(user))



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
        return Response(user_body(request.user))

    @extend_schema(
        tags=["account"],
        request=s.UserUpdateInputSerializer,
        responses={200: s.UserOutputSerializer},
    )
    @raises(ServiceError)  # an unknown locale
    def patch(self, request):
        data = valid_data(s.UserUpdateInputSerializer, request)
        user = services.user_update(user=request.user, **data)
        return Response(user_body(user))

    @extend_schema(
        tags=["account"],
        request=s.PasswordInputSerializer,
        responses={204: OpenApiResponse(description="Personal data erased; ledger kept")},
        summary="Delete my account (confirm with the password)",
    )
    @raises(WrongPassword)
    def delete(self, request):
        data = valid_data(s.PasswordInputSerializer, request)
        account_delete(user=request.user, password=data["password"])
        return Response(status=status.HTTP_204_NO_CONTENT)



def user_body(user) -> dict:
    return s.UserOutputSerializer(user, context={"credits": account_credits(user=user)}).data


# billing's ledger, its entries naming the videos their jobs dubbed (billing cannot read jobs).
class LedgerEntryListApi(billing_api.LedgerEntryListApi):

    def videos_of(self, entries: list) -> dict:
        return job_videos(owner_id=self.request.user.pk, job_ids=ledger_job_ids(entries))


# videos' GET and PATCH of one video, and DELETE, which removes its dubs first. (A comment, not a
# docstring: drf-spectacular would print a docstring into the schema as the operations' description.)
class VideoDetailApi(videos_api.VideoDetailApi):

    @extend_schema(responses={204: None})
    def delete(self, request, video_id):
        video = videos_selectors.video_get(owner=request.user, video_id=video_id)
        video_delete_everything(video=video)
        return Response(status=status.HTTP_204_NO_CONTENT)
