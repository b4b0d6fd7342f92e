"""Staff see users in the admin; the user shape needs the credits from its caller (portal.api)."""

from __future__ import annotations

import pytest

from accounts.serializers import UserOutputSerializer

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


def test_the_user_shape_refuses_to_guess_credits_it_was_not_given(owner):
    # Accounts cannot read billing; a caller that forgets to pass the balance must not show 0.
    with pytest.raises(KeyError):
        _ = UserOutputSerializer(owner).data
