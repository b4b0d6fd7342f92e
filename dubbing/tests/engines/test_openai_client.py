"""The OpenAI engines under rate limits, server errors, network errors and bad keys, against the
loopback server (real HTTP, real retries)."""

from __future__ import annotations

import pytest

from dubbing.engines.asr.openai import OpenAIASR
from dubbing.engines.base import EngineError, EngineUnavailable, Segment
from dubbing.engines.openai_client import OpenAIClient
from dubbing.engines.translate.openai import OpenAITranslator
from dubbing.engines.tts.openai import OpenAITTS
from testing.openai_server import OpenAIServer

pytestmark = pytest.mark.media

LINES = [
    "Hello, my friend.", "The weather is nice today.", "Thank you for watching.",
    "Please bring an umbrella.", "See you next time.", "Welcome to our short demonstration.",
]


def _segments() -> list[Segment]:
    return [Segment(id=f"s{i:04d}", start=2.0 * i, end=2.0 * i + 1.8, text=text)
            for i, text in enumerate(LINES, start=1)]


def _client(server: OpenAIServer, **kwargs) -> OpenAIClient:
    kwargs.setdefault("concurrency", 3)
    kwargs.setdefault("backoff_base", 0.01)
    return OpenAIClient(base_url=server.base_url, api_key="test", **kwargs)


def test_a_storm_of_429s_is_survived_and_every_segment_comes_back(openai_server):
    client = _client(openai_server)
    translator = OpenAITranslator(openai_server.base_url, "test", chunk_size=2, client=client)
    openai_server.rate_limit_next(10, retry_after=0.05)

    result = translator.translate(_segments(), "en", "es", {"glossary": {}, "durations": {}})

    assert set(result) == {s.id for s in _segments()}
    assert result["s0001"] == "Hola, mi amigo."
    statuses = [r.status for r in openai_server.records("chat")]
    assert statuses.count(429) == 10
    assert statuses.count(200) == 3  # three chunks, each answered once
    assert openai_server.counts["chat"] == 13


@pytest.mark.parametrize("as_date", [False, True])
def test_the_client_waits_at_least_as_long_as_retry_after_says(openai_server, tmp_path, as_date):
    tts = OpenAITTS(openai_server.base_url, "test", client=_client(openai_server))
    # An HTTP date has whole seconds, so the wait it asks for can be up to a second shorter.
    retry_after, least = (3, 2.0) if as_date else (1.5, 1.5)
    openai_server.rate_limit_next(1, retry_after=retry_after, as_date=as_date)

    tts.synthesize("Hello there.", "en", None, tmp_path / "a.wav")

    refused, answered = openai_server.records("speech")
    assert (refused.status, answered.status) == (429, 200)
    assert answered.received_at - refused.responding_at >= least
    assert (tmp_path / "a.wav").exists()


def test_server_errors_and_dropped_connections_are_retried(openai_server, tmp_path):
    tts = OpenAITTS(openai_server.base_url, "test", client=_client(openai_server))
    openai_server.fail_next(2, status=503)
    openai_server.drop_next(1)
    openai_server.fail_next(1, status=500)

    tts.synthesize("Hello there.", "en", None, tmp_path / "a.wav")

    assert [r.status for r in openai_server.records("speech")] == [503, 503, 0, 500, 200]
    assert openai_server.speech_texts == ["Hello there."]


def test_it_gives_up_after_bounded_retries_with_an_error_naming_the_request(openai_server, tmp_path):
    tts = OpenAITTS(openai_server.base_url, "test", client=_client(openai_server, max_attempts=3))
    openai_server.fail_next(5, status=502)

    with pytest.raises(EngineError, match=r"OpenAI speech for 'Hello there\.' failed after 3 "
                                          r"attempts: HTTP 502"):
        tts.synthesize("Hello there.", "en", None, tmp_path / "a.wav")

    assert openai_server.counts["speech"] == 3
    assert list(tmp_path.iterdir()) == []  # no clip, and no half-written temporary file


def test_a_request_the_server_refuses_is_not_retried(openai_server):
    translator = OpenAITranslator(openai_server.base_url, "test", client=_client(openai_server))

    with pytest.raises(EngineError, match="HTTP 400: This test server cannot translate en to fr"):
        translator.translate(_segments()[:1], "en", "fr", {})

    assert openai_server.counts["chat"] == 1


def test_a_wrong_api_key_makes_the_engine_unavailable(tmp_path):
    with OpenAIServer(api_key="right") as server:
        tts = OpenAITTS(server.base_url, "wrong", client=_client(server))
        with pytest.raises(EngineUnavailable, match="OPENAI_API_KEY is not valid"):
            tts.synthesize("Hello.", "en", None, tmp_path / "a.wav")
        assert server.counts["speech"] == 1


@pytest.mark.parametrize("engine", [
    lambda url, key: OpenAIASR(url, key),
    lambda url, key: OpenAITranslator(url, key),
    lambda url, key: OpenAITTS(url, key),
])
@pytest.mark.parametrize("key", [None, ""])
def test_a_missing_api_key_makes_every_engine_unavailable(openai_server, engine, key):
    with pytest.raises(EngineUnavailable, match="set OPENAI_API_KEY"):
        engine(openai_server.base_url, key)

    assert sum(openai_server.counts.values()) == 0


def _most_in_flight(records) -> int:
    events = sorted([(r.received_at, 1) for r in records] + [(r.responding_at, -1) for r in records],
                    key=lambda e: (e[0], e[1]))
    most = current = 0
    for _, step in events:
        current += step
        most = max(most, current)
    return most


def test_engines_sharing_a_client_never_exceed_its_concurrency(openai_server, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    openai_server.latency = 0.2
    client = _client(openai_server, concurrency=2)
    tts = OpenAITTS(openai_server.base_url, "test", client=client)
    translator = OpenAITranslator(openai_server.base_url, "test", chunk_size=1, client=client)

    with ThreadPoolExecutor(max_workers=8) as pool:
        speech = [pool.submit(tts.synthesize, text, "en", None, tmp_path / f"{i}.wav")
                  for i, text in enumerate(LINES)]
        translated = pool.submit(translator.translate, _segments(), "en", "es", {})
        [f.result() for f in speech]
        assert len(translated.result()) == len(LINES)

    assert openai_server.served["speech"] == 6 and openai_server.served["chat"] == 6
    assert _most_in_flight(openai_server.log) == 2


def test_a_retry_after_longer_than_the_cap_is_cut_to_the_cap():
    client = OpenAIClient(base_url="http://127.0.0.1:9", api_key="test", retry_after_cap=5.0)

    delays = [client.delay(1, {"retry-after": "3600"}) for _ in range(50)]

    assert all(5.0 <= d <= 5.0 + 1.01 for d in delays)


def test_without_retry_after_the_backoff_grows_exponentially_with_jitter_up_to_its_cap():
    client = OpenAIClient(base_url="http://127.0.0.1:9", api_key="test", backoff_base=0.5,
                          backoff_cap=4.0)

    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)]:
        delays = {client.delay(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered, so clients told the same thing spread out


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # a date already past
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_is_read_from_milliseconds_seconds_or_a_date(headers, seconds):
    import httpx

    from onevoice.retry import retry_after_seconds

    assert retry_after_seconds(httpx.Response(429, headers=headers).headers) == seconds
