"""Rule-based translation with apertium, for the pairs installed on this machine.

All lines go to one `apertium -u <pair>` process (one process per line would cost ~50 ms each),
separated by marker lines apertium leaves untouched; the output is split on the markers and the
count verified, so every translation stays attached to its segment id.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import lru_cache

from dubbing.engines.base import (
    EngineError,
    EngineUnavailable,
    Segment,
    UnsupportedLanguage,
)
from dubbing.engines.languages import ISO1_TO_3, to_iso1
from videos.media.process import run_process

_MARKER = "<<<{}>>>"
_MARKER_RE = re.compile(r"^\s*<<<(\d+)>>>\s*$", re.MULTILINE)
TIMEOUT_SECONDS = 600


@lru_cache(maxsize=1)
def installed_modes() -> dict[tuple[str, str], str]:
    """(source, target) in ISO 639-1 -> apertium mode name, e.g. ("en", "es") -> "eng-spa"."""
    if not shutil.which("apertium"):
        return {}
    done = subprocess.run(["apertium", "-l"], capture_output=True, text=True, timeout=30)
    modes: dict[tuple[str, str], str] = {}
    for line in done.stdout.split():
        parts = line.strip().split("-")
        if len(parts) != 2:
            continue
        source, target = to_iso1(parts[0]), to_iso1(parts[1])
        # "spa-eng_US" is a variant of "spa-eng": keep the plain pair's mode when both exist.
        if (source, target) not in modes or "_" not in line:
            if "_" in parts[1] and (source, target) in modes:
                continue
            modes[(source, target)] = line.strip()
    return modes


class ApertiumTranslator:
    name = "apertium"
    concurrency = 1

    def __init__(self) -> None:
        if not shutil.which("apertium"):
            raise EngineUnavailable("apertium is not installed (apt-get install apertium apertium-eng-spa).")

    def supported_pairs(self) -> set[tuple[str, str]]:
        return set(installed_modes())

    def translate(self, segments: list[Segment], source: str, target: str, context: dict) -> dict[str, str]:
        mode = installed_modes().get((source, target))
        if mode is None:
            raise UnsupportedLanguage(
                f"apertium has no {source}->{target} pair installed "
                f"(try apt-get install apertium-{ISO1_TO_3.get(source, source)}-{ISO1_TO_3.get(target, target)})."
            )
        if not segments:
            return {}
        glossary = context.get("glossary") or {}
        lines = []
        for i, seg in enumerate(segments):
            # Newlines inside a line would break the alignment; they carry no meaning for TTS.
            lines.append(_MARKER.format(i))
            lines.append(" ".join(seg.text.split()))
        # Stoppable: a cancelled job kills the process (videos.media.process).
        done = run_process(["apertium", "-u", mode], input="\n".join(lines) + "\n", text=True,
                           timeout=TIMEOUT_SECONDS)
        if done.returncode != 0:
            raise EngineError(f"apertium {mode} failed: {done.stderr.strip()[-300:]}")
        pieces = _MARKER_RE.split(done.stdout)
        # split -> ["", "0", text0, "1", text1, ...]
        found = {int(pieces[i]): pieces[i + 1] for i in range(1, len(pieces) - 1, 2)}
        if sorted(found) != list(range(len(segments))):
            raise EngineError(
                f"apertium returned {len(found)} lines for {len(segments)}; the line markers were altered."
            )
        out = {}
        for i, seg in enumerate(segments):
            text = " ".join(found[i].split())
            for term, replacement in glossary.items():
                text = re.sub(rf"\b{re.escape(term)}\b", replacement, text, flags=re.IGNORECASE)
            out[seg.id] = text
        return out
