"""Glossaries that hold: apertium never sees a term (protected, restored), a chat model is asked
again once for a line that missed one (the rule stated), and what still misses is listed on the
lines, the report and the line editor. Real apertium; the chat model is the loopback server."""

from __future__ import annotations

from pathlib import Path

import pytest

from dubbing.engines.base import Segment
from dubbing.engines.openai_client import OpenAIClient
from dubbing.engines.translate.apertium import ApertiumTranslator
from dubbing.engines.translate.openai import OpenAITranslator
from dubbing.pipeline.glossary import misses, protect, restore
from dubbing.pipeline.translate import translate_segments
from dubbing.tests.factories import DubbingJobFactory
from videos.tests.factories import SpeechVideoFactory

LINES = ["Welcome to our short demonstration.", "Tomorrow the weather will be sunny and warm in the morning.",
         "In the afternoon, please bring an umbrella.", "Thank you for watching, and see you next time."]
GLOSSARY = {"weather": "clima", "umbrella": "sombrilla"}


def _segments() -> list[Segment]:
    return [Segment(id=f"s{i:04d}", start=3.0 * i, end=3.0 * i + 2.5, text=t) for i, t in enumerate(LINES, 1)]


def _translate(translator, tmp_path: Path, glossary: dict, target: str = "es") -> dict[str, str]:
    return translate_segments(translator, _segments(), source="en", target=target, glossary=glossary,
                              folder=tmp_path / f"translate-{len(glossary)}-{target}")


def test_terms_are_found_case_insensitively_at_word_edges_and_restored():
    assert misses("The Weather is nice", "El tiempo es bueno", GLOSSARY) == [{"term": "weather",
                                                                               "translation": "clima"}]
    assert misses("The weatherman", "El hombre del tiempo", GLOSSARY) == []  # not inside another word
    assert misses("The weather", "El Clima", GLOSSARY) == []
    assert misses("OneVoice", "원보이스", {"OneVoice": "원보이스"}) == []
    text, placeholders = protect("Weather first, weather last.", GLOSSARY)
    assert "eather" not in text and restore(text, placeholders) == "clima first, clima last."


@pytest.mark.media
@pytest.mark.parametrize("target, plain", [("es", ("tiempo", "paraguas")), ("ca", ("temps", "paraigua"))])
def test_apertium_keeps_the_glossarys_terms_by_protecting_them(tmp_path, target, plain):
    apertium = ApertiumTranslator()
    without = _translate(apertium, tmp_path, {}, target)
    held = _translate(apertium, tmp_path, GLOSSARY, target)
    # Without the glossary apertium says its own words; with it, the glossary's.
    assert plain[0] in without["s0002"] and plain[1] in without["s0003"]
    assert "clima" in held["s0002"] and "sombrilla" in held["s0003"]
    assert plain[0] not in held["s0002"]
    assert all(not misses(text, held[seg.id], GLOSSARY) for seg, text in zip(_segments(), LINES))
    assert held["s0001"] == without["s0001"]  # lines without a term are untouched


@pytest.mark.media
def test_a_chat_model_that_misses_a_term_is_asked_again_once_for_that_line_with_the_rule(openai_server, tmp_path):
    client = OpenAIClient(base_url=openai_server.base_url, api_key="test", concurrency=2, backoff_base=0.01)
    translator = OpenAITranslator(openai_server.base_url, "test", concurrency=2, client=client)

    held = _translate(translator, tmp_path, {"umbrella": "sombrilla"})

    assert "sombrilla" in held["s0003"]
    first, again = openai_server.chat_tasks
    assert [line["id"] for line in first["lines"]] == ["s0001", "s0002", "s0003", "s0004"]
    assert [line["id"] for line in again["lines"]] == ["s0003"]
    assert "'umbrella' must be translated as 'sombrilla'" in again["rules"]["s0003"]
    assert "rules" not in first


@pytest.mark.media
def test_a_line_that_still_misses_a_term_is_listed_in_the_report_and_on_its_segment(openai_server, tmp_path):
    from dubbing.engines.registry import EngineConfig, build_engines
    from dubbing.pipeline.options import DubOptions
    from dubbing.pipeline.runner import run_dub
    from testing.media import FIXTURE_MEDIA

    config = EngineConfig(engines="openai", openai_base_url=openai_server.base_url, openai_api_key="test")
    options = DubOptions(target_language="es", source_language="en", engines="openai", background="drop",
                         glossary=GLOSSARY)
    engines = build_engines(options, config)
    first = run_dub(FIXTURE_MEDIA / "speech_en.mp4", options, workspace=tmp_path / "ws", engines=engines)
    assert first.report["glossary_misses"] == []
    umbrella = next(s for s in first.segments if "umbrella" in s.source_text.lower())
    assert "sombrilla" in umbrella.target_text and umbrella.glossary_misses == []

    # An edit (a re-render's override) that drops the term: the line and the report say so.
    edited = run_dub(FIXTURE_MEDIA / "speech_en.mp4", options, workspace=tmp_path / "ws", engines=engines,
                     target_overrides={umbrella.id: "Por la tarde, traed un paraguas."})
    line = next(s for s in edited.segments if s.id == umbrella.id)
    assert line.glossary_misses == [{"term": "umbrella", "translation": "sombrilla"}]
    assert [m["id"] for m in edited.report["glossary_misses"]] == [umbrella.id]


@pytest.mark.django_db
def test_the_line_editor_shows_a_missed_term_and_an_edit_updates_it(owner, staff, client, media_root):
    from dubbing import services
    from dubbing.models import JobStatus
    from dubbing.models import Segment as Line

    job = DubbingJobFactory(owner=owner, video=SpeechVideoFactory(owner=owner), status=JobStatus.SUCCEEDED)
    job.options = {**job.options, "glossary": GLOSSARY}
    job.save(update_fields=["options"])
    Line.objects.create(job=job, index=0, segment_id="s0001", start=0, end=2, source_text=LINES[2],
                        target_text="Por la tarde, traed un paraguas.", rendered_text="Por la tarde, traed un paraguas.",
                        glossary_misses=misses(LINES[2], "Por la tarde, traed un paraguas.", GLOSSARY))
    client.force_login(owner)
    page = client.get(f"/jobs/{job.id}/lines").content.decode()
    assert "Glossary not followed" in page and "“umbrella” should be “sombrilla”" in page
    line = services.segment_update(job=job, index=0, target_text="Por la tarde, traed una sombrilla.")
    assert line.glossary_misses == []
    assert "Glossary not followed" not in client.get(f"/jobs/{job.id}/lines").content.decode()
