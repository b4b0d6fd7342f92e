"""A loopback server speaking Fish Audio's TTS wire protocol, for tests and benchmarks.

`POST /v1/tts` with `Authorization: Bearer <key>`, a `model` header and a msgpack body (`text`,
`reference_id`, `format`, ...) is answered with the audio bytes in the asked format (mp3 by
default), spoken for real: espeak-ng reads the text, in a variant chosen by the reference id (so
two reference voices sound different), and ffmpeg encodes it. Zero-shot cloning as Fish takes
it: `references: [{audio: <bytes>, text: <transcript>}]` instead of a `reference_id`; the variant
is then chosen by the reference's audio, and a reference whose audio is not audio (ffprobe cannot
read it) or whose text is empty is refused with 400, as Fish refuses an unusable sample.

Tests steer it: `fail_next(n, status)`, `rate_limit_next(n)`, `malformed_next(n)` (a 200 whose
body is not audio), `refuse_references_with(text)` (400 for any reference whose transcript
contains `text`); and read `requests` (headers and the decoded msgpack body) and `counts`.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

VARIANTS = ("m3", "f4", "m1", "f2")


class FishAudioServer:
    def __init__(self, api_key: str = "test-fish-key") -> None:
        self.api_key = api_key
        self._faults: list[str | int] = []
        self._lock = threading.Lock()
        self.requests: list[dict] = []
        self.counts = 0
        self.refused_texts: list[str] = []
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

    def refuse_references_with(self, text: str) -> None:
        with self._lock:
            self.refused_texts.append(text)

    def _reference_fault(self, references) -> str | None:
        if not isinstance(references, list):
            return "references must be a list"
        for ref in references:
            if not isinstance(ref, dict) or not isinstance(ref.get("audio"), bytes) or not ref.get("text"):
                return "each reference needs audio bytes and its text"
            if any(t in ref["text"] for t in self.refused_texts):
                return "the reference audio was rejected"
            if _seconds(ref["audio"]) <= 0:
                return "the reference audio cannot be decoded"
        return None

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        import ormsgpack

        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        try:
            payload = ormsgpack.unpackb(body) if body else {}
        except ormsgpack.MsgpackDecodeError:
            payload = None
        with self._lock:
            self.counts += 1
            self.requests.append({"path": request.path, "headers": dict(request.headers), "body": payload})
            fault = self._faults.pop(0) if self._faults else None
        if request.path != "/v1/tts":
            return _send(request, 404, b'{"message": "Not Found"}', "application/json")
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _send(request, 401, b'{"status": 401, "message": "Invalid api key"}', "application/json")
        if fault == "malformed":
            return _send(request, 200, b"<html>not audio</html>", "audio/mpeg")
        if fault is not None:
            return _send(request, int(fault), json.dumps({"status": fault, "message": "try again"}).encode(),
                         "application/json")
        if not isinstance(payload, dict) or not payload.get("text"):
            return _send(request, 422, b'{"status": 422, "message": "text is required"}', "application/json")
        references = payload.get("references")
        voice = payload.get("reference_id")
        if references:
            problem = self._reference_fault(references)
            if problem:
                return _send(request, 400, json.dumps({"status": 400, "message": problem}).encode(),
                             "application/json")
            voice = hashlib.sha256(references[0]["audio"]).hexdigest()
        fmt = payload.get("format", "mp3")
        _send(request, 200, _speak(payload["text"], voice, fmt), f"audio/{fmt}")


def _speak(text: str, reference_id: str | None, fmt: str) -> bytes:
    variant = VARIANTS[sum(map(ord, reference_id or "")) % len(VARIANTS)]
    with tempfile.TemporaryDirectory(prefix="fish-") as tmp:
        wav = Path(tmp) / "a.wav"
        subprocess.run(["espeak-ng", "-v", f"en+{variant}", "-w", str(wav), text], check=True)
        if fmt == "wav":
            return wav.read_bytes()
        out = Path(tmp) / f"a.{fmt}"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(wav), str(out)], check=True)
        return out.read_bytes()


def _seconds(audio: bytes) -> float:
    """How long `audio` plays, as ffprobe reads it (0 when it cannot)."""
    with tempfile.NamedTemporaryFile(prefix="fish-ref-") as f:
        f.write(audio)
        f.flush()
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                                f.name], capture_output=True, text=True)
    try:
        return float(probe.stdout.strip())
    except ValueError:
        return 0.0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.server.owner.handle(self)  # type: ignore[attr-defined]

    def log_message(self, format: str, *args) -> None:
        return


def _send(request: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str) -> None:
    request.send_response(status)
    request.send_header("Content-Type", content_type)
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)
