"""apertium pairs from Debian, and pairs chained through a pivot language when both legs exist."""

from __future__ import annotations

import pytest

from dubbing.engines.base import Segment, UnsupportedLanguage

pytestmark = pytest.mark.media

LINES = [Segment(id="s0001", start=0.0, end=2.0, text="Thank you for watching."),
         Segment(id="s0002", start=2.0, end=5.0, text="Tomorrow the weather will be sunny and warm.")]


@pytest.fixture(scope="module")
def apertium():
    from dubbing.engines.translate.apertium import ApertiumTranslator, installed_modes

    if ("en", "es") not in installed_modes() or ("es", "pt") not in installed_modes():
        pytest.skip("apertium-eng-spa and apertium-es-pt are not installed (make bootstrap installs them)")
    return ApertiumTranslator()


def test_english_to_portuguese_is_made_through_spanish(apertium):
    routes = apertium.routes()
    assert routes[("en", "es")] == "direct" and routes[("es", "pt")] == "direct"
    assert routes[("en", "pt")] == "pivot"
    assert apertium.chains()[("en", "pt")] == ["eng-spa", "es-pt"]
    out = apertium.translate(LINES, "en", "pt", {})
    assert set(out) == {"s0001", "s0002"}
    assert "tempo" in out["s0002"].lower()  # Portuguese, not the Spanish of the first leg ("tiempo")
    assert "tiempo" not in out["s0002"].lower()


def test_every_pair_offered_translates(apertium):
    for (source, target), via in sorted(apertium.routes().items()):
        if source != "en":
            continue
        out = apertium.translate(LINES[:1], source, target, {})
        assert out["s0001"].strip() and out["s0001"] != LINES[0].text, (source, target, via)


def test_a_pair_no_chain_can_make_is_refused_listing_what_is_possible(apertium):
    assert ("en", "ko") not in apertium.supported_pairs()
    with pytest.raises(UnsupportedLanguage, match=r"cannot translate en->ko.*it can: .*en->es.*en->pt"):
        apertium.translate(LINES, "en", "ko", {})


def test_the_glossary_applies_to_the_end_of_a_chain(apertium):
    line = Segment(id="s0001", start=0.0, end=2.0, text="Welcome to OneVoice.")
    out = apertium.translate([line], "en", "pt", {"glossary": {"OneVoice": "UmaVoz"}})
    assert "UmaVoz" in out["s0001"]


def test_a_dub_into_a_pair_no_chain_makes_is_refused_before_any_work(tmp_path):
    from dubbing.engine_config import build_engines
    from dubbing.pipeline.errors import PipelineError
    from dubbing.pipeline.options import DubOptions
    from dubbing.pipeline.publish import run_pipeline
    from dubbing.tests.conftest import SPEECH_EN

    events = []
    options = DubOptions(target_language="ko", source_language="en", engines="local")
    with pytest.raises(PipelineError, match=r"cannot translate en->ko") as refused:
        run_pipeline(SPEECH_EN, options, workspace=tmp_path / "ws", out_dir=tmp_path / "out",
                     engines=build_engines(options),
                     progress=lambda stage, fraction, message: events.append(stage))
    assert refused.value.stage == "check" and events == []
