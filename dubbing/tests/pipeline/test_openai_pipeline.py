"""The whole pipeline with the `openai` engine set against the loopback OpenAI server: every line
went through the remote engines. The dub (`openai_dub`, pipeline/conftest.py) passes the same
output checks as the local run: test_pipeline.py runs each on both."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.media


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
