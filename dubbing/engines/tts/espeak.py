"""Speech synthesis with espeak-ng, in any language it has a voice for (`espeak-ng --voices`)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from dubbing.engines.base import EngineError, EngineUnavailable, UnsupportedLanguage
from dubbing.engines.languages import to_iso1
from videos.media.process import run_process

TIMEOUT_SECONDS = 120
# Variants that ship with espeak-ng (espeak-ng --voices=variant), alternating men and women.
VARIANTS = ("m1", "f1", "m3", "f3", "m2", "f2", "m4", "f4", "m5", "f5")
# What a voice name may look like on espeak-ng's command line: never an option ("--version"),
# never a path ("../../etc/passwd"). The service admits only listed voices; this is the last guard.
_VOICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_+-]{0,39}")


@lru_cache(maxsize=1)
def installed_voices() -> dict[str, str]:
    """ISO 639-1 language -> espeak voice name (the plainest voice for that language)."""
    if not shutil.which("espeak-ng"):
        return {}
    done = subprocess.run(["espeak-ng", "--voices"], capture_output=True, text=True, timeout=30)
    ranked: dict[str, tuple[tuple, str]] = {}
    for line in done.stdout.splitlines()[1:]:
        cols = line.split()
        if len(cols) < 4:
            continue
        code = cols[1]
        lang = to_iso1(code)
        # Rank: the bare code ("es") first, then the priority espeak gives the voice for the bare
        # language in its "Other Languages" column ("(en 2)"), then its own priority.
        other = re.search(rf"\({re.escape(lang)} (\d+)\)", line)
        rank = (code != lang, int(other.group(1)) if other else 99, int(cols[0]) if cols[0].isdigit() else 9)
        if lang not in ranked or rank < ranked[lang][0]:
            ranked[lang] = (rank, code)
    return {lang: code for lang, (_, code) in ranked.items()}


@lru_cache(maxsize=1)
def voice_files() -> dict[str, str]:
    """espeak voice name -> its voice file ("en-gb" -> "gmw/en"). A variant is appended to the
    file, not the name: espeak-ng ignores "+f1" after "en-gb" and "fr-fr" (every variant then
    sounded the same), and honours it after "gmw/en"."""
    if not shutil.which("espeak-ng"):
        return {}
    done = subprocess.run(["espeak-ng", "--voices"], capture_output=True, text=True, timeout=30)
    return {cols[1]: cols[4] for cols in (line.split() for line in done.stdout.splitlines()[1:]) if len(cols) >= 5}


class EspeakTTS:
    name = "espeak"

    def __init__(self, words_per_minute: int = 165, concurrency: int | None = None) -> None:
        if not shutil.which("espeak-ng"):
            raise EngineUnavailable("espeak-ng is not installed (apt-get install espeak-ng).")
        self.words_per_minute = words_per_minute
        # Each line is its own short process: run as many as there are cores.
        self.concurrency = concurrency or os.cpu_count() or 1

    def languages(self) -> set[str]:
        return set(installed_voices())

    def voices(self, language: str) -> list[str]:
        """espeak-ng's voice variants, men and women in turn, so that speakers get distinct ones."""
        return list(VARIANTS) if language in installed_voices() else []

    def synthesize(self, text: str, language: str, voice: str | None, out_path: Path) -> Path:
        voices = installed_voices()
        if language not in voices:
            raise UnsupportedLanguage(f"espeak-ng has no voice for '{language}'.")
        name = voices[language]
        if voice and not _VOICE_NAME.fullmatch(voice):
            raise EngineError(f"espeak-ng has no voice named {voice[:40]!r}.")
        if voice:
            # A variant ("f3", "m2") or a full espeak voice name for this language.
            variant = "+" not in voice and "-" not in voice and len(voice) <= 3
            name = f"{voice_files().get(name, name)}+{voice}" if variant else voice
        # Stoppable: a cancelled job kills the process (videos.media.process).
        done = run_process(
            ["espeak-ng", "-v", name, "-s", str(self.words_per_minute), "-w", str(out_path), "--stdin"],
            input=text.encode(),
            timeout=TIMEOUT_SECONDS,
        )
        if done.returncode != 0 or not Path(out_path).exists():
            raise EngineError(f"espeak-ng failed: {done.stderr.decode(errors='replace').strip()[-300:]}")
        return Path(out_path)
