"""Pipeline fixtures: the OpenAI engine set's dub of the English clip (against the loopback server),
and `dub`, each finished dub the output checks run on: the local engines' (`english_dub`, in
dubbing/tests/conftest.py) and the OpenAI set's, so both pass the same checks."""

from __future__ import annotations

import pytest

from dubbing.tests.conftest import SPEECH_EN
from dubbing.tests.pipeline.engine_sets import openai_settings
from testing.openai_server import OpenAIServer


@pytest.fixture(scope="package")
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


@pytest.fixture(params=["local", "openai"])
def dub(request):
    """A finished dub of speech_en.mp4 into Spanish: the local engines', then the OpenAI set's."""
    return request.getfixturevalue("english_dub" if request.param == "local" else "openai_dub")
