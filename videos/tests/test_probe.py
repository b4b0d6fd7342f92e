"""The Django-free probe and the hardened ffmpeg arguments the pipeline reuses."""

from __future__ import annotations

import dataclasses
import subprocess

import pytest

from videos.media import safety as media_safety
from videos.media.probe import (
    InvalidMedia,
    MediaInfo,
    UnsupportedMedia,
    probe_media,
    require_dubbable,
    run_ffprobe,
)
from videos.tests.conftest import FIXTURES

pytestmark = pytest.mark.media


@pytest.mark.parametrize(
    ("head", "demuxer"),
    [
        (b"\0\0\0\x20ftypisom\0\0\2\0", "mov"),
        (b"\0\0\0\x20ftypqt  \0\0\2\0", "mov"),
        (b"\x1a\x45\xdf\xa3\x01\0\0\0", "matroska"),
        (b"RIFF\x24\0\0\0AVI LIST", "avi"),
        (b"RIFF\x24\0\0\0WAVEfmt ", "wav"),
        (b"ID3\x04\0\0\0\0\0\0", "mp3"),
        (b"\xff\xfb\x90\x64\0\0", "mp3"),
        (b"\xff\xf1\x50\x80\0\0", "aac"),
        (b"OggS\0\2\0\0", "ogg"),
        (b"fLaC\0\0\0\x22", "flac"),
    ],
)
def test_the_signature_names_the_container(head, demuxer):
    assert media_safety.sniff_container(head).demuxer == demuxer


@pytest.mark.parametrize(
    "head",
    [
        b"#EXTM3U\n#EXT-X-VERSION:3\n",  # HLS playlist
        b"ffconcat version 1.0\nfile /etc/passwd\n",  # concat playlist
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
        b"\xff\xd8\xff\xe0\0\x10JFIF\0",
        b"\0\0\0\x1cftypheic\0\0\0\0",  # HEIC still image in an ISO-BMFF box
        b"\0\0\0\x1cftypavif\0\0\0\0",
        b"%PDF-1.7\n",
        b"",
    ],
)
def test_playlists_images_and_documents_have_no_accepted_signature(head):
    assert media_safety.sniff_container(head) is None


@pytest.mark.parametrize("demuxer", ["hls", "concat", "image2", "lavfi", "tty", "mov,hls"])
def test_the_hardened_arguments_refuse_demuxers_outside_the_allowlist(demuxer, tmp_path):
    with pytest.raises(ValueError):
        media_safety.input_args(tmp_path / "x", demuxer)


def test_the_hardened_arguments_pin_protocol_and_format(tmp_path):
    args = media_safety.input_args(tmp_path / "in:put.mp4", "mov")

    assert args[args.index("-protocol_whitelist") + 1] == "file"
    assert args[args.index("-format_whitelist") + 1] == "mov"
    assert args[args.index("-f") + 1] == "mov"
    assert args[-1] == f"file:{(tmp_path / 'in:put.mp4').resolve()}"


def test_a_playlist_forced_through_an_allowed_demuxer_is_still_unreadable(tmp_path):
    playlist = tmp_path / "list.mp4"
    playlist.write_text(f"#EXTM3U\n#EXTINF:10,\n{FIXTURES / 'speech_en.mp4'}\n")

    with pytest.raises(InvalidMedia):
        run_ffprobe(playlist, media_safety.MOV)
    with pytest.raises(UnsupportedMedia):
        probe_media(playlist)


def test_probe_media_returns_a_plain_dataclass_for_the_pipeline():
    info = probe_media(FIXTURES / "speech_en.mp4")

    assert isinstance(info, MediaInfo) and dataclasses.is_dataclass(info)
    assert (info.format, info.content_type, info.width, info.height, info.fps) == ("mov", "video/mp4", 640, 360, 25.0)
    assert (info.has_audio, info.has_video, info.audio_codec, info.video_codec) == (True, True, "aac", "h264")
    assert info.duration == pytest.approx(18.68, abs=0.05)
    assert info.audio_duration == pytest.approx(17.98, abs=0.05)


def test_require_dubbable_refuses_no_audio_and_too_long():
    silent = probe_media(FIXTURES / "silent_video.mp4")
    with pytest.raises(InvalidMedia, match="no audio"):
        require_dubbable(silent, max_duration_seconds=600)
    speech = probe_media(FIXTURES / "speech_en.mp4")
    with pytest.raises(InvalidMedia, match="minutes"):
        require_dubbable(speech, max_duration_seconds=10)
    require_dubbable(speech, max_duration_seconds=60)


def test_a_picture_wider_than_the_limit_is_refused(tmp_path):
    wide = tmp_path / "wide.mov"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "color=size=8200x16:duration=0.2",
         "-f", "lavfi", "-i", "sine=duration=0.2", "-c:v", "rawvideo", "-pix_fmt", "uyvy422", "-c:a", "aac",
         "-shortest", str(wide)],
        check=True,
    )

    with pytest.raises(InvalidMedia, match="8200x16"):
        probe_media(wide)
