"""Why each speaker has their voice, in the reader's language (issue 20): the speakers API turns
the cast the synthesis recorded (a reason code and the pitches) into a sentence, Korean for a
Korean reader; a choice made since says so; what cloning said is kept as it was."""

from __future__ import annotations

import pytest
from django.utils import translation

from dubbing.selectors import voice_reason_text
from dubbing.tests.factories import DubbingJobFactory, JobStepFactory, SegmentFactory

pytestmark = pytest.mark.django_db

CLOSEST = {"voice": "m3", "reason": "closest", "voice_reason": "The free voice closest in pitch and character: "
           "the speaker's median pitch is 104 Hz, the voice's 103 Hz.", "speaker_hz": 104.2, "voice_hz": 103.1}
REUSED = {"voice": "m3", "reason": "reused", "voice_reason": "More speakers than voices, so the closest voice "
          "is shared with another speaker.", "speaker_hz": 110.0, "voice_hz": 103.1}


@pytest.fixture
def cast_job(owner, video):
    job = DubbingJobFactory(owner=owner, video=video, succeeded=True, stage="publish")
    for index, speaker in enumerate(["speaker_1", "speaker_2", "speaker_1"]):
        SegmentFactory(job=job, index=index, speaker=speaker)
    JobStepFactory(job=job, name="synthesize", position=6, detail={
        "clips": 3, "voices": {"speaker_1": "m3", "speaker_2": "m3"},
        "voice_reasons": {"speaker_1": CLOSEST["voice_reason"], "speaker_2": REUSED["voice_reason"]},
        "speakers": {"speaker_1": CLOSEST, "speaker_2": REUSED}})
    return job


def test_the_reasons_read_korean_with_the_pitches(owner, owner_client, cast_job):
    owner.locale = "ko"
    owner.save(update_fields=["locale"])
    body = owner_client.get(f"/api/v1/jobs/{cast_job.id}/speakers", HTTP_ACCEPT_LANGUAGE="ko").json()
    reasons = {s["speaker"]: s["voice_reason"] for s in body["results"]}
    assert reasons["speaker_1"] == ("남은 목소리 중 이 화자의 음높이와 음색에 가장 가까운 목소리입니다"
                                    "(화자의 중간 음높이 104 Hz, 목소리 103 Hz).")
    assert reasons["speaker_2"] == "화자가 목소리보다 많아서 이 목소리를 다른 화자와 함께 씁니다."


def test_a_voice_chosen_since_says_so(owner_client, cast_job):
    cast_job.options = {**cast_job.options, "speaker_voices": {"speaker_2": "f4"}}
    cast_job.save(update_fields=["options"])
    body = owner_client.get(f"/api/v1/jobs/{cast_job.id}/speakers", HTTP_ACCEPT_LANGUAGE="en").json()
    speaker_2 = next(s for s in body["results"] if s["speaker"] == "speaker_2")
    assert (speaker_2["voice"], speaker_2["voice_reason"]) == ("f4", "Chosen for this speaker.")


def test_what_cloning_said_is_kept_and_a_cast_without_a_code_reads_as_recorded():
    cloned = "a clone of their own voice, from 12.0 s of their speech"
    with translation.override("ko"):
        assert voice_reason_text(CLOSEST, chosen=False, recorded=cloned) == cloned
        assert voice_reason_text(None, chosen=False, recorded="as recorded") == "as recorded"
        assert voice_reason_text({**CLOSEST, "speaker_hz": None}, chosen=False,
                                 recorded=CLOSEST["voice_reason"]).startswith("남은 목소리 중 가장 가까운")
