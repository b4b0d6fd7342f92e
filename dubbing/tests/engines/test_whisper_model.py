"""Models shipped as parts in PyPI packages: joined once into the data folder, atomically, checked
against the SHA-256 the engine keeps, rebuilt when damaged, and refused by package name when a
package is missing. Small fake packages stand in for the 145 MB Whisper parts, except in the last
tests, which check the real ones the session joined."""

from __future__ import annotations

import hashlib
import sys

import pytest

from dubbing.engines.base import EngineUnavailable
from dubbing.engines.model_files import PackagedModel, ensure_joined_model

pytestmark = pytest.mark.media

PART1, PART2 = b"first half of the weights " * 100, b"second half " * 150


@pytest.fixture
def fake_packages(tmp_path, monkeypatch):
    site = tmp_path / "site"
    for name, data in (("fakemodel_part1", PART1), ("fakemodel_part2", PART2)):
        (site / name / "data").mkdir(parents=True)
        (site / name / "__init__.py").write_text("")
        (site / name / "data" / f"model.bin.{name[-5:]}").write_bytes(data)
    (site / "fakemodel_part1" / "data" / "config.json").write_text("{}")
    monkeypatch.syspath_prepend(str(site))
    yield site
    for name in ("fakemodel_part1", "fakemodel_part2"):
        sys.modules.pop(name, None)


def _model(sha: str | None = None) -> PackagedModel:
    return PackagedModel(
        name="fake", sha256=sha or hashlib.sha256(PART1 + PART2).hexdigest(), main_file="model.bin",
        parts=(("fakemodel-part1", "data/model.bin.part1"), ("fakemodel-part2", "data/model.bin.part2")),
        extra_files=(("fakemodel-part1", "data/config.json"),))


def test_the_parts_are_joined_once_into_the_data_folder(fake_packages, tmp_path):
    folder = ensure_joined_model(_model(), tmp_path / "models")
    assert (folder / "model.bin").read_bytes() == PART1 + PART2
    assert (folder / "config.json").read_text() == "{}"
    stamp = (folder / "model.bin").stat().st_mtime_ns
    assert ensure_joined_model(_model(), tmp_path / "models") == folder
    assert (folder / "model.bin").stat().st_mtime_ns == stamp  # not joined again
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_a_corrupt_joined_model_is_detected_by_its_checksum_and_rebuilt(fake_packages, tmp_path):
    folder = ensure_joined_model(_model(), tmp_path / "models")
    damaged = bytearray((folder / "model.bin").read_bytes())
    damaged[10] ^= 0xFF
    (folder / "model.bin").write_bytes(bytes(damaged[:-7]))  # flipped and truncated
    ensure_joined_model(_model(), tmp_path / "models")
    assert (folder / "model.bin").read_bytes() == PART1 + PART2


def test_parts_that_do_not_join_to_the_checksum_are_refused_and_nothing_is_left(fake_packages, tmp_path):
    with pytest.raises(EngineUnavailable, match=r"does not match its checksum.*fakemodel-part1 fakemodel-part2"):
        ensure_joined_model(_model(sha="0" * 64), tmp_path / "models")
    folder = tmp_path / "models" / "fake-000000000000"
    assert not (folder / "model.bin").exists()
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_a_missing_part_package_is_engine_unavailable_naming_it(fake_packages, tmp_path):
    model = PackagedModel(name="fake", sha256="0" * 64, main_file="model.bin",
                          parts=(("fakemodel-part1", "data/model.bin.part1"),
                                 ("nosuchmodel-part9", "data/model.bin.part9")))
    with pytest.raises(EngineUnavailable, match=r"nosuchmodel-part9 is not installed \(pip install nosuchmodel-part9\)"):
        ensure_joined_model(model, tmp_path / "models")
    assert not (tmp_path / "models").exists()  # refused before any work


def test_the_whisper_model_is_joined_and_verified_against_the_constant(tmp_path):
    from dubbing.engines.asr.whisper import WHISPER_BASE
    from dubbing.engines.model_files import file_sha256
    from dubbing.engine_config import model_dir

    folder = ensure_joined_model(WHISPER_BASE, model_dir())
    assert file_sha256(folder / "model.bin") == WHISPER_BASE.sha256
    assert {p.name for p in folder.iterdir()} >= {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}


def test_a_whisper_setting_out_of_range_is_refused_before_any_work(tmp_path):
    from dubbing.engines.asr.whisper import WhisperASR

    with pytest.raises(EngineUnavailable, match="compute type 'float8'"):
        WhisperASR(tmp_path, compute_type="float8")
    with pytest.raises(EngineUnavailable, match="beam size"):
        WhisperASR(tmp_path, beam_size=0)
    assert not list(tmp_path.iterdir())


