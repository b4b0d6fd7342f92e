"""The ElevenLabs speech engine and its instant voice cloning, against a loopback server speaking
ElevenLabs' wire protocol (text-to-speech, voices/add, DELETE voices, the v2 voice search):

- the engine alone: a clone is added from the sample (multipart) and spoken with by its id; 429s
  are retried with backoff; a voice-add refused is CloneRefused; a delete of a voice already gone
  is done; a wrong key names ELEVENLABS_API_KEY;
- a dub with voice_cloning, its clones written down by the jobs' ledger (rows) before they are
  used: no cloned voice is left on the server after a dub that succeeds, nor after one that fails;
  a refused voice-add leaves the speaker in a cast voice; a delete that fails is left to the
  sweep, which deletes it (also a clone a crash left with only its name written down).

Media: a two-voice espeak-ng conversation at 48 kHz stereo with its lines supplied as WebVTT
(speakers as voice spans), so no recognizer runs."""

from __future__ import annotations

import io
import uuid

import pytest
from django.core.management import call_command
from django.utils import timezone
from pydub import AudioSegment

from dubbing.engines.base import CloneRefused, EngineError, EngineUnavailable, VoiceReference
from dubbing.engines.registry import EngineConfig, build_engines, build_tts
from dubbing.models import ClonedVoice, JobStatus
from dubbing.pipeline.errors import PipelineError
from dubbing.pipeline.options import DubOptions
from dubbing.pipeline.runner import run_dub
from dubbing.tests.factories import DubbingJobFactory
from dubbing.worker.clones import JobCloneLedger
from testing.elevenlabs_server import ElevenLabsServer
from testing.speech_clips import conversation, webvtt

pytestmark = pytest.mark.media

ANN, BEN = "en+m3", "en+f4"
TURNS = [
    (ANN, "Welcome to our short demonstration of the new city library."),
    (BEN, "Thank you, it is good to be here with all of you today."),
    (ANN, "Tomorrow the weather will be sunny and warm in the morning."),
    (BEN, "In the afternoon, please bring an umbrella and a warm coat."),
]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cloning-eleven")
    audio = folder / "talk.wav"
    lines = conversation(audio, TURNS)
    return audio, webvtt(lines, {ANN: "Ann", BEN: "Ben"})


@pytest.fixture
def server(settings):
    with ElevenLabsServer() as running:
        # What the sweep builds its engine from.
        settings.ELEVENLABS_API_KEY, settings.ELEVENLABS_BASE_URL = running.api_key, running.base_url
        yield running


def _config(server) -> EngineConfig:
    return EngineConfig(tts_engine="elevenlabs", elevenlabs_api_key=server.api_key, elevenlabs_base_url=server.base_url)


def _reference(tmp_path, seconds: float = 4.0) -> VoiceReference:
    out = tmp_path / "ref.mp3"
    AudioSegment.silent(duration=int(seconds * 1000)).overlay(
        AudioSegment.from_file(io.BytesIO(_beep()), format="wav")).export(str(out), format="mp3")
    return VoiceReference(speaker="speaker_1", audio_path=out, text="Hello there.", language="en", seconds=seconds)


def _beep() -> bytes:
    import numpy as np
    import soundfile as sf

    buffer = io.BytesIO()
    t = np.arange(44100 * 2) / 44100
    sf.write(buffer, (0.3 * np.sin(2 * np.pi * 220 * t)).astype("float32"), 44100, format="WAV")
    return buffer.getvalue()


# --- The engine -----------------------------------------------------------------------------------


def test_a_clone_is_added_from_the_sample_spoken_with_and_deleted(server, tmp_path):
    tts = build_tts("elevenlabs", _config(server))
    voice = tts.clone_voice(_reference(tmp_path), name="onevoice-test-speaker_1")
    added = next(r for r in server.requests if r["kind"] == "add")
    assert added["path"] == "/v1/voices/add" and added["fields"]["name"] == "onevoice-test-speaker_1"
    assert added["headers"]["Content-Type"].startswith("multipart/form-data")
    assert server.voices[voice]["name"] == "onevoice-test-speaker_1"
    assert len(server.voices[voice]["samples"]) == 1 and server.voices[voice]["samples"][0][:3] in (b"ID3", b"\xff\xfb")
    out = tts.synthesize("Hola a todos.", "es", voice, tmp_path / "a.wav")
    spoken = [r for r in server.requests if r["kind"] == "tts"][-1]
    assert spoken["path"] == f"/v1/text-to-speech/{voice}"
    assert spoken["json"]["model_id"] == "eleven_multilingual_v2" and spoken["json"]["text"] == "Hola a todos."
    assert "output_format=mp3_44100_128" in spoken["query"]
    assert len(AudioSegment.from_file(str(out))) > 300
    assert tts.find_voices("onevoice-test-speaker_1") == [voice]
    tts.delete_voice(voice)
    assert server.voices == {}
    tts.delete_voice(voice)  # already gone: done, not an error


def test_429s_are_retried_with_backoff_on_every_call(server, tmp_path):
    tts = build_tts("elevenlabs", _config(server))
    for kind in ("add", "tts", "delete"):
        server.fail_next_on(kind, 2, 429)
    voice = tts.clone_voice(_reference(tmp_path), name="n1")
    tts.synthesize("Hola.", "es", voice, tmp_path / "a.wav")
    tts.delete_voice(voice)
    kinds = [r["kind"] for r in server.requests]
    assert kinds.count("add") == 3 and kinds.count("tts") == 3 and kinds.count("delete") == 3
    assert server.voices == {}


def test_a_refused_voice_add_is_clone_refused_and_a_wrong_key_names_the_setting(server, tmp_path):
    tts = build_tts("elevenlabs", _config(server))
    server.fail_next_on("add", 1, 400)
    with pytest.raises(CloneRefused, match=r"ElevenLabs refused the voice cloning \(HTTP 400\)"):
        tts.clone_voice(_reference(tmp_path), name="n2")
    server.fail_next_on("delete", 10, 503)
    with pytest.raises(EngineError) as failed:
        tts.delete_voice("anything")
    assert failed.value.retryable and failed.value.code == "engine_server_error"
    wrong = build_tts("elevenlabs", EngineConfig(elevenlabs_api_key="wrong", elevenlabs_base_url=server.base_url))
    with pytest.raises(EngineUnavailable, match="ELEVENLABS_API_KEY"):
        wrong.synthesize("Hola.", "es", None, tmp_path / "b.wav")
    assert server.voices == {}


# --- Dubs with the jobs' ledger ---------------------------------------------------------------------


def _dub(server, clip, tmp_path, job):
    audio, subtitles = clip
    options = DubOptions(target_language="es", source_language="en", background="drop", voice_cloning=True,
                         voice_cloning_consent=True, source_subtitles=subtitles)
    engines = build_engines(options, _config(server))
    if ("en", "es") not in engines.translator.supported_pairs():
        pytest.skip("apertium en->es is not installed here")
    ledger = JobCloneLedger(job_id=job.id, claim_token=job.claim_token, provider="elevenlabs")
    return run_dub(audio, options, workspace=tmp_path / "ws", engines=engines, clone_ledger=ledger)


@pytest.fixture
def job(db):
    return DubbingJobFactory(status=JobStatus.RUNNING, claim_token=uuid.uuid4(), heartbeat_at=timezone.now())


def test_a_dub_that_succeeds_leaves_no_cloned_voice_at_the_provider(server, clip, tmp_path, job):
    result = _dub(server, clip, tmp_path, job)
    assert all(result.report["cloning"][s]["cloned"] for s in ("speaker_1", "speaker_2"))
    added = [r for r in server.requests if r["kind"] == "add"]
    assert len(added) == 2  # one clone per speaker, made once for all their lines
    spoken = [r["path"].rsplit("/", 1)[1] for r in server.requests if r["kind"] == "tts"]
    rows = list(ClonedVoice.objects.filter(job=job))
    assert len(rows) == 2 and {r.speaker for r in rows} == {"speaker_1", "speaker_2"}
    assert set(spoken) == {r.voice_id for r in rows}  # every line in its speaker's clone
    assert all(r.deleted_at is not None and r.claim_token == job.claim_token for r in rows)
    assert server.voices == {}
    assert call_command_output("sweep_cloned_voices") == "deleted=0 failed=0 pending=0"


def test_a_dub_that_fails_after_cloning_leaves_no_cloned_voice_either(server, clip, tmp_path, job):
    server.fail_next_on("tts", 1, 422)  # a line the provider will not speak: the run fails
    with pytest.raises(PipelineError):
        _dub(server, clip, tmp_path, job)
    assert any(r["kind"] == "add" for r in server.requests)
    assert server.voices == {}
    assert ClonedVoice.objects.filter(job=job).exists()
    assert not ClonedVoice.objects.filter(job=job, deleted_at__isnull=True).exists()


def test_a_refused_voice_add_leaves_that_speaker_in_a_cast_voice(server, clip, tmp_path, job):
    server.fail_next_on("add", 1, 400)
    result = _dub(server, clip, tmp_path, job)
    cloning = result.report["cloning"]
    refused = [s for s, o in cloning.items() if not o["cloned"]]
    assert len(refused) == 1 and cloning[refused[0]]["reason"] == "refused"
    assert "HTTP 400" in cloning[refused[0]]["detail"]
    assert result.report["voices"][refused[0]] != "clone"  # its cast voice (the engine's default here)
    assert server.voices == {}


def test_a_delete_that_fails_is_retried_by_the_sweep(server, clip, tmp_path, job):
    server.fail_next_on("delete", 10, 500)  # both deletes, each tried 5 times
    result = _dub(server, clip, tmp_path, job)
    assert all(o["cloned"] for o in result.report["cloning"].values())
    assert len(server.voices) == 2
    left = ClonedVoice.objects.filter(job=job, deleted_at__isnull=True)
    assert left.count() == 2 and all(r.delete_attempts == 1 and "HTTP 500" in r.last_error for r in left)
    # The job has ended (its worker no longer holds it): the sweep may delete its clones, but
    # not before each one's retry time.
    job.status = JobStatus.SUCCEEDED
    job.save(update_fields=["status"])
    assert call_command_output("sweep_cloned_voices") == "deleted=0 failed=0 pending=2"
    ClonedVoice.objects.update(retry_at=timezone.now())
    assert call_command_output("sweep_cloned_voices") == "deleted=2 failed=0 pending=0"
    assert server.voices == {}


def test_the_sweep_spares_a_running_jobs_clones_and_finds_a_crashs_clone_by_name(server, tmp_path, job):
    tts = build_tts("elevenlabs", _config(server))
    in_use = tts.clone_voice(_reference(tmp_path), name="onevoice-live")
    ClonedVoice.objects.create(provider="elevenlabs", name="onevoice-live", voice_id=in_use, job=job,
                               claim_token=job.claim_token)
    # A crash between the provider's answer and the row's update: only the name was written.
    crashed = DubbingJobFactory(status=JobStatus.QUEUED)
    orphan = tts.clone_voice(_reference(tmp_path), name="onevoice-crashed-speaker_2")
    ClonedVoice.objects.create(provider="elevenlabs", name="onevoice-crashed-speaker_2", job=crashed,
                               claim_token=uuid.uuid4())
    assert call_command_output("sweep_cloned_voices") == "deleted=1 failed=0 pending=1"
    assert set(server.voices) == {in_use} and orphan not in server.voices
    # Once the running job's heartbeat is stale (its worker died), its clones go too.
    job.heartbeat_at = timezone.now() - timezone.timedelta(hours=1)
    job.save(update_fields=["heartbeat_at"])
    assert call_command_output("sweep_cloned_voices") == "deleted=1 failed=0 pending=0"
    assert server.voices == {}


def call_command_output(name: str) -> str:
    out = io.StringIO()
    call_command(name, stdout=out)
    return out.getvalue().strip()


def test_a_re_render_of_one_line_clones_only_its_speaker_again_from_the_kept_reference(
        server, clip, tmp_path, job):
    first = _dub(server, clip, tmp_path, job)
    line = next(seg for seg in first.segments if seg.speaker == "speaker_2")
    before = len(server.requests)
    audio, subtitles = clip
    options = DubOptions(target_language="es", source_language="en", background="drop", voice_cloning=True,
                         voice_cloning_consent=True, source_subtitles=subtitles)
    ledger = JobCloneLedger(job_id=job.id, claim_token=job.claim_token, provider="elevenlabs")
    run_dub(audio, options, workspace=tmp_path / "ws", engines=build_engines(options, _config(server)),
            clone_ledger=ledger, target_overrides={line.id: "Una línea nueva para Ben."})
    again = server.requests[before:]
    assert [r["kind"] for r in again].count("add") == 1  # only speaker_2's clone, for its one changed line
    assert [r["json"].get("text") for r in again if r["kind"] == "tts"] == ["Una línea nueva para Ben."]
    # The same sample as the first run's clone of that speaker: the reference was kept, not cut again.
    added = [r for r in server.requests if r["kind"] == "add" and "speaker_2" in r["fields"]["name"]]
    assert len(added) == 2 and added[0]["samples"] == added[1]["samples"]
    assert ClonedVoice.objects.filter(job=job).count() == 3
    assert server.voices == {}
    assert not ClonedVoice.objects.filter(job=job, deleted_at__isnull=True).exists()
