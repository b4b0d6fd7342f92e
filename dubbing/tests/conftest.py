"""Dubbing test fixtures. The English dub runs ONCE per session and every assertion shares it:
the CPU is scarce, and one real run (ffmpeg, Whisper, apertium, espeak-ng) is the point."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from testing.openai_fixtures import *  # noqa: F401,F403
from testing.media import FIXTURE_MEDIA
from testing.voices import FAST_SPANISH_VOICE

MEDIA = FIXTURE_MEDIA
SPEECH_EN = MEDIA / "speech_en.mp4"
SPEECH_KO = MEDIA / "speech_ko.mp4"


@pytest.fixture(scope="session")
def dub_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("dub")


@pytest.fixture(scope="session")
def english_dub(dub_root):
    """speech_en.mp4 -> Spanish, local engines, background dropped."""
    from dubbing.engine_config import build_engines
    from dubbing.pipeline.options import DubOptions
    from dubbing.pipeline.publish import run_pipeline

    options = DubOptions(target_language="es", voice=FAST_SPANISH_VOICE, background="drop", engines="local")
    workspace, out = dub_root / "ws-drop", dub_root / "out-drop"
    report = run_pipeline(SPEECH_EN, options, workspace=workspace, out_dir=out, engines=build_engines(options),
                          duck_db=-18.0)
    return {"report": report, "workspace": workspace, "out": out, "options": options}


@pytest.fixture(scope="session")
def ducked_dub(dub_root, english_dub):
    """The same dub with the background ducked, in a copy of the workspace: changing only the
    background reruns mix onward (and proves it), and the stems measure the duck."""
    from dataclasses import replace

    from dubbing.engine_config import build_engines
    from dubbing.pipeline.publish import run_pipeline

    workspace, out = dub_root / "ws-duck", dub_root / "out-duck"
    shutil.copytree(english_dub["workspace"], workspace)
    options = replace(english_dub["options"], background="duck")
    report = run_pipeline(SPEECH_EN, options, workspace=workspace, out_dir=out, engines=build_engines(options),
                          duck_db=-18.0, keep_stems=True)
    return {"report": report, "workspace": workspace, "out": out}
