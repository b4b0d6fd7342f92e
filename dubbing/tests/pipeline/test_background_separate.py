"""The background `separate`: a dub over the music and effects with the original voice taken out.

One real local dub (Whisper, apertium, espeak-ng, Spleeter) of a clip built here with known stems:
English sentences (espeak-ng) over a generated groove, 48 kHz stereo, music alone for its first
seconds. Judged from the audio the mix wrote (its stems, before the loudness gain): the source's
words are gone for the bundled Whisper, the music keeps its level where nobody speaks and is
lowered by the setting while a dubbed line plays, and the lines play where the report says.
Then the API: `separate` is the default where the separator is installed, listed among the
background modes, and refused with a code, before anything is charged, where it is not.
"""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest
import soundfile as sf

from testing.stems import rms_db, speech_over_music
from testing.voices import FAST_SPANISH_VOICE

SEPARATE_DUCK_DB = -6.0


@pytest.fixture(scope="module")
def music_clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("music-clip")
    stems = speech_over_music(folder / "mix.wav", seconds=16.0, rate=48000, start=3.0, gap=1.0)
    video = folder / "music_clip.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=0x303030:s=320x240:r=25:d=16",
                    "-i", str(stems.mix), "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-b:a", "192k",
                    "-shortest", str(video)], check=True)
    return video, stems


@pytest.fixture(scope="module")
def separated_dub(music_clip, tmp_path_factory):
    from dubbing.engine_config import build_engines
    from dubbing.pipeline.options import DubOptions
    from dubbing.pipeline.publish import run_pipeline

    video, stems = music_clip
    root = tmp_path_factory.mktemp("separated-dub")
    options = DubOptions(target_language="es", voice=FAST_SPANISH_VOICE, source_language="en", background="separate", engines="local")
    report = run_pipeline(video, options, workspace=root / "ws", out_dir=root / "out", engines=build_engines(options),
                          separate_duck_db=SEPARATE_DUCK_DB, keep_stems=True, threads=2)
    background, rate = sf.read(str(root / "ws" / "mix" / "stems" / "background.wav"), dtype="float32", always_2d=True)
    dub, _ = sf.read(str(root / "ws" / "mix" / "stems" / "dub.wav"), dtype="float32")
    assert rate == stems.rate
    return {"report": report, "background": background, "dub": dub, "stems": stems, "root": root}


def _placed(report) -> list[tuple[float, float]]:
    return [(line["placed_start"], line["placed_start"] + line["placed_seconds"]) for line in report["segments"]]


def _mask(n: int, rate: int, spans, pad: float = 0.0) -> np.ndarray:
    mask = np.zeros(n, bool)
    for a, b in spans:
        mask[max(0, int((a - pad) * rate)):max(0, int((b + pad) * rate))] = True
    return mask


@pytest.mark.media
def test_the_voice_is_separated_once_as_part_of_the_source_analysis(separated_dub):
    report = separated_dub["report"]
    assert not report["stages"]["separate"]["cached"]
    assert report["engines"]["separation"] == "spleeter"
    audio = separated_dub["root"] / "ws" / "audio"
    assert (audio / "background.wav").is_file() and (audio / "vocals.wav").is_file()
    assert report["segments"], "the English was heard and dubbed"


@pytest.mark.media
def test_the_bundled_whisper_hears_none_of_the_source_words_in_the_background(separated_dub, tmp_path):
    from dubbing.engine_config import engine_config
    from dubbing.engines.registry import build_asr
    from testing.speech_clips import wav16k

    stems = separated_dub["stems"]
    spoken = {w for _, _, s in stems.lines for w in re.findall(r"[a-z']+", s.lower()) if len(w) >= 4}
    sf.write(str(tmp_path / "bg.wav"), separated_dub["background"], stems.rate, subtype="FLOAT")
    wav = wav16k(tmp_path / "bg.wav", tmp_path / "bg16.wav")
    whisper = build_asr("local", engine_config(), threads=2)
    heard = whisper.transcribe(wav, "en", regions=[(0.0, sf.info(str(wav)).duration)])
    words = {w for seg in heard.segments for w in re.findall(r"[a-z']+", seg.text.lower())}
    assert len(words & spoken) <= 1, words & spoken


@pytest.mark.media
def test_the_music_keeps_its_level_where_nobody_speaks(separated_dub):
    stems, background = separated_dub["stems"], separated_dub["background"]
    assert min(a for a, _ in _placed(separated_dub["report"])) > 2.8  # the intro is music alone
    intro = slice(int(0.3 * stems.rate), int(2.7 * stems.rate))
    assert abs(rms_db(background[intro]) - rms_db(stems.music[intro])) < 3.0


@pytest.mark.media
def test_the_music_is_lowered_by_the_setting_only_while_a_line_plays(separated_dub):
    stems, background = separated_dub["stems"], separated_dub["background"]
    n = min(len(background), len(stems.music))
    playing = _mask(n, stems.rate, _placed(separated_dub["report"]))
    # Inside a line the stem is down by the setting (the fades lie just outside the lines); where
    # the source spoke but no dubbed line plays, what is left is the music at its level.
    drop = rms_db(background[:n][playing]) - rms_db(stems.music[:n][playing])
    assert SEPARATE_DUCK_DB - 2.5 < drop < SEPARATE_DUCK_DB + 2.5
    source_only = _mask(n, stems.rate, [(a, b) for a, b, _ in stems.lines]) & ~_mask(
        n, stems.rate, _placed(separated_dub["report"]), pad=0.3)
    if source_only.sum() > 0.3 * stems.rate:
        assert abs(rms_db(background[:n][source_only]) - rms_db(stems.music[:n][source_only])) < 3.0


@pytest.mark.media
def test_the_dubbed_lines_play_where_the_report_places_them(separated_dub):
    dub, rate = separated_dub["dub"], separated_dub["stems"].rate
    placed = _placed(separated_dub["report"])
    inside = _mask(len(dub), rate, placed)
    assert rms_db(dub[inside]) > -40
    outside = ~_mask(len(dub), rate, placed, pad=0.05)
    assert not outside.any() or np.abs(dub[outside]).max() < 1e-3


@pytest.mark.media
def test_an_audio_only_input_is_dubbed_over_its_own_separated_music(tmp_path):
    """An audio file (AAC in .m4a, 48 kHz stereo, no picture) has its voice separated like a
    video's: the dub is audio, and the music alone at its start keeps its level."""
    from dubbing.engine_config import build_engines
    from dubbing.pipeline.options import DubOptions
    from dubbing.pipeline.publish import run_pipeline

    stems = speech_over_music(tmp_path / "mix.wav", seconds=14.0, rate=48000, start=3.0, gap=1.0)
    audio = tmp_path / "talk.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(stems.mix), "-c:a", "aac", "-b:a", "192k", str(audio)],
                   check=True)
    options = DubOptions(target_language="es", voice=FAST_SPANISH_VOICE, source_language="en", background="separate",
                         engines="local")
    report = run_pipeline(audio, options, workspace=tmp_path / "ws", out_dir=tmp_path / "out",
                          engines=build_engines(options), separate_duck_db=SEPARATE_DUCK_DB, keep_stems=True, threads=2)
    assert report["engines"]["separation"] == "spleeter" and report["segments"]
    assert "video" not in report["outputs"] and report["outputs"]["audio"].endswith(".es.m4a")
    background, rate = sf.read(str(tmp_path / "ws" / "mix" / "stems" / "background.wav"), dtype="float32",
                               always_2d=True)
    intro = slice(int(0.3 * rate), int(2.7 * rate))
    assert abs(rms_db(background[intro]) - rms_db(stems.music[intro])) < 3.0


@pytest.mark.media
def test_a_dub_cancelled_while_separating_stops_there_and_leaves_no_stems(tmp_path):
    """A cancel that turns true once separation has begun stops the dub before the next block:
    no stems are left, and recognition never starts."""
    from dubbing.engine_config import build_engines
    from dubbing.pipeline.errors import PipelineCancelled
    from dubbing.pipeline.options import DubOptions
    from dubbing.pipeline.publish import run_pipeline

    stems = speech_over_music(tmp_path / "mix.wav", seconds=60.0, rate=48000, start=2.0, gap=1.0)
    video = tmp_path / "long.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=0x303030:s=320x240:r=25:d=60",
                    "-i", str(stems.mix), "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest",
                    str(video)], check=True)
    options = DubOptions(target_language="es", voice=FAST_SPANISH_VOICE, source_language="en", background="separate",
                         engines="local")
    seen: list[tuple[str, float]] = []

    def progress(stage: str, fraction: float, message: str) -> None:
        seen.append((stage, fraction))

    def cancelled() -> bool:
        return any(stage == "separate" and 0 < fraction < 1 for stage, fraction in seen)

    with pytest.raises(PipelineCancelled) as caught:
        run_pipeline(video, options, workspace=tmp_path / "ws", out_dir=tmp_path / "out", engines=build_engines(options),
                     progress=progress, should_cancel=cancelled, threads=2)
    assert caught.value.stage == "separate"
    separating = [fraction for stage, fraction in seen if stage == "separate"]
    assert max(separating) < 0.5, separating  # stopped a block or so after the cancel, of six
    assert not any(stage == "transcribe" for stage, _ in seen)
    assert not list((tmp_path / "ws" / "audio").glob("*vocals*")) and not list(
        (tmp_path / "ws" / "audio").glob("*background*"))
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


# --- The API: the default, the capabilities, the refusal ------------------------------------------


@pytest.fixture
def ready_video(owner, media_root):
    from videos.tests.factories import VideoFactory
    from testing.media import FIXTURE_MEDIA

    return VideoFactory(owner=owner, title="Speech", original_filename="speech_en.mp4",
                        source=(FIXTURE_MEDIA / "speech_en.mp4").read_bytes(), format="mov,mp4", duration=18.68,
                        fps=25, video_codec="h264", audio_codec="aac", status="ready")


@pytest.fixture
def no_separator(settings, tmp_path):
    from dubbing.languages import language_support_clear

    settings.DUBBING_SEPARATION_DIR = str(tmp_path / "no-weights")  # no checkpoints there
    language_support_clear()
    yield
    language_support_clear()


@pytest.mark.django_db
def test_separate_is_the_default_and_listed_where_the_separator_is_installed(owner, staff, owner_client, ready_video):
    from billing.selectors import credits_balance
    from dubbing.languages import language_support_clear
    from dubbing.models import DubbingJob
    from billing.tests.factories import give_credits

    language_support_clear()
    modes = owner_client.get("/api/v1/languages").json()["background_modes"]
    assert modes == ["separate", "duck", "keep", "drop"]
    give_credits(owner, 3, staff=staff)
    response = owner_client.post("/api/v1/jobs", {"video_id": str(ready_video.id), "target_language": "es"},
                                 format="json")
    assert response.status_code == 201, response.content
    assert DubbingJob.objects.get().options["background"] == "separate"
    assert credits_balance(user=owner) == 2


@pytest.mark.django_db
def test_without_the_separator_separate_is_withdrawn_and_refused_before_any_charge(
        owner, staff, owner_client, ready_video, no_separator):
    from billing.selectors import credits_balance
    from dubbing.models import DubbingJob
    from billing.tests.factories import give_credits

    assert owner_client.get("/api/v1/languages").json()["background_modes"] == ["duck", "keep", "drop"]
    give_credits(owner, 3, staff=staff)
    response = owner_client.post("/api/v1/jobs", {"video_id": str(ready_video.id), "target_language": "es",
                                                  "background": "separate"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "separation_unavailable" and "background" in body["errors"]
    assert not DubbingJob.objects.exists() and credits_balance(user=owner) == 3
    # Asked for nothing in particular, the job gets what this server has.
    response = owner_client.post("/api/v1/jobs", {"video_id": str(ready_video.id), "target_language": "es"},
                                 format="json")
    assert response.status_code == 201, response.content
    assert DubbingJob.objects.get().options["background"] == "duck"
