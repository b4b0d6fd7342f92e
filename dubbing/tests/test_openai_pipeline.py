"""The whole pipeline with the `openai` engine set against the loopback OpenAI server: the dub
passes the same output checks as the local run (the checks are test_pipeline.py's own, reused),
and every line went through the remote engines."""

from __future__ import annotations

import inspect

import pytest

from dubbing.engines.registry import EngineConfig
from dubbing.tests import test_pipeline as output_checks
from dubbing.tests.conftest import SPEECH_EN
from testing.openai_server import OpenAIServer

pytestmark = pytest.mark.media

SHARED_CHECKS = [
    "test_the_dubbed_video_lasts_exactly_as_long_as_the_input_video_stream",
    "test_the_video_stream_is_copied_bit_for_bit",
    "test_every_dubbed_line_starts_at_its_source_start_unless_the_line_before_still_runs",
    "test_no_placed_clip_is_shorter_than_its_raw_clip_at_max_speed",
    "test_loudness_is_normalised_to_minus_16_lufs",
    "test_the_subtitle_files_parse_and_their_times_increase",
    "test_the_english_transcript_is_close_to_what_was_said",
]


def openai_settings(server: OpenAIServer, concurrency: int = 4) -> EngineConfig:
    """The engine configuration of a deployment on OpenAI, pointed at the loopback server."""
    return EngineConfig(
        engines="openai", openai_api_key="test", openai_base_url=server.base_url,
        openai_transcribe_model="whisper-1", openai_translate_model="gpt-4o-mini",
        openai_tts_model="gpt-4o-mini-tts", openai_tts_voice="alloy", openai_concurrency=concurrency,
    )


@pytest.fixture(scope="module")
def openai_dub(tmp_path_factory):
    from dubbing.engines.registry import build_engines
    from dubbing.pipeline.options import DubOptions
    from dubbing.pipeline.publish import run_pipeline

    root = tmp_path_factory.mktemp("openai-dub")
    options = DubOptions(target_language="es", background="drop", engines="openai")
    with OpenAIServer() as server:
        engines = build_engines(options, openai_settings(server))
        report = run_pipeline(SPEECH_EN, options, workspace=root / "ws", out_dir=root / "out",
                              engines=engines, duck_db=-18.0)
        yield {"report": report, "workspace": root / "ws", "out": root / "out",
               "options": options, "server": server}


@pytest.mark.parametrize("check", SHARED_CHECKS)
def test_the_openai_dub_passes_the_same_output_checks_as_the_local_one(openai_dub, check, tmp_path):
    run_check = getattr(output_checks, check)
    needs_tmp = "tmp_path" in inspect.signature(run_check).parameters
    run_check(openai_dub, **({"tmp_path": tmp_path} if needs_tmp else {}))


def test_every_stage_used_the_remote_engines(openai_dub):
    report, server = openai_dub["report"], openai_dub["server"]
    lines = report["segments"]

    assert report["engines"]["asr"] == "openai"
    assert report["engines"]["translate"] == "openai" and report["engines"]["tts"] == "openai"
    assert report["source_language"] == "en"
    assert server.served["transcriptions"] >= 1
    assert {i for ids in server.chat_ids for i in ids} >= {line["id"] for line in lines}
    # One request per line, plus one per line that had to be shortened and spoken again.
    shortened = sum(1 for line in lines if line.get("shortened"))
    assert server.served["speech"] == len(lines) + shortened
    assert all(r.status == 200 for r in server.log)
