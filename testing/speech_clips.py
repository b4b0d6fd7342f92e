"""Clips made from the shared fixtures for recognition tests and bench/engines.py: the English
speech under a music bed or under noise, time-reversed speech, German speech (espeak-ng), noise
with no speech. Made with ffmpeg/espeak-ng; every mix keeps the speech's own timing."""

from __future__ import annotations

import subprocess
from pathlib import Path

from testing.media import FIXTURE_MEDIA

SPEECH_EN = FIXTURE_MEDIA / "speech_en.mp4"
SPEECH_KO = FIXTURE_MEDIA / "speech_ko.mp4"
GERMAN_SENTENCES = ("Guten Morgen. Heute ist das Wetter schön und warm. "
                    "Am Nachmittag kann es regnen, bitte nehmen Sie einen Regenschirm mit.")
# Chords on 110/220/277/330 Hz with a plucked bass every half second: tonal, rhythmic, in the
# speech band, about 12 dB under the speech.
MUSIC = ("aevalsrc='0.05*sin(2*PI*220*t)*(1+sin(2*PI*0.5*t))+0.04*sin(2*PI*277*t)+0.04*sin(2*PI*330*t)"
         "+0.05*sin(2*PI*110*t)*exp(-8*mod(t,0.5))':s=16000:d={seconds}")
NOISE = "anoisesrc=d={seconds}:c=pink:r=16000:a=0.05"


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def wav16k(source: Path, out: Path, *filters: str) -> Path:
    args = ["-i", str(source)]
    if filters:
        args += ["-af", ",".join(filters)]
    _ffmpeg(*args, "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", str(out))
    return out


def under(speech: Path, bed: str, out: Path, seconds: float = 18.0) -> Path:
    """`speech` with the lavfi source `bed` mixed under it, 16 kHz mono WAV."""
    _ffmpeg("-i", str(speech), "-f", "lavfi", "-i", bed.format(seconds=seconds), "-filter_complex",
            "[0][1]amix=inputs=2:duration=first:normalize=0", "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le",
            str(out))
    return out


def german_speech(out: Path) -> Path:
    raw = out.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", "de", "-w", str(raw), GERMAN_SENTENCES], check=True)
    wav16k(raw, out)
    raw.unlink()
    return out


def noise_only(out: Path, seconds: float = 8.0) -> Path:
    _ffmpeg("-f", "lavfi", "-i", f"anoisesrc=d={seconds}:c=pink:r=16000:a=0.1", "-ac", "1", "-c:a", "pcm_s16le",
            str(out))
    return out


def make_clips(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    en = wav16k(SPEECH_EN, folder / "en.wav")
    return {
        "en": en,
        "en_music": under(en, MUSIC, folder / "en_music.wav"),
        "en_noise": under(en, NOISE, folder / "en_noise.wav"),
        "ko": wav16k(SPEECH_KO, folder / "ko.wav"),
        "de": german_speech(folder / "de.wav"),
        "reversed": wav16k(SPEECH_EN, folder / "reversed.wav", "areverse"),
    }


def video_with_music(out: Path) -> Path:
    """speech_en.mp4 with the music bed mixed into its audio track, the video stream copied."""
    _ffmpeg("-i", str(SPEECH_EN), "-f", "lavfi", "-i", MUSIC.format(seconds=19).replace(":s=16000", ":s=48000"),
            "-filter_complex", "[0:a][1]amix=inputs=2:duration=first:normalize=0[a]", "-map", "0:v", "-map", "[a]",
            "-c:v", "copy", "-c:a", "aac", str(out))
    return out


DIALOGUE = ("Welcome to our short demonstration.", "Thank you, it is good to be here.",
            "Tomorrow the weather will be sunny and warm in the morning.",
            "In the afternoon, please bring an umbrella.", "Will it rain all day?",
            "No, only in the afternoon.", "Thank you for watching.", "See you next time.")


def dialogue(out: Path, voices: tuple[str, ...] = ("en+m3", "en+f4"), sentences: tuple[str, ...] = DIALOGUE,
             pause: float = 0.8) -> tuple[Path, list[tuple[float, float, int]]]:
    """Lines spoken in turn by `voices` (espeak-ng), 16 kHz mono WAV with `pause` seconds after
    each; returns the file and each line's (start, end, voice index)."""
    import numpy as np
    import soundfile as sf

    pieces, lines, t = [], [], 0.0
    for i, sentence in enumerate(sentences):
        raw = out.with_name(f"{out.stem}.{i}.wav")
        subprocess.run(["espeak-ng", "-v", voices[i % len(voices)], "-w", str(raw), sentence], check=True)
        wav16k(raw, raw.with_suffix(".16k.wav"))
        samples, _ = sf.read(str(raw.with_suffix(".16k.wav")), dtype="float32")
        raw.unlink()
        raw.with_suffix(".16k.wav").unlink()
        lines.append((t, t + len(samples) / 16000, i % len(voices)))
        pieces += [samples, np.zeros(int(pause * 16000), dtype=np.float32)]
        t += len(samples) / 16000 + pause
    sf.write(str(out), np.concatenate(pieces), 16000, subtype="PCM_16")
    return out, lines


def conversation(out: Path, turns: list[tuple[str, str]], pause: float = 0.6, rate: int = 48000
                 ) -> list[tuple[float, float, str, str]]:
    """`turns` of (espeak-ng voice, sentence) spoken in order with `pause` seconds after each, as
    a 48 kHz stereo WAV (users' audio, not the recognizer's); returns each line's (start, end,
    voice, sentence)."""
    import numpy as np
    import soundfile as sf

    pieces, lines, t = [], [], 0.0
    for i, (voice, sentence) in enumerate(turns):
        raw = out.with_name(f"{out.stem}.{i}.wav")
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(raw), sentence], check=True)
        resampled = raw.with_suffix(".r.wav")
        _ffmpeg("-i", str(raw), "-ac", "1", "-ar", str(rate), "-c:a", "pcm_s16le", str(resampled))
        samples, _ = sf.read(str(resampled), dtype="float32")
        raw.unlink()
        resampled.unlink()
        lines.append((round(t, 3), round(t + len(samples) / rate, 3), voice, sentence))
        pieces += [samples, np.zeros(int(pause * rate), dtype=np.float32)]
        t += len(samples) / rate + pause
    mono = np.concatenate(pieces)
    sf.write(str(out), np.stack([mono, mono * 0.9], axis=1), rate, subtype="PCM_16")
    return lines


def webvtt(lines: list[tuple[float, float, str, str]], names: dict[str, str]) -> str:
    """WebVTT of `lines` (as `conversation` returns them), each cue's speaker a voice span named
    by `names[voice]`."""
    def stamp(seconds: float) -> str:
        whole = int(seconds)
        return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}.{int(round((seconds - whole) * 1000)):03d}"

    cues = [f"{stamp(a)} --> {stamp(b)}\n<v {names[voice]}>{text}" for a, b, voice, text in lines]
    return "WEBVTT\n\n" + "\n\n".join(cues) + "\n"


CONVERSATION = (
    "Good morning, did you sleep well?", "Yes, thank you, and you?",
    "Not really, the neighbours were loud.", "That is a shame. Shall we get coffee?",
    "Good idea, the place on the corner opens at eight.", "I know it, their cakes are very good.",
    "Then let us go now before it gets busy.", "Wait, I need to find my keys first.",
    "They are on the table next to the door.", "Thank you, I would lose my head otherwise.",
    "Do you want to walk or take the bus?", "Let us walk, the weather is lovely today.",
)


def espeak_speaker(voice: str):
    """A speaker for `alternating_turns`: espeak-ng with `voice` ("en+m3")."""
    def speak(text: str, out: Path) -> Path:
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(out), text], check=True)
        return out
    return speak


def tts_speaker(tts, language: str, voice: str):
    """A speaker for `alternating_turns`: any of our TTS engines (Kokoro packs through LocalTTS...)."""
    def speak(text: str, out: Path) -> Path:
        tts.synthesize(text, language, voice, out)
        return out
    return speak


def alternating_turns(out: Path, speakers: list, turns: list[int], sentences: tuple[str, ...] = CONVERSATION, *,
                      pause: float = 0.6, music: bool = False, rate: int = 16000,
                      channels: int = 1) -> tuple[Path, list[tuple[float, float, int]]]:
    """Lines spoken by `speakers[turns[i]]` in order (short alternating turns), `pause` seconds
    apart, optionally with the MUSIC bed about 12 dB under them. Returns the WAV and each line's
    (start, end, speaker index)."""
    import numpy as np
    import soundfile as sf

    pieces, lines, t = [], [], 0.0
    for i, who in enumerate(turns):
        raw = out.with_name(f"{out.stem}.{i}.raw.wav")
        speakers[who](sentences[i % len(sentences)], raw)
        wav = wav16k(raw, raw.with_suffix(".16k.wav"), "silenceremove=start_periods=1:start_threshold=-50dB,"
                     "areverse,silenceremove=start_periods=1:start_threshold=-50dB,areverse")
        samples, _ = sf.read(str(wav), dtype="float32")
        raw.unlink()
        wav.unlink()
        lines.append((round(t, 3), round(t + len(samples) / 16000, 3), who))
        pieces += [samples, np.zeros(int(pause * 16000), dtype=np.float32)]
        t += len(samples) / 16000 + pause
    speech = out.with_name(out.stem + ".speech.wav")
    sf.write(str(speech), np.concatenate(pieces), 16000, subtype="PCM_16")
    if music:
        _ffmpeg("-i", str(speech), "-f", "lavfi", "-i", MUSIC.format(seconds=t + 1), "-filter_complex",
                "[0][1]amix=inputs=2:duration=first:normalize=0", "-ac", str(channels), "-ar", str(rate),
                "-c:a", "pcm_s16le", str(out))
    else:
        _ffmpeg("-i", str(speech), "-ac", str(channels), "-ar", str(rate), "-c:a", "pcm_s16le", str(out))
    speech.unlink()
    return out, lines


# Korean sentences that are not in the shared fixture's speech_ko.txt (a held-out-style clip), with
# the Spanish a user's subtitler would write for them.
KOREAN_HELD_OUT = (
    ("여러분, 반갑습니다.", "Hola a todos, encantados."),
    ("이 영상은 새로운 기능을 소개합니다.", "Este vídeo presenta una función nueva."),
    ("궁금한 점은 댓글로 남겨 주세요.", "Dejad vuestras preguntas en los comentarios."),
)


def korean_phone_clip(out: Path, *, lead: float = 0.8) -> list[tuple[float, float, str, str]]:
    """A portrait phone-style MP4 (360x640 h264 + AAC 48 kHz stereo) of KOREAN_HELD_OUT spoken by
    the offline Korean voice (Kokoro: Whisper takes espeak-ng's Korean for Thai, docs/engines.md)
    over the MUSIC bed, `lead` seconds in; returns each line's (start, end, Korean, Spanish) in
    the video's time."""
    from dubbing.engine_config import engine_config
    from dubbing.engines.registry import build_tts

    tts = build_tts("kokoro", engine_config(), threads=2)
    sound = out.with_name(out.stem + ".sound.wav")
    sentences = tuple(korean for korean, _ in KOREAN_HELD_OUT)
    _, lines = alternating_turns(sound, [tts_speaker(tts, "ko", None)], [0] * len(sentences), sentences,
                                 pause=0.9, music=True, rate=48000, channels=2)
    seconds = lines[-1][1] + lead + 1.0
    delay = int(lead * 1000)
    _ffmpeg("-f", "lavfi", "-i", f"testsrc2=s=360x640:r=25:d={seconds:.2f}", "-i", str(sound),
            "-filter_complex", f"[1]adelay={delay}|{delay},apad[a]", "-map", "0:v", "-map", "[a]",
            "-t", f"{seconds:.2f}", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-ac", "2", "-ar", "48000", "-movflags", "+faststart", str(out))
    sound.unlink()
    return [(round(a + lead, 3), round(b + lead, 3), korean, spanish)
            for (a, b, _), (korean, spanish) in zip(lines, KOREAN_HELD_OUT)]


def srt(cues: list[tuple[float, float, str]]) -> str:
    """SubRip text of (start, end, text) cues."""
    def stamp(seconds: float) -> str:
        ms = int(round(seconds * 1000))
        return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    return "\n".join(f"{i}\n{stamp(a)} --> {stamp(b)}\n{text}\n" for i, (a, b, text) in enumerate(cues, start=1))
