"""The dub form on a phone (issue 21, "text cut off"): at 390 px every choice of every dropdown
reads whole inside its native <select> (the "Original sound" choices were cut off mid-sentence
in English and in Korean), in both languages, axe clean. Measured in headless Chromium: each
option's label, in the select's own font, against the select's content box less the arrow."""

from __future__ import annotations

import pytest
from django.test import Client

from dubbing.languages import language_support_clear
from testing.browser import PHONE, Walk, chromium
from testing.media import FIXTURE_MEDIA
from videos.models import SpokenLanguageStatus, VideoStatus
from videos.tests.factories import VideoFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Chromium draws a native <select>'s arrow inside its end padding: about 20 px beyond the CSS padding.
ARROW_PX = 20
# Every option of every select in the form: its label's width in the select's font, and the room it has.
MEASURE = """
() => {
  const canvas = document.createElement('canvas').getContext('2d');
  const rows = [];
  for (const select of document.querySelectorAll('#dub-form select')) {
    const style = getComputedStyle(select);
    canvas.font = style.font;
    const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - %d;
    const box = select.getBoundingClientRect();
    for (const option of select.options) {
      rows.push({select: select.id, label: option.text, width: Math.ceil(canvas.measureText(option.text).width),
                 room: Math.floor(room), right: Math.round(box.right)});
    }
  }
  return rows;
}
""" % ARROW_PX


def _english_video(owner, settings, locale: str):
    """A ready English video of `owner`, whose pages are in `locale`, on the offline engines."""
    settings.DUBBING_ENGINES = "local"
    settings.DUBBING_TRANSLATE_ENGINE = None
    language_support_clear()
    owner.locale = locale
    owner.save(update_fields=["locale"])
    return VideoFactory(owner=owner, title="Phone clip", original_filename="clip.mp4",
                        source=(FIXTURE_MEDIA / "speech_en.mp4").read_bytes(), format="mov,mp4", duration=18.68,
                        fps=25, width=640, height=360, video_codec="h264", audio_codec="aac",
                        status=VideoStatus.READY, spoken_language="en",
                        spoken_language_status=SpokenLanguageStatus.DETECTED, spoken_language_confidence=0.9)


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_every_dropdown_choice_on_the_dub_form_reads_whole_on_a_phone(live_server, media_root, owner, settings,
                                                                      locale):
    video = _english_video(owner, settings, locale)
    client = Client()
    client.force_login(owner)
    try:
        with chromium() as browser:
            context = browser.new_context(locale={"en": "en-US", "ko": "ko-KR"}[locale])
            context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                                  "url": live_server.url}])
            page = context.new_page()
            walk = Walk(page, folder=f"dub-form-phone-{locale}", who="owner")
            for name, path in (("video page", f"/videos/{video.id}"), ("dub page", f"/videos/{video.id}/dub")):
                page.goto(live_server.url + path)
                walk.check(name)
                # At 1280 px, two fields a row: a select beside the background's list keeps its height
                heights = page.evaluate("Array.from(document.querySelectorAll('#dub-form select'),"
                                        " s => [s.id, Math.round(s.getBoundingClientRect().height)])")
                assert heights and all(height < 60 for _, height in heights), heights
                page.set_viewport_size(PHONE)
                try:
                    rows = page.evaluate(MEASURE)
                    labels = page.evaluate("Array.from(document.querySelectorAll('#id_background option'), o => o.value)")
                finally:
                    page.set_viewport_size({"width": 1280, "height": 800})
                assert "drop" in labels and len(labels) >= 3, labels
                # Said in full under the dropdown, one line per choice, and read out with it.
                described = page.get_attribute("#id_background", "aria-describedby").split()
                helps = page.evaluate("Array.from(document.querySelectorAll('#id_background_helptext li strong'),"
                                      " s => s.textContent)")
                options = page.evaluate("Array.from(document.querySelectorAll('#id_background option'), o => o.text)")
                assert "id_background_helptext" in described and helps == options, (described, helps, options)
                silence = {"en": "Silence under the dub", "ko": "더빙 아래는 무음"}[locale]
                assert silence in options
                assert rows and all(row["right"] <= PHONE["width"] for row in rows), rows
                cut = [row for row in rows if row["width"] > row["room"]]
                assert cut == [], f"{name}: cut off at 390 px: {cut}"
            assert walk.violations == [], "\n".join(walk.violations)
            assert walk.errors == []
    finally:
        language_support_clear()


# What each file picker shows, and whether the browser's own (in the browser's language) is hidden.
PICKERS = """
() => Array.from(document.querySelectorAll('.file-picker'), p => {
  const input = p.querySelector('input[type=file]'), face = p.querySelector('.file-picker__face');
  const a = input.getBoundingClientRect(), b = face.getBoundingClientRect();
  return {id: input.id, face: face.innerText.replace(/\\s+/g, ' ').trim(), native: getComputedStyle(input).opacity,
          faceShown: b.height > 0, covers: a.left <= b.left + 1 && a.right >= b.right - 1 && a.top <= b.top + 1
          && a.bottom >= b.bottom - 1, label: input.labels.length ? input.labels[0].textContent.trim() : null};
})
"""


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_the_file_pickers_speak_the_pages_language_in_a_browser_of_another(live_server, media_root, owner, settings,
                                                                            tmp_path, locale):
    """The browser's own file button says "Choose File / No file chosen" in the browser's language:
    a Korean page in an English browser (as the journey's screenshots showed, upload page and dub
    form) had them in English. Each picker's face is in the page's words, the native input lies
    transparent over it and is still the control (its label, Tab, the chosen file's name)."""
    video = _english_video(owner, settings, locale)
    (tmp_path / "dub.es.srt").write_text("1\n00:00:00,500 --> 00:00:02,000\nHola.\n", encoding="utf-8")
    words = {"en": "Choose a file No file chosen", "ko": "파일 선택 선택한 파일 없음"}[locale]
    client = Client()
    client.force_login(owner)
    try:
        with chromium() as browser:
            context = browser.new_context(locale="en-US")  # the browser's own words are English
            context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                                  "url": live_server.url}])
            page = context.new_page()
            walk = Walk(page, folder=f"file-pickers-{locale}", who="owner")

            page.goto(live_server.url + "/videos/upload")
            pickers = page.evaluate(PICKERS)
            assert [(p["id"], p["face"], p["native"], p["faceShown"], p["covers"]) for p in pickers] == [
                ("upload-file", words, "0", True, True)], pickers
            assert pickers[0]["label"] == {"en": "File", "ko": "파일"}[locale]  # still named by its label
            walk.check("upload page")

            page.goto(f"{live_server.url}/videos/{video.id}/dub")
            pickers = page.evaluate(PICKERS)
            assert [(p["id"], p["face"], p["native"], p["covers"]) for p in pickers] == [
                ("id_target_subtitles", words, "0", True), ("id_source_subtitles", words, "0", True)], pickers
            # From the keyboard the input itself takes the focus, and its face shows it.
            page.focus("#id_glossary")
            page.keyboard.press("Shift+Tab")
            assert page.evaluate("document.activeElement.id") == "id_source_subtitles"
            outline = page.eval_on_selector("#id_source_subtitles + .file-picker__face", "f => getComputedStyle(f).outlineStyle")
            assert outline == "solid"
            # A chosen file is named on the face, and sent with the form.
            page.set_input_files("#id_target_subtitles", str(tmp_path / "dub.es.srt"))
            assert page.inner_text("#id_target_subtitles + .file-picker__face .file-picker__name") == "dub.es.srt"
            walk.check("dub form, a subtitles file chosen")
            assert walk.violations == [], "\n".join(walk.violations)
            assert walk.errors == []
    finally:
        language_support_clear()
