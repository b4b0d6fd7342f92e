"""Sessions end when the user says so (issue 25 item 6): logging out everywhere and changing the
password stop every access token already issued at the next request, polling included; and
sign-up answers the same whether or not the address has an account."""

from __future__ import annotations

import pytest
from django.core import mail
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tasks import email_send
from dubbing.services import job_snapshot_refresh
from dubbing.tests.factories import DubbingJobFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "marigold 42 lantern sky"
STRONG_PASSWORD = "violet tangerine 7 harbour"


def _login(owner, password) -> tuple[APIClient, dict]:
    pair = APIClient().post("/api/v1/auth/token", {"email": owner.email, "password": password}, format="json")
    assert pair.status_code == 200, pair.content
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair.json()['access']}")
    return client, pair.json()


@pytest.fixture
def job(owner):
    job = DubbingJobFactory(owner=owner)
    job_snapshot_refresh(job)
    return job


def _works(client, job) -> bool:
    me = client.get("/api/v1/me").status_code
    poll = client.get(f"/api/v1/jobs/{job.id}").status_code  # the stateless polling path
    assert me == poll, (me, poll)
    return me == 200


def test_logout_everywhere_stops_every_access_and_refresh_token_at_once(owner, password, job):
    phone, phone_pair = _login(owner, password)
    laptop, laptop_pair = _login(owner, password)
    assert _works(phone, job) and _works(laptop, job)

    out = APIClient().post("/api/v1/auth/logout", {"refresh": phone_pair["refresh"], "everywhere": True},
                           format="json")
    assert out.status_code == 205

    assert not _works(phone, job) and not _works(laptop, job)
    refused = laptop.get("/api/v1/me").json()
    assert refused["code"] == "token_not_valid"
    for pair in (phone_pair, laptop_pair):
        again = APIClient().post("/api/v1/auth/token/refresh", {"refresh": pair["refresh"]}, format="json")
        assert again.status_code == 401
    fresh, _ = _login(owner, password)  # logging in again works
    assert _works(fresh, job)


def test_plain_logout_still_revokes_only_that_refresh_token(owner, password, job):
    phone, phone_pair = _login(owner, password)
    laptop, laptop_pair = _login(owner, password)
    assert APIClient().post("/api/v1/auth/logout", {"refresh": phone_pair["refresh"]}, format="json").status_code == 205
    assert _works(laptop, job)
    refreshed = APIClient().post("/api/v1/auth/token/refresh", {"refresh": laptop_pair["refresh"]}, format="json")
    assert refreshed.status_code == 200


def test_a_password_change_stops_the_other_devices_access_tokens(owner, password, job):
    phone, _ = _login(owner, password)
    laptop, _ = _login(owner, password)
    changed = laptop.post("/api/v1/me/password", {"old_password": password, "new_password": NEW_PASSWORD},
                          format="json")
    assert changed.status_code == 200, changed.content

    assert not _works(phone, job) and not _works(laptop, job)
    renewed = APIClient()
    renewed.credentials(HTTP_AUTHORIZATION=f"Bearer {changed.json()['access']}")
    assert _works(renewed, job)  # the pair the change answered with is of the new generation


def test_a_password_reset_stops_existing_access_tokens(owner, password, job):
    from accounts.tokens import password_reset_token_make

    phone, _ = _login(owner, password)
    owner.refresh_from_db()  # the reset token is bound to last_login, which the login set
    token = password_reset_token_make(user=owner)
    reset = APIClient().post("/api/v1/auth/password-reset/confirm", {"token": token, "password": NEW_PASSWORD},
                             format="json")
    assert reset.status_code == 200, reset.content
    assert not _works(phone, job)


def test_polling_stays_one_query_and_a_logout_everywhere_still_reaches_it(owner, password, job,
                                                                          django_assert_num_queries):
    phone, pair = _login(owner, password)  # the login put the generation in the cache
    with django_assert_num_queries(1):  # the job's snapshot row; the generation is a cache read
        assert phone.get(f"/api/v1/jobs/{job.id}").status_code == 200
    APIClient().post("/api/v1/auth/logout", {"refresh": pair["refresh"], "everywhere": True}, format="json")
    with django_assert_num_queries(0):  # refused on the cached generation alone
        assert phone.get(f"/api/v1/jobs/{job.id}").status_code == 401


# --- Sign-up does not tell whether an address has an account -------------------------------------

def _register(email: str, password: str, name: str = "Someone"):
    return APIClient().post("/api/v1/auth/register", {"email": email, "password": password, "name": name},
                            format="json")


def test_signing_up_with_a_taken_address_answers_like_a_new_one(owner, password):
    new = _register("newcomer@example.com", STRONG_PASSWORD)
    taken = _register(owner.email.upper(), STRONG_PASSWORD)

    assert new.status_code == taken.status_code == 201
    assert sorted(new.headers) == sorted(taken.headers) and sorted(new.cookies) == sorted(taken.cookies)
    new_body, taken_body = new.json(), taken.json()
    assert set(new_body) == set(taken_body)
    for field in ("name", "locale", "email_verified", "credits"):
        assert new_body[field] == taken_body[field], field
    assert taken_body["email"] == owner.email.upper().split("@")[0] + "@example.com"  # as given, normalised
    assert taken_body["id"] != str(owner.id)
    assert User.objects.filter(email__iexact=owner.email).count() == 1
    assert not User.objects.filter(id=taken_body["id"]).exists()
    owner.refresh_from_db()
    assert owner.check_password(password) and owner.name == "Alice"  # nothing of the account changed


def test_the_owner_of_a_taken_address_is_emailed_instead_of_a_verification(
        owner, broker, worker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert _register(owner.email, STRONG_PASSWORD).status_code == 201
    broker.join(email_send.queue_name)
    worker.join()

    assert [m.to for m in mail.outbox] == [[owner.email]]
    message = mail.outbox[0]
    assert "Someone tried to sign up" in message.subject
    assert "tried to create a OneVoice account" in message.body
    assert "/password-reset" in message.body and "/verify-email/" not in message.body
