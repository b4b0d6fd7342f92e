"""Measuring a media file the way a viewer would meet it (ffprobe and ffmpeg, run for real): how long
its streams last, whether its video packets are the source's, how loud it is, and its audio as a
16 kHz mono WAV to listen to. The pipeline's tests check the outputs with these."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path


def stream_duration(path: Path, selector: str) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", selector, "-show_entries",
                          "stream=duration", "-of", "csv=p=0", str(path)], capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[0])


def container_duration(path: Path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True).stdout
    return float(out.strip())


def video_packet_hashes(path: Path) -> list[str]:
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v", "-c", "copy", "-f", "framemd5", "-"],
                         capture_output=True, text=True, check=True).stdout
    return [line.split(",")[-1].strip() for line in out.splitlines() if line and not line.startswith("#")]


def integrated_loudness(path: Path) -> float:
    err = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-map", "0:a", "-af", "ebur128",
                          "-f", "null", "-"], capture_output=True, text=True).stderr
    return float(re.findall(r"I:\s+(-?[\d.]+) LUFS", err)[-1])


def decode_16k(path: Path, out: Path) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(path), "-map", "0:a", "-ac", "1", "-ar", "16000", str(out)],
                   check=True)
    return out
