"""How OneVoice lets ffprobe and ffmpeg near a file nobody has vetted yet.

Plain Python (no Django): the uploads and the dubbing pipeline open untrusted files through the same rules.

Uploaded media is hostile until probed. The container formats ffmpeg understands include
playlists (HLS, concat, ffconcat, image2 patterns, ...) that make it open *other* files or URLs
named inside the upload; a "video" could then read /etc/passwd into a thumbnail or reach the
network from our servers. So:

- the file's own signature (magic bytes) picks the container, never the extension or the
  client's content type; unknown signatures are refused before ffmpeg is started at all;
- that container's demuxer is forced with ``-f`` and it is the only one allowed
  (``-format_whitelist``), so ffmpeg's own format guessing never runs;
- ``-protocol_whitelist file`` keeps every open on the local filesystem, and inputs are
  given as ``file:<path>`` so a name with a colon is never read as a protocol;
- every run has a subprocess timeout, and the probe results are checked against limits on
  dimensions and stream count before anything decodes frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FFPROBE = "ffprobe"

PROBE_TIMEOUT_SECONDS = 60
MAX_DIMENSION = 8192  # pixels on either side
MAX_STREAMS = 16
SNIFF_BYTES = 64


@dataclass(frozen=True)
class Container:
    """A container format we accept: the ffmpeg demuxer that reads it and a file extension."""

    demuxer: str
    extension: str


MOV = Container("mov", "mp4")
MATROSKA = Container("matroska", "mkv")
AVI = Container("avi", "avi")
MPEGTS = Container("mpegts", "ts")
MP3 = Container("mp3", "mp3")
ADTS = Container("aac", "aac")
WAV = Container("wav", "wav")
OGG = Container("ogg", "ogg")
FLAC = Container("flac", "flac")

ALLOWED_CONTAINERS = (MOV, MATROSKA, AVI, MPEGTS, MP3, ADTS, WAV, OGG, FLAC)
ALLOWED_DEMUXERS = frozenset(c.demuxer for c in ALLOWED_CONTAINERS)

# ISO-BMFF brands that are still images, not movies (HEIC, AVIF, ...).
IMAGE_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis"})
# Top-level QuickTime atoms that may open a .mov written without an ftyp box.
QUICKTIME_ATOMS = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})


def sniff_container(head: bytes) -> Container | None:
    """Which accepted container the first bytes of a file claim to be, or None.

    None covers everything else: random bytes, images, text (HLS and concat playlists start
    with ``#EXTM3U`` / ``ffconcat``), PDFs, archives...
    """
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return None if head[8:12] in IMAGE_BRANDS else MOV
    if len(head) >= 8 and head[4:8] in QUICKTIME_ATOMS:
        return MOV
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return MATROSKA
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return AVI
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return WAV
    if head.startswith(b"OggS"):
        return OGG
    if head.startswith(b"fLaC"):
        return FLAC
    if head.startswith(b"ID3"):
        return MP3
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        # Frame sync. ADTS AAC has layer bits 00; MPEG audio layers I-III never do.
        return ADTS if head[1] & 0x06 == 0 else MP3
    return None


def sniff_file(path: str | Path) -> tuple[Container | None, int]:
    """The container a file claims to be, and its size in bytes."""
    path = Path(path)
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    size = path.stat().st_size
    if head.startswith(b"\x47") and size >= 376:
        # MPEG-TS has no magic number of its own: a sync byte every 188 bytes.
        with path.open("rb") as fh:
            ts = fh.read(376 + 1)
        if ts[188:189] == b"\x47" and ts[376:377] == b"\x47":
            return MPEGTS, size
    return sniff_container(head), size


def _check_demuxer(demuxer: str) -> None:
    if demuxer not in ALLOWED_DEMUXERS:
        raise ValueError(f"Demuxer {demuxer!r} is not in the allowlist {sorted(ALLOWED_DEMUXERS)}.")


def input_args(path: str | Path, demuxer: str) -> list[str]:
    """The hardened arguments that open one untrusted input (put them where `-i` would go)."""
    _check_demuxer(demuxer)
    return [
        "-protocol_whitelist", "file",
        "-format_whitelist", demuxer,
        "-f", demuxer,
        "-i", f"file:{Path(path).resolve()}",
    ]


def ffprobe_command(path: str | Path, demuxer: str) -> list[str]:
    return [
        FFPROBE, "-hide_banner", "-v", "error",
        "-show_format", "-show_streams", "-of", "json",
        *input_args(path, demuxer),
    ]


def output_path_arg(path: str | Path) -> str:
    """An output file name ffmpeg cannot read as a protocol or an image-sequence pattern."""
    return f"file:{Path(path).resolve()}"
