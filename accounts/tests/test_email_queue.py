"""Account emails travel through the Dramatiq queue and are sent by a worker after commit."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.db import transaction
from dramatiq import Worker

from accounts.models import User
from accounts.services import user_register
from accounts.tasks import email_send

pytestmark = pytest.mark.django_db


def _drain(broker, worker) -> None:
    broker.join(email_send.queue_name)
    worker.join()


def _link(message, path: str) -> str:
    match = re.search(rf"https?://\S+({re.escape(path)}\S+)", message.body)
    assert match, message.body
    return match.group(1)


def test_the_verification_email_is_sent_by_a_worker_and_its_link_verifies(
    api_client, broker, worker, strong_password, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/api/v1/auth/register", {"email": "ezra@example.com", "password": strong_password})
    assert response.status_code == 201
    _drain(broker, worker)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ezra@example.com"]
    assert "Confirm your email" in message.subject
    page = api_client.get(_link(message, "/verify-email/"))
    assert page.status_code == 200
    assert User.objects.get(email="ezra@example.com").email_verified


def test_nothing_is_sent_until_a_worker_takes_the_message(
    api_client, broker, strong_password, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post("/api/v1/auth/register", {"email": "fay@example.com", "password": strong_password})
    assert mail.outbox == []  # enqueued, not sent inline by the web request

    late_worker = Worker(broker, worker_timeout=100, worker_threads=1)
    late_worker.start()
    try:
        _drain(broker, late_worker)
    finally:
        late_worker.stop()
    assert [m.to for m in mail.outbox] == [["fay@example.com"]]


def test_a_rolled_back_registration_sends_no_email(broker, worker, strong_password, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            user_register(email="gus@example.com", password=strong_password)
            raise RuntimeError("something later in the same transaction failed")
    assert callbacks == []
    _drain(broker, worker)
    assert mail.outbox == []
    assert not User.objects.filter(email="gus@example.com").exists()


def test_a_refused_registration_sends_no_email(
    api_client, owner, broker, worker, strong_password, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        # Refused for its password (a taken address is not refused: its owner is emailed instead).
        response = api_client.post("/api/v1/auth/register", {"email": "new@example.com", "password": "password"})
    assert response.status_code == 400
    _drain(broker, worker)
    assert mail.outbox == []


def test_the_password_reset_email_link_sets_a_new_password(
    api_client, client, owner, broker, worker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert api_client.post("/api/v1/auth/password-reset", {"email": owner.email}).status_code == 202
    _drain(broker, worker)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [owner.email]
    link = _link(message, "/password-reset/")

    assert client.get(link).status_code == 200
    response = client.post(link, {"password": "maple syrup 99 kayak", "password_confirm": "maple syrup 99 kayak"})
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password("maple syrup 99 kayak")
    # The link is single use.
    assert client.get(link).status_code == 400


def test_resend_through_the_queue(api_client, unverified, broker, worker, django_capture_on_commit_callbacks):
    api_client.force_authenticate(unverified)
    with django_capture_on_commit_callbacks(execute=True):
        assert api_client.post("/api/v1/auth/verify-email/resend").status_code == 202
    _drain(broker, worker)
    assert [m.to for m in mail.outbox] == [[unverified.email]]
    token = _link(mail.outbox[0], "/verify-email/").rsplit("/", 1)[1]
    assert api_client.post("/api/v1/auth/verify-email", {"token": token}).json()["email_verified"] is True


def test_a_page_sign_up_emails_a_new_address_its_link_and_a_taken_one_a_warning(
    owner, broker, worker, strong_password, django_capture_on_commit_callbacks
):
    from django.test import Client

    with django_capture_on_commit_callbacks(execute=True):
        Client().post("/signup", {"email": "gil@example.com", "password": strong_password})
        Client().post("/signup", {"email": owner.email.upper(), "password": strong_password})
    _drain(broker, worker)

    sent = {message.to[0]: message for message in mail.outbox}
    assert set(sent) == {"gil@example.com", owner.email} and len(mail.outbox) == 2
    confirmation, warning = sent["gil@example.com"], sent[owner.email]
    assert "/verify-email/" in confirmation.body
    assert "Someone tried to sign up" in warning.subject
    assert re.search(r"https?://\S+/login\s", warning.body) and re.search(r"https?://\S+/password-reset\s", warning.body)
    assert "/verify-email/" not in warning.body
