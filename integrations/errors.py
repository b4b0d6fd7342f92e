"""Error codes of the webhooks API (the shape is onevoice.errors')."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import status

from onevoice.errors import NotFound, ServiceError


class WebhookUrlNotAllowed(ServiceError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = "webhook_url_not_allowed"
    default_detail = _("This URL cannot receive webhooks: it must be https and resolve to a public address.")


class WebhookNotFound(NotFound):
    code = "webhook_not_found"
    default_detail = _("No such webhook endpoint.")


class WebhookInactive(ServiceError):
    status_code = status.HTTP_409_CONFLICT
    code = "webhook_inactive"
    default_detail = _("This endpoint is disabled; enable it (PATCH active=true) first.")
