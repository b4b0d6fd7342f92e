"""Job options are judged before anything is charged (issue 25 item 4): a voice the target's
speech engine does not list, or a glossary that is not a bounded map of text to text, is a 400
naming the field, with no job created and no credit moved. The probe's inputs, through the API.
"""

from __future__ import annotations

import pytest

from billing.models import LedgerEntry
from billing.selectors import credits_balance
from billing.tests.factories import give_credits
from dubbing.engines.base import EngineError
from dubbing.engines.tts.espeak import EspeakTTS
from dubbing.languages import language_support
from dubbing.models import DubbingJob
from dubbing.pipeline.options import GLOSSARY_MAX_CHARS, GLOSSARY_MAX_TERMS
from testing.media import FIXTURE_MEDIA
from videos.models import VideoStatus
from videos.tests.factories import VideoFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def video(owner, media_root):
    if not language_support().supports("en", "es"):
        pytest.skip("the local engines here cannot dub en->es (apertium-eng-spa or the recognizer missing)")
    return VideoFactory(
        owner=owner, title="Speech", original_filename="speech_en.mp4",
        source=(FIXTURE_MEDIA / "speech_en.mp4").read_bytes(), format="mov,mp4", duration=18.68, fps=25,
        video_codec="h264", audio_codec="aac", status=VideoStatus.READY,
    )


def _post(owner, staff, client, video, **options):
    give_credits(owner, 5, staff=staff)
    entries = LedgerEntry.objects.filter(account__user=owner).count()
    response = client.post("/api/v1/jobs", {"video_id": str(video.id), "target_language": "es", **options},
                           format="json")
    return response, entries


def _assert_refused(owner, response, entries, field: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] and body["detail"]
    assert field in body["errors"], body
    assert not DubbingJob.objects.exists()
    assert credits_balance(user=owner) == 5
    assert LedgerEntry.objects.filter(account__user=owner).count() == entries


@pytest.mark.parametrize("voice", ["../../etc/passwd", "--version", 7, 1.5, True, ["f3"], "no-such-voice"])
def test_a_voice_the_target_does_not_list_is_400_and_nothing_is_charged(owner, staff, owner_client, video, voice):
    response, entries = _post(owner, staff, owner_client, video, voice=voice)
    _assert_refused(owner, response, entries, "voice")


def test_a_voice_the_languages_endpoint_lists_is_accepted_and_charged(owner, staff, owner_client, video):
    listed = owner_client.get("/api/v1/languages").json()["voices"].get("es") or []
    if not listed:
        pytest.skip("the speech engine here names no Spanish voices")
    response, _ = _post(owner, staff, owner_client, video, voice=listed[-1])
    assert response.status_code == 201, response.content
    assert DubbingJob.objects.get().options["voice"] == listed[-1]
    assert credits_balance(user=owner) == 4


@pytest.mark.parametrize("glossary", [
    {"a": 1},
    {"a": None},
    {"a": ["b"]},
    {"a": ""},
    {"a": "   "},
    {"  ": "b"},
    {"a" * (GLOSSARY_MAX_CHARS + 1): "b"},
    {"a": "b" * (GLOSSARY_MAX_CHARS + 1)},
    {f"term {i}": "x" for i in range(GLOSSARY_MAX_TERMS + 1)},
    ["a", "b"],
    "a=b",
])
def test_a_glossary_that_is_not_a_bounded_map_of_text_is_400_and_nothing_is_charged(
        owner, staff, owner_client, video, glossary):
    response, entries = _post(owner, staff, owner_client, video, glossary=glossary)
    _assert_refused(owner, response, entries, "glossary")


@pytest.mark.parametrize("field", ["source_subtitles", "target_subtitles"])
@pytest.mark.parametrize("value", [12, ["1"], {"a": "b"}])
def test_subtitles_that_are_not_text_are_400_and_nothing_is_charged(owner, staff, owner_client, video, field, value):
    response, entries = _post(owner, staff, owner_client, video, **{field: value})
    _assert_refused(owner, response, entries, field)


@pytest.mark.parametrize("voice", ["--version", "../../etc/passwd", "-w/tmp/x", "f3;id"])
def test_espeak_refuses_a_voice_name_that_is_an_option_or_a_path(tmp_path, voice):
    tts = EspeakTTS()
    if "en" not in tts.languages():
        pytest.skip("espeak-ng has no English voice here")
    with pytest.raises(EngineError):
        tts.synthesize("Hello.", "en", voice, tmp_path / "out.wav")
    assert not (tmp_path / "out.wav").exists()
