"""The dub form for a Korean user in headless Chromium (issue 21 items 1 and 2), at 1280 and 390
px, with screenshots and axe: what each language needs is said in plain Korean, the spoken
language detected at upload is shown and preselected, an unsure one asks the user, and the
user's own subtitles files (a Korean file saved as CP949) start a dub of a Korean video into
Spanish and of an English video into Korean. The dubs themselves run in the worker tests."""

from __future__ import annotations

import re

import pytest

from accounts.tests.factories import UserFactory
from billing.tests.factories import give_credits
from dubbing.languages import language_support_clear
from dubbing.models import DubbingJob
from testing.browser import Walk, chromium
from testing.media import FIXTURE_MEDIA
from videos.models import SpokenLanguageStatus, VideoStatus
from videos.tests.factories import VideoFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

KOREAN_SRT = "1\n00:00:01,200 --> 00:00:03,600\n짧은 시연에 오신 것을 환영합니다.\n"
SPANISH_SRT = "1\n00:00:00,500 --> 00:00:03,000\nHola a todos.\n"


def _video(owner, name: str, *, language: str, status: str):
    return VideoFactory(owner=owner, title=name, original_filename=f"{name}.mp4",
                        source=(FIXTURE_MEDIA / "speech_en.mp4").read_bytes(), format="mov,mp4", duration=18.68,
                        fps=25, width=640, height=360, video_codec="h264", audio_codec="aac",
                        status=VideoStatus.READY, spoken_language=language, spoken_language_status=status,
                        spoken_language_confidence=0.88 if language else 0.31)


def test_a_korean_user_dubs_with_their_own_subtitles_and_is_asked_when_the_language_is_unsure(
        live_server, media_root, broker, settings, tmp_path):
    settings.DUBBING_ENGINES = "local"
    settings.DUBBING_TRANSLATE_ENGINE = None
    language_support_clear()
    user = UserFactory(email="minji@example.com", name="민지", locale="ko")
    staff = UserFactory(email="staff@example.com", staff=True)
    give_credits(user, 10, staff=staff)
    korean = _video(user, "인사", language="ko", status=SpokenLanguageStatus.DETECTED)
    unsure = _video(user, "거꾸로", language="", status=SpokenLanguageStatus.UNSURE)
    english = _video(user, "demo", language="en", status=SpokenLanguageStatus.DETECTED)
    (tmp_path / "es.srt").write_text(SPANISH_SRT, encoding="utf-8")
    (tmp_path / "ko.srt").write_bytes(KOREAN_SRT.encode("cp949"))

    with chromium() as browser:
        context = browser.new_context(locale="ko-KR")
        context.set_default_timeout(30_000)
        from django.test import Client

        client = Client()
        client.force_login(user)
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                              "url": live_server.url}])
        page = context.new_page()
        walk = Walk(page, folder="korean-dub-form", who="minji")

        # A Korean video: detected, preselected, and Korean needs subtitles said plainly.
        page.goto(f"{live_server.url}/videos/{korean.id}")
        spoken = page.inner_text("#dub-spoken")
        assert "원래 언어: 한국어(감지됨" in spoken
        assert page.eval_on_selector("#id_source_language", "s => s.value") == "ko"
        needs = page.inner_text("#dub-needs")
        assert "한국어: 한국어로 더빙하려면 한국어 자막을" in needs and "관리자에게 클라우드 번역기를" in needs
        assert not re.search(r"[A-Za-z_]{3,}", needs), needs  # no engine, option or code in it
        walk.check("korean video")
        page.select_option("#id_target_language", "es")
        page.set_input_files("#id_target_subtitles", str(tmp_path / "es.srt"))
        page.click("#dub-submit")
        page.wait_for_url(re.compile(r"/jobs/"))
        job = DubbingJob.objects.get(video=korean)
        assert (job.source_language, job.target_language) == ("ko", "es")
        assert job.options["target_subtitles"].strip() == SPANISH_SRT.strip()

        # An English video into Korean, with the Korean subtitles a Korean editor saved (CP949).
        page.goto(f"{live_server.url}/videos/{english.id}")
        page.select_option("#id_target_language", "ko")
        page.set_input_files("#id_target_subtitles", str(tmp_path / "ko.srt"))
        page.click("#dub-submit")
        page.wait_for_url(re.compile(r"/jobs/"))
        job = DubbingJob.objects.get(video=english)
        assert (job.source_language, job.target_language) == ("en", "ko")
        assert "짧은 시연에 오신 것을 환영합니다." in job.options["target_subtitles"]

        # A video whose language could not be told: the user is asked, nothing is charged.
        page.goto(f"{live_server.url}/videos/{unsure.id}")
        assert "어떤 언어로 말하는지 알아내지 못했습니다" in page.inner_text("#dub-spoken")
        walk.check("unsure video")
        page.click("#dub-submit")
        page.wait_for_selector("#dub-error")
        assert "원래 언어를 선택한 뒤 다시 시도하세요" in page.inner_text("#dub-error")
        assert page.query_selector("#dub-spoken") is None  # said once, not again above the fields
        walk.check("unsure video refused")
        assert not DubbingJob.objects.filter(video=unsure).exists()

        assert walk.violations == [] and walk.errors == []
    language_support_clear()
