"""A loopback server speaking ElevenLabs' speech-to-text wire protocol, for tests and benchmarks.

`POST /v1/speech-to-text` (multipart: `model_id`, `file`, `language_code`, `diarize`,
`timestamps_granularity`; key in the `xi-api-key` header) is answered as Scribe answers: JSON with
`language_code` (ISO 639-3), `language_probability`, `text` and `words` (`word` and `spacing`
entries with `start`, `end`, `speaker_id`, `logprob`). The work is real: the upload is recognised
by the project's offline Whisper and, with `diarize`, its lines are given speakers by the
project's offline speaker clustering.

Tests steer it: `fail_next(n, status)`, `rate_limit_next(n)` (429 with Retry-After: 0),
`malformed_next(n)` (a 200 whose body is not Scribe's); and read `requests` (one dict per request:
headers and form fields) and `counts`.
"""

from __future__ import annotations

import json
import tempfile
import threading
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ISO3 = {"en": "eng", "es": "spa", "ko": "kor", "de": "deu", "fr": "fra", "ja": "jpn", "pt": "por"}


class ElevenLabsServer:
    def __init__(self, api_key: str = "test-eleven-key") -> None:
        self.api_key = api_key
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

    def handle(self, request: _Handler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length)
        fields = _multipart(request.headers.get("Content-Type", ""), body)
        with self._lock:
            self.counts += 1
            self.requests.append({"path": request.path.split("?")[0], "headers": dict(request.headers),
                                  "fields": {k: v for k, v in fields.items() if k != "file"}})
            fault = self._faults.pop(0) if self._faults else None
        if request.path.split("?")[0] != "/v1/speech-to-text":
            return _json(request, 404, {"detail": {"status": "not_found", "message": "Not found"}})
        if request.headers.get("xi-api-key") != self.api_key:
            return _json(request, 401, {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}})
        if fault == "malformed":
            return _json(request, 200, {"unexpected": True, "words": "not a list"})
        if fault is not None:
            headers = {"retry-after": "0"} if fault == 429 else {}
            status_name = "too_many_concurrent_requests" if fault == 429 else "internal_error"
            return _json(request, int(fault), {"detail": {"status": status_name, "message": "try again"}}, headers)
        if "file" not in fields or not fields.get("model_id"):
            return _json(request, 422, {"detail": [{"loc": ["body", "file"], "msg": "field required"}]})
        language = fields.get("language_code") or "auto"
        diarize = str(fields.get("diarize", "false")).lower() == "true"
        _json(request, 200, self._scribe(fields["file"], language.decode() if isinstance(language, bytes)
                                         else language, diarize))

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
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    fields: dict = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        fields[name] = payload if name == "file" else payload.decode()
    return fields
