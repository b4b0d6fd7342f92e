"""Translation and shortening through the chat API, against the loopback server (which answers
with real apertium translations)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from dubbing.engines.base import EngineError, Segment
from dubbing.engines.openai_client import OpenAIClient
from dubbing.engines.translate.openai import BadAnswer, OpenAITranslator, validate_answer

pytestmark = pytest.mark.media

LINES = [
    "Hello, my friend.", "The weather is nice today.", "Thank you for watching.",
    "Please bring an umbrella.", "See you next time.", "Welcome to our short demonstration.",
    "The house is big.", "I like the red car.", "Where is the station?",
]


def _segments() -> list[Segment]:
    return [Segment(id=f"s{i:04d}", start=2.0 * i, end=2.0 * i + 1.5, text=text)
            for i, text in enumerate(LINES, start=1)]


def _translator(server, **kwargs) -> OpenAITranslator:
    client = OpenAIClient(base_url=server.base_url, api_key="test", concurrency=3, backoff_base=0.01)
    return OpenAITranslator(server.base_url, "test", concurrency=3, client=client, **kwargs)


def test_it_translates_every_segment_by_id_with_context_glossary_and_seconds(openai_server):
    segments = _segments()
    context = {"glossary": {"umbrella": "paraguas"}, "durations": {"s0002": 3.25},
               "transcript": [{"id": s.id, "text": s.text} for s in segments]}

    result = _translator(openai_server, chunk_size=4).translate(segments[1:], "en", "es", context)

    assert list(result) == [s.id for s in segments[1:]]
    assert result["s0002"] == "El tiempo es bueno hoy."
    assert result["s0008"] == "Me gusta el coche rojo."
    tasks = openai_server.chat_tasks
    assert sorted(len(t["lines"]) for t in tasks) == [4, 4]
    for task in tasks:
        assert (task["task"], task["source_language"], task["target_language"]) == ("translate", "en", "es")
        assert task["glossary"] == {"umbrella": "paraguas"}
        # The whole transcript rides along as context, including the line not being translated.
        assert [line["id"] for line in task["transcript"]] == [s.id for s in segments]
    lines = {line["id"]: line for t in tasks for line in t["lines"]}
    assert lines["s0002"]["seconds"] == 3.25 and lines["s0002"]["max_characters"] == 48
    assert lines["s0003"]["seconds"] == 1.5  # no duration given: the source line's own length


def test_a_chunk_answered_with_a_missing_id_is_retried_alone(openai_server):
    openai_server.latency = 1.0
    openai_server.omit_id_next_chat(1)

    result = _translator(openai_server, chunk_size=3).translate(_segments(), "en", "es", {})

    assert set(result) == {s.id for s in _segments()}
    assert openai_server.counts["chat"] == 4  # three chunks and one repeat
    asked = Counter(tuple(ids) for ids in openai_server.chat_ids)
    assert sorted(asked.values()) == [1, 1, 2]
    # The chunks were in the server at the same time.
    first, second, third = openai_server.records("chat")[:3]
    assert max(r.received_at for r in (first, second, third)) < min(
        r.responding_at for r in (first, second, third))


def test_a_chunk_that_keeps_failing_validation_fails_naming_its_lines(openai_server):
    openai_server.omit_id_next_chat(3)

    with pytest.raises(EngineError, match=r"lines s0001-s0003: the model's answer was unusable 3 "
                                          r"times \(ids missing: \['s0003'\]"):
        _translator(openai_server, chunk_size=3).translate(_segments()[:3], "en", "es", {})

    assert openai_server.counts["chat"] == 3


def test_a_long_transcript_sends_the_lines_around_each_chunk_as_context(openai_server):
    segments = [Segment(id=f"s{i:04d}", start=i, end=i + 0.9, text=f"Line number {i} is here.")
                for i in range(1, 61)]

    _translator(openai_server, chunk_size=10, context_chars=1200).translate(
        segments[20:30], "en", "es", {"segments": segments})

    [task] = openai_server.chat_tasks
    ids = [line["id"] for line in task["transcript"]]
    assert "s0021" in ids and "s0030" in ids
    assert ids[0] < "s0021" and ids[-1] > "s0030"  # lines before and after the chunk
    assert len(json.dumps(task["transcript"])) < 2000


def test_shorten_asks_for_a_line_that_fits_and_returns_it(openai_server):
    segment = _segments()[5]

    shorter = _translator(openai_server).shorten(
        segment, "Bienvenido a nuestra demostración corta de hoy", 1.0, "es")

    assert shorter == "Bienvenido a"
    [task] = openai_server.chat_tasks
    assert task["task"] == "shorten" and task["lines"][0]["max_characters"] == 15


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("not json", "not JSON"),
        ('["a list"]', "not a JSON object"),
        ('{"s1": "uno"}', r"ids missing: \['s2'\]"),
        ('{"s1": "uno", "s2": "dos", "s9": "nueve"}', r"ids not asked for: \['s9'\]"),
        ('{"s1": "uno", "s2": "  "}', r"no text for ids \['s2'\]"),
        ('{"s1": "uno", "s2": 2}', r"no text for ids \['s2'\]"),
    ],
)
def test_answers_that_do_not_match_the_ids_asked_for_are_rejected(content, problem):
    answer = {"choices": [{"message": {"content": content}, "finish_reason": "stop"}]}

    with pytest.raises(BadAnswer, match=problem):
        validate_answer(answer, ["s1", "s2"])


def test_a_cut_off_answer_is_rejected_and_a_once_wrapped_answer_is_accepted():
    cut = {"choices": [{"message": {"content": '{"s1": "uno"}'}, "finish_reason": "length"}]}
    wrapped = {"choices": [{"message": {"content": '{"translations": {"s1": " uno  dos "}}'},
                            "finish_reason": "stop"}]}

    with pytest.raises(BadAnswer, match="cut off"):
        validate_answer(cut, ["s1"])
    assert validate_answer(wrapped, ["s1"]) == {"s1": "uno dos"}


@pytest.mark.parametrize("style", ["fence", "think"])
def test_answers_wrapped_as_local_models_wrap_them_are_read_without_asking_again(openai_server, style):
    """An OpenAI-compatible server running a local model (OPENAI_BASE_URL) often puts the JSON in
    a Markdown fence or after a reasoning block: read as the same answer, not a failed one."""
    openai_server.wrap_next_chat(1, style)

    result = _translator(openai_server).translate(_segments()[:2], "en", "es", {})

    assert result == {"s0001": "Hola, mi amigo.", "s0002": "El tiempo es bueno hoy."}
    assert openai_server.counts["chat"] == 1


def test_english_and_korean_are_translated_both_ways(openai_server):
    english = [Segment(id="s0001", start=0.0, end=2.0, text="Welcome to our short demonstration.")]
    korean = [Segment(id="s0001", start=0.0, end=2.0, text="우산을 꼭 챙기세요.")]

    assert _translator(openai_server).translate(english, "en", "ko", {}) == {"s0001": "짧은 시연에 오신 것을 환영합니다."}
    assert _translator(openai_server).translate(korean, "ko", "en", {}) == {"s0001": "Be sure to bring an umbrella."}
    task = openai_server.chat_tasks[0]
    assert task["target_language_name"] == "Korean" and task["lines"][0]["max_characters"] == 16  # 2 s of Korean
