"""Voice cloning is asked for per job and only with consent (issue 20 item 4): refused before
anything is reserved without consent (400 consent_required) or where the speech engine cannot
clone (400 voice_cloning_unavailable); each consent is a row (who, when, from which address, the
text agreed to, which job) that staff read in the admin; a consent on a job that does not clone
is not kept. The speech engine that can clone here is Fish Audio (its client is built, nothing
is sent to it by these tests)."""

from __future__ import annotations

import pytest
from django.utils import translation

from billing.models import LedgerEntry
from billing.selectors import credits_balance
from billing.tests.factories import give_credits
from dubbing.cloning import CONSENT_TEXT
from dubbing.languages import language_support, language_support_clear
from dubbing.models import DubbingJob, VoiceCloningConsent

pytestmark = pytest.mark.django_db


@pytest.fixture
def fish(settings):
    settings.DUBBING_TTS_ENGINE = "fish"
    settings.FISH_AUDIO_API_KEY = "test-fish-key"
    settings.FISH_AUDIO_BASE_URL = "http://127.0.0.1:9"  # never called here
    settings.FISH_AUDIO_VOICES = "narrator=ref-1,guest=ref-2"
    language_support_clear()
    yield
    language_support_clear()


@pytest.fixture
def local(settings):
    settings.DUBBING_TTS_ENGINE = ""
    language_support_clear()
    yield
    language_support_clear()


@pytest.fixture
def dubbable(video):
    if not language_support().supports("en", "es"):
        pytest.skip("the engines here cannot dub en->es")
    return video


def _post(client, video, **options):
    return client.post("/api/v1/jobs", {"video_id": str(video.id), "target_language": "es", "source_language": "en",
                                        **options}, format="json", REMOTE_ADDR="203.0.113.7")


def _assert_nothing_charged(owner, entries: int) -> None:
    assert not DubbingJob.objects.exists()
    assert not VoiceCloningConsent.objects.exists()
    assert credits_balance(user=owner) == 5
    assert LedgerEntry.objects.filter(account__user=owner).count() == entries


@pytest.mark.parametrize("consent", [False, None])
def test_cloning_without_consent_is_400_consent_required_and_nothing_is_charged(
        fish, owner, staff, owner_client, dubbable, consent):
    give_credits(owner, 5, staff=staff)
    entries = LedgerEntry.objects.filter(account__user=owner).count()
    body = {"voice_cloning": True} if consent is None else {"voice_cloning": True, "voice_cloning_consent": consent}
    response = _post(owner_client, dubbable, **body)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "consent_required"
    assert "voice_cloning_consent" in response.json()["errors"]
    _assert_nothing_charged(owner, entries)


def test_cloning_with_an_engine_that_cannot_clone_is_400_voice_cloning_unavailable_and_nothing_is_charged(
        local, owner, staff, owner_client, dubbable):
    give_credits(owner, 5, staff=staff)
    entries = LedgerEntry.objects.filter(account__user=owner).count()
    response = _post(owner_client, dubbable, voice_cloning=True, voice_cloning_consent=True)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "voice_cloning_unavailable"
    assert "voice_cloning" in response.json()["errors"]
    _assert_nothing_charged(owner, entries)


@pytest.mark.parametrize("field", ["voice_cloning", "voice_cloning_consent"])
@pytest.mark.parametrize("value", ["yes", "true", 1, None, ["x"]])
def test_a_cloning_flag_that_is_not_a_json_boolean_is_400_naming_it(
        fish, owner, staff, owner_client, dubbable, field, value):
    give_credits(owner, 5, staff=staff)
    entries = LedgerEntry.objects.filter(account__user=owner).count()
    response = _post(owner_client, dubbable, **{"voice_cloning": True, "voice_cloning_consent": True, field: value})
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    _assert_nothing_charged(owner, entries)


def test_a_consented_cloning_job_is_charged_and_its_consent_is_recorded(fish, owner, staff, owner_client, dubbable):
    give_credits(owner, 5, staff=staff)
    response = _post(owner_client, dubbable, voice_cloning=True, voice_cloning_consent=True)
    assert response.status_code == 201, response.content
    job = DubbingJob.objects.get()
    assert job.options["voice_cloning"] is True and job.options["voice_cloning_consent"] is True
    assert credits_balance(user=owner) == 5 - job.cost_credits
    consent = VoiceCloningConsent.objects.get()
    assert (consent.user, consent.job, consent.job_ref) == (owner, job, job.id)
    assert consent.ip_address == "203.0.113.7"
    with translation.override("en"):
        assert consent.text == str(CONSENT_TEXT) and consent.language == "en"
    assert consent.speakers == []  # filled when the job has cloned them


def test_the_consent_keeps_the_text_in_the_language_it_was_shown_in(fish, owner, staff, owner_client, dubbable):
    give_credits(owner, 5, staff=staff)
    shown = owner_client.get("/api/v1/languages", HTTP_ACCEPT_LANGUAGE="ko").json()["voice_cloning_consent_text"]
    response = owner_client.post("/api/v1/jobs", {"video_id": str(dubbable.id), "target_language": "es",
                                                  "source_language": "en", "voice_cloning": True,
                                                  "voice_cloning_consent": True},
                                 format="json", HTTP_ACCEPT_LANGUAGE="ko")
    assert response.status_code == 201, response.content
    consent = VoiceCloningConsent.objects.get()
    assert consent.language == "ko" and consent.text == shown
    assert "목소리" in consent.text  # the Korean sentence, not the English one


def test_several_languages_make_one_consent_per_job(fish, owner, staff, owner_client, dubbable):
    if not language_support().supports("en", "pt"):
        pytest.skip("the engines here cannot dub en->pt")
    give_credits(owner, 5, staff=staff)
    response = owner_client.post("/api/v1/jobs", {"video_id": str(dubbable.id), "target_languages": ["es", "pt"],
                                                  "source_language": "en", "voice_cloning": True,
                                                  "voice_cloning_consent": True}, format="json")
    assert response.status_code == 201, response.content
    assert sorted(c.job.target_language for c in VoiceCloningConsent.objects.all()) == ["es", "pt"]


def test_a_consent_on_a_job_that_does_not_clone_is_ignored_and_not_stored(fish, owner, staff, owner_client, dubbable):
    give_credits(owner, 5, staff=staff)
    response = _post(owner_client, dubbable, voice_cloning_consent=True)
    assert response.status_code == 201, response.content
    job = DubbingJob.objects.get()
    assert job.options["voice_cloning"] is False and job.options["voice_cloning_consent"] is False
    assert not VoiceCloningConsent.objects.exists()


def test_languages_say_whether_this_server_can_clone(settings, api_client):
    settings.DUBBING_TTS_ENGINE = ""
    language_support_clear()
    local = api_client.get("/api/v1/languages").json()
    settings.DUBBING_TTS_ENGINE, settings.FISH_AUDIO_API_KEY = "fish", "test-fish-key"
    language_support_clear()
    cloud = api_client.get("/api/v1/languages").json()
    language_support_clear()
    assert local["voice_cloning"] is False
    assert cloud["voice_cloning"] is True
    assert "cloned" in cloud["voice_cloning_consent_text"]


def test_staff_read_the_consent_in_the_admin_and_cannot_change_it(
        fish, owner, staff, owner_client, staff_browser, dubbable):
    give_credits(owner, 5, staff=staff)
    assert _post(owner_client, dubbable, voice_cloning=True, voice_cloning_consent=True).status_code == 201
    consent = VoiceCloningConsent.objects.get()
    listing = staff_browser.get("/admin/dubbing/voicecloningconsent/")
    assert listing.status_code == 200 and b"203.0.113.7" in listing.content
    page = staff_browser.get(f"/admin/dubbing/voicecloningconsent/{consent.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "sends a sample of each speaker" in html and str(consent.job_ref) in html
    assert 'name="text"' not in html  # read-only: no input to edit it
    assert staff_browser.get("/admin/dubbing/voicecloningconsent/add/").status_code == 403
    assert staff_browser.post(f"/admin/dubbing/voicecloningconsent/{consent.pk}/delete/",
                              {"post": "yes"}).status_code == 403
    assert VoiceCloningConsent.objects.filter(pk=consent.pk).exists()


def test_the_dub_form_offers_cloning_with_the_consent_text_and_records_it(fish, owner, staff, owner_browser,
                                                                           dubbable):
    give_credits(owner, 5, staff=staff)
    page = owner_browser.get(f"/videos/{dubbable.id}/dub")
    html = page.content.decode()
    assert 'name="voice_cloning"' in html and 'name="voice_cloning_consent"' in html
    assert "sends a sample of each speaker" in html
    form = {"target_language": "es", "source_language": "en", "background": "drop", "subtitles": "soft",
            "max_speed": "1.30", "voice_cloning": "on"}
    refused = owner_browser.post(f"/videos/{dubbable.id}/dub", form)
    assert refused.status_code == 400 and not DubbingJob.objects.exists()
    assert "needs your consent" in refused.content.decode()
    started = owner_browser.post(f"/videos/{dubbable.id}/dub", {**form, "voice_cloning_consent": "on"},
                                 REMOTE_ADDR="198.51.100.4")
    assert started.status_code == 302
    consent = VoiceCloningConsent.objects.get()
    assert consent.job == DubbingJob.objects.get() and consent.ip_address == "198.51.100.4"


def test_the_dub_form_does_not_offer_cloning_where_the_engine_cannot(local, owner_browser, dubbable):
    html = owner_browser.get(f"/videos/{dubbable.id}/dub").content.decode()
    assert 'name="voice_cloning"' not in html and 'name="voice_cloning_consent"' not in html


def test_the_speakers_say_in_the_readers_language_whether_they_were_cloned_and_why_not(owner):
    from dubbing.models import StepStatus
    from dubbing.selectors import speaker_list
    from dubbing.tests.factories import DubbingJobFactory, JobStepFactory, SegmentFactory

    job = DubbingJobFactory(owner=owner, succeeded=True)
    for index, speaker in enumerate(("speaker_1", "speaker_2", "speaker_3")):
        SegmentFactory(job=job, index=index, speaker=speaker)
    JobStepFactory(job=job, name="synthesize", status=StepStatus.DONE, detail={
        "voices": {"speaker_1": "clone", "speaker_2": "f3", "speaker_3": "m3"},
        "cloned": {"speaker_1": True, "speaker_2": False, "speaker_3": False},
        "cloning": {"speaker_1": {"cloned": True, "reason": "", "reference_seconds": 12.4},
                    "speaker_2": {"cloned": False, "reason": "too_little_speech", "reference_seconds": 2.1},
                    "speaker_3": {"cloned": False, "reason": "refused", "reference_seconds": 9.0}}})
    with translation.override("en"):
        english = {s["speaker"]: s for s in speaker_list(job=job)}
    with translation.override("ko"):
        korean = {s["speaker"]: s["voice_reason"] for s in speaker_list(job=job)}
    assert english["speaker_1"]["cloned"] and not english["speaker_2"]["cloned"]
    assert english["speaker_1"]["voice_reason"] == "A clone of this speaker's own voice, made from 12.4 s of their speech."
    assert "only 2.1 s" in english["speaker_2"]["voice_reason"] and "at least 3 s" in english["speaker_2"]["voice_reason"]
    assert "refused" in english["speaker_3"]["voice_reason"]
    assert korean["speaker_1"] == "이 화자의 말 12.4초로 만든, 화자 본인 목소리의 복제입니다."
    assert "2.1초" in korean["speaker_2"] and "최소 3초" in korean["speaker_2"]
    assert "거부" in korean["speaker_3"]
