"""The shared source analysis: the source side of a video (probe, extract, transcription,
segmentation, speakers) made once for every job on the same video, source language and
recognizer. Its row is a lock: a job claims it with a conditional update, renews it by a
heartbeat, and releases it; the others wait, then read what the holder stored
(dubbing/worker/analysis.py holds the lock around the pipeline's source stages)."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from dubbing.models import SourceAnalysis
from dubbing.pipeline.options import DubOptions
from dubbing.pipeline.transcribe import text_hash


def source_analysis_key(*, video_id, video_key: str, options: DubOptions, recognizer: str,
                        recognizer_options=None, candidates: list[str] | None = None) -> str:
    """What the source side depends on: the video (its stored file), the source language (and
    with "auto", the languages detection chooses from), supplied subtitles, the recognizer and
    its options, and the speaker count asked for (the segment stage clusters lines to it). Jobs
    with the same key share one analysis."""
    parts = [str(video_id), video_key, options.source_language, text_hash(options.source_subtitles),
             text_hash(options.target_subtitles), recognizer, recognizer_options, sorted(candidates or []),
             options.num_speakers]
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def source_analysis_claim(*, key: str, video_id, source_language: str, recognizer: str, token: uuid.UUID) -> bool:
    """Take the analysis for this job: True when it had no holder or its holder's heartbeat is
    stale (a dead worker); False while another job holds it."""
    SourceAnalysis.objects.get_or_create(key=key, defaults={"video_id": video_id, "source_language": source_language,
                                                            "recognizer": recognizer[:100]})
    now = timezone.now()
    stale = now - timedelta(seconds=settings.DUBBING_HEARTBEAT_STALE_SECONDS)
    return SourceAnalysis.objects.filter(
        Q(claim_token__isnull=True) | Q(heartbeat_at__lt=stale), key=key
    ).update(claim_token=token, heartbeat_at=now, updated_at=now, uses=F("uses") + 1) == 1


def source_analysis_heartbeat(*, key: str, token: uuid.UUID) -> bool:
    return SourceAnalysis.objects.filter(key=key, claim_token=token).update(heartbeat_at=timezone.now()) == 1


def source_analysis_release(*, key: str, token: uuid.UUID) -> None:
    SourceAnalysis.objects.filter(key=key, claim_token=token).update(claim_token=None, heartbeat_at=None,
                                                                      updated_at=timezone.now())
