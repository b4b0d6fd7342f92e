"""factory_boy factories for billing's models: credit packs and payments, and credits.

Credits go through the ledger (`give_credits` calls `credits_grant`), never straight into a
balance or a hand-made LedgerEntry: billing's conftest checks after each test that every balance
is the sum of its ledger, and only the services keep that true.
"""

from __future__ import annotations

import uuid

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts.tests.factories import UserFactory
from billing.models import Payment
from billing.services import credits_grant


def give_credits(user, amount: int, *, staff=None) -> None:
    """`amount` more credits for an existing user, through the ledger (a staff grant)."""
    credits_grant(user=user, amount=amount, staff=staff or user, reason="test", idempotency_key=f"test:{uuid.uuid4()}")


class UserWithCreditsFactory(UserFactory):
    """A verified user; `credits=N` grants N credits through the ledger (kind grant)."""

    @factory.post_generation
    def credits(user, create: bool, amount: int | None, **kwargs) -> None:
        if create and amount:
            give_credits(user, amount)


class CreditPackFactory(DjangoModelFactory):
    """An active pack of 100 credits for 15,000 won."""

    class Meta:
        model = "billing.CreditPack"

    name = "Standard"
    credits = 100
    price = 15_000
    currency = "KRW"


class PaymentFactory(DjangoModelFactory):
    """A payment of one pack, pending (as `payment_prepare` leaves it). `paid=True` marks it paid
    and credited as PortOne and our services would have; no ledger entry is written: tests that
    need the credits too complete a payment through the API (billing's `paid` fixture)."""

    class Meta:
        model = "billing.Payment"

    payment_id = factory.Sequence(lambda n: f"ov-test-{n:04d}")
    user = factory.SubFactory(UserFactory)
    pack = factory.SubFactory(CreditPackFactory)
    order_name = factory.LazyAttribute(lambda p: f"OneVoice {p.pack.name}")
    credits = factory.LazyAttribute(lambda p: p.pack.credits)
    amount = factory.LazyAttribute(lambda p: p.pack.price)
    currency = factory.LazyAttribute(lambda p: p.pack.currency)

    class Params:
        paid = factory.Trait(status=Payment.Status.PAID, paid_at=factory.LazyFunction(timezone.now),
                             credited_at=factory.LazyFunction(timezone.now))
