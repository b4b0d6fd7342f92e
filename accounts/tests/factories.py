"""factory_boy factories for accounts' models: the user.

Every other app's factories build their owners with `UserFactory`; the root conftest's personas
(owner, other, staff) are made with it too. Accounts is the bottom app: this module imports no
other app's (.importlinter counts tests), so credits are billing's (`UserWithCreditsFactory`).
"""

from __future__ import annotations

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

PASSWORD = "correct horse battery staple 42"


class UserFactory(DjangoModelFactory):
    """A verified user whose password is PASSWORD (`unverified=True`: not yet confirmed; `staff=True`).
    With credits: billing's `UserWithCreditsFactory`."""

    class Meta:
        model = "accounts.User"
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Sequence(lambda n: f"User {n}")
    email_verified_at = factory.LazyFunction(timezone.now)

    class Params:
        unverified = factory.Trait(email_verified_at=None)
        staff = factory.Trait(is_staff=True, is_superuser=True)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        password = kwargs.pop("password", PASSWORD)
        return model_class._default_manager.create_user(*args, password=password, **kwargs)
