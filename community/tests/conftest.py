"""Community fixtures: a succeeded job of the owner's with its outputs, and a post sharing one
(rows made by the factories in community/tests/factories.py and dubbing/tests/factories.py: the
pipeline never runs), in a fresh local media folder."""

from __future__ import annotations

import pytest

from community.tests.factories import PostFactory
from dubbing.tests.factories import DubbedJobFactory


@pytest.fixture
def job(owner, media_root):
    return DubbedJobFactory(owner=owner)


@pytest.fixture
def post(owner, media_root):
    return PostFactory(author=owner, title="Alice's Spanish dub", description="First try.")
