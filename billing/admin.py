"""Staff tools: the ledger (read-only), credit grants, packs, plans, subscriptions, payments and
refunds, webhooks.

One module because Django discovers an app's admin in `admin.py`; it is long because each money
screen carries its own guarded form (grant, refund, free period) next to the list it belongs to.
"""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from billing import services
from billing.errors import PaymentProviderUnavailable
from billing.models import (
    CreditAccount,
    CreditPack,
    CreditPackPrice,
    LedgerEntry,
    PaddleCatalogPrice,
    Payment,
    PaymentRefund,
    Plan,
    PlanPrice,
    Subscription,
    WebhookDelivery,
)
from billing.templatetags.billing_tags import money
from onevoice.admin import breakable
from onevoice.errors import ServiceError


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class CreditAdjustmentForm(forms.Form):
    amount = forms.IntegerField(label=_("Amount"), help_text=_("Positive to grant credits, negative to remove them."))
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), help_text=_("Required; kept on the ledger entry.")
    )

    # Made when the form is rendered and posted back with it, so submitting the same page twice
    # (a double click, a reload) replays the ledger entries instead of crediting again.
    idempotency_key = forms.UUIDField(
        widget=forms.HiddenInput,
        error_messages={"required": _("This form was not opened here. Check it and apply it again."),
                        "invalid": _("This form was not opened here. Check it and apply it again.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.fields["idempotency_key"].initial = uuid.uuid4()

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError(_("Enter a non-zero amount."))
        return amount

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("A reason is required."))
        return reason


@admin.register(CreditAccount)
class CreditAccountAdmin(_ReadOnlyAdmin):
    list_display = ("user", "balance", "updated_at")
    search_fields = ("user__email", "user__name")
    list_select_related = ("user",)
    actions = ["grant_or_remove_credits"]

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("billing.change_creditaccount")

    def get_readonly_fields(self, request, obj=None):
        return ("user", "balance", "created_at", "updated_at")

    @admin.action(description=_("Grant or remove credits (with a reason)"))
    def grant_or_remove_credits(self, request, queryset):
        if not request.user.has_perm("billing.change_creditaccount"):
            raise PermissionDenied
        form = CreditAdjustmentForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            done, replayed, refused = 0, 0, []
            key = form.cleaned_data["idempotency_key"]
            for account in queryset.select_related("user"):
                try:
                    _, created = services.credits_grant(
                        user=account.user,
                        amount=form.cleaned_data["amount"],
                        staff=request.user,
                        reason=form.cleaned_data["reason"],
                        idempotency_key=f"staff_grant:{key}:{account.pk}",
                    )
                except ServiceError as error:
                    refused.append(f"{account.user}: {error.detail}")
                else:
                    done += created
                    replayed += not created
            if done:
                self.message_user(
                    request,
                    ngettext("Credits changed for %(count)d account.", "Credits changed for %(count)d accounts.", done)
                    % {"count": done},
                    messages.SUCCESS,
                )
            if replayed:
                self.message_user(
                    request,
                    ngettext(
                        "This form was already applied to %(count)d account; its credits were not changed again.",
                        "This form was already applied to %(count)d accounts; their credits were not changed again.",
                        replayed,
                    ) % {"count": replayed},
                    messages.WARNING,
                )
            for line in refused:
                self.message_user(request, line, messages.ERROR)
            return None
        if "idempotency_key" in form.errors:
            # Shown again with a key of its own, so that applying it now is one new grant.
            form.data = form.data.copy()
            form.data["idempotency_key"] = str(uuid.uuid4())
        return TemplateResponse(
            request,
            "admin/billing/credit_adjustment.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Grant or remove credits"),
                "form": form,
                "accounts": queryset.select_related("user"),
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                "opts": self.model._meta,
            },
        )


@admin.register(LedgerEntry)
class LedgerEntryAdmin(_ReadOnlyAdmin):
    list_display = ("created_at", "account_user", "kind", "amount", "balance_after", "ref", "staff", "reason")
    list_filter = ("kind", ("account__user", admin.RelatedOnlyFieldListFilter), "created_at")
    search_fields = ("account__user__email", "ref", "idempotency_key", "reason")
    list_select_related = ("account__user", "staff")
    date_hierarchy = "created_at"

    # "account__user" was headed "Account  user", in English on a Korean page too.
    @admin.display(description=_("user"), ordering="account__user__email")
    def account_user(self, obj: LedgerEntry):
        return breakable(obj.account.user.email)


class CreditPackPriceInline(admin.TabularInline):
    """The pack's prices in other currencies (its own price and currency are on the pack)."""

    model = CreditPackPrice
    extra = 1


@admin.register(CreditPack)
class CreditPackAdmin(admin.ModelAdmin):
    inlines = [CreditPackPriceInline]
    list_display = ("name", "credits", "price", "currency", "active", "sort_order")
    list_editable = ("active", "sort_order")
    list_filter = ("active",)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Packs that were sold are referenced by payments; deactivate instead of deleting.
        return super().has_delete_permission(request, obj) and (obj is None or not obj.payments.exists())


class PaymentRefundInline(admin.TabularInline):
    model = PaymentRefund
    extra = 0
    can_delete = False
    fields = (
        "created_at",
        "source",
        "requested_by",
        "amount",
        "credits",
        "reason",
        "status",
        "error",
        "provider_cancellation_id",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class RefundForm(forms.Form):
    amount = forms.IntegerField(
        label=_("Amount"), min_value=1, required=False,
        help_text=_("Leave empty to refund everything that is still refundable."),
    )
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("Required; sent to the provider that took the payment."))


@admin.register(Payment)
class PaymentAdmin(_ReadOnlyAdmin):
    list_display = (
        "payment_id",
        "user_email",
        "pack",
        "amount",
        "currency",
        "status",
        "provider",
        "provider_payment_id",
        "provider_status",
        "provider_channel_type",
        "cancelled_amount",
        "paid_at",
        "created_at",
    )
    list_filter = ("provider", "status", "provider_status", "provider_channel_type", "created_at")
    search_fields = ("payment_id", "user__email", "provider_payment_id", "provider_checkout_id",
                     "provider_customer_id")
    list_select_related = ("user", "pack")
    readonly_fields = (
        "payment_id",
        "user",
        "pack",
        "order_name",
        "credits",
        "amount",
        "currency",
        "status",
        "provider",
        "provider_payment_id",
        "provider_checkout_id",
        "provider_customer_id",
        "receipt_link",
        "provider_status",
        "provider_channel_type",
        "failure_code",
        "failure_detail",
        "paid_at",
        "credited_at",
        "cancelled_amount",
        "provider_updated_at",
        "synced_at",
        "created_at",
        "provider_response",
        "refund_link",
    )
    inlines = [PaymentRefundInline]
    actions = ["recheck_with_portone", "refund_payment"]

    @admin.display(description=_("user"), ordering="user__email")
    def user_email(self, obj: Payment):
        return breakable(obj.user.email)

    def has_refund_permission(self, request) -> bool:
        # The payment itself is never edited; refunding is what "change" allows.
        return request.user.has_perm("billing.change_payment")

    def get_urls(self):
        refund = path(
            "<uuid:object_id>/refund/",
            self.admin_site.admin_view(self.refund_view),
            name="billing_payment_refund",
        )
        return [refund, *super().get_urls()]

    @admin.display(description=_("receipt"))
    def receipt_link(self, obj: Payment):
        if not obj.receipt_url:
            return "-"
        return format_html('<a href="{}" rel="noopener noreferrer" target="_blank">{}</a>', obj.receipt_url,
                           gettext("The provider's receipt"))

    @admin.display(description=_("Refund"))
    def refund_link(self, obj: Payment):
        if obj.pk is None:
            return "-"
        url = reverse("admin:billing_payment_refund", args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, gettext("Refund this payment…"))

    @admin.action(description=_("Re-check with the payment's provider"))
    def recheck_with_portone(self, request, queryset):
        for payment in queryset:
            try:
                services.payment_sync(payment=payment)
            except PaymentProviderUnavailable as error:
                self.message_user(request, f"{payment.payment_id}: {error.detail}", messages.ERROR)
                return
        count = queryset.count()
        self.message_user(
            request,
            ngettext("Re-checked %(count)d payment.", "Re-checked %(count)d payments.", count) % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Refund the selected payment (full or partial)…"), permissions=["refund"])
    def refund_payment(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, gettext("Select exactly one payment to refund."), messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:billing_payment_refund", args=[queryset.get().pk]))

    def refund_view(self, request, object_id):
        if not self.has_refund_permission(request):
            raise PermissionDenied
        payment = get_object_or_404(Payment.objects.select_related("user", "pack"), pk=object_id)
        change_url = reverse("admin:billing_payment_change", args=[payment.pk])
        form = RefundForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                refund = services.payment_refund(
                    payment=payment,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    staff=request.user,
                )
            except ServiceError as error:
                form.add_error("amount" if error.errors and "amount" in error.errors else None, error.detail)
            else:
                if refund.status == PaymentRefund.Status.SUCCEEDED:
                    self.message_user(
                        request,
                        ngettext(
                            "Refunded %(amount)s; %(credits)d credit removed.",
                            "Refunded %(amount)s; %(credits)d credits removed.",
                            refund.credits,
                        ) % {"amount": money(refund.amount, payment.currency), "credits": refund.credits},
                        messages.SUCCESS,
                    )
                elif refund.status == PaymentRefund.Status.PENDING:
                    self.message_user(
                        request,
                        ngettext(
                            "%(provider)s is still deciding the refund of %(amount)s; %(credits)d credit was "
                            "removed and comes back if it refuses.",
                            "%(provider)s is still deciding the refund of %(amount)s; %(credits)d credits were "
                            "removed and come back if it refuses.",
                            refund.credits,
                        ) % {"provider": payment.get_provider_display(), "amount": money(refund.amount, payment.currency),
                             "credits": refund.credits},
                        messages.WARNING,
                    )
                else:
                    self.message_user(
                        request,
                        ngettext(
                            "%(provider)s did not cancel the payment, so the %(credits)d credit was put back: "
                            "%(error)s",
                            "%(provider)s did not cancel the payment, so the %(credits)d credits were put back: "
                            "%(error)s",
                            refund.credits,
                        ) % {"provider": payment.get_provider_display(), "credits": refund.credits,
                             "error": refund.error},
                        messages.ERROR,
                    )
                return HttpResponseRedirect(change_url)
        quote = services.payment_refund_quote(payment=payment)
        return TemplateResponse(
            request,
            "admin/billing/payment_refund.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Refund %(payment)s") % {"payment": payment.payment_id},
                "payment": payment,
                "quote": quote,
                "full_refund_credits": quote.credits_for(quote.refundable_amount)
                if quote.refundable_amount
                else 0,
                "form": form,
                "opts": self.model._meta,
                "original": payment,
                "change_url": change_url,
            },
        )


@admin.register(PaymentRefund)
class PaymentRefundAdmin(_ReadOnlyAdmin):
    list_display = ("created_at", "payment", "source", "amount", "credits", "status", "error", "requested_by")
    list_filter = ("status", "source")
    search_fields = ("payment__payment_id", "payment__user__email", "reason")
    list_select_related = ("payment", "requested_by")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(_ReadOnlyAdmin):
    list_display = ("received_at", "provider", "event_type", "payment_id", "verified", "processed", "ignored",
                    "error", "webhook_id")
    list_filter = ("provider", "verified", "processed", "ignored", "event_type")
    search_fields = ("payment_id", "webhook_id")
    readonly_fields = (
        "received_at",
        "provider",
        "webhook_id",
        "event_type",
        "payment_id",
        "verified",
        "processed",
        "processed_at",
        "ignored",
        "error",
        "headers",
        "body",
    )


class PlanPriceInline(admin.TabularInline):
    """The plan's monthly prices in other currencies."""

    model = PlanPrice
    extra = 1


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    inlines = [PlanPriceInline]
    list_display = ("name", "price", "currency", "credits_per_period", "rollover_max", "active", "sort_order")
    list_editable = ("active", "sort_order")
    list_filter = ("active",)

    def has_delete_permission(self, request, obj=None) -> bool:
        # A plan somebody subscribed to is referenced by subscriptions and charges: deactivate it.
        return super().has_delete_permission(request, obj) and (
            obj is None or not (obj.subscriptions.exists() or obj.charges.exists()))


class SubscriptionChargeInline(admin.TabularInline):
    """The subscription's charges: one Payment per month and attempt (refund one from its page)."""

    model = Payment
    fk_name = "subscription"
    extra = 0
    can_delete = False
    fields = ("payment_link", "period", "purpose", "plan", "amount", "credits", "status", "failure_detail",
              "cancelled_amount", "paid_at", "created_at")
    readonly_fields = fields
    ordering = ("period", "created_at")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("payment id"))
    def payment_link(self, obj: Payment):
        return format_html('<a href="{}">{}</a>', reverse("admin:billing_payment_change", args=[obj.pk]),
                           obj.payment_id)


class FreePeriodForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("Required; kept on the ledger entry."))
    # The month the form was opened for: submitted twice (a double click, a reload), it finds
    # that month already given and grants nothing more.
    period = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


@admin.register(Subscription)
class SubscriptionAdmin(_ReadOnlyAdmin):
    """Subscriptions with their state, periods and charges. The billing key is never shown."""

    list_display = ("user", "plan", "status", "period_number", "current_period_end", "cancel_at_period_end",
                    "next_attempt_at", "failed_attempts", "created_at")
    list_filter = ("status", "cancel_at_period_end", "plan")
    search_fields = ("user__email", "id")
    list_select_related = ("user", "plan")
    readonly_fields = ("user", "plan", "next_plan", "status", "card_label", "anchor_at", "period_number",
                       "current_period_start", "current_period_end", "cancel_at_period_end", "failed_attempts",
                       "last_failure", "next_attempt_at", "claimed_until", "ended_at", "created_at", "updated_at",
                       "staff_actions")
    fields = readonly_fields
    inlines = [SubscriptionChargeInline]
    actions = ["cancel_now"]

    def has_manage_permission(self, request) -> bool:
        return request.user.has_perm("billing.change_subscription")

    def get_urls(self):
        free = path("<uuid:object_id>/free-period/", self.admin_site.admin_view(self.free_period_view),
                    name="billing_subscription_free_period")
        return [free, *super().get_urls()]

    @admin.display(description=_("Staff actions"))
    def staff_actions(self, obj: Subscription):
        if obj.pk is None or obj.status not in (Subscription.Status.ACTIVE, Subscription.Status.PAST_DUE):
            return "-"
        return format_html('<a class="button" href="{}">{}</a>',
                           reverse("admin:billing_subscription_free_period", args=[obj.pk]),
                           gettext("Give the next month free…"))

    @admin.action(description=_("Cancel the selected subscriptions now"), permissions=["manage"])
    def cancel_now(self, request, queryset):
        count = 0
        for subscription in queryset.filter(status__in=Subscription.LIVE_STATUSES):
            services.subscription_cancel_now(subscription=subscription)
            count += 1
        self.message_user(
            request,
            ngettext("Cancelled %(count)d subscription.", "Cancelled %(count)d subscriptions.", count) % {"count": count},
            messages.SUCCESS,
        )

    def free_period_view(self, request, object_id):
        if not self.has_manage_permission(request):
            raise PermissionDenied
        subscription = get_object_or_404(Subscription.objects.select_related("user", "plan", "next_plan"), pk=object_id)
        change_url = reverse("admin:billing_subscription_change", args=[subscription.pk])
        next_period = subscription.period_number + 1
        form = FreePeriodForm(request.POST or None, initial={"period": next_period})
        if request.method == "POST" and form.is_valid():
            try:
                granted = services.subscription_grant_free_period(
                    subscription=subscription, period=form.cleaned_data["period"], staff=request.user,
                    reason=form.cleaned_data["reason"])
            except ServiceError as error:
                form.add_error(None, error.detail)
            else:
                if granted:
                    self.message_user(request, gettext("Month %(period)d given free; its credits were added.")
                                      % {"period": form.cleaned_data["period"]}, messages.SUCCESS)
                else:
                    self.message_user(request, gettext("That month had already started; nothing more was given."),
                                      messages.WARNING)
                return HttpResponseRedirect(change_url)
        plan = subscription.next_plan or subscription.plan
        return TemplateResponse(
            request,
            "admin/billing/free_period.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Give a month free"),
                "subscription": subscription,
                "plan": plan,
                "period": next_period,
                "form": form,
                "opts": self.model._meta,
                "original": subscription,
                "change_url": change_url,
            },
        )


@admin.register(PaddleCatalogPrice)
class PaddleCatalogPriceAdmin(_ReadOnlyAdmin):
    """Paddle's ids for our packs and plans, as `manage.py paddle_catalog` stored them."""

    list_display = ("paddle_price_id", "pack", "plan", "amount", "currency", "active", "created_at")
    list_filter = ("active", "currency")
    search_fields = ("paddle_price_id", "paddle_product_id", "pack__name", "plan__name")
