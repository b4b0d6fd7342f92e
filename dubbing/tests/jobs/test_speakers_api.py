"""Speakers through the API (API.md "Dubbing jobs": GET /jobs/{id}/speakers, PATCH
/jobs/{id}/speakers/{speaker}): each speaker's name, voice, reason, seconds and lines; a new name
costs nothing and reaches the stored WebVTT voice labels and report at once; a new voice marks
exactly that speaker's lines as changed for the render quote.

Rows are written directly; the real re-render of a voice change is test_speaker_voice_render.py.
"""

from __future__ import annotations

import json

import pytest
from django.core.files.storage import storages

from dubbing.languages import language_support
from dubbing.models import ArtifactKind, DubbingJob, JobStatus, Segment, StepStatus
from dubbing.pipeline.subtitles import parse_subtitles, write_vtt
from dubbing.tests.factories import ArtifactFactory, DubbingJobFactory, JobStepFactory, SegmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_speaker_job(owner, video):
    """A succeeded Spanish dub with three lines: speaker_1, speaker_2, speaker_1; its synthesis
    cast voices recorded as the pipeline records them, and its target VTT and report stored."""
    job = DubbingJobFactory(owner=owner, video=video, succeeded=True, stage="publish")
    lines = [("Hello.", "Hola.", "speaker_1"), ("Hi!", "¡Hola!", "speaker_2"), ("Bye.", "Adiós.", "speaker_1")]
    for index, (source, target, speaker) in enumerate(lines):
        SegmentFactory(job=job, index=index, source_text=source, target_text=target, speaker=speaker)
    JobStepFactory(job=job, name="synthesize", position=6,
                   detail={"clips": 3, "voices": {"speaker_1": "cast-one", "speaker_2": "cast-two"}})
    return job


def _store_vtt(job, tmp_path):
    cues = [(s.start, s.end, s.target_text) for s in Segment.objects.filter(job=job).order_by("index")]
    labels = [(s.segment_id, s.speaker) for s in Segment.objects.filter(job=job).order_by("index")]
    path = tmp_path / "target.vtt"
    write_vtt(cues, path, labels)
    vtt = ArtifactFactory(job=job, kind=ArtifactKind.SUBTITLES_TARGET_VTT, filename="dub.es.target.vtt",
                          content=path.read_bytes(), content_type="text/vtt")
    report = ArtifactFactory(job=job, kind=ArtifactKind.REPORT, filename="dub.es.report.json",
                             content=json.dumps({"voices": {"speaker_1": "cast-one"},
                                                 "speakers": [{"speaker": "speaker_2", "voice": "cast-two"}]}).encode(),
                             content_type="application/json")
    return vtt, report


def _voices() -> list[str]:
    voices = language_support().voices.get("es") or []
    if len(voices) < 2:
        pytest.skip("the configured speech engine lists fewer than two Spanish voices here")
    return voices


def test_speakers_have_the_fields_api_md_gives_with_the_voice_their_synthesis_cast(owner_client, two_speaker_job):
    body = owner_client.get(f"/api/v1/jobs/{two_speaker_job.id}/speakers").json()

    assert body["results"] == [
        {"speaker": "speaker_1", "name": "", "voice": "cast-one", "voice_reason": "", "seconds": 3.0,
         "segments": 2, "cloned": False},
        {"speaker": "speaker_2", "name": "", "voice": "cast-two", "voice_reason": "", "seconds": 1.5,
         "segments": 1, "cloned": False},
    ]


def test_a_new_name_changes_no_line_costs_nothing_and_labels_the_stored_subtitles(
    owner_client, two_speaker_job, tmp_path
):
    # Given a dub whose target subtitles label each cue with its speaker
    vtt, report = _store_vtt(two_speaker_job, tmp_path)
    url = f"/api/v1/jobs/{two_speaker_job.id}"

    # When its owner names speaker_2 "Minji"
    response = owner_client.patch(f"{url}/speakers/speaker_2", {"name": "  Minji  "}, format="json")

    # Then the speaker is answered with the name, no line changed and nothing is to be paid
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Minji" and response.json()["voice"] == "cast-two"
    two_speaker_job.refresh_from_db()
    assert two_speaker_job.speaker_names == {"speaker_2": "Minji"}
    assert owner_client.get(f"{url}/render").json()["changed_segments"] == []
    # and the stored WebVTT says Minji where speaker_2 spoke, speaker_1 elsewhere
    text = storages["default"].open(vtt.name).read().decode()
    assert text.count("<v Minji>") == 1 and text.count("<v speaker_1>") == 2
    assert "<v Minji>¡Hola!" in text
    assert [s.speaker for s in parse_subtitles(text)] == ["speaker_1", "Minji", "speaker_1"]
    stored = json.loads(storages["default"].open(report.name).read())
    assert stored["speaker_names"] == {"speaker_2": "Minji"}
    assert stored["speakers"] == [{"speaker": "speaker_2", "voice": "cast-two", "name": "Minji"}]

    # When the name is taken away again, the label goes back to the speaker's own
    response = owner_client.patch(f"{url}/speakers/speaker_2", {"name": ""}, format="json")
    assert response.status_code == 200 and response.json()["name"] == ""
    text = storages["default"].open(vtt.name).read().decode()
    assert "<v Minji>" not in text and text.count("<v speaker_2>") == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x" * 51}, "name"),
        ({"name": "speaker_1"}, "name"),  # another speaker's label: the subtitles could not tell them apart
        ({"name": "a\u200bb"}, "name"),
        ({"name": 7}, "name"),
        ({"voice": "no-such-voice"}, "voice"),
        ({"voice": ""}, "voice"),
        ({}, "non_field_errors"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_a_bad_name_or_voice_is_400_naming_the_field_and_changes_nothing(owner_client, two_speaker_job, body, field):
    before = DubbingJob.objects.get(id=two_speaker_job.id)

    response = owner_client.patch(f"/api/v1/jobs/{two_speaker_job.id}/speakers/speaker_2", body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()["errors"], response.json()
    after = DubbingJob.objects.get(id=two_speaker_job.id)
    assert (after.speaker_names, after.options) == (before.speaker_names, before.options)
    assert not any(s.changed for s in Segment.objects.filter(job=two_speaker_job))


def test_two_speakers_cannot_share_a_name(owner_client, two_speaker_job):
    url = f"/api/v1/jobs/{two_speaker_job.id}/speakers"
    assert owner_client.patch(f"{url}/speaker_1", {"name": "Minji"}, format="json").status_code == 200

    response = owner_client.patch(f"{url}/speaker_2", {"name": "minji"}, format="json")

    assert response.status_code == 400 and "name" in response.json()["errors"]
    assert DubbingJob.objects.get(id=two_speaker_job.id).speaker_names == {"speaker_1": "Minji"}


def test_a_new_voice_marks_exactly_that_speakers_lines_changed(owner, staff, owner_client, two_speaker_job):
    voices = _voices()
    url = f"/api/v1/jobs/{two_speaker_job.id}"

    response = owner_client.patch(f"{url}/speakers/speaker_1", {"voice": voices[1], "name": "Jisoo"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json() == {"speaker": "speaker_1", "name": "Jisoo", "voice": voices[1],
                               "voice_reason": "Chosen for this speaker.", "seconds": 3.0, "segments": 2,
                               "cloned": False}
    changed = {s["index"]: s["changed"] for s in owner_client.get(f"{url}/segments").json()["results"]}
    assert changed == {0: True, 1: False, 2: True}
    quote = owner_client.get(f"{url}/render").json()
    assert quote["changed_segments"] == [0, 2] and quote["changed_seconds"] == 3.0 and quote["cost_credits"] == 1


def test_choosing_the_voice_a_speaker_already_has_changes_no_line(owner_client, two_speaker_job):
    voices = _voices()
    JobStepFactory(job=two_speaker_job, name="synthesize", position=6, render=1,
                   detail={"voices": {"speaker_1": voices[0], "speaker_2": voices[1]}})

    response = owner_client.patch(f"/api/v1/jobs/{two_speaker_job.id}/speakers/speaker_2", {"voice": voices[1]},
                                  format="json")

    assert response.status_code == 200 and response.json()["voice"] == voices[1]
    assert not any(s.changed for s in Segment.objects.filter(job=two_speaker_job))


@pytest.mark.parametrize("body", [{"name": "Minji"}, {"voice": "x"}])
def test_a_running_jobs_speakers_cannot_change(owner_client, two_speaker_job, body):
    if "voice" in body:
        body = {"voice": _voices()[0]}
    DubbingJob.objects.filter(id=two_speaker_job.id).update(status=JobStatus.RUNNING)

    response = owner_client.patch(f"/api/v1/jobs/{two_speaker_job.id}/speakers/speaker_1", body, format="json")

    assert response.status_code == 409 and response.json()["code"] == "job_running"
    assert DubbingJob.objects.get(id=two_speaker_job.id).speaker_names == {}


def test_a_rendering_jobs_speakers_cannot_be_renamed(owner_client, two_speaker_job):
    DubbingJob.objects.filter(id=two_speaker_job.id).update(rendering=True)
    response = owner_client.patch(f"/api/v1/jobs/{two_speaker_job.id}/speakers/speaker_1", {"name": "A"},
                                  format="json")
    assert response.status_code == 409 and response.json()["code"] == "job_running"


def test_an_unknown_speaker_is_404_and_another_users_job_404(owner_client, other_client, two_speaker_job):
    url = f"/api/v1/jobs/{two_speaker_job.id}/speakers"
    response = owner_client.patch(f"{url}/speaker_9", {"name": "Minji"}, format="json")
    assert response.status_code == 404 and response.json()["code"] == "speaker_not_found"

    assert other_client.get(url).status_code == 404
    response = other_client.patch(f"{url}/speaker_1", {"name": "Mine"}, format="json")
    assert response.status_code == 404 and response.json()["code"] == "job_not_found"
    assert DubbingJob.objects.get(id=two_speaker_job.id).speaker_names == {}


def test_listing_speakers_takes_three_queries(owner_client, two_speaker_job, django_assert_num_queries):
    # The job (owner-scoped), the lines grouped by speaker, the latest synthesize step.
    with django_assert_num_queries(3):
        assert owner_client.get(f"/api/v1/jobs/{two_speaker_job.id}/speakers").status_code == 200


def test_a_synthesis_step_still_running_does_not_name_the_voice(owner_client, two_speaker_job):
    JobStepFactory(job=two_speaker_job, name="synthesize", position=6, render=2, status=StepStatus.RUNNING,
                   detail={})
    body = owner_client.get(f"/api/v1/jobs/{two_speaker_job.id}/speakers").json()
    assert [s["voice"] for s in body["results"]] == ["cast-one", "cast-two"]
