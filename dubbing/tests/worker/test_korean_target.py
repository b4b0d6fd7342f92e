"""English dubbed into Korean offline with the user's Korean subtitles (issue 21 item 1), end to
end: the form's upload (saved by a Korean editor in CP949, with fewer cues than the sentences
spoken), a real Dramatiq worker, real recognition of the English speech and the fast voice. The
report says how the cues met the recognised lines, matched by time."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from django.core.files import File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from billing.services import credits_grant
from dubbing.engines.base import Segment
from dubbing.languages import language_support_clear
from dubbing.models import Artifact, DubbingJob, JobStatus
from dubbing.pipeline.segment import subtitles_match
from dubbing.queue import QUEUE
from testing.media import FIXTURE_MEDIA
from testing.waiting import wait_for_row
from videos.services import video_create_from_upload

# Three cues for the four English sentences (1.3-3.5, 4.5-7.7, 8.8-11.2, 12.4-15.6 s): the
# third sentence has none, and the last cue is over the silence after the speech.
KOREAN_SRT = ("1\n00:00:01,200 --> 00:00:03,600\n짧은 시연에 오신 것을 환영합니다.\n\n"
              "2\n00:00:04,400 --> 00:00:07,800\n내일 아침은 맑고 따뜻하겠습니다.\n\n"
              "3\n00:00:16,000 --> 00:00:17,800\n시청해 주셔서 감사합니다.\n")


def test_cues_are_matched_to_the_recognised_lines_by_time_more_or_fewer():
    lines = [Segment(id=f"r{i}", start=a, end=b, text=t) for i, (a, b, t) in enumerate(
        [(1.3, 3.5, "Welcome."), (4.5, 7.7, "Tomorrow."), (8.8, 11.2, "Umbrella.")])]
    more = [Segment(id=f"s{i}", start=a, end=b, text="줄") for i, (a, b) in enumerate(
        [(1.2, 2.4), (2.4, 3.6), (4.4, 7.8), (8.7, 11.3), (12.0, 13.0)])]
    fewer = [Segment(id="s1", start=1.0, end=8.0, text="줄")]

    assert subtitles_match(more, lines) | {"matched_by": "time"} == {
        "cues": 5, "recognised_lines": 3, "matched_by": "time",
        "cues_without_speech": [{"id": "s4", "start": 12.0, "end": 13.0}], "lines_without_cue": []}
    found = subtitles_match(fewer, lines)
    assert found["cues"] == 1 and found["recognised_lines"] == 3 and found["cues_without_speech"] == []
    assert found["lines_without_cue"] == [{"start": 8.8, "end": 11.2, "text": "Umbrella."}]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_english_video_is_dubbed_into_korean_with_the_users_cp949_subtitles(
        owner, media_root, broker, worker, settings, tmp_path):
    settings.DUBBING_ENGINES = "local"
    settings.DUBBING_TTS_ENGINE = "espeak"  # the test does not judge the voice
    settings.DUBBING_WORKSPACE_DIR = tmp_path / "work"
    language_support_clear()
    credits_grant(user=owner, amount=10, staff=owner, reason="test", idempotency_key=f"t:{uuid.uuid4()}")
    with open(FIXTURE_MEDIA / "speech_en.mp4", "rb") as f:
        video = video_create_from_upload(owner=owner, file=File(f, name="speech_en.mp4"))
    browser = Client()
    browser.force_login(owner)

    response = browser.post(f"/videos/{video.id}/dub", {
        "target_language": "ko", "source_language": "en", "background": "drop", "subtitles": "soft",
        "max_speed": "1.30",
        "target_subtitles": SimpleUploadedFile("dub.ko.srt", KOREAN_SRT.encode("cp949"))})

    assert response.status_code == 302, response.content.decode()[:3000]
    job = wait_for_row(DubbingJob.objects.get(), lambda j: j.status in (
        JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED), timeout=300, interval=0.2)
    broker.join(QUEUE)
    worker.join()
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    assert job.engines["translate"] == "subtitles" and job.engines["tts"] == "espeak"

    artifacts = {a.kind: Path(media_root) / a.name for a in Artifact.objects.filter(job=job)}
    report = json.loads(artifacts["report"].read_text())
    assert [s["text"] for s in report["segments"]] == [
        "짧은 시연에 오신 것을 환영합니다.", "내일 아침은 맑고 따뜻하겠습니다.", "시청해 주셔서 감사합니다."]
    # Each cue took the English words spoken inside its time.
    assert "welcome" in report["segments"][0]["source_text"].lower()
    match = report["subtitles_match"]
    # Four sentences, cut into subtitle-sized lines: more lines than cues.
    assert match["cues"] == 3 and match["recognised_lines"] >= 4 and match["matched_by"] == "time"
    assert [c["id"] for c in match["cues_without_speech"]] == ["s0003"]
    assert any("afternoon" in line["text"].lower() for line in match["lines_without_cue"])
    vtt = artifacts["subtitles_target_vtt"].read_text(encoding="utf-8")
    assert "내일 아침은 맑고 따뜻하겠습니다." in vtt
    assert all(seg["raw_seconds"] > 0.3 for seg in report["segments"])  # every Korean line was spoken
