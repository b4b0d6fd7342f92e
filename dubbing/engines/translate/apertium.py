"""Rule-based translation with apertium, for the pairs installed on this machine, and chained
through a pivot language where no direct pair exists but both legs do (en->pt as en->es->pt).

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


# Pivot languages in order of preference: Spanish is the hub of Debian's apertium pairs.
PIVOTS = ("es", "en", "ca", "fr")
VIA_DIRECT, VIA_PIVOT = "direct", "pivot"


def pair_chains(modes: dict[tuple[str, str], str]) -> dict[tuple[str, str], list[str]]:
    """(source, target) -> the apertium modes to run in turn: one for a direct pair, two through
    the first pivot that has both legs."""
    chains = {pair: [mode] for pair, mode in modes.items()}
    languages = {lang for pair in modes for lang in pair}
    for source in languages:
        for target in languages:
            if source == target or (source, target) in chains:
                continue
            for pivot in PIVOTS:
                if pivot not in (source, target) and (source, pivot) in modes and (pivot, target) in modes:
                    chains[(source, target)] = [modes[(source, pivot)], modes[(pivot, target)]]
                    break
    return chains


class ApertiumTranslator:
    name = "apertium"
    concurrency = 1
    # Glossary terms are replaced by placeholders before translation and restored after
    # (dubbing.pipeline.glossary): rule-based MT cannot be asked to use a term.
    glossary_strategy = "protect"

    def __init__(self) -> None:
        if not shutil.which("apertium"):
            raise EngineUnavailable("apertium is not installed (apt-get install apertium apertium-eng-spa).")

    def chains(self) -> dict[tuple[str, str], list[str]]:
        return pair_chains(installed_modes())

    def supported_pairs(self) -> set[tuple[str, str]]:
        return set(self.chains())

    def routes(self) -> dict[tuple[str, str], str]:
        """How each pair is made: "direct" (one apertium mode) or "pivot" (two, through a pivot)."""
        return {pair: VIA_DIRECT if len(chain) == 1 else VIA_PIVOT for pair, chain in self.chains().items()}

    def translate(self, segments: list[Segment], source: str, target: str, context: dict) -> dict[str, str]:
        chain = self.chains().get((source, target))
        if chain is None:
            have = ", ".join(f"{a}->{b}" for a, b in sorted(self.chains())) or "none"
            raise UnsupportedLanguage(
                f"apertium cannot translate {source}->{target}, directly or through a pivot language "
                f"(it can: {have}; try apt-get install "
                f"apertium-{ISO1_TO_3.get(source, source)}-{ISO1_TO_3.get(target, target)})."
            )
        if not segments:
            return {}
        texts = [" ".join(seg.text.split()) for seg in segments]
        for mode in chain:
            texts = _run_mode(mode, texts)
        glossary = context.get("glossary") or {}
        out = {}
        for seg, text in zip(segments, texts):
            for term, replacement in glossary.items():
                text = re.sub(rf"\b{re.escape(term)}\b", replacement, text, flags=re.IGNORECASE)
            out[seg.id] = text
        return out


def _run_mode(mode: str, texts: list[str]) -> list[str]:
    """All lines through one `apertium -u <mode>` process, kept in order by marker lines."""
    lines = []
    for i, text in enumerate(texts):
        # Newlines inside a line would break the alignment; they carry no meaning for TTS.
        lines.append(_MARKER.format(i))
        lines.append(" ".join(text.split()))
    # Stoppable: a cancelled job kills the process (videos.media.process).
    done = run_process(["apertium", "-u", mode], input="\n".join(lines) + "\n", text=True,
                       timeout=TIMEOUT_SECONDS)
    if done.returncode != 0:
        raise EngineError(f"apertium {mode} failed: {done.stderr.strip()[-300:]}")
    pieces = _MARKER_RE.split(done.stdout)
    # split -> ["", "0", text0, "1", text1, ...]
    found = {int(pieces[i]): pieces[i + 1] for i in range(1, len(pieces) - 1, 2)}
    if sorted(found) != list(range(len(texts))):
        raise EngineError(
            f"apertium {mode} returned {len(found)} lines for {len(texts)}; the line markers were altered."
        )
    return [" ".join(found[i].split()) for i in range(len(texts))]
