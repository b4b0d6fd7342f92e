"""GET /api/v1/voices/{language}/{voice}/preview (API.md "Dubbing jobs"): a short sample of a
voice rendered by the real speech engine (the fast espeak-ng variants here: the test judges the
preview, not the voice), saying a line of the user's own dub when `job` names one, kept on disk so
a repeat is not synthesized again; throttled; 404 for a voice the language lacks or another
user's job."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from dubbing.languages import language_support
from dubbing.tests.factories import DubbingJobFactory, SegmentFactory, add_segments
from dubbing.voices import PREVIEW_SENTENCES, preview_folder, preview_text

pytestmark = pytest.mark.django_db

FAST_VOICES = ("m1", "f3")  # espeak-ng variants of the Spanish voice


@pytest.fixture(autouse=True)
def previews_on_disk(settings, tmp_path):
    settings.DUBBING_WORKSPACE_DIR = tmp_path / "work"
    if not set(FAST_VOICES) <= set(language_support().voices.get("es", [])):
        pytest.skip("espeak-ng's Spanish variants are not installed here")


def _audio(response) -> tuple[np.ndarray, int]:
    assert response.status_code == 200, getattr(response, "content", b"")[:300]
    assert response["Content-Type"] == "audio/wav"
    body = b"".join(response.streaming_content) if response.streaming else response.content
    samples, rate = sf.read(io.BytesIO(body), dtype="float32")
    assert sf.info(io.BytesIO(body)).subtype == "PCM_16"
    return samples, rate


def _rms_db(samples: np.ndarray) -> float:
    return 20 * np.log10(max(1e-9, float(np.sqrt(np.mean(np.square(samples))))))


def test_a_preview_says_a_line_of_my_dub_and_is_kept_on_disk(owner, owner_client, video):
    # Given my Spanish dub whose first line is long enough to judge a voice by
    job = DubbingJobFactory(owner=owner, video=video, succeeded=True,
                            segments=[("Hi.", "Hola."), ("We start now.", "Ahora empezamos con la demostración.")])
    url = f"/api/v1/voices/es/m1/preview?job={job.id}"

    # When I ask for a preview of a voice
    first = owner_client.get(url)

    # Then it is real speech of a plausible length for that line, synthesized now
    samples, rate = _audio(first)
    assert first["X-Preview-Cached"] == "0"
    seconds = len(samples) / rate
    assert 1.0 < seconds < 8.0, seconds
    assert _rms_db(samples) > -35.0
    assert preview_text(language="es", job=job) == "Ahora empezamos con la demostración."
    cached = list(preview_folder().glob("*.wav"))
    assert len(cached) == 1

    # When I ask again, the same file is served without synthesis
    again = owner_client.get(url)
    assert again["X-Preview-Cached"] == "1"
    again_samples, _ = _audio(again)
    assert np.array_equal(again_samples, samples)
    assert list(preview_folder().glob("*.wav")) == cached


def test_two_voices_sound_different_and_a_preview_without_a_job_says_the_sample_sentence(owner_client):
    one, rate = _audio(owner_client.get("/api/v1/voices/es/m1/preview"))
    other, _ = _audio(owner_client.get("/api/v1/voices/es/f3/preview"))

    assert len(list(preview_folder().glob("*.wav"))) == 2
    # The sample sentence takes a few seconds to say, in either voice.
    assert 1.5 < len(one) / rate < 10 and 1.5 < len(other) / rate < 10
    assert not (len(one) == len(other) and np.allclose(one, other))
    assert preview_text(language="es") == PREVIEW_SENTENCES["es"]


def test_a_preview_for_a_speaker_says_one_of_their_lines(owner, owner_client, video):
    job = DubbingJobFactory(owner=owner, video=video, succeeded=True)
    add_segments(job, [("Hello.", "Hola a todos, bienvenidos.")], speaker="speaker_1")
    SegmentFactory(job=job, index=1, target_text="Gracias por invitarme hoy.", speaker="speaker_2")

    assert preview_text(language="es", job=job, speaker="speaker_2") == "Gracias por invitarme hoy."
    first, rate = _audio(owner_client.get(f"/api/v1/voices/es/m1/preview?job={job.id}&speaker=speaker_1"))
    second, _ = _audio(owner_client.get(f"/api/v1/voices/es/m1/preview?job={job.id}&speaker=speaker_2"))
    assert len(list(preview_folder().glob("*.wav"))) == 2  # two lines, two samples
    assert not (len(first) == len(second) and np.array_equal(first, second))
    response = owner_client.get(f"/api/v1/voices/es/m1/preview?job={job.id}&speaker=speaker_9")
    assert response.status_code == 404 and response.json()["code"] == "speaker_not_found"


def test_a_long_line_is_cut_to_whole_sentences(owner, video):
    long_line = "Primera frase corta. " + "Esta segunda frase es bastante larga y sigue. " * 5
    job = DubbingJobFactory(owner=owner, video=video, succeeded=True, segments=[("x", long_line)])
    assert preview_text(language="es", job=job) == "Primera frase corta. Esta segunda frase es bastante larga y sigue. " \
        "Esta segunda frase es bastante larga y sigue."


@pytest.mark.parametrize("path", ["/api/v1/voices/es/no-such-voice/preview", "/api/v1/voices/xx/m1/preview"])
def test_a_voice_the_language_lacks_is_404(owner_client, path):
    response = owner_client.get(path)
    assert response.status_code == 404 and response.json()["code"] == "voice_not_found"
    assert not preview_folder().exists() or not list(preview_folder().glob("*.wav"))


def test_another_users_job_is_404_and_a_job_in_another_language_400(owner, other, owner_client, video):
    from videos.tests.factories import SpeechVideoFactory

    theirs = DubbingJobFactory(owner=other, video=SpeechVideoFactory(owner=other), succeeded=True,
                               segments=[("Secret.", "Un secreto muy bien guardado.")])
    response = owner_client.get(f"/api/v1/voices/es/m1/preview?job={theirs.id}")
    assert response.status_code == 404 and response.json()["code"] == "job_not_found"

    french = DubbingJobFactory(owner=owner, video=video, target_language="fr", succeeded=True,
                               segments=[("Hi.", "Bonjour à tous.")])
    response = owner_client.get(f"/api/v1/voices/es/m1/preview?job={french.id}")
    assert response.status_code == 400 and "job" in response.json()["errors"]
    assert not preview_folder().exists() or not list(preview_folder().glob("*.wav"))


def test_previews_are_throttled_per_user(owner_client, settings, api_client):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "voice_preview": "2/min"},
    }
    responses = [owner_client.get("/api/v1/voices/es/m1/preview") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert responses[2].json()["code"] == "throttled" and int(responses[2]["Retry-After"]) > 0
    assert api_client.get("/api/v1/voices/es/m1/preview").status_code == 401
