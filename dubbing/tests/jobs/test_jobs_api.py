"""The dubbing jobs API (API.md "Dubbing jobs"): ownership, input errors, the list's filters, the
job's shape, pinned query counts, and the signed, range-served artifact links.

Jobs that really run through the pipeline are the services' and the actor's tests; here rows
are written directly where only reading them is under test.
"""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from billing.models import LedgerEntry
from billing.selectors import credits_balance
from billing.tests.factories import give_credits
from dubbing.languages import language_support, language_support_clear
from dubbing.models import ArtifactKind, DubbingJob, JobStatus, Segment
from dubbing.pipeline.options import DubOptions
from dubbing.storage import artifact_token, artifact_url
from dubbing.tests.factories import ArtifactFactory, DubbingJobFactory, add_segments
from videos.models import VideoStatus
from videos.tests.factories import SpeechVideoFactory

pytestmark = pytest.mark.django_db

SPEECH_EN_SECONDS = 18.68


# --- Fixtures -------------------------------------------------------------------------------------


def bearer(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return client


# --- Another user's job: 404 everywhere -------------------------------------------------------------

JOB_ENDPOINTS = [
    ("get", "/api/v1/jobs/{id}", None),
    ("post", "/api/v1/jobs/{id}/cancel", None),
    ("post", "/api/v1/jobs/{id}/retry", None),
    ("get", "/api/v1/jobs/{id}/segments", None),
    ("patch", "/api/v1/jobs/{id}/segments/0", {"target_text": "Mine now"}),
    ("get", "/api/v1/jobs/{id}/segments/0/audio", None),
    ("get", "/api/v1/jobs/{id}/speakers", None),
    ("patch", "/api/v1/jobs/{id}/speakers/S1", {"voice": "f3"}),
    ("patch", "/api/v1/jobs/{id}/speakers/S1", {"name": "Mine"}),
    ("get", "/api/v1/jobs/{id}/render", None),
    ("post", "/api/v1/jobs/{id}/render", None),
]


@pytest.mark.parametrize(("method", "path", "body"), JOB_ENDPOINTS)
def test_every_job_endpoint_answers_404_for_another_users_job(other_client, finished_job, method, path, body):
    Segment.objects.filter(job=finished_job, index=1).update(target_text="Changed")  # something to render

    response = getattr(other_client, method)(path.format(id=finished_job.id), body, format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "job_not_found"
    finished_job.refresh_from_db()
    assert finished_job.status == JobStatus.SUCCEEDED and finished_job.render_count == 0
    assert Segment.objects.get(job=finished_job, index=0).target_text == "Hola."


@pytest.mark.parametrize(("method", "path", "body"), JOB_ENDPOINTS)
def test_every_job_endpoint_answers_404_for_a_job_that_does_not_exist(owner_client, method, path, body):
    response = getattr(owner_client, method)(path.format(id=uuid.uuid4()), body, format="json")
    assert response.status_code == 404


def test_a_bearer_token_of_another_user_cannot_poll_my_job(other, finished_job):
    response = bearer(other).get(f"/api/v1/jobs/{finished_job.id}")
    assert response.status_code == 404
    assert response.json() == {"detail": "Dubbing job not found.", "code": "job_not_found"}


def test_the_job_endpoints_need_authentication(api_client, finished_job):
    assert api_client.get(f"/api/v1/jobs/{finished_job.id}").status_code == 401
    assert api_client.get("/api/v1/jobs").status_code == 401
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    response = bad.get(f"/api/v1/jobs/{finished_job.id}")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


# --- Languages ----------------------------------------------------------------------------------------


def test_languages_are_what_the_configured_engines_can_really_do(api_client, settings):
    from dubbing.engine_config import build_engines

    language_support_clear()  # asked of the engines again, not remembered from another test

    engines = build_engines(DubOptions(target_language="und"), settings)
    response = api_client.get("/api/v1/languages")

    assert response.status_code == 200
    body = response.json()
    heard, spoken = engines.asr.languages(), engines.tts.languages()
    expected = {
        (s, t) for s, t in engines.translator.supported_pairs() if s in heard and t in spoken and s != t
    }
    translated = [p for p in body["pairs"] if p["via"] != "subtitles"]
    assert {(p["source"], p["target"]) for p in translated} == expected
    routes = engines.translator.routes()
    assert all(p["via"] == routes[(p["source"], p["target"])] for p in translated)
    # The rest need the user's target subtitles: heard and spoken here, translated by nothing.
    assert all(p["source"] in heard and p["target"] in spoken and (p["source"], p["target"]) not in expected
               for p in body["pairs"] if p["via"] == "subtitles")
    if ("en", "pt") in expected:  # apertium has no eng-por mode: en->es->pt
        assert {"source": "en", "target": "pt", "via": "pivot"} in body["pairs"]
    if ("en", "es") in expected:  # Whisper's speech translation ja->en, then apertium en->es
        assert {"source": "ja", "target": "en", "via": "speech_translation"} in body["pairs"]
        assert {"source": "ja", "target": "es", "via": "speech_translation"} in body["pairs"]
        # Measured unusable for the espeak-ng voices (bench/engines.py): not translated.
        assert not any(p["source"] in ("ko", "de") for p in translated)
    assert set(body["auto_detect"]) == heard
    assert body["engines"]["translate"] == engines.names()["translate"]
    if ("en", "es") in expected:  # the CI image installs apertium-eng-spa and the English recognizer
        assert body["names"]["es"] == "Spanish"


def test_languages_are_empty_and_say_why_when_the_engines_cannot_run(api_client, settings):
    settings.DUBBING_ENGINES = "openai"
    settings.OPENAI_API_KEY = ""
    support = language_support()
    assert support.pairs == [] and "OPENAI_API_KEY" in support.unavailable
    assert api_client.get("/api/v1/languages").json()["pairs"] == []


# --- Creating a job --------------------------------------------------------------------------------------


def _needs_en_es():
    if not language_support().supports("en", "es"):
        pytest.skip("the local engines here cannot dub en->es (apertium-eng-spa or the recognizer missing)")


def test_it_creates_a_job_and_reserves_its_cost(owner, staff, owner_client, video):
    _needs_en_es()
    give_credits(owner, 5, staff=staff)

    response = owner_client.post(
        "/api/v1/jobs",
        {"video_id": str(video.id), "target_language": "es", "background": "drop", "glossary": {"Hello": "Hola"}},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    job = DubbingJob.objects.get(id=body["id"])
    assert body["status"] == "queued" and body["video"] == str(video.id) and body["cost_credits"] == 1
    assert job.options["background"] == "drop" and job.options["glossary"] == {"Hello": "Hola"}
    assert credits_balance(user=owner) == 4


def test_it_creates_one_job_per_language_with_target_languages(owner, staff, owner_client, video):
    _needs_en_es()
    give_credits(owner, 5, staff=staff)
    response = owner_client.post(
        "/api/v1/jobs", {"video_id": str(video.id), "target_languages": ["es"]}, format="json"
    )
    assert response.status_code == 201, response.content
    assert [job["target_language"] for job in response.json()["results"]] == ["es"]


def test_an_unknown_language_is_400_with_a_code_and_nothing_is_reserved(owner, staff, owner_client, video):
    give_credits(owner, 5, staff=staff)
    response = owner_client.post("/api/v1/jobs", {"video_id": str(video.id), "target_language": "xx"}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "unsupported_pair"
    assert "target_language" in body["errors"]
    assert not DubbingJob.objects.exists()
    assert credits_balance(user=owner) == 5


def test_missing_fields_are_400_naming_each_field(owner_client):
    response = owner_client.post("/api/v1/jobs", {}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["errors"]) == {"video_id", "target_language"}
    assert body["detail"].startswith("video_id: ")


def test_bad_options_are_400_naming_the_field(owner_client, video):
    response = owner_client.post(
        "/api/v1/jobs", {"video_id": str(video.id), "target_language": "es", "max_speed": 2.0, "background": "loud"},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"max_speed", "background"}


@pytest.mark.parametrize("video_id", ["not-a-uuid", str(uuid.uuid4()), "others"])
def test_a_video_that_is_not_mine_or_does_not_exist_is_404(owner, staff, other, owner_client, media_root, video_id):
    _needs_en_es()
    give_credits(owner, 5, staff=staff)
    if video_id == "others":
        video_id = str(SpeechVideoFactory(owner=other).id)

    response = owner_client.post("/api/v1/jobs", {"video_id": video_id, "target_language": "es"}, format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "video_not_found"
    assert not DubbingJob.objects.exists() and credits_balance(user=owner) == 5


def test_a_video_that_is_not_ready_is_409(owner, staff, owner_client, media_root):
    _needs_en_es()
    give_credits(owner, 5, staff=staff)
    video = SpeechVideoFactory(owner=owner, status=VideoStatus.UPLOADING)
    response = owner_client.post("/api/v1/jobs", {"video_id": str(video.id), "target_language": "es"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "video_not_ready"


def test_too_few_credits_is_402_and_nothing_is_created(owner, staff, owner_client, media_root):
    _needs_en_es()
    give_credits(owner, 1, staff=staff)
    long_video = SpeechVideoFactory(owner=owner, duration=125.0)  # 3 started minutes: 3 credits

    response = owner_client.post("/api/v1/jobs", {"video_id": str(long_video.id), "target_language": "es"}, format="json")

    assert response.status_code == 402
    assert response.json()["code"] == "insufficient_credits"
    assert not DubbingJob.objects.exists()
    assert credits_balance(user=owner) == 1
    assert not LedgerEntry.objects.filter(kind="job_debit").exists()


# --- The list ---------------------------------------------------------------------------------------------


def test_the_list_filters_by_status_video_and_language_and_shows_only_mine(owner, other, owner_client, media_root):
    first, second = SpeechVideoFactory(owner=owner), SpeechVideoFactory(owner=owner)
    queued = DubbingJobFactory(owner=owner, video=first, target_language="es")
    failed = DubbingJobFactory(owner=owner, video=first, target_language="fr", status=JobStatus.FAILED,
                               error_code="bad_media")
    done = DubbingJobFactory(owner=owner, video=second, target_language="es", status=JobStatus.SUCCEEDED, progress=100)
    DubbingJobFactory(owner=other, video=SpeechVideoFactory(owner=other), target_language="es")

    def ids(query=""):
        response = owner_client.get(f"/api/v1/jobs{query}")
        assert response.status_code == 200
        return [job["id"] for job in response.json()["results"]]

    assert ids() == [str(done.id), str(failed.id), str(queued.id)]  # newest first, mine only
    assert ids("?status=failed") == [str(failed.id)]
    assert ids("?status=active") == [str(queued.id)]
    assert ids("?status=finished") == []
    assert ids(f"?video={first.id}") == [str(failed.id), str(queued.id)]
    refused = owner_client.get("/api/v1/jobs?video=not-a-uuid")  # a bad id is a 400, not an empty list
    assert refused.status_code == 400 and set(refused.json()["errors"]) == {"video"}
    assert ids("?target_language=es") == [str(done.id), str(queued.id)]
    assert ids(f"?target_language=es&video={second.id}&status=succeeded") == [str(done.id)]


def test_the_list_is_paginated_in_a_pinned_number_of_queries(owner, owner_client, video, django_assert_num_queries):
    for _ in range(3):
        job = DubbingJobFactory(owner=owner, video=video)
        ArtifactFactory(job=job, kind=ArtifactKind.SUBTITLES_TARGET_SRT, content=b"1\n", filename="es.srt",
                        content_type="application/x-subrip")

    # 1: COUNT(*) of my jobs for the paginator; 2: SELECT of the page's snapshots (steps and
    # artifacts are inside them: no query per job). force_authenticate needs no user query.
    with django_assert_num_queries(2):
        response = owner_client.get("/api/v1/jobs?page_size=2")

    body = response.json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]
    assert all(job["artifacts"]["subtitles_target_srt"].startswith("http://testserver/media/jobs/") for job in body["results"])


# --- One job ----------------------------------------------------------------------------------------------


def test_the_job_has_the_shape_api_md_gives(owner_client, finished_job):
    ArtifactFactory(job=finished_job, kind=ArtifactKind.DUBBED_VIDEO, content=b"video", filename="speech.es.mp4",
                    content_type="video/mp4")

    body = owner_client.get(f"/api/v1/jobs/{finished_job.id}").json()

    assert set(body) >= {
        "id", "video", "status", "stage", "progress", "cost_credits", "source_language", "target_language",
        "error", "steps", "artifacts", "created_at", "finished_at",
    }
    assert body["id"] == str(finished_job.id) and body["status"] == "succeeded" and body["progress"] == 100
    assert body["error"] is None
    assert [s["name"] for s in body["steps"]] == ["probe", "extract"]
    assert set(body["steps"][0]) == {"name", "status", "started_at", "finished_at", "seconds"}
    assert set(body["artifacts"]) == {"dubbed_video"}
    assert "/media/jobs/" in body["artifacts"]["dubbed_video"] and "?t=" in body["artifacts"]["dubbed_video"]
    assert body["artifacts_expire_in"] == 3600  # MEDIA_LINK_MAX_AGE: signed just now


def test_a_polled_link_is_reused_for_a_while_and_still_works(owner, finished_job):
    ArtifactFactory(job=finished_job, kind=ArtifactKind.DUBBED_AUDIO, content=b"audio!", filename="speech.es.m4a",
                    content_type="audio/mp4")
    client = bearer(owner)
    first = client.get(f"/api/v1/jobs/{finished_job.id}").json()
    second = client.get(f"/api/v1/jobs/{finished_job.id}").json()

    assert second["artifacts"] == first["artifacts"]
    assert second["artifacts_expire_in"] <= first["artifacts_expire_in"]
    download = APIClient().get(second["artifacts"]["dubbed_audio"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"audio!"


def test_a_failed_job_shows_its_error(owner, owner_client, video):
    job = DubbingJobFactory(owner=owner, video=video, status=JobStatus.FAILED, error_code="no_speech",
                            error_message="No speech was found.")
    body = owner_client.get(f"/api/v1/jobs/{job.id}").json()
    assert body["error"] == {"code": "no_speech", "detail": "No speech was found."}


def test_polling_with_a_bearer_token_is_one_query(owner, finished_job, django_assert_num_queries):
    ArtifactFactory(job=finished_job, kind=ArtifactKind.DUBBED_AUDIO, content=b"audio", filename="speech.es.m4a",
                    content_type="audio/mp4")
    client = bearer(owner)
    client.get(f"/api/v1/jobs/{finished_job.id}")  # the first reads the user's token generation into the cache

    # 1: SELECT snapshot FROM job WHERE id = ... AND owner_id = <the token's user_id>: the user is
    # never loaded (onevoice.auth.StatelessJWTAuthentication: its token generation is a cache read),
    # steps and artifacts are in the snapshot.
    with django_assert_num_queries(1):
        response = client.get(f"/api/v1/jobs/{finished_job.id}")

    assert response.status_code == 200
    assert set(response.json()["artifacts"]) == {"dubbed_audio"}


def test_polling_answers_what_drf_would_answer(owner, owner_client, finished_job):
    """The Bearer short path and the DRF path give the same body."""
    ArtifactFactory(job=finished_job, kind=ArtifactKind.REPORT, content=b"{}", filename="report.json",
                    content_type="application/json")
    fast = bearer(owner).get(f"/api/v1/jobs/{finished_job.id}")
    slow = owner_client.get(f"/api/v1/jobs/{finished_job.id}")  # force_authenticate: no Bearer header
    assert fast["Content-Type"] == slow["Content-Type"] == "application/json"

    def without_links(body):
        # The links are signed at different moments, so their tokens and lifetimes differ.
        assert 3500 <= body.pop("artifacts_expire_in") <= 3600
        return {**body, "artifacts": sorted(body["artifacts"])}

    assert without_links(fast.json()) == without_links(slow.json())


def test_a_poller_over_its_rate_gets_429_in_the_error_shape(owner, finished_job, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, "user": "2/min"})
    client = bearer(owner)

    statuses = [client.get(f"/api/v1/jobs/{finished_job.id}").status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    response = client.get(f"/api/v1/jobs/{finished_job.id}")
    assert response.json()["code"] == "throttled" and "Retry-After" in response


def test_an_expired_token_is_refused_even_after_it_was_accepted(owner, finished_job):
    import time as clock
    from datetime import timedelta

    token = AccessToken.for_user(owner)
    token.set_exp(lifetime=timedelta(seconds=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get(f"/api/v1/jobs/{finished_job.id}").status_code == 200  # verified, remembered

    clock.sleep(1.1)

    response = client.get(f"/api/v1/jobs/{finished_job.id}")
    assert response.status_code == 401 and response.json()["code"] == "token_not_valid"


def test_a_refresh_token_is_not_an_access_token(owner, finished_job):
    from rest_framework_simplejwt.tokens import RefreshToken

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(owner)}")
    assert client.get(f"/api/v1/jobs/{finished_job.id}").status_code == 401


def test_polling_with_the_pages_session_works_too(owner, finished_job, django_assert_num_queries):
    from django.test import Client

    browser = Client()
    browser.force_login(owner)
    # 1: the session; 2: the user (SessionAuthentication); 3: the snapshot.
    with django_assert_num_queries(3):
        response = browser.get(f"/api/v1/jobs/{finished_job.id}")
    assert response.status_code == 200 and response.json()["id"] == str(finished_job.id)


def test_cancel_and_retry(owner, staff, owner_client, video):
    give_credits(owner, 3, staff=staff)
    job = DubbingJobFactory(owner=owner, video=video, status=JobStatus.FAILED, error_code="engine_failed")

    assert owner_client.post(f"/api/v1/jobs/{job.id}/cancel").json()["code"] == "job_not_cancellable"
    response = owner_client.post(f"/api/v1/jobs/{job.id}/retry")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "queued" and response.json()["attempt"] == 2
    assert credits_balance(user=owner) == 2

    response = owner_client.post(f"/api/v1/jobs/{job.id}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert owner_client.post(f"/api/v1/jobs/{job.id}/cancel").status_code == 409


# --- Segments, speakers, render ----------------------------------------------------------------------------


def test_segments_have_the_fields_api_md_gives(owner_client, finished_job):
    body = owner_client.get(f"/api/v1/jobs/{finished_job.id}/segments").json()
    assert body["count"] == 2
    first = body["results"][0]
    assert set(first) >= {
        "index", "start", "end", "speaker", "source_text", "target_text", "speed", "displacement",
        "overrun", "changed", "glossary_misses",
    }
    assert first["index"] == 0 and first["target_text"] == "Hola." and first["changed"] is False


def test_editing_a_line_marks_it_changed_and_the_quote_prices_it(owner, staff, owner_client, finished_job):
    give_credits(owner, 2, staff=staff)
    response = owner_client.patch(
        f"/api/v1/jobs/{finished_job.id}/segments/1", {"target_text": "  ¿Qué tal?  "}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["target_text"] == "¿Qué tal?" and response.json()["changed"] is True

    quote = owner_client.get(f"/api/v1/jobs/{finished_job.id}/render").json()
    assert quote == {"changed_segments": [1], "changed_seconds": 1.5, "cost_credits": 1, "balance": 2}

    response = owner_client.post(f"/api/v1/jobs/{finished_job.id}/render")
    assert response.status_code == 202, response.content
    assert response.json()["rendering"] is True and response.json()["render_count"] == 1
    assert credits_balance(user=owner) == 1


def test_a_line_of_a_running_job_cannot_be_edited(owner, owner_client, video):
    job = DubbingJobFactory(owner=owner, video=video, status=JobStatus.RUNNING, stage="translate")
    add_segments(job, [("Hi.", "Hola.")])
    response = owner_client.patch(f"/api/v1/jobs/{job.id}/segments/0", {"target_text": "Buenas."}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "job_running"


def test_a_line_that_does_not_exist_is_404_and_an_empty_patch_400(owner_client, finished_job):
    response = owner_client.patch(f"/api/v1/jobs/{finished_job.id}/segments/99", {"target_text": "x"}, format="json")
    assert response.status_code == 404 and response.json()["code"] == "segment_not_found"
    response = owner_client.patch(f"/api/v1/jobs/{finished_job.id}/segments/0", {}, format="json")
    assert response.status_code == 400


def test_nothing_changed_is_409_nothing_to_render(owner_client, finished_job):
    response = owner_client.post(f"/api/v1/jobs/{finished_job.id}/render")
    assert response.status_code == 409 and response.json()["code"] == "nothing_to_render"


def test_speakers_list_their_voice_and_lines(owner_client, finished_job):
    body = owner_client.get(f"/api/v1/jobs/{finished_job.id}/speakers").json()
    assert body["results"] == [{"speaker": "S1", "name": "", "voice": None, "voice_reason": "", "segments": 2,
                                "seconds": 3.0, "cloned": False}]
    response = owner_client.patch(f"/api/v1/jobs/{finished_job.id}/speakers/S9", {"voice": "f3"}, format="json")
    assert response.status_code == 404 and response.json()["code"] == "speaker_not_found"


def test_changing_a_speakers_voice_marks_its_lines_for_the_next_render(owner_client, finished_job):
    from dubbing.languages import language_support

    voices = language_support().voices.get(finished_job.target_language) or []
    if len(voices) < 2:
        pytest.skip("the configured speech engine lists fewer than two voices here")
    url = f"/api/v1/jobs/{finished_job.id}"

    refused = owner_client.patch(f"{url}/speakers/S1", {"voice": "no-such-voice"}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_options"
    assert owner_client.get(f"{url}/render").json()["changed_segments"] == []

    response = owner_client.patch(f"{url}/speakers/S1", {"voice": voices[1]}, format="json")

    assert response.status_code == 200
    assert response.json() == {"speaker": "S1", "name": "", "voice": voices[1], "voice_reason": "Chosen for this speaker.", "segments": 2,
                               "seconds": 3.0, "cloned": False}
    finished_job.refresh_from_db()
    assert finished_job.options["speaker_voices"] == {"S1": voices[1]}
    assert [s["changed"] for s in owner_client.get(f"{url}/segments").json()["results"]] == [True, True]
    assert owner_client.get(f"{url}/render").json()["changed_segments"] == [0, 1]


def test_a_running_jobs_speaker_voice_cannot_change(owner_client, finished_job):
    # Given a running job and a voice its language really has (so only the state can refuse it)
    voices = language_support().voices.get(finished_job.target_language) or []
    if not voices:
        pytest.skip("the configured speech engine lists no voice for the job's language here")
    DubbingJob.objects.filter(id=finished_job.id).update(status=JobStatus.RUNNING)
    options_before = finished_job.options

    # When its owner changes a speaker's voice
    response = owner_client.patch(f"/api/v1/jobs/{finished_job.id}/speakers/S1", {"voice": voices[0]},
                                  format="json")

    # Then it is refused as running, and nothing changed
    assert response.status_code == 409 and response.json()["code"] == "job_running"
    finished_job.refresh_from_db()
    assert finished_job.options == options_before


# --- Artifact downloads -------------------------------------------------------------------------------------


@pytest.fixture
def artifact(finished_job):
    content = bytes(range(256)) * 40  # 10240 bytes
    return ArtifactFactory(job=finished_job, kind=ArtifactKind.DUBBED_VIDEO, content=content, filename="speech.es.mp4",
                           content_type="video/mp4")


def test_a_signed_link_serves_the_file_with_byte_ranges(api_client, artifact):
    url = artifact_url(job_id=artifact.job_id, kind=artifact.kind, name=artifact.name)

    whole = api_client.get(url)
    assert whole.status_code == 200
    assert whole["Content-Type"] == "video/mp4" and whole["Accept-Ranges"] == "bytes"
    assert b"".join(whole.streaming_content) == bytes(range(256)) * 40

    part = api_client.get(url, HTTP_RANGE="bytes=256-511")
    assert part.status_code == 206
    assert part["Content-Range"] == "bytes 256-511/10240"
    assert b"".join(part.streaming_content) == bytes(range(256))
    assert 'filename="speech.es.mp4"' in part["Content-Disposition"]

    download = api_client.get(url + "&download=1")
    assert download["Content-Disposition"].startswith("attachment;") and "speech.es.mp4" in download["Content-Disposition"]


def test_a_bad_or_expired_token_is_refused(api_client, artifact, settings):
    base = f"/media/jobs/{artifact.job_id}/{artifact.kind}"
    assert api_client.get(base + "?t=forged").status_code == 403
    other_kind = artifact_token(job_id=artifact.job_id, kind="dubbed_audio")
    assert api_client.get(base + f"?t={other_kind}").status_code == 403
    other_job = artifact_token(job_id=uuid.uuid4(), kind=artifact.kind)
    assert api_client.get(base + f"?t={other_job}").status_code == 403

    good = artifact_token(job_id=artifact.job_id, kind=artifact.kind)
    settings.MEDIA_LINK_MAX_AGE = -1  # every token is now older than the limit
    assert api_client.get(base + f"?t={good}").status_code == 403


def test_without_a_token_only_the_owners_session_gets_the_file(owner, other, artifact):
    from django.test import Client

    base = f"/media/jobs/{artifact.job_id}/{artifact.kind}"
    assert Client().get(base).status_code == 404
    stranger = Client()
    stranger.force_login(other)
    assert stranger.get(base).status_code == 404
    me = Client()
    me.force_login(owner)
    assert me.get(base, HTTP_RANGE="bytes=0-9").status_code == 206


def test_an_unknown_kind_or_a_missing_artifact_is_404(api_client, artifact):
    token = artifact_token(job_id=artifact.job_id, kind="report")
    assert api_client.get(f"/media/jobs/{artifact.job_id}/report?t={token}").status_code == 404
    token = artifact_token(job_id=artifact.job_id, kind="secrets")
    assert api_client.get(f"/media/jobs/{artifact.job_id}/secrets?t={token}").status_code == 404


# --- Schema --------------------------------------------------------------------------------------------------


def test_the_schema_documents_the_job_endpoints_without_warnings(client):
    from drf_spectacular.drainage import GENERATOR_STATS

    GENERATOR_STATS.reset()
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    messages = [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
    assert [m for m in messages if "dubbing" in m or "/jobs" in m or "languages" in m] == []
    paths = response.json()["paths"]
    for path in (
        "/api/v1/languages", "/api/v1/jobs", "/api/v1/jobs/{job_id}", "/api/v1/jobs/{job_id}/cancel",
        "/api/v1/jobs/{job_id}/retry", "/api/v1/jobs/{job_id}/segments", "/api/v1/jobs/{job_id}/segments/{index}",
        "/api/v1/jobs/{job_id}/speakers", "/api/v1/jobs/{job_id}/speakers/{speaker}", "/api/v1/jobs/{job_id}/render",
    ):
        assert path in paths
    assert set(paths["/api/v1/jobs/{job_id}/render"]) == {"get", "post"}
