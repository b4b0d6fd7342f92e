"""The account flows that reach above accounts: /me shows billing's balance as its credits, and
deleting the account keeps the ledger and erases the user's videos (portal.account,
portal.deletion, portal.api.MeApi)."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from billing.models import LedgerEntry
from billing.services import credits_grant, credits_signup_bonus
from videos.tests.factories import VideoFactory
from videos.models import Video

pytestmark = pytest.mark.django_db


def test_me_shows_the_billing_balance_as_credits(owner_client, owner, settings):
    credits_signup_bonus(user=owner)
    credits_grant(user=owner, amount=5, staff=owner, reason="test", idempotency_key="me-credits")

    assert owner_client.get("/api/v1/me").json()["credits"] == settings.SIGNUP_BONUS_CREDITS + 5


def test_delete_keeps_the_ledger(owner_client, owner, password):
    credits_signup_bonus(user=owner)
    entries = LedgerEntry.objects.filter(account__user=owner).count()
    assert entries == 1
    assert owner_client.delete("/api/v1/me", {"password": password}).status_code == 204
    assert LedgerEntry.objects.filter(account__user_id=owner.pk).count() == entries


def test_delete_erases_the_users_videos_and_their_files(owner_client, owner, other, password, media_root):
    mine, theirs = (VideoFactory(owner=user, title=title, source=b"not really a video")
                    for user, title in ((owner, "mine"), (other, "theirs")))
    assert owner_client.delete("/api/v1/me", {"password": password}).status_code == 204
    assert not Video.objects.filter(pk=mine.pk).exists()
    assert not default_storage.exists(mine.storage_key)
    assert Video.objects.filter(pk=theirs.pk).exists()
    assert default_storage.exists(theirs.storage_key)
