"""Supplied subtitles are read and held to the media when the job is created, before anything
is charged (issue 25 items 1 and 4): unreadable ones, too many cues for the media's length, cues
too short to speak and cues past the video's end are each a 400 with its code, the field named
and the numbers in `detail`; no job, no ledger entry. The probe's 5,000 cues of 0.3 s on the
19 s fixture video among them.
"""

from __future__ import annotations

import pytest

from billing.models import LedgerEntry
from billing.selectors import credits_balance
from billing.tests.factories import give_credits
from dubbing.languages import language_support
from dubbing.models import DubbingJob
from dubbing.pipeline.subtitles import MAX_CUES_PER_MINUTE, MIN_CUE_SECONDS, max_cues
from testing.media import FIXTURE_MEDIA
from videos.models import VideoStatus
from videos.tests.factories import VideoFactory

pytestmark = pytest.mark.django_db

SECONDS = 18.68  # speech_en.mp4


@pytest.fixture
def video(owner, media_root):
    if not language_support().supports("en", "es"):
        pytest.skip("the local engines here cannot dub en->es (apertium-eng-spa or the recognizer missing)")
    return VideoFactory(
        owner=owner, title="Speech", original_filename="speech_en.mp4",
        source=(FIXTURE_MEDIA / "speech_en.mp4").read_bytes(), format="mov,mp4", duration=SECONDS, fps=25,
        video_codec="h264", audio_codec="aac", status=VideoStatus.READY,
    )


def _ts(seconds: float) -> str:
    millis = round(seconds * 1000)
    return f"{millis // 3_600_000:02d}:{millis // 60_000 % 60:02d}:{millis // 1000 % 60:02d},{millis % 1000:03d}"


def srt(cues: list[tuple[float, float]]) -> str:
    return "\n".join(f"{i}\n{_ts(a)} --> {_ts(b)}\nLine number {i}.\n" for i, (a, b) in enumerate(cues, start=1))


def _post(owner, staff, client, video, **options):
    give_credits(owner, 5, staff=staff)
    entries = LedgerEntry.objects.filter(account__user=owner).count()
    response = client.post("/api/v1/jobs", {"video_id": str(video.id), "target_language": "es",
                                            "source_language": "en", **options}, format="json")
    return response, entries


def _refused(owner, response, entries, field: str, code: str) -> dict:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == code, body
    assert field in body["errors"] and body["detail"].startswith(f"{field}: "), body
    assert not DubbingJob.objects.exists()
    assert credits_balance(user=owner) == 5
    assert LedgerEntry.objects.filter(account__user=owner).count() == entries
    return body


@pytest.mark.parametrize("field", ["source_subtitles", "target_subtitles"])
def test_the_probes_five_thousand_short_cues_are_refused_before_charging(owner, staff, owner_client, video, field):
    cues = [(i * 0.0036, i * 0.0036 + 0.3) for i in range(5000)]
    text = srt(cues)
    assert 200_000 < len(text.encode()) < 5_000_000  # the probe's body was 222 KB

    response, entries = _post(owner, staff, owner_client, video, **{field: text})

    body = _refused(owner, response, entries, field, "too_many_subtitle_cues")
    assert "5000" in body["detail"] and str(max_cues(SECONDS)) in body["detail"]


def test_one_cue_over_the_cap_is_refused_with_the_numbers(owner, staff, owner_client, video):
    cap = max_cues(SECONDS)
    assert cap == max(10, -(-MAX_CUES_PER_MINUTE * SECONDS // 60))
    step = SECONDS / (cap + 1)
    response, entries = _post(owner, staff, owner_client, video,
                              source_subtitles=srt([(i * step, (i + 1) * step - 0.05) for i in range(cap + 1)]))
    body = _refused(owner, response, entries, "source_subtitles", "too_many_subtitle_cues")
    assert f"{cap + 1} " in body["detail"] and str(cap) in body["detail"]


def test_as_many_cues_as_the_cap_allows_are_accepted_and_charged_once(owner, staff, owner_client, video):
    cap = max_cues(SECONDS)
    step = SECONDS / cap
    response, _ = _post(owner, staff, owner_client, video,
                        source_subtitles=srt([(i * step, (i + 1) * step - 0.05) for i in range(cap)]))
    assert response.status_code == 201, response.content
    assert credits_balance(user=owner) == 4


def test_a_cue_too_short_to_speak_is_refused_not_merged(owner, staff, owner_client, video):
    response, entries = _post(owner, staff, owner_client, video,
                              source_subtitles=srt([(1.0, 3.0), (4.0, 4.0 + MIN_CUE_SECONDS / 2), (6.0, 8.0)]))
    body = _refused(owner, response, entries, "source_subtitles", "subtitle_cue_too_short")
    assert "Cue 2 " in body["detail"] and "4.00" in body["detail"] and f"{MIN_CUE_SECONDS:.2f}" in body["detail"]


def test_a_cue_after_the_end_of_the_video_is_refused(owner, staff, owner_client, video):
    response, entries = _post(owner, staff, owner_client, video, target_subtitles=srt([(1.0, 3.0), (30.0, 32.5)]))
    body = _refused(owner, response, entries, "target_subtitles", "subtitles_outside_media")
    assert "32.50" in body["detail"] and f"{SECONDS:.2f}" in body["detail"]


@pytest.mark.parametrize(("text", "code"), [
    ("\x01\x02\x03PK\x03\x04 binary\x7f", "invalid_subtitles"),
    ("PK\x03\x04\x00\x00 zipped", "null_characters_not_allowed"),  # DRF refuses NUL in any text field
    ("Once upon a time there was a video with no timings at all.\n\nJust prose.", "invalid_subtitles"),
    ("42", "invalid_subtitles"),
    ("1\n-00:00:01,000 --> 00:00:02,000\nNegative start.\n", "invalid_subtitles"),
    ("1\n00:00:05,000 --> 00:00:02,000\nReversed.\n", "invalid_subtitles"),
])
def test_unreadable_subtitles_are_400_and_nothing_is_charged(owner, staff, owner_client, video, text, code):
    response, entries = _post(owner, staff, owner_client, video, source_subtitles=text)
    if code == "invalid_subtitles":
        _refused(owner, response, entries, "source_subtitles", code)
    else:
        assert response.status_code == 400 and response.json()["code"] == code
        assert "source_subtitles" in response.json()["errors"]
        assert not DubbingJob.objects.exists() and credits_balance(user=owner) == 5
