"""Emails to a job's owner when it succeeds or fails, sent by a worker after commit.

Rendered here (subject and body), queued through accounts' `email_send` actor, so a redelivered
message sends the same text and a rolled-back transaction sends nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from accounts.tasks import email_send
from dubbing.errors import job_error_detail
from dubbing.languages import language_name


def job_link(job) -> str:
    return settings.SITE_URL + reverse("job_detail", kwargs={"job_id": job.id})


def _queue(*, template: str, job, context: dict) -> None:
    owner = job.owner
    if not owner.email or not owner.is_active:
        return  # an erased (deleted) account has nobody to write to
    context = {"user": owner, "job": job, "video": job.video, "link": job_link(job),
               "site_url": settings.SITE_URL, **context}
    with translation.override(owner.locale or settings.LANGUAGE_CODE):  # in the owner's language
        # The language's name and the error's sentence, not the code and the pipeline's English.
        context["language"] = language_name(job.target_language)
        context["error_detail"] = (
            job_error_detail(job.error_code, job.error_message or job.error_code, status=job.status)
            if job.error_code else ""
        )
        subject = " ".join(render_to_string(f"emails/dubbing/{template}_subject.txt", context).split())
        body = render_to_string(f"emails/dubbing/{template}_body.txt", context)
    recipient = owner.email
    transaction.on_commit(lambda: email_send.send(subject=subject, body=body, recipient=recipient))


def job_succeeded_email_queue(*, job) -> None:
    _queue(template="job_succeeded", job=job, context={"render": job.render_count})


def job_failed_email_queue(*, job, render: bool = False) -> None:
    _queue(template="job_failed", job=job, context={"render": render, "refunded": True})
