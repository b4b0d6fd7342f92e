"""English to Korean and Korean to English with a cloud translator beside the local engines
(issue 21 item 1): recognition and voices stay offline (Whisper, the fast voice), translation goes
to the OpenAI chat API, here the loopback server (testing/openai_server.py) standing in for
OpenAI or any OpenAI-compatible server named by OPENAI_BASE_URL."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from dubbing.engines.registry import EngineConfig, build_engines
from dubbing.pipeline.options import DubOptions
from dubbing.pipeline.publish import run_pipeline
from dubbing.tests.conftest import SPEECH_EN, SPEECH_KO

pytestmark = pytest.mark.media


def mixed(server) -> EngineConfig:
    """Local recognition and voices (the fast one: these tests do not judge it), a cloud translator."""
    return EngineConfig(engines="local", translate_engine="openai", tts_engine="espeak",
                        openai_api_key="test", openai_base_url=server.base_url)


def test_korean_speech_is_recognised_offline_and_dubbed_into_english(openai_server, tmp_path):
    options = DubOptions(target_language="en", source_language="ko", background="drop")
    report = run_pipeline(SPEECH_KO, options, workspace=tmp_path / "ws", out_dir=tmp_path / "out",
                          engines=build_engines(options, mixed(openai_server), threads=2))

    assert report["engines"]["asr"] == "whisper" and report["engines"]["translate"] == "openai"
    assert report["engines"]["tts"] == "espeak" and report["route"] == "direct"
    assert report["source_language"] == "ko"
    # Whisper heard Korean (Hangul, whatever its errors), the model answered English for each line.
    assert all(any("\uac00" <= ch <= "\ud7a3" for ch in line["source_text"]) for line in report["segments"])
    english = " ".join(line["text"] for line in report["segments"])
    assert "umbrella" in english and "Thank you for watching." in english
    assert all(line["raw_seconds"] > 0.3 for line in report["segments"])
    # Only the translator went to the cloud.
    assert openai_server.counts["chat"] >= 1
    assert openai_server.counts["transcriptions"] == openai_server.counts["speech"] == 0
    task = openai_server.chat_tasks[0]
    assert (task["source_language"], task["target_language"]) == ("ko", "en")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_english_video_is_dubbed_into_korean_through_the_api_with_a_cloud_translator(
        owner, owner_client, media_root, broker, worker, settings, tmp_path, openai_server):
    import json

    from django.core.files import File

    from billing.services import credits_grant
    from dubbing.languages import language_support_clear
    from dubbing.models import Artifact, DubbingJob, JobStatus
    from dubbing.queue import QUEUE
    from testing.waiting import wait_for_row
    from videos.services import video_create_from_upload

    settings.DUBBING_ENGINES = "local"
    settings.DUBBING_TRANSLATE_ENGINE = "openai"
    settings.DUBBING_TTS_ENGINE = "espeak"
    settings.OPENAI_API_KEY = "test"
    settings.OPENAI_BASE_URL = openai_server.base_url
    settings.DUBBING_WORKSPACE_DIR = tmp_path / "work"
    language_support_clear()
    credits_grant(user=owner, amount=10, staff=owner, reason="test", idempotency_key=f"t:{uuid.uuid4()}")
    with open(SPEECH_EN, "rb") as f:
        video = video_create_from_upload(owner=owner, file=File(f, name="speech_en.mp4"))

    languages = owner_client.get("/api/v1/languages").json()
    assert {"source": "en", "target": "ko", "via": "direct"} in languages["pairs"]
    assert "ko" not in languages["needs"]
    response = owner_client.post("/api/v1/jobs", {"video_id": str(video.id), "target_language": "ko",
                                                  "source_language": "en", "background": "drop"}, format="json")
    assert response.status_code == 201, response.content

    job = wait_for_row(DubbingJob.objects.get(), lambda j: j.status in (
        JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED), timeout=300, interval=0.2)
    broker.join(QUEUE)
    worker.join()
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    assert job.engines["asr"] == "whisper" and job.engines["translate"] == "openai"
    report_file = Artifact.objects.get(job=job, kind="report").name
    report = json.loads((Path(media_root) / report_file).read_text())
    korean = [line["text"] for line in report["segments"]]
    assert korean[0] == "짧은 시연에 오신 것을 환영합니다." and "감사합니다" in korean[-1]
    assert all(any("\uac00" <= ch <= "\ud7a3" for ch in line) for line in korean)
    assert openai_server.counts["transcriptions"] == openai_server.counts["speech"] == 0
    language_support_clear()
