"""factory_boy factories for dubbing's models: jobs, their steps, lines (segments) and outputs
(artifacts). Rows are made directly, as a test that never runs the services needs them; the job's
snapshot (what the API and the pages read) is rebuilt after each, as the services would.

- `DubbingJobFactory`: a queued job dubbing a video of its owner into Spanish, costing one credit
  (nothing reserved). `steps=[(name, status), ...]`, `segments=[(source, target), ...]` (with
  `segments__speaker="S2"`) and `outputs=True` (the dubbed video and its subtitles, stored) add
  those rows; `succeeded=True` finishes it.
- `DubbedJobFactory`: a job as the community shows it: succeeded with its outputs stored, of a video
  whose source and thumbnail are stored. Given another `status`, it has no outputs.
- `JobStepFactory`, `SegmentFactory` (`add_segments(job, [(source, target), ...])` for a job that
  exists), `ArtifactFactory` (`content=b"..."` is stored where the row says, the job's snapshot is
  rebuilt).
"""

from __future__ import annotations

import factory
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts.tests.factories import UserFactory
from dubbing.models import ArtifactKind, JobStatus, StepStatus
from dubbing.pipeline.options import DubOptions
from dubbing.services import job_snapshot_refresh
from dubbing.storage import artifact_name
from videos.tests.factories import StoredVideoFactory, VideoFactory

DUBBED_BYTES = b"\x00\x00\x00\x18ftypmp42" + b"dubbed video bytes " * 50
SUBTITLE_BYTES = b"1\n00:00:00,000 --> 00:00:01,000\nHola\n"


class JobStepFactory(DjangoModelFactory):
    """A finished stage of the job's current attempt that took 1.5 s."""

    class Meta:
        model = "dubbing.JobStep"

    job = factory.SubFactory("dubbing.tests.factories.DubbingJobFactory")
    attempt = factory.LazyAttribute(lambda step: step.job.attempt)
    name = "probe"
    position = 0
    status = StepStatus.DONE
    seconds = 1.5


class SegmentFactory(DjangoModelFactory):
    """Line `index` of a job: 1.5 s starting at index × 2 s, spoken by S1, rendered as written."""

    class Meta:
        model = "dubbing.Segment"

    job = factory.SubFactory("dubbing.tests.factories.DubbingJobFactory")
    index = factory.Sequence(lambda n: n)
    segment_id = factory.LazyAttribute(lambda line: f"s{line.index:04d}")
    start = factory.LazyAttribute(lambda line: line.index * 2.0)
    end = factory.LazyAttribute(lambda line: line.start + 1.5)
    speaker = "S1"
    source_text = "Hello there."
    target_text = "Hola."
    rendered_text = factory.LazyAttribute(lambda line: line.target_text)
    speed = 1.1
    overrun = 0.0


class ArtifactFactory(DjangoModelFactory):
    """One output of the job's first render, its `content` stored under the job."""

    class Meta:
        model = "dubbing.Artifact"
        skip_postgeneration_save = True

    job = factory.SubFactory("dubbing.tests.factories.DubbingJobFactory", succeeded=True)
    kind = ArtifactKind.DUBBED_VIDEO
    filename = "dub.es.mp4"
    content_type = "video/mp4"
    content = DUBBED_BYTES
    name = factory.LazyAttribute(lambda a: artifact_name(a.job, a.kind, 0, a.filename))
    size = factory.LazyAttribute(lambda a: len(a.content))

    @classmethod
    def _create(cls, model_class, *args, content: bytes, **kwargs):
        storages["default"].save(kwargs["name"], ContentFile(content))
        return super()._create(model_class, *args, **kwargs)

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create:
            job_snapshot_refresh(instance.job)


class DubbingJobFactory(DjangoModelFactory):
    """A queued job dubbing a video of its owner into Spanish, costing one credit (see the module)."""

    class Meta:
        model = "dubbing.DubbingJob"
        skip_postgeneration_save = True

    owner = factory.SubFactory(UserFactory)
    video = factory.SubFactory(VideoFactory, owner=factory.SelfAttribute("..owner"))
    target_language = "es"
    options = factory.LazyAttribute(lambda job: DubOptions(target_language=job.target_language).to_dict())
    cost_credits = 1

    class Params:
        succeeded = factory.Trait(status=JobStatus.SUCCEEDED, progress=100,
                                  finished_at=factory.LazyFunction(timezone.now))

    @factory.post_generation
    def steps(job, create: bool, steps: list[tuple[str, str]] | None, **kwargs) -> None:
        if not create:
            return
        for position, (name, status) in enumerate(steps or ()):
            JobStepFactory(job=job, name=name, position=position, status=status, **kwargs)

    @factory.post_generation
    def segments(job, create: bool, texts: list[tuple[str, str]] | None, **kwargs) -> None:
        if create and texts:
            add_segments(job, texts, **kwargs)

    @factory.post_generation
    def outputs(job, create: bool, wanted: bool | None, **kwargs) -> None:
        if create and wanted:
            _store_outputs(job)

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create:
            job_snapshot_refresh(instance)


class DubbedJobFactory(DubbingJobFactory):
    """A succeeded job with its dubbed video and subtitles stored, of a video whose source and
    thumbnail are stored (the community's posts and gallery). Another `status`: no outputs."""

    video = factory.SubFactory(StoredVideoFactory, owner=factory.SelfAttribute("..owner"))
    status = JobStatus.SUCCEEDED
    progress = factory.LazyAttribute(lambda job: 100 if job.status == JobStatus.SUCCEEDED else 0)
    finished_at = factory.LazyAttribute(lambda job: timezone.now() if job.status == JobStatus.SUCCEEDED else None)

    @factory.post_generation
    def outputs(job, create: bool, wanted: bool | None, **kwargs) -> None:
        if create and job.status == JobStatus.SUCCEEDED and wanted is not False:
            _store_outputs(job)


def add_segments(job, texts: list[tuple[str, str]], **fields) -> list:
    """Lines for an existing job, numbered from 0: `texts` = [(source, target), ...]; `fields` as
    SegmentFactory's (e.g. speaker="S2")."""
    return [SegmentFactory(job=job, index=index, source_text=source, target_text=target, **fields)
            for index, (source, target) in enumerate(texts)]


def _store_outputs(job) -> None:
    ArtifactFactory(job=job, kind=ArtifactKind.DUBBED_VIDEO, content=DUBBED_BYTES, filename="dub.es.mp4",
                    content_type="video/mp4")
    ArtifactFactory(job=job, kind=ArtifactKind.SUBTITLES_TARGET_SRT, content=SUBTITLE_BYTES, filename="dub.es.srt",
                    content_type="application/x-subrip")
