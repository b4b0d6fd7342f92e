"""factory_boy factories for community's models: posts, likes, comments, reports and the gallery's
items. A post shares a succeeded dub of its author's (`DubbedJobFactory`: outputs and thumbnail
stored), so make posts with the `media_root` fixture; `job__target_language="fr"` picks the dub's
language."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from accounts.tests.factories import UserFactory
from dubbing.tests.factories import DubbedJobFactory


class PostFactory(DjangoModelFactory):
    class Meta:
        model = "community.Post"

    author = factory.SubFactory(UserFactory)
    job = factory.SubFactory(DubbedJobFactory, owner=factory.SelfAttribute("..author"))
    title = "My dub"


class LikeFactory(DjangoModelFactory):
    class Meta:
        model = "community.Like"

    post = factory.SubFactory(PostFactory)
    user = factory.SubFactory(UserFactory)


class CommentFactory(DjangoModelFactory):
    class Meta:
        model = "community.Comment"

    post = factory.SubFactory(PostFactory)
    author = factory.SubFactory(UserFactory)
    body = "Nice."


class ReportFactory(DjangoModelFactory):
    """A report of a post (give `comment=` to report a comment instead)."""

    class Meta:
        model = "community.Report"

    reporter = factory.SubFactory(UserFactory)
    post = factory.LazyAttribute(lambda report: None if report.comment else PostFactory())
    comment = None
    reason = "Spam"


class GalleryItemFactory(DjangoModelFactory):
    class Meta:
        model = "community.GalleryItem"

    job = factory.SubFactory(DubbedJobFactory)
    folder = ""
    favorite = False
