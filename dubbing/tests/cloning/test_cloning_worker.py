"""A cloning job end to end through the API and a real Dramatiq worker, with the ElevenLabs speech
engine on a loopback server: both speakers of a two-voice conversation are cloned, the job
succeeds, the consent row names the speakers cloned, GET /jobs/{id}/speakers says `cloned`, and
no cloned voice is left at the provider (each clone's row says it was deleted).

Media: an MP4 (test picture, 48 kHz stereo AAC) of two espeak-ng voices taking turns; its lines
are supplied as WebVTT with the speakers as voice spans, so no recognizer runs."""

from __future__ import annotations

import subprocess
import uuid

import pytest
from django.core.files import File

from billing.services import credits_grant
from dubbing.languages import language_support, language_support_clear
from dubbing.models import ClonedVoice, JobStatus, VoiceCloningConsent
from testing.elevenlabs_server import ElevenLabsServer
from testing.speech_clips import conversation, webvtt
from testing.waiting import wait_for_row
from videos.services import video_create_from_upload

pytestmark = [pytest.mark.slow, pytest.mark.media, pytest.mark.django_db(transaction=True)]

ANN, BEN = "en+m3", "en+f4"
TURNS = [
    (ANN, "Welcome to our short demonstration of the new city library."),
    (BEN, "Thank you, it is good to be here with all of you today."),
    (ANN, "Tomorrow the weather will be sunny and warm in the morning."),
    (BEN, "In the afternoon, please bring an umbrella and a warm coat."),
]


@pytest.fixture
def media_root(media_root, settings, tmp_path):
    settings.DUBBING_WORKSPACE_DIR = tmp_path / "work"
    return media_root


@pytest.fixture
def eleven(settings):
    with ElevenLabsServer() as server:
        settings.DUBBING_TTS_ENGINE = "elevenlabs"
        settings.ELEVENLABS_API_KEY, settings.ELEVENLABS_BASE_URL = server.api_key, server.base_url
        language_support_clear()
        yield server
    language_support_clear()


def _video(owner, tmp_path):
    audio = tmp_path / "talk.wav"
    lines = conversation(audio, TURNS)
    movie = tmp_path / "talk.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
                    "-i", str(audio), "-shortest", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
                    "-ar", "48000", "-ac", "2", str(movie)], check=True)
    with open(movie, "rb") as f:
        return video_create_from_upload(owner=owner, file=File(f, name="talk.mp4")), webvtt(lines, {ANN: "Ann",
                                                                                                    BEN: "Ben"})


def test_a_cloning_job_runs_through_the_worker_and_leaves_no_cloned_voice(
        owner, owner_client, media_root, broker, worker, eleven, tmp_path):
    if not language_support().supports("en", "es"):
        pytest.skip("apertium en->es is not installed here")
    credits_grant(user=owner, amount=10, staff=owner, reason="test", idempotency_key=f"t:{uuid.uuid4()}")
    video, subtitles = _video(owner, tmp_path)
    response = owner_client.post("/api/v1/jobs", {
        "video_id": str(video.id), "target_language": "es", "source_language": "en", "background": "drop",
        "source_subtitles": subtitles, "voice_cloning": True, "voice_cloning_consent": True}, format="json")
    assert response.status_code == 201, response.content
    from dubbing.models import DubbingJob

    job = wait_for_row(DubbingJob.objects.get(id=response.json()["id"]),
                       lambda j: j.status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED),
                       timeout=300, interval=0.2)
    assert job.status == JobStatus.SUCCEEDED, (job.error_code, job.error_message)
    speakers = owner_client.get(f"/api/v1/jobs/{job.id}/speakers").json()
    speakers = speakers.get("results", speakers) if isinstance(speakers, dict) else speakers
    assert {s["speaker"]: s["cloned"] for s in speakers} == {"speaker_1": True, "speaker_2": True}
    assert all(s["voice_reason"].startswith("A clone of this speaker's own voice, made from") for s in speakers)
    consent = VoiceCloningConsent.objects.get(job=job)
    assert sorted(consent.speakers) == ["speaker_1", "speaker_2"]
    rows = list(ClonedVoice.objects.filter(job=job))
    assert len(rows) == 2 and all(r.voice_id and r.deleted_at for r in rows)
    assert [r["kind"] for r in eleven.requests].count("add") == 2
    assert eleven.voices == {}
