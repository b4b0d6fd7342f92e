"""Dramatiq actors for accounts: outgoing email.

The actor gets the message already rendered (subject, body, recipient), so it needs no database
read and a redelivered message just sends the same text again.
"""

from __future__ import annotations

import dramatiq
from django.conf import settings
from django.core.mail import send_mail


@dramatiq.actor(max_retries=5, min_backoff=5_000, max_backoff=300_000)
def email_send(*, subject: str, body: str, recipient: str) -> None:
    # fail_silently=False: an SMTP failure raises, and Dramatiq's Retries middleware retries it.
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient], fail_silently=False)
