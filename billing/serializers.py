from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.ledger_rows import entry_category, entry_description, entry_job_id
from billing.models import CreditPack, LedgerEntry, Payment, Plan, Subscription
from billing.selectors import plan_credits_left
from onevoice.serializers import InputSerializer


class PriceSerializer(serializers.Serializer):
    currency = serializers.CharField()
    amount = serializers.IntegerField(help_text="In the currency's smallest unit (cents for USD and EUR).")


def _prices(item) -> list[dict]:
    """Its own price first, then the others by currency (prefetched: selectors)."""
    own = [{"currency": item.currency, "amount": item.price}]
    return own + [{"currency": p.currency, "amount": p.amount} for p in item.prices.all() if p.currency != item.currency]


class CreditPackOutputSerializer(serializers.ModelSerializer):
    prices = serializers.SerializerMethodField()

    class Meta:
        model = CreditPack
        fields = ["id", "name", "credits", "price", "currency", "prices"]

    @extend_schema_field(PriceSerializer(many=True))
    def get_prices(self, pack) -> list[dict]:
        return _prices(pack)


class LedgerVideoSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()


class LedgerEntryOutputSerializer(serializers.ModelSerializer):
    """An entry, with what it was (`category`: dub, rerender, refund, purchase, grant, expiry,
    adjustment), the sentence the history shows (`description`, in the reader's language) and the
    video a dub's entry was for. The videos come in the context (`videos`: job id -> a video with
    id and title, looked up by the layer that can read jobs); a job's entry whose video is gone, or
    any entry without a job, has `video` null."""

    category = serializers.SerializerMethodField()
    description = serializers.SerializerMethodField()
    reason = serializers.CharField(source="reason_shown", read_only=True)
    video = serializers.SerializerMethodField()

    class Meta:
        model = LedgerEntry
        fields = ["id", "kind", "category", "description", "reason", "video", "amount", "plan_amount",
                  "balance_after", "created_at", "ref"]

    def _videos(self) -> dict | None:
        return self.context.get("videos")

    def get_category(self, entry) -> str:
        return entry_category(entry)

    def get_description(self, entry) -> str:
        videos = self._videos()
        if videos is not None and not hasattr(self, "_titles"):
            self._titles = {job_id: video.title for job_id, video in videos.items()}
        return entry_description(entry, videos=None if videos is None else self._titles)

    @extend_schema_field(LedgerVideoSerializer(allow_null=True))
    def get_video(self, entry) -> dict | None:
        video = (self._videos() or {}).get(entry_job_id(entry) or "")
        return None if video is None else {"id": video.id, "title": video.title}


class PaymentOutputSerializer(serializers.ModelSerializer):
    pack_id = serializers.UUIDField(read_only=True)
    error_code = serializers.CharField(source="failure_code", read_only=True)
    error = serializers.CharField(source="failure_shown", read_only=True)
    order_name = serializers.CharField(read_only=True, help_text="The order's name as PortOne was sent it (orderName).")
    title = serializers.CharField(read_only=True, help_text="What the order buys, in the reader's language.")

    class Meta:
        model = Payment
        fields = [
            "payment_id",
            "pack_id",
            "order_name",
            "title",
            "credits",
            "amount",
            "currency",
            "status",
            "cancelled_amount",
            "error_code",
            "error",
            "paid_at",
            "created_at",
            "provider",
            "receipt_url",
        ]


class PaymentPrepareInputSerializer(InputSerializer):
    pack_id = serializers.UUIDField()
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False,
                                      help_text="ISO 4217 code; the pack's own currency when left out.")


class PaymentPrepareOutputSerializer(PaymentOutputSerializer):
    """What the browser needs to pay, from the provider that serves this order (`checkout`);
    for PortOne also at the top level, as `PortOne.requestPayment` takes it. The amount comes
    from our order, never the client."""

    checkout = serializers.JSONField(read_only=True, help_text="The provider's checkout: PortOne's "
                                     "requestPayment fields, Stripe's `url`, Paddle's `transaction_id`.")
    store_id = serializers.SerializerMethodField()
    channel_key = serializers.SerializerMethodField()
    pay_method = serializers.SerializerMethodField()
    redirect_url = serializers.SerializerMethodField()
    customer = serializers.SerializerMethodField()

    class Meta(PaymentOutputSerializer.Meta):
        fields = [
            *PaymentOutputSerializer.Meta.fields,
            "checkout",
            "store_id",
            "channel_key",
            "pay_method",
            "redirect_url",
            "customer",
        ]

    def get_store_id(self, payment) -> str:
        return (payment.checkout or {}).get("store_id", "")

    def get_channel_key(self, payment) -> str:
        return (payment.checkout or {}).get("channel_key", "")

    def get_pay_method(self, payment) -> str:
        return (payment.checkout or {}).get("pay_method", "")

    def get_redirect_url(self, payment) -> str:
        return (payment.checkout or {}).get("redirect_url", "")

    def get_customer(self, payment) -> dict:
        return (payment.checkout or {}).get("customer", {})


class PlanOutputSerializer(serializers.ModelSerializer):
    prices = serializers.SerializerMethodField()

    class Meta:
        model = Plan
        fields = ["id", "name", "credits_per_period", "price", "currency", "rollover_max", "prices"]

    @extend_schema_field(PriceSerializer(many=True))
    def get_prices(self, plan) -> list[dict]:
        return _prices(plan)


class NextChargeSerializer(serializers.Serializer):
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    at = serializers.DateTimeField()


class SubscriptionOutputSerializer(serializers.ModelSerializer):
    """A subscription as its owner sees it: never the billing key, only the card's masked label."""

    plan = PlanOutputSerializer(read_only=True)
    next_plan = PlanOutputSerializer(read_only=True, allow_null=True,
                                     help_text="The plan from the next renewal on, after a downgrade.")
    card = serializers.CharField(source="card_label", read_only=True)
    next_charge = serializers.SerializerMethodField()
    period_credits_left = serializers.SerializerMethodField()

    class Meta:
        model = Subscription
        fields = [
            "id",
            "plan",
            "next_plan",
            "status",
            "current_period_start",
            "current_period_end",
            "cancel_at_period_end",
            "next_charge",
            "period_credits_left",
            "card",
            "failed_attempts",
            "next_attempt_at",
            "ended_at",
            "created_at",
        ]

    @extend_schema_field(NextChargeSerializer(allow_null=True))
    def get_next_charge(self, subscription) -> dict | None:
        if subscription.status not in (Subscription.Status.ACTIVE, Subscription.Status.PAST_DUE):
            return None
        if subscription.cancel_at_period_end:
            return None
        plan = subscription.next_plan or subscription.plan
        return {"amount": plan.price, "currency": plan.currency, "at": subscription.next_attempt_at}

    def get_period_credits_left(self, subscription) -> int:
        return plan_credits_left(user=subscription.user)


class SubscriptionStartInputSerializer(InputSerializer):
    plan_id = serializers.UUIDField()
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False, help_text=(
        "ISO 4217 code; left out: the plan's own (PortOne's billing key). Another currency goes to "
        "the provider that serves it, which renews the plan itself."))


class ProviderSubscriptionStartOutputSerializer(serializers.Serializer):
    """A plan chosen with a provider that renews it itself (Stripe): its checkout for month 1."""

    subscription_id = serializers.UUIDField()
    payment_id = serializers.CharField()
    provider = serializers.CharField()
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    checkout = serializers.JSONField()


class SubscriptionCompleteInputSerializer(InputSerializer):
    billing_key_id = serializers.CharField(max_length=200, help_text="The billingKey the browser SDK returned.")


class SubscriptionUpdateInputSerializer(InputSerializer):
    plan_id = serializers.UUIDField(required=False)
    cancel_at_period_end = serializers.BooleanField(required=False)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError(_("Give plan_id, cancel_at_period_end, or both."))
        return attrs


class BillingKeyIssueOutputSerializer(serializers.Serializer):
    """Everything `PortOne.requestIssueBillingKey` needs; `complete` takes the key it returns."""

    subscription_id = serializers.UUIDField(source="id")
    plan = PlanOutputSerializer()
    store_id = serializers.SerializerMethodField()
    channel_key = serializers.SerializerMethodField()
    billing_key_method = serializers.SerializerMethodField()
    issue_id = serializers.CharField(source="pending_issue_id")
    issue_name = serializers.SerializerMethodField()
    redirect_url = serializers.SerializerMethodField()
    customer = serializers.SerializerMethodField()

    def get_store_id(self, subscription) -> str:
        return settings.PORTONE_STORE_ID

    def get_channel_key(self, subscription) -> str:
        return settings.PORTONE_CHANNEL_KEY

    def get_billing_key_method(self, subscription) -> str:
        return "CARD"

    def get_issue_name(self, subscription) -> str:
        return f"OneVoice {subscription.plan.name}"

    def get_redirect_url(self, subscription) -> str:
        return settings.SITE_URL + reverse("plans")

    def get_customer(self, subscription) -> dict:
        user = subscription.user
        return {"customer_id": str(user.pk), "email": user.email, "full_name": user.name or user.email}
