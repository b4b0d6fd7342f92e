"""Staff see users in the admin; /me's credits come from billing when it is there."""

from __future__ import annotations

import sys

import pytest

from accounts.selectors import user_credits

pytestmark = pytest.mark.django_db


def test_staff_can_list_add_and_change_users_in_the_admin(client, staff, owner):
    client.force_login(staff)
    listing = client.get("/admin/accounts/user/?q=alice")
    assert listing.status_code == 200
    assert owner.email in listing.content.decode()
    assert client.get("/admin/accounts/user/add/").status_code == 200
    assert client.get(f"/admin/accounts/user/{owner.pk}/change/").status_code == 200


def test_a_non_staff_user_is_sent_to_the_admin_login(client, owner):
    client.force_login(owner)
    response = client.get("/admin/accounts/user/")
    assert response.status_code == 302


def test_credits_come_from_the_billing_balance(owner):
    from billing.services import credits_signup_bonus

    credits_signup_bonus(user=owner)
    from django.conf import settings

    assert user_credits(user=owner) == settings.SIGNUP_BONUS_CREDITS


def test_credits_fall_back_to_zero_only_while_billing_has_no_selector(owner, monkeypatch):
    monkeypatch.setitem(sys.modules, "billing.selectors", None)  # as if the module did not exist
    assert user_credits(user=owner) == 0
