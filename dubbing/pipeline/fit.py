"""Stage 7: every clip into its slot.

`plan_fit` is the decision, a pure function of times: a line first borrows the silence after it
(up to the next line's start), then speeds up, never past `max_speed`. A line still too long
runs over: the next line starts when it ends (never two voices at once, never a word cut), and
because each later line starts at max(its own start, the previous line's end) and may itself
speed up into the gap after it, the lines after return to their own start as soon as silence
allows. Displacement therefore never carries past the next gap.

`render_clip` then time-stretches a clip with ffmpeg's rubberband filter (atempo where ffmpeg
lacks rubberband) to exactly the planned number of samples at the mix rate, so the mix places
clips at absolute sample offsets and error never accumulates along the video.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from dubbing.pipeline.ffmpeg import available_filters, run_ffmpeg
from dubbing.pipeline.workspace import digest, temp_path_for

MIX_RATE = 48000
SPEED_EPSILON = 1.005  # below this a stretch is inaudible and not worth the artefacts


@dataclass(frozen=True)
class Slot:
    start: float
    end: float


@dataclass
class Placement:
    start: float  # where the clip begins on the timeline (seconds)
    length: float  # placed length (seconds)
    speed: float  # raw length / placed length
    displacement: float  # start - the line's own start
    overrun: float  # how far the line runs past the next line's start (0 when it fits)

    @property
    def end(self) -> float:
        return self.start + self.length

    def to_dict(self) -> dict:
        return {k: round(v, 4) for k, v in asdict(self).items()}


def plan_fit(slots: list[Slot], clip_lengths: list[float], max_speed: float,
             timeline_end: float | None = None) -> list[Placement]:
    if len(slots) != len(clip_lengths):
        raise ValueError("one clip length per slot")
    placements: list[Placement] = []
    previous_end = 0.0
    for i, (slot, raw) in enumerate(zip(slots, clip_lengths)):
        start = max(slot.start, previous_end)
        if i + 1 < len(slots):
            window_end = slots[i + 1].start
        else:
            window_end = max(timeline_end if timeline_end is not None else slot.end, slot.end)
        available = window_end - start
        if raw <= 0:
            speed = 1.0
        elif raw <= available:
            speed = 1.0
        elif available <= 0:
            speed = max_speed
        else:
            speed = min(max_speed, raw / available)
        if speed < SPEED_EPSILON:
            speed = 1.0
        length = raw / speed
        placements.append(Placement(start=start, length=length, speed=speed,
                                    displacement=start - slot.start,
                                    overrun=max(0.0, start + length - window_end)))
        previous_end = start + length
    return placements


def needs_shortening(placements: list[Placement], *, tolerance: float = 0.05) -> list[int]:
    """Indexes of lines that run over even at max speed (worth a shorter rephrasing)."""
    return [i for i, p in enumerate(placements) if p.overrun > tolerance]


def fitted_path(folder: Path, seg_id: str, clip: Path, speed: float, samples: int) -> Path:
    return folder / f"{seg_id}-{digest(clip.name, round(speed, 4), samples)}.wav"


def stretch_filter(speed: float) -> str:
    if "rubberband" in available_filters():
        return f"rubberband=tempo={speed:.6f}:transients=smooth:formant=preserved"
    return f"atempo={speed:.6f}"


def render_clip(clip: Path, out: Path, *, speed: float, samples: int) -> None:
    """Writes `out`: the clip at `speed`, at the mix rate, exactly `samples` long."""
    tmp = temp_path_for(out)
    filters = [f"aresample={MIX_RATE}"]
    if speed > 1.0:
        filters.insert(0, stretch_filter(speed))
    run_ffmpeg(["-i", str(clip), "-af", ",".join(filters), "-ac", "1", "-c:a", "pcm_f32le", str(tmp)])
    data, _ = sf.read(str(tmp), dtype="float32")
    # The stretcher's length is right to within a few ms; the plan's length is the law, so the
    # clip is padded or trimmed (a few ms of its own trailing silence) to the exact count.
    if len(data) < samples:
        data = np.concatenate([data, np.zeros(samples - len(data), dtype=np.float32)])
    sf.write(str(tmp), data[:samples], MIX_RATE, subtype="FLOAT")
    tmp.replace(out)
