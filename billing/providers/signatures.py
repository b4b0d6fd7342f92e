"""What every provider's webhook check shares: the refusal reasons it counts, the body limit."""

from __future__ import annotations

from enum import StrEnum

from onevoice import metrics

# Providers' events are a few kilobytes at most; the view refuses a longer body before reading it.
WEBHOOK_MAX_BYTES = 64 * 1024


class WebhookRejection(StrEnum):
    """The `reason` label of onevoice_portone_webhook_rejected_total (every provider's)."""

    TOO_LARGE = "too_large"
    THROTTLED = "throttled"
    BAD_SIGNATURE = "bad_signature"
    MALFORMED = "malformed"
    NOT_CONFIGURED = "not_configured"


def webhook_rejection_count(*, reason: WebhookRejection) -> None:
    metrics.webhook_rejected.labels(reason=reason.value).inc()
