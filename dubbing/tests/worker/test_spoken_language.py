"""A video's spoken language is detected in the background once it is uploaded (issue 21 item 2),
by a real Dramatiq worker running the offline Whisper's own detection, shown and preselected on
the dub form, and used to refuse before anything is charged what cannot work: the language the
video already speaks, a pair no route serves, and a video whose language detection could not
tell (the user is asked to choose).

Media like users': Korean speech spoken by Kokoro (Whisper takes the espeak-ng fixture for Thai,
docs/engines.md) and time-reversed English, each under a test picture with 48 kHz stereo sound."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest
from django.core.files import File

from billing.models import LedgerEntry
from billing.selectors import credits_balance
from billing.services import credits_grant
from dubbing.languages import language_support_clear
from dubbing import services
from dubbing.models import DubbingJob
from testing.media import FIXTURE_MEDIA
from testing.waiting import wait_for_row
from videos.models import SpokenLanguageStatus, VideoStatus
from videos.services import video_create_from_upload
from videos.tests.factories import VideoFactory

KOREAN = "안녕하세요. 오늘은 날씨가 좋습니다. 오후에는 비가 올 수도 있습니다. 우산을 꼭 챙기세요."
SPANISH_SRT = "1\n00:00:00,500 --> 00:00:03,000\nHola a todos.\n"


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def as_video(sound: Path, out: Path, *filters: str) -> Path:
    """`sound` under a test picture, as an MP4 with 48 kHz stereo AAC (what phones record)."""
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-i", str(sound),
            *(["-af", ",".join(filters)] if filters else []), "-shortest", "-c:v", "libx264", "-preset",
            "ultrafast", "-c:a", "aac", "-ar", "48000", "-ac", "2", str(out))
    return out


@pytest.fixture
def media_root(media_root, settings, tmp_path) -> Path:
    settings.DUBBING_WORKSPACE_DIR = tmp_path / "work"
    settings.DUBBING_ENGINES = "local"
    settings.DUBBING_TRANSLATE_ENGINE = None
    language_support_clear()
    return media_root


def upload(owner, path: Path):
    with open(path, "rb") as f:
        return video_create_from_upload(owner=owner, file=File(f, name=path.name))


def detected(video):
    return wait_for_row(video, lambda v: v.spoken_language_status not in ("", SpokenLanguageStatus.PENDING),
                        timeout=240, interval=0.2)


def charged_nothing(owner, balance: int, entries: int) -> bool:
    return (not DubbingJob.objects.exists() and credits_balance(user=owner) == balance
            and LedgerEntry.objects.filter(account__user=owner).count() == entries)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_korean_speech_is_detected_at_upload_preselected_and_used_to_refuse_before_charging(
        owner, owner_client, owner_browser, media_root, broker, worker, tmp_path):
    from dubbing.engine_config import engine_config
    from dubbing.engines.registry import build_tts

    speech = build_tts("kokoro", engine_config(), threads=2).synthesize(KOREAN, "ko", None, tmp_path / "ko.wav")
    video = upload(owner, as_video(speech, tmp_path / "인사.mp4", "adelay=1500:all=1"))
    credits_grant(user=owner, amount=10, staff=owner, reason="test", idempotency_key=f"t:{uuid.uuid4()}")
    entries = LedgerEntry.objects.filter(account__user=owner).count()

    video = detected(video)
    assert video.spoken_language_status == SpokenLanguageStatus.DETECTED
    assert video.spoken_language == "ko" and video.spoken_language_confidence >= 0.6  # the threshold `auto` uses
    body = owner_client.get(f"/api/v1/videos/{video.id}").json()
    assert body["spoken_language"] == "ko" and body["spoken_language_status"] == "detected"

    # The video page says so and preselects it (changeable: every source is still offered).
    html = owner_browser.get(f"/videos/{video.id}").content.decode()
    assert "Spoken language: Korean (detected" in html
    assert '<option value="ko" selected>Korean</option>' in html and '<option value="auto">' in html

    # Dubbing it into Korean cannot work: refused, nothing charged.
    same = owner_client.post("/api/v1/jobs", {"video_id": str(video.id), "target_language": "ko"}, format="json")
    assert same.status_code == 400 and same.json()["code"] == "same_language", same.content
    assert same.json()["detail"] == "This video is already in Korean. Choose another language to dub into."
    # Nothing here translates Korean: refused with what it needs, nothing charged.
    unserved = owner_client.post("/api/v1/jobs", {"video_id": str(video.id), "target_language": "es"},
                                 format="json")
    assert unserved.status_code == 400 and unserved.json()["code"] == "unsupported_pair"
    assert unserved.json()["detail"].startswith("To dub Korean into Spanish here, upload your Spanish subtitles")
    assert charged_nothing(owner, 10, entries)

    # With the Spanish subtitles it is accepted, from Korean, and dubbed offline: Whisper hears the
    # Korean (the source subtitles of the dub), the user's Spanish line is spoken.
    accepted = owner_client.post("/api/v1/jobs", {"video_id": str(video.id), "target_language": "es",
                                                  "target_subtitles": SPANISH_SRT, "background": "drop"},
                                 format="json")
    assert accepted.status_code == 201, accepted.content
    job = DubbingJob.objects.get()
    assert job.source_language == "ko"
    job = wait_for_row(job, lambda j: j.status in ("succeeded", "failed", "cancelled"), timeout=300, interval=0.2)
    assert job.status == "succeeded", job.error_message
    lines = list(job.segments.values_list("source_text", "target_text"))
    assert [target for _, target in lines] == ["Hola a todos."]
    assert any("\uac00" <= ch <= "\ud7a3" for ch in lines[0][0])  # the Korean heard under the cue
    language_support_clear()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_video_whose_language_cannot_be_told_asks_the_user_and_charges_nothing(
        owner, owner_client, owner_browser, media_root, broker, worker, tmp_path):
    video = upload(owner, as_video(FIXTURE_MEDIA / "speech_en.mp4", tmp_path / "backwards.mp4", "areverse"))
    credits_grant(user=owner, amount=10, staff=owner, reason="test", idempotency_key=f"t:{uuid.uuid4()}")
    entries = LedgerEntry.objects.filter(account__user=owner).count()

    video = detected(video)
    assert video.spoken_language_status == SpokenLanguageStatus.UNSURE and video.spoken_language == ""
    assert 0 < video.spoken_language_confidence < 0.6

    html = owner_browser.get(f"/videos/{video.id}").content.decode()
    assert "We could not tell which language is spoken in this video." in html
    refused = owner_client.post("/api/v1/jobs", {"video_id": str(video.id), "target_language": "es"}, format="json")
    assert refused.status_code == 400, refused.content
    assert refused.json()["code"] == "source_language_unsure" and "source_language" in refused.json()["errors"]
    form = owner_browser.post(f"/videos/{video.id}/dub", {
        "target_language": "es", "source_language": "auto", "background": "drop", "subtitles": "soft",
        "max_speed": "1.30"})
    assert form.status_code == 400 and "Choose the spoken language" in form.content.decode()
    assert charged_nothing(owner, 10, entries)

    # Told the language, it dubs.
    chosen = owner_client.post("/api/v1/jobs", {"video_id": str(video.id), "target_language": "es",
                                                "source_language": "en", "background": "drop"}, format="json")
    assert chosen.status_code == 201, chosen.content
    services.dubbing_job_cancel(job=DubbingJob.objects.get())  # accepted is the point; no dub needed
    language_support_clear()


@pytest.mark.django_db
def test_while_detection_runs_a_job_keeps_auto_and_the_dub_detects_it(owner, staff, owner_client, media_root):
    from billing.tests.factories import give_credits

    give_credits(owner, 5, staff=staff)
    video = VideoFactory(owner=owner, source=(FIXTURE_MEDIA / "speech_en.mp4").read_bytes(), format="mov,mp4",
                         duration=18.68, status=VideoStatus.READY, spoken_language_status=SpokenLanguageStatus.PENDING)

    response = owner_client.post("/api/v1/jobs", {"video_id": str(video.id), "target_language": "es",
                                                  "background": "drop"}, format="json")

    assert response.status_code == 201, response.content
    assert DubbingJob.objects.get().source_language == "auto"


@pytest.mark.django_db
def test_the_owner_can_say_which_language_is_spoken_and_jobs_follow_it(owner, staff, owner_client, other_client,
                                                                      media_root):
    from billing.tests.factories import give_credits

    give_credits(owner, 5, staff=staff)
    video = VideoFactory(owner=owner, source=(FIXTURE_MEDIA / "speech_en.mp4").read_bytes(), format="mov,mp4",
                         duration=18.68, status=VideoStatus.READY, spoken_language_status=SpokenLanguageStatus.UNSURE)
    url = f"/api/v1/videos/{video.id}"

    assert other_client.patch(url, {"spoken_language": "en"}, format="json").status_code == 404
    bad = owner_client.patch(url, {"spoken_language": "../en"}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_spoken_language"
    body = owner_client.patch(url, {"spoken_language": "en"}, format="json").json()
    assert body["spoken_language"] == "en" and body["spoken_language_status"] == "user"
    assert body["title"] == video.title  # the title is left as it was

    response = owner_client.post("/api/v1/jobs", {"video_id": str(video.id), "target_language": "es",
                                                  "background": "drop"}, format="json")
    assert response.status_code == 201 and DubbingJob.objects.get().source_language == "en"
