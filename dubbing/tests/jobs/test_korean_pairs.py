"""Korean on the offline set-up (issue 21 item 1): no translator here handles Korean, so a pair
into or out of Korean is offered with the user's own subtitles, /languages and the dub form say
so in a plain sentence (no engine, option or code), and a job asking it without them is refused
with that sentence before anything is charged."""

from __future__ import annotations

import re

import pytest

from billing.models import LedgerEntry
from billing.selectors import credits_balance
from billing.tests.factories import give_credits
from dubbing.languages import language_support, language_support_clear
from dubbing.models import DubbingJob
from testing.media import FIXTURE_MEDIA
from videos.models import VideoStatus
from videos.tests.factories import VideoFactory

pytestmark = pytest.mark.django_db

# Words a plain sentence never holds: engines, options, codes.
JARGON = re.compile(r"apertium|openai|whisper|espeak|kokoro|piper|--|_|\(으\)|\(를\)|engine|엔진", re.IGNORECASE)
KOREAN_SRT = ("1\n00:00:01,200 --> 00:00:03,600\n짧은 시연에 오신 것을 환영합니다.\n\n"
              "2\n00:00:04,400 --> 00:00:07,800\n내일 아침은 맑고 따뜻하겠습니다.\n")


@pytest.fixture(autouse=True)
def _local_engines(settings):
    settings.DUBBING_ENGINES = "local"
    settings.DUBBING_TRANSLATE_ENGINE = None
    language_support_clear()
    yield
    language_support_clear()


@pytest.fixture
def video(owner, media_root):
    return VideoFactory(
        owner=owner, title="Speech", original_filename="speech_en.mp4",
        source=(FIXTURE_MEDIA / "speech_en.mp4").read_bytes(), format="mov,mp4", duration=18.68, fps=25,
        video_codec="h264", audio_codec="aac", status=VideoStatus.READY,
    )


def test_languages_offer_korean_both_ways_with_the_users_subtitles_and_say_so_plainly(api_client):
    body = api_client.get("/api/v1/languages").json()

    pairs = {(p["source"], p["target"]): p["via"] for p in body["pairs"]}
    assert pairs[("en", "ko")] == "subtitles" and pairs[("ko", "en")] == "subtitles"
    assert pairs[("en", "es")] in ("direct", "pivot")  # translated pairs keep their route
    sentence = body["needs"]["ko"]
    assert sentence.startswith("Korean: ") and "upload your Korean subtitles" in sentence
    assert "ask your administrator to enable a cloud translator" in sentence
    assert not JARGON.search(sentence), sentence
    assert "es" not in body["needs"]  # Spanish needs nothing but a video here


def test_languages_say_it_in_korean_with_particles_that_agree(api_client):
    body = api_client.get("/api/v1/languages", HTTP_ACCEPT_LANGUAGE="ko").json()

    sentence = body["needs"]["ko"]
    assert sentence.startswith("한국어: ") and "한국어로 더빙하려면" in sentence and "관리자" in sentence
    assert not JARGON.search(sentence), sentence
    assert body["names"]["ko"] == "한국어"


def test_the_languages_sentence_drops_the_administrator_once_a_cloud_translator_is_on(settings, openai_server):
    settings.DUBBING_TRANSLATE_ENGINE = "openai"
    settings.OPENAI_API_KEY = "test"
    settings.OPENAI_BASE_URL = openai_server.base_url
    support = language_support()

    assert support.via("en", "ko") == "direct" and support.via("ko", "en") == "direct"
    assert "ko" not in support.as_dict()["needs"]


def test_a_korean_dub_without_korean_subtitles_is_refused_plainly_and_nothing_is_charged(
        owner, staff, owner_client, video):
    give_credits(owner, 5, staff=staff)
    entries = LedgerEntry.objects.filter(account__user=owner).count()

    response = owner_client.post("/api/v1/jobs", {"video_id": str(video.id), "target_language": "ko",
                                                  "source_language": "en"}, format="json")

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "unsupported_pair"
    assert body["detail"] == ("To dub English into Korean here, upload your Korean subtitles, or ask your "
                              "administrator to enable a cloud translator.")
    assert body["errors"]["target_language"] == [body["detail"]]
    assert not DubbingJob.objects.exists()
    assert credits_balance(user=owner) == 5 and LedgerEntry.objects.filter(account__user=owner).count() == entries


def test_the_refusal_is_in_korean_for_a_korean_reader(owner, staff, owner_client, video):
    give_credits(owner, 5, staff=staff)
    response = owner_client.post("/api/v1/jobs", {"video_id": str(video.id), "target_language": "ko"},
                                 format="json", HTTP_ACCEPT_LANGUAGE="ko")
    detail = response.json()["detail"]
    assert response.status_code == 400 and response.json()["code"] == "unsupported_pair"
    assert detail.startswith("한국어로 더빙하려면 한국어 자막을 올리거나"), detail
    assert not JARGON.search(detail) and not DubbingJob.objects.exists()


def test_a_korean_dub_with_korean_subtitles_is_accepted_and_charged(owner, staff, owner_client, video):
    give_credits(owner, 5, staff=staff)
    response = owner_client.post("/api/v1/jobs", {
        "video_id": str(video.id), "target_language": "ko", "source_language": "en",
        "target_subtitles": KOREAN_SRT, "background": "drop"}, format="json")

    assert response.status_code == 201, response.content
    job = DubbingJob.objects.get()
    assert job.target_language == "ko" and job.options["target_subtitles"].strip() == KOREAN_SRT.strip()
    assert job.engines["translate"] == "subtitles"
    assert credits_balance(user=owner) == 5 - job.cost_credits


def test_the_dub_form_offers_korean_and_says_what_it_needs(owner, owner_browser, video):
    html = owner_browser.get(f"/videos/{video.id}/dub").content.decode()
    assert '<option value="ko">Korean</option>' in html
    assert 'enctype="multipart/form-data"' in html and 'name="target_subtitles"' in html
    needs = re.search(r'<div class="message dub-form__needs" id="dub-needs">(.*?)</div>', html, re.S).group(1)
    assert "Korean: to dub into Korean, upload your Korean subtitles" in needs
    assert not JARGON.search(re.sub(r"<[^>]+>|class=\"[^\"]*\"|id=\"[^\"]*\"", "", needs))

    owner.locale = "ko"
    owner.save(update_fields=["locale"])
    korean = owner_browser.get(f"/videos/{video.id}/dub").content.decode()
    assert "한국어로 더빙하려면 한국어 자막을" in korean and "(으)로" not in korean


@pytest.mark.parametrize("encoding", ["cp949", "euc-kr", "utf-8-sig"])
def test_the_form_reads_korean_subtitles_as_korean_editors_save_them(owner, staff, owner_browser, video, encoding):
    from django.core.files.uploadedfile import SimpleUploadedFile

    give_credits(owner, 5, staff=staff)
    upload = SimpleUploadedFile("dub.ko.srt", KOREAN_SRT.encode(encoding), content_type="application/x-subrip")
    response = owner_browser.post(f"/videos/{video.id}/dub", {
        "target_language": "ko", "source_language": "en", "background": "drop", "subtitles": "soft",
        "max_speed": "1.30", "target_subtitles": upload})

    assert response.status_code == 302, response.content.decode()[:2000]
    job = DubbingJob.objects.get()
    assert job.options["target_subtitles"].strip() == KOREAN_SRT.strip()
    assert "짧은 시연에 오신 것을 환영합니다." in job.options["target_subtitles"]


def test_the_form_refuses_a_korean_dub_without_subtitles_before_charging(owner, staff, owner_browser, video):
    give_credits(owner, 5, staff=staff)
    response = owner_browser.post(f"/videos/{video.id}/dub", {
        "target_language": "ko", "source_language": "en", "background": "drop", "subtitles": "soft",
        "max_speed": "1.30"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "To dub English into Korean here, upload your Korean subtitles" in html
    assert not DubbingJob.objects.exists() and credits_balance(user=owner) == 5


def test_subtitles_in_one_language_go_with_one_target_only(owner, staff, owner_browser, video):
    from django.core.files.uploadedfile import SimpleUploadedFile

    give_credits(owner, 5, staff=staff)
    response = owner_browser.post(f"/videos/{video.id}/dub", {
        "target_language": "ko", "more_languages": ["es"], "source_language": "en", "background": "drop",
        "subtitles": "soft", "max_speed": "1.30",
        "target_subtitles": SimpleUploadedFile("dub.ko.srt", KOREAN_SRT.encode())})
    assert response.status_code == 400 and b"Your subtitles are in one language" in response.content
    assert not DubbingJob.objects.exists()


def test_the_landing_page_greets_only_in_languages_dubbed_without_subtitles(client):
    html = client.get("/").content.decode()
    assert "채널에 다시 오신 것을 환영합니다" not in html  # Korean needs the user's subtitles here


def test_with_target_subtitles_any_language_a_voice_speaks_is_accepted(owner, staff, owner_client, video):
    # German is not among the languages offered here (no translator, not a site language)...
    assert "de" not in language_support().targets and "de" in language_support().spoken
    give_credits(owner, 5, staff=staff)
    refused = owner_client.post("/api/v1/jobs", {"video_id": str(video.id), "target_language": "de",
                                                 "source_language": "en"}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "unsupported_pair"
    assert refused.json()["detail"].startswith("To dub English into German here, upload your German subtitles")
    # ...but the user's German subtitles make it possible.
    response = owner_client.post("/api/v1/jobs", {
        "video_id": str(video.id), "target_language": "de", "source_language": "en", "background": "drop",
        "target_subtitles": "1\n00:00:01,200 --> 00:00:03,600\nWillkommen zu unserer kurzen Vorführung.\n"},
        format="json")
    assert response.status_code == 201, response.content
    assert DubbingJob.objects.get().target_language == "de"
