"""Who speaks each line, offline: per-line voice features computed with librosa (pitch statistics
from YIN and MFCC means and spreads) clustered into speakers.

The number of speakers is chosen by the silhouette of an agglomerative clustering (Ward) of the
standardised features: the first k from 2 to `max_speakers` whose silhouette beats `MIN_SILHOUETTE`
best, else one speaker. Lines too short to measure join the speaker of their nearest neighbour in
time. Only the line's own samples are read, a line at a time, never the whole file.

The features are computed in a spawned process that exits afterwards (`isolate`): librosa brings
numba, llvmlite and scipy, and with sklearn and the compiled kernels they left ~235 MB in the
worker for the rest of the dub (measured on a 10-minute file), which the recognition process then
stacked on top of at the next job.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from videos.media.process import process_map

MIN_LINE_SECONDS = 0.4
# Measured on two espeak-ng voices reading alternate lines (silhouette 0.5-0.6) against one voice
# reading all of them (0.1-0.2).
MIN_SILHOUETTE = 0.3
FMIN, FMAX = 60.0, 400.0


def line_features(wav_path: Path, spans: list[tuple[float, float]]) -> list[np.ndarray | None]:
    """One feature vector per (start, end) span of a 16 kHz mono WAV; None when too short."""
    import librosa

    out: list[np.ndarray | None] = []
    with sf.SoundFile(str(wav_path)) as f:
        rate = f.samplerate
        for start, end in spans:
            if end - start < MIN_LINE_SECONDS:
                out.append(None)
                continue
            f.seek(int(start * rate))
            y = f.read(int((end - start) * rate), dtype="float32", always_2d=True).mean(axis=1)
            if y.size < MIN_LINE_SECONDS * rate or not np.any(y):
                out.append(None)
                continue
            f0 = librosa.yin(y, fmin=FMIN, fmax=FMAX, sr=rate, frame_length=1024)
            rms = librosa.feature.rms(y=y, frame_length=1024, hop_length=256)[0]
            voiced = f0[: len(rms)][rms[: len(f0)] > 0.3 * rms.max()] if rms.size else f0
            voiced = voiced if voiced.size else f0
            log_f0 = np.log(voiced)
            mfcc = librosa.feature.mfcc(y=y, sr=rate, n_mfcc=13, n_fft=512, hop_length=256)
            out.append(np.concatenate([[np.median(log_f0) * 4, np.std(log_f0) * 4],
                                       mfcc[1:].mean(axis=1), mfcc[1:].std(axis=1)]))
    return out


def cluster(features: list[np.ndarray | None], spans: list[tuple[float, float]], *,
            max_speakers: int = 6, num_speakers: int = 0) -> list[int]:
    """A speaker index per line (0 for the first line's speaker, then in order of appearance).
    `num_speakers` (> 0) forces the count, as far as there are measured lines to split."""
    measured = [i for i, f in enumerate(features) if f is not None]
    labels = [0] * len(features)
    if num_speakers > 1 and len(measured) >= 2:
        from sklearn.cluster import AgglomerativeClustering

        x = np.stack([features[i] for i in measured])
        x = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-6)
        found = AgglomerativeClustering(n_clusters=min(num_speakers, len(measured)), linkage="ward").fit_predict(x)
        for i, label in zip(measured, found):
            labels[i] = int(label) + 1
    elif num_speakers == 0 and len(measured) >= 3:
        from sklearn.cluster import AgglomerativeClustering
        from sklearn.metrics import silhouette_score

        x = np.stack([features[i] for i in measured])
        x = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-6)
        best, best_score = None, MIN_SILHOUETTE
        for k in range(2, min(max_speakers, len(measured) - 1) + 1):
            found = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(x)
            score = silhouette_score(x, found)
            if score > best_score:
                best, best_score = found, score
        if best is not None:
            for i, label in zip(measured, best):
                labels[i] = int(label) + 1
    if measured:
        for i, f in enumerate(features):
            if f is None:  # the speaker of the nearest measured line in time
                nearest = min(measured, key=lambda j: abs(spans[j][0] - spans[i][0]))
                labels[i] = labels[nearest]
    order: dict[int, int] = {}
    return [order.setdefault(label, len(order)) for label in labels]


def _labels(job: tuple[str, list[tuple[float, float]], int, int]) -> list[int]:
    wav_path, spans, max_speakers, num_speakers = job
    return cluster(line_features(Path(wav_path), spans), spans, max_speakers=max_speakers,
                   num_speakers=num_speakers)


def speaker_labels(wav_path: Path, spans: list[tuple[float, float]], *, max_speakers: int = 6,
                   num_speakers: int = 0, isolate: bool = True) -> list[str]:
    """"speaker_1", "speaker_2"... per span, numbered in order of first appearance. Stopped (the
    process terminated) when the pipeline's cancel scope says so."""
    if not spans:
        return []
    job = (str(wav_path), [(float(a), float(b)) for a, b in spans], max_speakers, num_speakers)
    if isolate:
        [labels] = process_map(_labels, [job], workers=1)
    else:
        labels = _labels(job)
    return [f"speaker_{i + 1}" for i in labels]
