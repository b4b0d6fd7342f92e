"""Moved: each app's factories live in its own `tests/factories.py` (accounts: UserFactory and
PASSWORD; billing: give_credits, CreditPackFactory, PaymentFactory; videos: VideoFactory and
friends; dubbing: DubbingJobFactory and friends). Import them from there.

These names are re-exported only for the dubbing test modules still importing them from here;
they switch when dubbing/tests is reorganised (issue 18, item 9), and this module goes then.
"""

from __future__ import annotations

from accounts.tests.factories import PASSWORD
from billing.tests.factories import UserWithCreditsFactory as UserFactory  # takes credits=N, as it did here
from billing.tests.factories import give_credits
from dubbing.tests.factories import DubbingJobFactory
from videos.tests.factories import VideoFactory

__all__ = ["PASSWORD", "DubbingJobFactory", "UserFactory", "VideoFactory", "give_credits"]
