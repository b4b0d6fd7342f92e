"""factory_boy factories for the rows tests set up again and again: users (with credits),
videos (with their files in storage when a test reads them) and dubbing jobs.

Credits go through the ledger (`credits_grant`), never straight into a balance: the billing
tests check after each test that every balance is the sum of its ledger.
"""

from __future__ import annotations

import uuid

import factory
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils import timezone
from factory.django import DjangoModelFactory

PASSWORD = "correct horse battery staple 42"


class UserFactory(DjangoModelFactory):
    """A verified user whose password is PASSWORD. `credits=N` grants N credits (kind grant)."""

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

    @factory.post_generation
    def credits(user, create: bool, amount: int | None, **kwargs) -> None:
        if create and amount:
            give_credits(user, amount)


def give_credits(user, amount: int, *, staff=None) -> None:
    """`amount` more credits for an existing user, through the ledger (a staff grant)."""
    from billing.services import credits_grant

    credits_grant(user=user, amount=amount, staff=staff or user, reason="test", idempotency_key=f"test:{uuid.uuid4()}")


class VideoFactory(DjangoModelFactory):
    """A ready 150-second video row. `source=b"..."` (or `thumbnail=b"..."`) also stores those
    bytes where the row says they are, for tests that download or delete them."""

    class Meta:
        model = "videos.Video"
        skip_postgeneration_save = True

    id = factory.LazyFunction(uuid.uuid4)
    owner = factory.SubFactory(UserFactory)
    title = "Talk"
    storage_key = factory.LazyAttribute(lambda v: _source_key(v.owner.pk, v.id))
    content_type = "video/mp4"
    size = 1000
    duration = 150.0
    width = 640
    height = 360
    has_audio = True
    has_video = True
    status = "ready"

    @factory.post_generation
    def source(video, create: bool, content: bytes | None, **kwargs) -> None:
        if create and content is not None:
            storages["default"].save(video.storage_key, ContentFile(content))
            type(video).objects.filter(pk=video.pk).update(size=len(content))
            video.size = len(content)

    @factory.post_generation
    def thumbnail(video, create: bool, content: bytes | None, **kwargs) -> None:
        if create and content is not None:
            from videos.storage import thumbnail_key

            video.thumbnail = thumbnail_key(owner_id=video.owner_id, video_id=video.id)
            storages["default"].save(video.thumbnail, ContentFile(content))
            type(video).objects.filter(pk=video.pk).update(thumbnail=video.thumbnail)


class DubbingJobFactory(DjangoModelFactory):
    """A queued job dubbing a video of its owner into Spanish, costing one credit (nothing is
    reserved: the rows are made directly, as a test that never runs the services needs them)."""

    class Meta:
        model = "dubbing.DubbingJob"

    owner = factory.SubFactory(UserFactory)
    video = factory.SubFactory(VideoFactory, owner=factory.SelfAttribute("..owner"))
    target_language = "es"
    options = factory.LazyAttribute(lambda job: _dub_options(job.target_language))
    cost_credits = 1

    class Params:
        succeeded = factory.Trait(status="succeeded", progress=100, finished_at=factory.LazyFunction(timezone.now))


def _source_key(owner_id, video_id) -> str:
    from videos.storage import source_key

    return source_key(owner_id=owner_id, video_id=video_id, extension="mp4")


def _dub_options(target_language: str) -> dict:
    from dubbing.pipeline.options import DubOptions

    return DubOptions(target_language=target_language).to_dict()
