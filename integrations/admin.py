from __future__ import annotations

from django.contrib import admin
from django.db import models

from integrations.models import WebhookAttempt, WebhookEndpoint, WebhookMessage


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fk_name = "message"
    extra = 0
    can_delete = False
    fields = ["number", "status_code", "error", "seconds", "attempted_at", "next_retry_at"]
    readonly_fields = fields


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "owner", "active", "failing_since", "created_at"]
    list_filter = ["active"]
    search_fields = ["url", "owner__email"]
    readonly_fields = ["id", "owner", "secret", "failing_since", "created_at", "updated_at"]
    # Webhook URLs are https (integrations.netguard checks them in the services).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(WebhookMessage)
class WebhookMessageAdmin(admin.ModelAdmin):
    list_display = ["id", "event", "endpoint", "status", "attempts", "next_attempt_at", "created_at"]
    list_filter = ["status", "event"]
    search_fields = ["id", "endpoint__url"]
    readonly_fields = ["id", "endpoint", "event", "body", "status", "attempts", "next_attempt_at", "created_at",
                       "delivered_at"]
    inlines = [WebhookAttemptInline]


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(admin.ModelAdmin):
    list_display = ["message", "number", "status_code", "error", "seconds", "attempted_at", "next_retry_at"]
    list_filter = ["status_code"]
    readonly_fields = ["message", "endpoint", "number", "status_code", "error", "seconds", "attempted_at",
                       "next_retry_at"]
