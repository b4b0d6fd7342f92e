"""A speaker's new voice, re-rendered for real (issue 20): a two-speaker dialogue with music under
it (espeak-ng voices, 48 kHz stereo) dubbed into Spanish through a real Dramatiq worker with the
fast voice; one speaker is renamed (no line changes) and given another voice: exactly their lines
count as changed and are quoted, and after the paid re-render their lines' dubbed clips are new
while the other speaker's are the same samples as before. The clips are read through the API
that plays them on the page (GET /jobs/{id}/segments/{index}/audio)."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from django.core.files import File
from rest_framework.test import APIClient

from billing.tests.factories import give_credits
from dubbing import services
from dubbing.languages import language_support
from dubbing.models import Artifact, ArtifactKind, JobStatus, JobStep, Segment
from dubbing.pipeline.subtitles import parse_subtitles
from testing.speech_clips import dialogue
from testing.waiting import wait_for_row
from videos.services import video_create_from_upload

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FAST_VOICE = "m1"  # espeak-ng: the test judges which lines change, not the voice
FINAL = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)
SENTENCES = ("Welcome to our short demonstration.", "Thank you, it is good to be here.",
             "Tomorrow the weather will be sunny.", "Will it rain all day?")


@pytest.fixture
def workspace(media_root, settings, tmp_path) -> Path:
    settings.DUBBING_WORKSPACE_DIR = tmp_path / "work"
    settings.DUBBING_ENGINES = "local"
    return settings.DUBBING_WORKSPACE_DIR


def _ts(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def _two_speaker_clip(folder: Path) -> tuple[Path, str]:
    """The dialogue (Ann and Bob in turn) with a quiet chord under it, 48 kHz stereo AAC, and
    its source subtitles as WebVTT naming each line's speaker."""
    speech, lines = dialogue(folder / "dialogue.wav", sentences=SENTENCES, pause=0.7)
    clip = folder / "dialogue.m4a"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(speech), "-f", "lavfi",
         "-i", "sine=frequency=196:sample_rate=48000,volume=0.05", "-filter_complex",
         "[0:a]aresample=48000,pan=stereo|c0=c0|c1=c0[v];[v][1:a]amix=inputs=2:duration=first:normalize=0[a]",
         "-map", "[a]", "-ar", "48000", "-ac", "2", "-c:a", "aac", "-b:a", "128k", str(clip)],
        check=True,
    )
    cues = [f"{_ts(start)} --> {_ts(end)}\n<v {('Ann', 'Bob')[who]}>{SENTENCES[i]}\n"
            for i, (start, end, who) in enumerate(lines)]
    return clip, "WEBVTT\n\n" + "\n".join(cues)


def _clips(client: APIClient, job) -> dict[int, np.ndarray]:
    out = {}
    for index in Segment.objects.filter(job=job).order_by("index").values_list("index", flat=True):
        response = client.get(f"/api/v1/jobs/{job.id}/segments/{index}/audio")
        assert response.status_code == 200 and response["Content-Type"] == "audio/wav", response.content[:200]
        out[index], _ = sf.read(io.BytesIO(response.content), dtype="int16")
    return out


def test_a_new_voice_re_renders_only_that_speakers_lines(owner, workspace, broker, worker, tmp_path):
    voices = language_support().voices.get("es") or []
    if FAST_VOICE not in voices:
        pytest.skip("espeak-ng's Spanish variants are not installed here")
    give_credits(owner, 10)
    client = APIClient()
    client.force_authenticate(owner)
    clip, source_vtt = _two_speaker_clip(tmp_path)
    with open(clip, "rb") as f:
        video = video_create_from_upload(owner=owner, file=File(f, name=clip.name))

    # Given a finished two-speaker dub
    job = services.dubbing_job_create(owner=owner, video_id=video.id, target_language="es", source_language="en",
                                      background="duck", voice=FAST_VOICE, source_subtitles=source_vtt)
    job = wait_for_row(job, lambda j: j.status in FINAL, timeout=300, interval=0.2)
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    speakers = dict(Segment.objects.filter(job=job).values_list("index", "speaker"))
    assert speakers == {0: "speaker_1", 1: "speaker_2", 2: "speaker_1", 3: "speaker_2"}
    listed = {s["speaker"]: s for s in client.get(f"/api/v1/jobs/{job.id}/speakers").json()["results"]}
    ann_voice, bob_voice = listed["speaker_1"]["voice"], listed["speaker_2"]["voice"]
    assert ann_voice and bob_voice and ann_voice != bob_voice  # whatever the casting chose, each their own
    before = _clips(client, job)
    assert all(np.abs(samples).max() > 1000 for samples in before.values())  # speech, not silence

    # When Ann is renamed: nothing to render, and the target subtitles name her
    response = client.patch(f"/api/v1/jobs/{job.id}/speakers/speaker_1", {"name": "Ann"}, format="json")
    assert response.status_code == 200 and response.json()["name"] == "Ann"
    assert client.get(f"/api/v1/jobs/{job.id}/render").json()["changed_segments"] == []
    vtt = Artifact.objects.get(job=job, kind=ArtifactKind.SUBTITLES_TARGET_VTT)
    from django.core.files.storage import storages

    labels = [s.speaker for s in parse_subtitles(storages["default"].open(vtt.name).read())]
    assert labels == ["Ann", "speaker_2", "Ann", "speaker_2"]
    report = json.loads(storages["default"].open(Artifact.objects.get(job=job, kind=ArtifactKind.REPORT).name).read())
    assert report["speaker_names"] == {"speaker_1": "Ann"}
    if isinstance(report.get("speakers"), list):  # the casting's per-speaker report
        assert {e["speaker"]: e["name"] for e in report["speakers"]} == {"speaker_1": "Ann", "speaker_2": ""}

    # When Ann is given another voice
    new_voice = next(v for v in voices if v not in (ann_voice, bob_voice) and len(v) <= 3)  # espeak-ng: fast
    response = client.patch(f"/api/v1/jobs/{job.id}/speakers/speaker_1", {"voice": new_voice}, format="json")
    assert response.status_code == 200 and response.json()["voice"] == new_voice

    # Then exactly her lines are changed and quoted
    quote = client.get(f"/api/v1/jobs/{job.id}/render").json()
    assert quote["changed_segments"] == [0, 2] and quote["cost_credits"] == 1

    # When the re-render runs
    assert client.post(f"/api/v1/jobs/{job.id}/render").status_code == 202
    job = wait_for_row(job, lambda j: not j.rendering and j.status in FINAL, timeout=300, interval=0.2)
    assert job.status == JobStatus.SUCCEEDED and job.render_count == 1, job.error_message

    # Then her lines sound different and Bob's are the very same samples
    after = _clips(client, job)
    for index in (1, 3):
        assert np.array_equal(after[index], before[index]), f"line {index} (Bob) changed"
    for index in (0, 2):
        same_length = len(after[index]) == len(before[index])
        assert not (same_length and np.array_equal(after[index], before[index])), f"line {index} (Ann) unchanged"
    detail = JobStep.objects.get(job=job, name="synthesize", render=1).detail
    assert detail["voices"] == {"speaker_1": new_voice, "speaker_2": bob_voice}
    assert client.get(f"/api/v1/jobs/{job.id}/render").json()["changed_segments"] == []
    # The render's subtitles keep her name.
    vtt = Artifact.objects.get(job=job, kind=ArtifactKind.SUBTITLES_TARGET_VTT)
    assert vtt.render == 1
    labels = [s.speaker for s in parse_subtitles(storages["default"].open(vtt.name).read())]
    assert labels == ["Ann", "speaker_2", "Ann", "speaker_2"]


def test_a_line_without_a_render_has_no_audio(owner, workspace):
    from dubbing.tests.factories import DubbingJobFactory
    from videos.tests.factories import SpeechVideoFactory

    job = DubbingJobFactory(owner=owner, video=SpeechVideoFactory(owner=owner), succeeded=True,
                            segments=[("Hi.", "Hola.")])
    client = APIClient()
    client.force_authenticate(owner)
    response = client.get(f"/api/v1/jobs/{job.id}/segments/0/audio")
    assert response.status_code == 404 and response.json()["code"] == "line_audio_not_found"
    response = client.get(f"/api/v1/jobs/{job.id}/segments/7/audio")
    assert response.status_code == 404 and response.json()["code"] == "segment_not_found"
