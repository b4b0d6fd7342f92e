"""A loopback server speaking ElevenLabs' speech-to-text, text-to-speech and instant voice
cloning wire protocols, for tests and benchmarks.

`POST /v1/speech-to-text` (multipart: `model_id`, `file`, `language_code`, `diarize`,
`timestamps_granularity`; key in the `xi-api-key` header) is answered as Scribe answers: JSON with
`language_code` (ISO 639-3), `language_probability`, `text` and `words` (`word` and `spacing`
entries with `start`, `end`, `speaker_id`, `logprob`). The work is real: the upload is recognised
by the project's offline Whisper and, with `diarize`, its lines are given speakers by the
project's offline speaker clustering.

Speech: `POST /v1/text-to-speech/{voice_id}` (JSON `text`, `model_id`; `output_format` in the
query) answers MP3 spoken by espeak-ng in a variant chosen by the voice id; a voice id that is
neither premade (`premade`) nor added is 404 `voice_not_found`. Cloning: `POST /v1/voices/add`
(multipart `name`, `files`, `description`, ...) keeps the voice in `voices` (id -> name, the
samples' bytes) and answers `{"voice_id", "requires_verification": false}`; a sample that is not
audio is refused with 400; `DELETE /v1/voices/{voice_id}` removes it (404 when unknown);
`GET /v2/voices?search=` lists the added voices whose name contains the search.

Tests steer it: `fail_next(n, status)`, `rate_limit_next(n)` (429 with Retry-After: 0),
`malformed_next(n)` (a 200 whose body is not Scribe's), each for the next requests of any kind;
`fail_next_on(kind, n, status)` for one kind only ("stt", "tts", "add", "delete", "search"; a
4xx on "add" is a refused clone); and read `requests` (one dict per request: method, path,
headers and form fields or JSON, the SHA-256 of each sample added) and `counts`.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
import threading
import uuid
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

VARIANTS = ("m3", "f4", "m1", "f2", "m7", "f5")
PREMADE = ("21m00Tcm4TlvDq8ikWAM", "pNInz6obpgDQGcFmaJgB")
ISO3 = {"en": "eng", "es": "spa", "ko": "kor", "de": "deu", "fr": "fra", "ja": "jpn", "pt": "por"}


class ElevenLabsServer:
    def __init__(self, api_key: str = "test-eleven-key", premade: tuple[str, ...] = PREMADE) -> None:
        self.api_key = api_key
        self.premade = set(premade)
        self.voices: dict[str, dict] = {}  # voice id -> {"name", "samples"}: the clones the account holds
        self._kind_faults: dict[str, list[int]] = {}
        self._faults: list[str | int] = []
        self._lock = threading.Lock()
        self.requests: list[dict] = []
        self.counts = 0
        self._recognize_lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def fail_next(self, n: int, status: int = 500) -> None:
        with self._lock:
            self._faults += [status] * n

    def rate_limit_next(self, n: int) -> None:
        self.fail_next(n, 429)

    def malformed_next(self, n: int) -> None:
        with self._lock:
            self._faults += ["malformed"] * n

    def fail_next_on(self, kind: str, n: int, status: int = 500) -> None:
        with self._lock:
            self._kind_faults.setdefault(kind, []).extend([status] * n)

    @staticmethod
    def _kind(method: str, path: str) -> str:
        if path == "/v1/speech-to-text":
            return "stt"
        if path.startswith("/v1/text-to-speech/"):
            return "tts"
        if path == "/v1/voices/add":
            return "add"
        if method == "DELETE" and path.startswith("/v1/voices/"):
            return "delete"
        if method == "GET" and path == "/v2/voices":
            return "search"
        return ""

    def handle(self, request: _Handler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length)
        path, _, query = request.path.partition("?")
        kind = self._kind(request.command, path)
        content_type = request.headers.get("Content-Type", "")
        fields = _multipart(content_type, body) if content_type.startswith("multipart/") else {}
        data = json.loads(body) if body and content_type.startswith("application/json") else {}
        with self._lock:
            self.counts += 1
            self.requests.append({"method": request.command, "path": path, "query": query, "kind": kind,
                                  "headers": dict(request.headers), "json": data,
                                  "fields": {k: v for k, v in fields.items() if k not in ("file", "files")},
                                  "samples": [hashlib.sha256(b).hexdigest() for b in fields.get("files", [])]})
            queue = self._kind_faults.get(kind)
            fault = queue.pop(0) if queue else (self._faults.pop(0) if self._faults else None)
        if not kind:
            return _json(request, 404, {"detail": {"status": "not_found", "message": "Not found"}})
        if request.headers.get("xi-api-key") != self.api_key:
            return _json(request, 401, {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}})
        if fault == "malformed":
            return _json(request, 200, {"unexpected": True, "words": "not a list"})
        if fault is not None:
            headers = {"retry-after": "0"} if fault == 429 else {}
            status_name = {429: "too_many_concurrent_requests", 400: "voice_not_allowed"}.get(fault, "internal_error")
            return _json(request, int(fault), {"detail": {"status": status_name, "message": "try again"
                                                          if fault == 429 or fault >= 500 else "refused"}}, headers)
        if kind != "stt":
            return self._voices_api(request, kind, path, query, fields, data)
        if "file" not in fields or not fields.get("model_id"):
            return _json(request, 422, {"detail": [{"loc": ["body", "file"], "msg": "field required"}]})
        language = fields.get("language_code") or "auto"
        diarize = str(fields.get("diarize", "false")).lower() == "true"
        _json(request, 200, self._scribe(fields["file"], language.decode() if isinstance(language, bytes)
                                         else language, diarize))

    def _voices_api(self, request, kind: str, path: str, query: str, fields: dict, data: dict) -> None:
        from urllib.parse import parse_qs

        if kind == "tts":
            voice_id = path.rsplit("/", 1)[1]
            if voice_id not in self.premade and voice_id not in self.voices:
                return _json(request, 404, {"detail": {"status": "voice_not_found", "message": "Voice not found"}})
            if not data.get("text"):
                return _json(request, 422, {"detail": [{"loc": ["body", "text"], "msg": "field required"}]})
            return _send(request, 200, _speak(data["text"], voice_id), "audio/mpeg")
        if kind == "add":
            samples = fields.get("files") or []
            if not fields.get("name") or not samples:
                return _json(request, 422, {"detail": [{"loc": ["body", "files"], "msg": "field required"}]})
            if any(_seconds(sample) <= 0 for sample in samples):
                return _json(request, 400, {"detail": {"status": "invalid_audio", "message": "The sample is not audio"}})
            voice_id = uuid.uuid4().hex[:20]
            with self._lock:
                self.voices[voice_id] = {"name": fields["name"], "samples": samples}
            return _json(request, 200, {"voice_id": voice_id, "requires_verification": False})
        if kind == "delete":
            voice_id = path.rsplit("/", 1)[1]
            with self._lock:
                gone = self.voices.pop(voice_id, None)
            if gone is None:
                return _json(request, 404, {"detail": {"status": "voice_not_found", "message": "Voice not found"}})
            return _json(request, 200, {"status": "ok"})
        search = (parse_qs(query).get("search") or [""])[0]
        with self._lock:
            found = [{"voice_id": vid, "name": v["name"], "category": "cloned"} for vid, v in self.voices.items()
                     if search in v["name"]]
        return _json(request, 200, {"voices": found, "has_more": False, "total_count": len(found),
                                    "next_page_token": None})

    def _scribe(self, upload: bytes, language: str, diarize: bool) -> dict:
        from dubbing.engines.asr.whisper import WhisperASR
        from dubbing.engine_config import model_dir
        from dubbing.engines.speakers import speaker_labels

        with tempfile.TemporaryDirectory(prefix="scribe-") as tmp:
            wav = Path(tmp) / "upload.wav"
            from testing.speech_clips import wav16k

            source = Path(tmp) / "upload.bin"
            source.write_bytes(upload)
            wav16k(source, wav)
            with self._recognize_lock:
                transcript = WhisperASR(model_dir(), threads=1).transcribe(wav, language)
                spans = [(s.start, s.end) for s in transcript.segments]
                speakers = speaker_labels(wav, spans) if diarize else ["speaker_0"] * len(spans)
        words: list[dict] = []
        for segment, speaker in zip(transcript.segments, speakers):
            speaker_id = f"speaker_{int(speaker.rsplit('_', 1)[1]) - 1}" if diarize else "speaker_0"
            for w in segment.words:
                if words:
                    words.append({"text": " ", "start": words[-1]["end"], "end": w.start, "type": "spacing",
                                  "speaker_id": speaker_id, "logprob": 0.0})
                words.append({"text": w.text, "start": w.start, "end": w.end, "type": "word",
                              "speaker_id": speaker_id, "logprob": -0.05})
        return {"language_code": ISO3.get(transcript.language, transcript.language), "language_probability": 0.97,
                "text": " ".join(s.text for s in transcript.segments), "words": words,
                "transcription_id": "tr_loopback"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.server.owner.handle(self)  # type: ignore[attr-defined]

    do_GET = do_DELETE = do_POST

    def log_message(self, format: str, *args) -> None:
        return


def _json(request: BaseHTTPRequestHandler, status: int, data: dict, headers: dict | None = None) -> None:
    body = json.dumps(data).encode()
    request.send_response(status)
    request.send_header("Content-Type", "application/json")
    request.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        request.send_header(name, value)
    request.end_headers()
    request.wfile.write(body)


def _multipart(content_type: str, body: bytes) -> dict:
    """The form's fields: text, except `file` (bytes) and `files` (a list of bytes)."""
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    fields: dict = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if name == "files":
            fields.setdefault("files", []).append(payload)
        else:
            fields[name] = payload if name == "file" else payload.decode()
    return fields


def _send(request: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str) -> None:
    request.send_response(status)
    request.send_header("Content-Type", content_type)
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


def _speak(text: str, voice_id: str) -> bytes:
    variant = VARIANTS[int(hashlib.sha256(voice_id.encode()).hexdigest(), 16) % len(VARIANTS)]
    with tempfile.TemporaryDirectory(prefix="eleven-") as tmp:
        wav, mp3 = Path(tmp) / "a.wav", Path(tmp) / "a.mp3"
        subprocess.run(["espeak-ng", "-v", f"en+{variant}", "-w", str(wav), text], check=True)
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(wav), str(mp3)], check=True)
        return mp3.read_bytes()


def _seconds(audio: bytes) -> float:
    """How long `audio` plays, as ffprobe reads it (0 when it cannot)."""
    with tempfile.NamedTemporaryFile(prefix="eleven-sample-") as f:
        f.write(audio)
        f.flush()
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                                f.name], capture_output=True, text=True)
    try:
        return float(probe.stdout.strip())
    except ValueError:
        return 0.0
