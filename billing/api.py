"""Billing JSON API (API.md "Billing")."""

from __future__ import annotations

from collections.abc import Mapping

from django.http import UnreadablePostError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import EmailVerifiedForPaidWork
from billing import selectors, services
from billing.errors import (
    CurrencyUnavailable,
    AlreadySubscribed,
    BillingKeyInvalid,
    InvalidWebhook,
    PackUnavailable,
    PaymentFailed,
    PaymentMismatch,
    PaymentProviderUnavailable,
    PaymentsNotConfigured,
    PlanUnavailable,
    SubscriptionNotActive,
)
from billing.buyers import buyer_country
from billing.models import Provider
from billing.providers import provider_choose
from billing.serializers import (
    BillingKeyIssueOutputSerializer,
    CreditPackOutputSerializer,
    LedgerEntryOutputSerializer,
    PaymentOutputSerializer,
    PaymentPrepareInputSerializer,
    PaymentPrepareOutputSerializer,
    ProviderSubscriptionStartOutputSerializer,
    PlanOutputSerializer,
    SubscriptionCompleteInputSerializer,
    SubscriptionOutputSerializer,
    SubscriptionStartInputSerializer,
    SubscriptionUpdateInputSerializer,
)
from onevoice.errors import NotFound, RequestTooLarge
from onevoice.idempotency import IDEMPOTENCY_KEY, idempotent
from onevoice.schema import raises
from onevoice.throttling import ScopedRateThrottle


class CreditPackListApi(generics.ListAPIView):
    serializer_class = CreditPackOutputSerializer

    def get_queryset(self):
        return selectors.credit_pack_list()


class LedgerEntryListApi(generics.ListAPIView):
    """Served by portal's subclass, which names the videos (billing cannot read dubbing's jobs)."""

    serializer_class = LedgerEntryOutputSerializer

    def get_queryset(self):
        return selectors.ledger_entry_list(user=self.request.user)

    def videos_of(self, entries: list) -> Mapping | None:
        """job id -> the video it dubbed (with id and title), for the entries' jobs; None: unknown here."""
        return None

    def get_serializer(self, *args, **kwargs):
        if kwargs.get("many") and args:
            entries = list(args[0])
            context = kwargs.setdefault("context", self.get_serializer_context())
            context["videos"] = self.videos_of(entries)
            args = (entries, *args[1:])
        return super().get_serializer(*args, **kwargs)


class PaymentListCreateApi(generics.ListAPIView):
    """GET: my payments. POST: prepare a payment for a pack (the server sets id and price)."""

    serializer_class = PaymentOutputSerializer
    # Buying waits for a confirmed email address when REQUIRE_EMAIL_VERIFICATION is on.
    permission_classes = [IsAuthenticated, EmailVerifiedForPaidWork]

    def get_queryset(self):
        return selectors.payment_list(user=self.request.user)

    @extend_schema(parameters=[IDEMPOTENCY_KEY], request=PaymentPrepareInputSerializer,
                   responses={201: PaymentPrepareOutputSerializer})
    @idempotent
    @raises(PaymentsNotConfigured, PackUnavailable, CurrencyUnavailable, PaymentProviderUnavailable)
    def post(self, request):
        serializer = PaymentPrepareInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment = services.payment_prepare(
            user=request.user, pack_id=serializer.validated_data["pack_id"],
            currency=serializer.validated_data.get("currency", ""), country=buyer_country(request), request_key=request.headers.get("Idempotency-Key", ""))
        return Response(PaymentPrepareOutputSerializer(payment).data, status=status.HTTP_201_CREATED)


class PaymentCompleteApi(APIView):
    # payment_sync asks PortOne (502 when it does not answer).
    error_responses = (PaymentsNotConfigured, PaymentMismatch, PaymentFailed, PaymentProviderUnavailable)

    @extend_schema(request=None, responses=PaymentOutputSerializer)
    def post(self, request, payment_id: str):
        payment = services.payment_complete(user=request.user, payment_id=payment_id)
        return Response(PaymentOutputSerializer(payment).data)


class PaymentCloseApi(APIView):
    # The checkout was closed unpaid: the provider is asked first (502 when it does not answer).
    error_responses = (PaymentsNotConfigured, PaymentProviderUnavailable)

    @extend_schema(request=None, responses=PaymentOutputSerializer,
                   summary="The user closed the checkout: cancelled, unless the provider says it was paid")
    def post(self, request, payment_id: str):
        payment = services.payment_checkout_close(user=request.user, payment_id=payment_id)
        return Response(PaymentOutputSerializer(payment).data)


class PlanListApi(generics.ListAPIView):
    serializer_class = PlanOutputSerializer

    def get_queryset(self):
        return selectors.plan_list()


class SubscriptionApi(APIView):
    """GET: my plan (404 when I never had one). POST: choose a plan; the answer is what the
    browser SDK needs to issue a billing key. PATCH: change plan, cancel or resume."""

    permission_classes = [IsAuthenticated, EmailVerifiedForPaidWork]

    @extend_schema(responses=SubscriptionOutputSerializer)
    @raises(NotFound)
    def get(self, request):
        subscription = services.subscription_get_for_user(user=request.user)
        return Response(SubscriptionOutputSerializer(subscription).data)

    @extend_schema(parameters=[IDEMPOTENCY_KEY], request=SubscriptionStartInputSerializer,
                   responses={201: BillingKeyIssueOutputSerializer})
    @idempotent
    @raises(PaymentsNotConfigured, PlanUnavailable, AlreadySubscribed)
    def post(self, request):
        serializer = SubscriptionStartInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        currency = serializer.validated_data.get("currency", "")
        if currency:
            provider = provider_choose(currency=currency, country=buyer_country(request))
            if provider.name != Provider.PORTONE:
                # A plan the provider renews itself (Stripe): its checkout, like a pack's.
                payment = services.subscription_provider_start(
                    user=request.user, plan_id=serializer.validated_data["plan_id"], currency=currency,
                    provider=provider)
                return Response(ProviderSubscriptionStartOutputSerializer(payment).data,
                                status=status.HTTP_201_CREATED)
        subscription = services.subscription_start(user=request.user, plan_id=serializer.validated_data["plan_id"])
        return Response(BillingKeyIssueOutputSerializer(subscription).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SubscriptionUpdateInputSerializer, responses=SubscriptionOutputSerializer)
    @raises(NotFound, PlanUnavailable, SubscriptionNotActive, PaymentFailed, PaymentProviderUnavailable)
    def patch(self, request):
        serializer = SubscriptionUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription = services.subscription_change(user=request.user, **serializer.validated_data)
        return Response(SubscriptionOutputSerializer(subscription).data)


class SubscriptionPortalApi(APIView):
    """POST: a link to the payment provider's own page for a provider-run plan (Stripe's customer
    portal): update the card, see invoices, cancel."""

    permission_classes = [IsAuthenticated, EmailVerifiedForPaidWork]
    error_responses = (NotFound, PaymentProviderUnavailable)

    @extend_schema(request=None, responses={200: OpenApiResponse(description="{url}")})
    def post(self, request):
        return Response({"url": services.subscription_portal_url(user=request.user)})


class SubscriptionCompleteApi(APIView):
    """The browser SDK issued a billing key: check it, store it, charge the first period (or
    retry a past-due one with the new card). The same key again changes nothing."""

    permission_classes = [IsAuthenticated, EmailVerifiedForPaidWork]
    error_responses = (NotFound, PaymentsNotConfigured, BillingKeyInvalid, PaymentFailed, PaymentMismatch,
                       PaymentProviderUnavailable)

    @extend_schema(request=SubscriptionCompleteInputSerializer, responses=SubscriptionOutputSerializer)
    def post(self, request):
        serializer = SubscriptionCompleteInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription = services.subscription_complete(
            user=request.user, billing_key=serializer.validated_data["billing_key_id"])
        return Response(SubscriptionOutputSerializer(subscription).data)


class SubscriptionCardApi(APIView):
    """A new card: what the SDK needs to issue a billing key; its `complete` replaces the old one."""

    permission_classes = [IsAuthenticated, EmailVerifiedForPaidWork]

    @extend_schema(parameters=[IDEMPOTENCY_KEY], request=None, responses={201: BillingKeyIssueOutputSerializer})
    @idempotent
    @raises(NotFound, PaymentsNotConfigured)
    def post(self, request):
        subscription = services.subscription_card_start(user=request.user)
        return Response(BillingKeyIssueOutputSerializer(subscription).data, status=status.HTTP_201_CREATED)


class ProviderWebhookApi(APIView):
    """A payment provider's webhook (`provider` set by each subclass, billing/providers/)."""

    # The provider signs the body; there is no user, no session and no CSRF token. Anyone can
    # call, so each client address has its own rate (generous: providers deliver from a few).
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "portone_webhook"
    error_responses = (InvalidWebhook, PaymentsNotConfigured, PaymentProviderUnavailable)
    provider = Provider.PORTONE

    # The body is the provider's signed JSON, read raw (any object here; the signature decides).
    @extend_schema(request={"application/json": OpenApiTypes.OBJECT},
                   responses={200: OpenApiResponse(description="Accepted")})
    def post(self, request):
        delivery = services.webhook_delivery_receive(
            body=_webhook_body(request), headers=request.headers, provider=self.provider)
        answer = {"detail": "ok", "processed": delivery.processed}
        if delivery.ignored:
            answer["ignored"] = delivery.ignored  # verified and stored, and nothing to do: a code why
        return Response(answer)

    def throttled(self, request, wait):
        services.webhook_rejection_count(reason=services.WebhookRejection.THROTTLED)
        super().throttled(request, wait)


class PortOneWebhookApi(ProviderWebhookApi):
    provider = Provider.PORTONE


class StripeWebhookApi(ProviderWebhookApi):
    provider = Provider.STRIPE
    throttle_scope = "stripe_webhook"


class PaddleWebhookApi(ProviderWebhookApi):
    provider = Provider.PADDLE
    throttle_scope = "paddle_webhook"


def _webhook_body(request) -> bytes:
    """The body, refused over WEBHOOK_MAX_BYTES: on its Content-Length before a byte is read, and
    on what was read (ASGI passes a chunked body without a length)."""
    try:
        announced = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        announced = 0
    if announced <= services.WEBHOOK_MAX_BYTES:
        try:
            body = request.read(services.WEBHOOK_MAX_BYTES + 1)
        except UnreadablePostError:
            services.webhook_rejection_count(reason=services.WebhookRejection.MALFORMED)
            raise  # answered 400 incomplete_body by the error handler
        if len(body) <= services.WEBHOOK_MAX_BYTES:
            return body
    services.webhook_rejection_count(reason=services.WebhookRejection.TOO_LARGE)
    raise RequestTooLarge(log_detail=f"webhook body over {services.WEBHOOK_MAX_BYTES} bytes")
