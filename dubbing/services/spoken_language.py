"""A video's spoken language, detected in the background once it is uploaded, and what a job's
`auto` makes of it.

Videos publishes `video.ready` after an upload (videos/events.py); the handler subscribed in
DubbingConfig.ready marks the video pending and queues `detect_spoken_language` after commit.
The actor runs the offline Whisper's own detection (the rule a job's `auto` uses: the
probabilities on the first window of speech, taken at 0.6) on the first DETECT_SECONDS of the
sound, and records the language and its probability on the video, or that it is unsure.

A job asked with `auto` then takes the detected language as its source, so a pair no route
serves and a video already in the target language are refused before anything is charged; an
unsure detection is a 400 `source_language_unsure` asking the user to choose. While detection is
still running (or if it failed), the job keeps `auto` and the pipeline detects as before: an
unsure answer there fails the job, which refunds it in full.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext

from dubbing.engine_config import engine_config
from dubbing.engines.base import EngineError, LanguageGuess
from dubbing.engines.registry import build_asr
from dubbing.errors import SameLanguage, SourceLanguageUnsure
from dubbing.languages import language_name
from dubbing.queue import detect_message_send
from dubbing.storage import storage_fetch
from videos.media.ffmpeg import FFmpegError, run_ffmpeg
from videos.models import SpokenLanguageStatus, Video, VideoStatus
from videos.services import video_spoken_language_record
from videos.storage import media_storage

logger = logging.getLogger(__name__)

# Sound read for detection: Whisper looks at the first 30 s window of speech; the rest leaves
# room for an intro of music or silence before anyone speaks.
DETECT_SECONDS = 150
DETECT_THREADS = 2


def spoken_language_request(event: str = "", *, video_id, owner_id=None) -> bool:
    """Mark a ready video's language as being detected and queue the detection (after commit).
    Subscribed to videos' `video.ready`; False when there is nothing to detect."""
    if not Video.objects.filter(id=video_id, status=VideoStatus.READY, has_audio=True).exists():
        return False
    if not video_spoken_language_record(video_id=video_id, status=SpokenLanguageStatus.PENDING):
        return False
    detect_message_send(video_id=video_id)
    return True


def spoken_language_detect(*, video_id) -> str:
    """The actor's work: detect and record; returns the status recorded ("" when skipped)."""
    video = Video.objects.filter(id=video_id).first()
    if video is None or video.spoken_language_status != SpokenLanguageStatus.PENDING:
        return ""  # deleted, chosen by the owner meanwhile, or a duplicate delivery already done
    try:
        guess = _guess(video)
    except (EngineError, FFmpegError, OSError) as exc:
        logger.warning("Spoken language detection failed for video %s: %s", video_id, exc)
        video_spoken_language_record(video_id=video_id, status=SpokenLanguageStatus.FAILED)
        return SpokenLanguageStatus.FAILED
    if guess.language:
        status, language = SpokenLanguageStatus.DETECTED, guess.language
    else:
        status, language = SpokenLanguageStatus.UNSURE, ""
    video_spoken_language_record(video_id=video_id, status=status, language=language,
                                 confidence=guess.probability if guess.speech else None)
    logger.info("Spoken language of video %s: %s %s (%s)", video_id, status, guess.best, guess.scores)
    return status


def _guess(video: Video) -> LanguageGuess:
    """Whisper's detection on the first DETECT_SECONDS of the video's sound (slow work, outside
    any transaction)."""
    workspace = Path(settings.DUBBING_WORKSPACE_DIR)
    workspace.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=workspace, prefix="detect-") as tmp:
        source = _local_source(video, Path(tmp))
        wav = Path(tmp) / "speech.wav"
        run_ffmpeg(["-t", str(DETECT_SECONDS), "-i", str(source), "-vn", "-ac", "1", "-ar", "16000",
                    "-c:a", "pcm_s16le", str(wav)])
        asr = build_asr("whisper", engine_config(), threads=min(DETECT_THREADS, settings.DUBBING_WORKER_CPUS))
        return asr.detect_language(wav)


def _local_source(video: Video, folder: Path) -> Path:
    storage = media_storage()
    try:
        return Path(storage.path(video.storage_key))
    except NotImplementedError:
        pass
    dest = folder / f"source{Path(video.storage_key).suffix}"
    if not storage_fetch(video.storage_key, dest, storage=storage):
        raise OSError("The video's file is missing from the storage.")
    return dest


def source_language_resolve(*, video: Video, source_language: str, target_languages: list[str],
                            source_subtitles: str | None = None) -> str:
    """The source a job uses: what was asked, else (for `auto`) the language detected at upload
    or chosen on the video. 400 source_language_unsure when detection could not tell and no
    source subtitles say it; same_language when the video already speaks a target."""
    if source_language != "auto":
        return source_language
    status = video.spoken_language_status
    if status in (SpokenLanguageStatus.DETECTED, SpokenLanguageStatus.USER) and video.spoken_language:
        spoken = video.spoken_language
        if spoken in target_languages:
            message = gettext("This video is already in %(language)s. Choose another language to dub into.") % {
                "language": language_name(spoken)}
            field = "target_language" if len(target_languages) == 1 else "target_languages"
            raise SameLanguage(message, errors={field: [message]})
        return spoken
    if status == SpokenLanguageStatus.UNSURE and not source_subtitles:
        message = gettext("We could not tell which language is spoken in this video. Choose the spoken language "
                          "and try again.")
        raise SourceLanguageUnsure(message, errors={"source_language": [message]})
    return "auto"  # not asked (an older video), still running, or failed: the job detects it
