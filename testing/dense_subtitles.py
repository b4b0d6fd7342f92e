"""A video as long as asked with music under it, and supplied subtitles as dense as the caps
allow (dubbing/pipeline/subtitles.py: MAX_CUES_PER_MINUTE), every cue a different sentence: the
most work a supplied-subtitles job may ask of a worker. Used by the cancel-during-fit test and
bench/cues.py.

The music is one generated groove (testing/stems.py) looped by ffmpeg, so a long clip costs a
few seconds to make and little memory.
"""

from __future__ import annotations

import itertools
import random
import subprocess
import tempfile
from pathlib import Path

import soundfile as sf

from testing.stems import music_bed

_RATE = 48000
_LOOP_SECONDS = 16.0  # eight bars of the groove at its 120 BPM

_EN = (("The old farmer", "My younger sister", "A tired doctor", "The school teacher", "Our new neighbour",
        "The quiet student", "A famous singer", "The bus driver", "His best friend", "The young pilot"),
       ("painted", "carried", "found", "repaired", "sold", "cleaned", "borrowed", "opened", "hid", "wrapped"),
       ("a blue boat", "the heavy boxes", "an old map", "the broken radio", "three green apples",
        "a wooden chair", "the kitchen window", "a silver key", "the long letter", "a paper kite"),
       ("today", "yesterday", "at night", "at noon", "again", "slowly", "quickly", "on Monday", "outside",
        "at home"))
_ES = (("El viejo granjero", "Mi hermana menor", "Un médico cansado", "La maestra", "Nuestro vecino nuevo",
        "El estudiante callado", "Una cantante famosa", "El conductor", "Su mejor amigo", "El piloto joven"),
       ("pintó", "llevó", "encontró", "arregló", "vendió", "limpió", "pidió", "abrió", "escondió", "envolvió"),
       ("un barco azul", "las cajas pesadas", "un mapa viejo", "la radio rota", "tres manzanas verdes",
        "una silla de madera", "la ventana de la cocina", "una llave de plata", "la carta larga",
        "una cometa de papel"),
       ("hoy", "ayer", "de noche", "a mediodía", "otra vez", "despacio", "deprisa", "el lunes", "afuera",
        "en casa"))
_WORDS = {"en": _EN, "es": _ES}


def sentences(count: int, language: str, *, seed: int = 7) -> list[str]:
    """`count` different sentences in `language` ("en" or "es"); the same seed gives the same
    words in both languages, so they translate each other."""
    combos = list(itertools.product(range(10), repeat=4))
    if count > len(combos):
        raise ValueError(f"at most {len(combos)} different sentences")
    random.Random(seed).shuffle(combos)
    subjects, verbs, objects, when = _WORDS[language]
    return [f"{subjects[s]} {verbs[v]} {objects[o]} {when[w]}." for s, v, o, w in combos[:count]]


def _timestamp(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def dense_srt(media_seconds: float, language: str, *, count: int, cue_seconds: float | None = None) -> str:
    """SRT with `count` cues spread evenly over `media_seconds`, each lasting `cue_seconds` (by
    default its whole slot but for a 0.1 s gap)."""
    slot = media_seconds / count
    length = slot - 0.1 if cue_seconds is None else cue_seconds
    blocks = [f"{i}\n{_timestamp((i - 1) * slot)} --> {_timestamp((i - 1) * slot + length)}\n{text}\n"
              for i, text in enumerate(sentences(count, language), start=1)]
    return "\n".join(blocks)


def music_video(out: Path, seconds: float) -> Path:
    """An MP4 of `seconds`: a small test picture and the groove in 48 kHz stereo (AAC)."""
    with tempfile.TemporaryDirectory() as tmp:
        loop = Path(tmp) / "loop.wav"
        sf.write(str(loop), music_bed(_LOOP_SECONDS, _RATE), _RATE, subtype="PCM_16")
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size=160x120:rate=5:duration={seconds}",
             "-stream_loop", "-1", "-i", str(loop), "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast",
             "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k", "-shortest", str(out)],
            check=True,
        )
    return out
