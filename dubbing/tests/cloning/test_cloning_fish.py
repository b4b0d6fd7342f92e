"""A dub with voice_cloning through Fish Audio (zero-shot): every line of a cloned speaker is
sent with that speaker's reference (their cleanest lines, alone, as audio, and what they say in
them, in Fish's msgpack `references`), against a loopback server speaking Fish's wire protocol.
A speaker with under 3 s of speech is not cloned and keeps a cast voice; a speaker whose
reference Fish refuses goes on in a cast voice; the report says which and why.

Media: a conversation of three espeak-ng voices at 48 kHz stereo, its lines (with their
speakers as WebVTT voice spans) supplied as source subtitles, so no recognizer runs."""

from __future__ import annotations

import io

import pytest
from pydub import AudioSegment

from dubbing.engines.registry import EngineConfig, build_engines
from dubbing.pipeline.clones import MAX_SECONDS, MIN_SECONDS, choose_reference
from dubbing.pipeline.options import DubOptions
from dubbing.pipeline.publish import run_pipeline
from testing.fish_audio_server import FishAudioServer
from testing.speech_clips import conversation, webvtt

pytestmark = pytest.mark.media

ANN, BEN, CAL = "en+m3", "en+f4", "en+m1"
TURNS = [
    (ANN, "Welcome to our short demonstration of the new city library."),
    (BEN, "Thank you, it is good to be here with all of you today."),
    (ANN, "Tomorrow the weather will be sunny and warm in the morning."),
    (BEN, "In the afternoon, please bring an umbrella and a warm coat."),
    (CAL, "Yes."),
    (ANN, "Will it rain all day, or only for a short while?"),
    (BEN, "No, only in the afternoon, and then the sun comes back."),
]
NAMES = {ANN: "Ann", BEN: "Ben", CAL: "Cal"}


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cloning-fish")
    audio = folder / "talk.wav"
    lines = conversation(audio, TURNS)
    return audio, lines, webvtt(lines, NAMES)


def _dub(server, clip, folder):
    audio, _, subtitles = clip
    options = DubOptions(target_language="es", source_language="en", background="drop", voice_cloning=True,
                         voice_cloning_consent=True, source_subtitles=subtitles)
    config = EngineConfig(tts_engine="fish", fish_audio_api_key=server.api_key, fish_audio_base_url=server.base_url,
                          fish_audio_voices={"narrator": "ref-narrator", "guest": "ref-guest"})
    engines = build_engines(options, config)
    if ("en", "es") not in engines.translator.supported_pairs():
        pytest.skip("apertium en->es is not installed here")
    return run_pipeline(audio, options, workspace=folder / "ws", out_dir=folder / "out", engines=engines)


def _sentences(speaker_voice: str) -> list[str]:
    return [text for voice, text in TURNS if voice == speaker_voice]


def _mp3_seconds(audio: bytes) -> float:
    return len(AudioSegment.from_file(io.BytesIO(audio), format="mp3")) / 1000


def test_each_cloned_speakers_lines_carry_their_reference_audio_and_transcript(clip, tmp_path):
    with FishAudioServer() as server:
        report = _dub(server, clip, tmp_path)
    speakers = {seg["source_text"]: seg["speaker"] for seg in report["segments"]}
    ann, ben, cal = (speakers[_sentences(v)[0]] for v in (ANN, BEN, CAL))
    assert len({ann, ben, cal}) == 3
    sent = [r["body"] for r in server.requests if r["path"] == "/v1/tts"]
    by_reference = {}
    for body in sent:
        for ref in body.get("references") or []:
            by_reference.setdefault(ref["text"], []).append(ref["audio"])
    # Two references, one per speaker with enough speech; each is only that speaker's words...
    assert len(by_reference) == 2
    ann_text = next(t for t in by_reference if _sentences(ANN)[0] in t)
    ben_text = next(t for t in by_reference if _sentences(BEN)[0] in t)
    assert all(sentence in _sentences(ANN) for sentence in _split(ann_text))
    assert all(sentence in _sentences(BEN) for sentence in _split(ben_text))
    # ...the same audio with every line, MP3 that plays for the speech it was cut from.
    for text, audios in by_reference.items():
        assert len(set(audios)) == 1
        assert MIN_SECONDS <= _mp3_seconds(audios[0]) <= MAX_SECONDS + 2
    # Each line of Ann and Ben went with a reference; Cal's one line with a cast reference voice.
    lines = {s: sum(1 for seg in report["segments"] if seg["speaker"] == s) for s in (ann, ben, cal)}
    with_refs = [b for b in sent if b.get("references")]
    assert len(with_refs) == lines[ann] + lines[ben]
    assert len([b for b in sent if not b.get("references")]) == lines[cal]
    assert all(b.get("reference_id") in ("ref-narrator", "ref-guest") for b in sent if not b.get("references"))
    # The report says who was cloned and why not.
    cloning = report["cloning"]
    assert cloning[ann]["cloned"] and cloning[ben]["cloned"]
    assert cloning[cal] == {**cloning[cal], "cloned": False, "reason": "too_little_speech"}
    assert cloning[cal]["reference_seconds"] < MIN_SECONDS and "at least 3 s" in cloning[cal]["detail"]
    assert report["voices"][ann] == report["voices"][ben] == "clone"
    assert report["voices"][cal] not in ("clone", "default")
    audio = next(path for kind, path in report["outputs"].items() if "audio" in kind)
    assert len(AudioSegment.from_file(str(audio))) / 1000 > 10


def test_a_reference_fish_refuses_leaves_that_speaker_in_a_cast_voice(clip, tmp_path):
    with FishAudioServer() as server:
        server.refuse_references_with(_sentences(BEN)[0])
        report = _dub(server, clip, tmp_path)
    speakers = {seg["source_text"]: seg["speaker"] for seg in report["segments"]}
    ann, ben = speakers[_sentences(ANN)[0]], speakers[_sentences(BEN)[0]]
    cloning = report["cloning"]
    assert cloning[ann]["cloned"] is True
    assert cloning[ben]["cloned"] is False and cloning[ben]["reason"] == "refused"
    assert "refused" in cloning[ben]["detail"] and "the reference audio was rejected" in cloning[ben]["detail"]
    assert report["voices"][ben] not in ("clone", "default")
    # Every one of Ben's lines was spoken in the end, in a cast voice.
    sent = [r["body"] for r in server.requests if r["path"] == "/v1/tts"]
    spoken = [seg for seg in report["segments"] if seg["speaker"] == ben]
    assert all(seg["voice"] == report["voices"][ben] for seg in spoken)
    assert sum(1 for b in sent if not b.get("references") and b.get("reference_id")) >= len(spoken)


def _split(text: str) -> list[str]:
    import re

    return [s.strip() for s in re.findall(r"[^.?!]+[.?!]", text)]


def test_a_reference_is_the_speakers_cleanest_lines_alone_within_10_to_30_seconds():
    from dubbing.engines.base import Segment

    lines = [Segment(id=f"s{i}", start=i * 5.0, end=i * 5.0 + 4.0, text=f"Line {i}.", speaker="a") for i in range(12)]
    lines.append(Segment(id="x", start=20.5, end=23.0, text="Overlap.", speaker="b"))  # talks over s4
    regions = [(s.start + 0.5, s.end) for s in lines]  # each line 3.5 s of voice in 4 s
    regions[0] = (lines[0].start + 2.0, lines[0].end)  # the first line is mostly silence
    plan = choose_reference("a", lines, regions)
    assert "s4" not in plan.lines and "s0" not in plan.lines  # overlapped, and the least clean
    assert 10.0 <= plan.seconds <= MAX_SECONDS and len(plan.lines) == 3
    assert plan.text == " ".join(f"Line {s[1:]}." for s in plan.lines)
    short = choose_reference("b", lines, regions)
    assert short.lines == [] and not short.enough  # b's only line overlaps a's


def test_the_reference_is_cut_from_the_voice_stem_when_the_dub_separated_one(tmp_path):
    from types import SimpleNamespace

    from dubbing.pipeline.audio import ASR_WAV, MIX_WAV
    from dubbing.pipeline.separate import VOCALS_WAV
    from dubbing.pipeline.synthesize import _reference_source
    from dubbing.pipeline.workspace import Workspace

    ws = Workspace(tmp_path / "ws")
    for parts in (ASR_WAV, MIX_WAV, VOCALS_WAV):
        ws.path(*parts).parent.mkdir(parents=True, exist_ok=True)
        ws.path(*parts).write_bytes(b"RIFF")
    ctx = SimpleNamespace(ws=ws, input_path=tmp_path / "in.wav", info=None,
                          options=SimpleNamespace(background="separate"))
    assert _reference_source(ctx) == ws.path(*VOCALS_WAV)
    ctx.options.background = "drop"  # no stem for this dub: the extracted audio
    assert _reference_source(ctx) == ws.path(*MIX_WAV)


def test_dub_refuses_cloning_without_consent_before_any_work(tmp_path):
    from django.core.management import CommandError, call_command

    source = tmp_path / "in.wav"
    source.write_bytes(b"RIFF")
    with pytest.raises(CommandError, match="voice_cloning_consent"):
        call_command("dub", str(source), "--to", "es", "--from", "en", "--voice-cloning")
