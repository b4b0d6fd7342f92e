"""The events dubbing publishes about its jobs (through `onevoice.events`, after commit).

Dubbing owns their names: it publishes them and never imports a listener. Integrations'
webhooks subscribe to every one of them and offer them to integrators as webhook event types.
Each handler is called as `handler(event, job_id=..., owner_id=...)`.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class JobEvent(models.TextChoices):
    SUCCEEDED = "job.succeeded", _("Job succeeded")
    FAILED = "job.failed", _("Job failed")
    CANCELLED = "job.cancelled", _("Job cancelled")
    RENDER_SUCCEEDED = "job.render_succeeded", _("Re-render succeeded")
