"""The admin's credit grant: its idempotency key is made when the form is rendered, so the same
rendered form submitted twice credits once."""

from __future__ import annotations

import pytest

from billing.models import LedgerEntry
from billing.selectors import credits_balance
from billing.services import credit_account_ensure

pytestmark = pytest.mark.django_db

URL = "/admin/billing/creditaccount/"


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_a_double_submitted_grant_form_credits_once_and_says_so(owner, other, staff_browser, rendered_grant_key):
    accounts = [credit_account_ensure(user=owner), credit_account_ensure(user=other)]
    action = {"action": "grant_or_remove_credits", "_selected_action": [str(a.pk) for a in accounts]}
    # Given the grant form, rendered once
    key = rendered_grant_key(staff_browser.post(URL, action))
    submit = {**action, "apply": "1", "amount": "25", "reason": "Support gesture", "idempotency_key": key}

    # When it is submitted twice (a double click, a reload)
    first = staff_browser.post(URL, submit, follow=True)
    second = staff_browser.post(URL, submit, follow=True)

    # Then each account was credited once, and the second submit says it changed nothing
    assert credits_balance(user=owner) == credits_balance(user=other) == 25
    assert LedgerEntry.objects.filter(kind="grant").count() == 2
    assert _messages(first) == ["Credits changed for 2 accounts."]
    assert second.status_code == 200
    assert _messages(second) == [
        "This form was already applied to 2 accounts; their credits were not changed again."
    ]


def test_each_rendering_of_the_form_is_a_new_grant(owner, staff_browser, rendered_grant_key):
    account = credit_account_ensure(user=owner)
    action = {"action": "grant_or_remove_credits", "_selected_action": [str(account.pk)]}
    first_key = rendered_grant_key(staff_browser.post(URL, action))
    second_key = rendered_grant_key(staff_browser.post(URL, action))
    assert first_key != second_key

    for key in (first_key, second_key):
        staff_browser.post(URL, {**action, "apply": "1", "amount": "5", "reason": "Twice on purpose",
                                 "idempotency_key": key})

    assert credits_balance(user=owner) == 10


def test_a_grant_form_without_its_key_is_refused_and_moves_nothing(owner, staff_browser, rendered_grant_key):
    account = credit_account_ensure(user=owner)
    action = {"action": "grant_or_remove_credits", "_selected_action": [str(account.pk)]}

    page = staff_browser.post(URL, {**action, "apply": "1", "amount": "5", "reason": "No key"})

    assert page.status_code == 200
    assert "This form was not opened here. Check it and apply it again." in page.content.decode()
    assert credits_balance(user=owner) == 0
    # shown again with a key of its own: applying it now grants once
    submit = {**action, "apply": "1", "amount": "5", "reason": "No key", "idempotency_key": rendered_grant_key(page)}
    staff_browser.post(URL, submit)
    staff_browser.post(URL, submit)
    assert credits_balance(user=owner) == 5
