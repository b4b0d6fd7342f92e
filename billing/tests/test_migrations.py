"""0004 drops LedgerEntry.user, which repeated the account's user: every owner must survive it."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("billing", "0003_translated_labels")]
AFTER = [("billing", "0004_ledger_entry_owner_once")]

pytestmark = pytest.mark.django_db(transaction=True)


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def _apps(executor: MigrationExecutor, targets):
    """The models as of `targets`, with accounts' as they are now: going back in billing leaves
    accounts' later migrations applied (the user's token generation column among them)."""
    accounts = [node for node in executor.loader.graph.leaf_nodes() if node[0] == "accounts"]
    return executor.loader.project_state(targets + accounts).apps


@pytest.fixture
def before_0004():
    """The database as it was before 0004 (its models from that state), put back afterwards."""
    executor = _migrate(BEFORE)
    yield _apps(executor, BEFORE)
    _migrate(executor.loader.graph.leaf_nodes())


def _entry(apps, *, account, user, amount: int):
    account.balance += amount
    account.save(update_fields=["balance"])
    return apps.get_model("billing", "LedgerEntry").objects.create(
        id=uuid.uuid4(), account=account, user_id=user.pk, kind="grant", amount=amount,
        balance_after=amount, idempotency_key=f"test:{uuid.uuid4()}",
    )


def _account(apps, email: str):
    user = apps.get_model("accounts", "User").objects.create(id=uuid.uuid4(), email=email, password="!")
    return apps.get_model("billing", "CreditAccount").objects.create(id=uuid.uuid4(), user=user, balance=0), user


def test_every_entry_keeps_its_owner_through_its_account_and_back(before_0004):
    alice_account, alice = _account(before_0004, "alice@example.com")
    bob_account, bob = _account(before_0004, "bob@example.com")
    alices = _entry(before_0004, account=alice_account, user=alice, amount=5)
    bobs = _entry(before_0004, account=bob_account, user=bob, amount=5)

    after = _apps(_migrate(AFTER), AFTER)
    entries = after.get_model("billing", "LedgerEntry").objects
    assert {e.pk: e.account.user_id for e in entries.select_related("account")} == {alices.pk: alice.pk, bobs.pk: bob.pk}

    back = _apps(_migrate(BEFORE), BEFORE)  # going back refills the column
    restored = dict(back.get_model("billing", "LedgerEntry").objects.values_list("pk", "user_id"))
    assert restored == {alices.pk: alice.pk, bobs.pk: bob.pk}


def test_it_stops_and_changes_nothing_when_an_entry_names_another_user(before_0004):
    alice_account, alice = _account(before_0004, "alice@example.com")
    _, bob = _account(before_0004, "bob@example.com")
    stray = _entry(before_0004, account=alice_account, user=bob, amount=5)

    with pytest.raises(RuntimeError, match="1 ledger entries name a user other than their account's"):
        _migrate(AFTER)

    LedgerEntry = before_0004.get_model("billing", "LedgerEntry")
    assert LedgerEntry.objects.get(pk=stray.pk).user_id == bob.pk  # the column and its value are still there
    LedgerEntry.objects.filter(pk=stray.pk).update(user_id=alice.pk)  # resolved: 0004 runs again
    _migrate(AFTER)
