"""A loopback server speaking OpenAI's wire protocol, for tests and benchmarks.

It does the work for real, with the local tools, so tests check real output and not canned text:
- `POST /v1/audio/transcriptions` (multipart): the upload is decoded by ffmpeg and recognised
  by the project's offline Whisper recognizer (English); answers `verbose_json` with words and segments like whisper-1.
  Uploads over 25 MB are refused with 413 and OpenAI's error JSON, as the real API does.
- `POST /v1/chat/completions`: answers OneVoice's JSON-keyed requests (`task` translate or
  shorten); translations come from `apertium -u` (eng-spa, spa-eng), English<->Korean from the
  phrasebook of the sentences the Korean tests speak (testing/phrasebook.py: nothing offline
  translates Korean), shortening drops words. `wrap_next_chat(n, style)` answers the way local
  models served through OpenAI-compatible servers often do: the JSON in a Markdown fence
  ("fence") or after a reasoning block ("think").
- `POST /v1/audio/speech`: espeak-ng speaks the input; WAV (or PCM) back.

Tests steer it: `latency` (the least time to answer a request, work included),
`fail_next(n, status)`, `rate_limit_next(n, retry_after)` (429 with Retry-After in seconds or as
an HTTP date), `drop_next(n)` (connection closed unanswered), `omit_id_next_chat(n)`; and read
what it saw: `counts` (requests received per endpoint, failures included), `served` (answered
200), `log` (one record per request with server-side timestamps), `upload_sizes`,
`speech_texts`, `chat_ids` (the ids each chat request asked for) and `chat_tasks` (each chat
request's JSON task).
"""

from __future__ import annotations

import email.utils
import json
import math
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from testing import phrasebook
from testing.waiting import wait_until

UPLOAD_LIMIT = 25 * 1024 * 1024
ENDPOINTS = {
    "/v1/audio/transcriptions": "transcriptions",
    "/v1/chat/completions": "chat",
    "/v1/audio/speech": "speech",
}
_APERTIUM_PAIRS = {("en", "es"): "eng-spa", ("es", "en"): "spa-eng", ("en", "ca"): "eng-cat", ("en", "gl"): "en-gl"}
_ESPEAK_LANGUAGE_BY_NAME = {
    "english": "en", "spanish": "es", "korean": "ko", "french": "fr", "german": "de",
    "italian": "it", "portuguese": "pt", "japanese": "ja", "chinese": "cmn",
}


@dataclass
class Fault:
    status: int
    endpoint: str | None
    retry_after: float | None = None
    as_date: bool = False


@dataclass
class RequestRecord:
    endpoint: str
    received_at: float
    status: int = 0
    responding_at: float = 0.0  # just before the answer is written (the client cannot have it sooner)
    answered_at: float = 0.0  # once it is written
    upload_bytes: int = 0
    task: str | None = None
    ids: list[str] = field(default_factory=list)
    text: str | None = None
    voice: str | None = None
    retry_after: float | None = None
    delayed: bool = False  # answered no sooner than `latency` after it arrived


class OpenAIServer:
    def __init__(self, *, latency: float = 0.0, api_key: str | None = None,
                 max_upload_bytes: int = UPLOAD_LIMIT) -> None:
        self.latency = latency
        self.api_key = api_key  # None: any bearer token is accepted, a missing one is not
        self.max_upload_bytes = max_upload_bytes
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._omit_ids = 0
        self._recognizer_lock = threading.Lock()
        self.reset()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.app = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> OpenAIServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="openai-server",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- steering -----------------------------------------------------------------------------

    def wait_until_idle(self, timeout: float = 30.0) -> None:
        """Until every request the server took has been answered (or found its client gone)."""
        wait_until(lambda: all(r.answered_at for r in self.log), timeout=timeout,
                   what="the loopback server to answer every request it has in hand")

    def reset(self) -> None:
        with self._lock:
            self._faults = []
            self._omit_ids = 0
            self._wraps: list[str] = []
            self.counts: Counter[str] = Counter()
            self.served: Counter[str] = Counter()
            self.log: list[RequestRecord] = []
            self.upload_sizes: list[int] = []
            self.speech_texts: list[str] = []
            self.chat_ids: list[list[str]] = []
            self.chat_tasks: list[dict] = []

    def fail_next(self, n: int, status: int = 500, *, endpoint: str | None = None) -> None:
        with self._lock:
            self._faults += [Fault(status, endpoint) for _ in range(n)]

    def rate_limit_next(self, n: int, retry_after: float = 0.1, *, endpoint: str | None = None,
                        as_date: bool = False) -> None:
        with self._lock:
            self._faults += [Fault(429, endpoint, retry_after, as_date) for _ in range(n)]

    def drop_next(self, n: int, *, endpoint: str | None = None) -> None:
        """The next `n` requests get no answer: the connection is closed (a network error)."""
        with self._lock:
            self._faults += [Fault(0, endpoint) for _ in range(n)]

    def omit_id_next_chat(self, n: int = 1) -> None:
        """The next `n` chat answers leave out the last id they were asked for."""
        with self._lock:
            self._omit_ids += n

    def wrap_next_chat(self, n: int = 1, style: str = "fence") -> None:
        """The next `n` chat answers put their JSON in a Markdown fence ("fence") or after a
        reasoning block ("think"), as local models often answer."""
        with self._lock:
            self._wraps += [style] * n

    def records(self, endpoint: str) -> list[RequestRecord]:
        with self._lock:
            return [r for r in self.log if r.endpoint == endpoint]

    # -- handling -----------------------------------------------------------------------------

    def handle(self, request: _Handler) -> None:
        record = RequestRecord(endpoint="?", received_at=time.monotonic())
        path = request.path.split("?", 1)[0]
        endpoint = ENDPOINTS.get(path)
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        record.upload_bytes = length
        if endpoint is None:
            return self._error(request, record, 404, f"Invalid URL (POST {path})",
                               "invalid_request_error", code="unknown_url")
        record.endpoint = endpoint
        with self._lock:
            self.counts[endpoint] += 1
            self.log.append(record)
            if endpoint == "transcriptions":
                self.upload_sizes.append(length)
        token = (request.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        if not token or (self.api_key is not None and token != self.api_key):
            return self._error(request, record, 401, "Incorrect API key provided.",
                               "invalid_request_error", code="invalid_api_key")
        fault = self._take_fault(endpoint)
        if fault is not None:
            if fault.status == 0:
                return self._hang_up(request, record)
            if fault.status == 429:
                record.retry_after = fault.retry_after
                return self._rate_limited(request, record, fault)
            return self._error(request, record, fault.status,
                               "The server had an error while processing your request.",
                               "server_error")
        record.delayed = True
        try:
            if endpoint == "transcriptions":
                self._transcriptions(request, record, body)
            elif endpoint == "chat":
                self._chat(request, record, body)
            else:
                self._speech(request, record, body)
        except _BadRequest as exc:
            self._error(request, record, exc.status, str(exc), "invalid_request_error")
        except Exception as exc:  # a bug here must show as a 500, not as a dropped connection
            self._error(request, record, 500, f"Loopback server error: {exc!r}", "server_error")

    def _take_fault(self, endpoint: str) -> Fault | None:
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.endpoint in (None, endpoint):
                    return self._faults.pop(index)
        return None

    def _transcriptions(self, request, record: RequestRecord, body: bytes) -> None:
        if len(body) > self.max_upload_bytes:
            raise _BadRequest(
                f"Maximum content size limit ({self.max_upload_bytes}) exceeded "
                f"({len(body)} bytes read)", status=413)
        fields = _multipart(request.headers.get("Content-Type", ""), body)
        upload = (fields.get("file") or [None])[0]
        if upload is None:
            raise _BadRequest("Missing required parameter: 'file'.")
        model = _first(fields, "model")
        if not model:
            raise _BadRequest("Missing required parameter: 'model'.")
        response_format = _first(fields, "response_format") or "json"
        granularities = [g.decode() for g in fields.get("timestamp_granularities[]", [])]
        if granularities and response_format != "verbose_json":
            raise _BadRequest("timestamp_granularities requires response_format=verbose_json")
        language = _first(fields, "language")
        pcm = _decode_to_pcm(upload)
        duration = len(pcm) / 32000
        words, segments = self._recognize(pcm)
        text = " ".join(w["word"] for w in words)
        if response_format == "text":
            return self._send(request, record, 200, text.encode(), "text/plain; charset=utf-8")
        if response_format == "json":
            return self._json(request, record, 200, {"text": text})
        if response_format != "verbose_json":
            raise _BadRequest(f"response_format {response_format!r} is not supported here.")
        answer = {
            "task": "transcribe",
            "language": _LANGUAGE_NAMES.get(language or "en", language or "english"),
            "duration": round(duration, 3),
            "text": text,
            "segments": segments if (not granularities or "segment" in granularities) else [],
        }
        if "word" in granularities:
            answer["words"] = words
        self._json(request, record, 200, answer)

    def _recognize(self, pcm: bytes) -> tuple[list[dict], list[dict]]:
        """The project's own offline recognizer (Whisper base, English) on the decoded upload, in
        this process; recognitions take turns."""
        import soundfile as sf

        from dubbing.engines.asr.whisper import WhisperASR
        from dubbing.engine_config import model_dir

        with tempfile.TemporaryDirectory(prefix="openai-asr-") as tmp:
            wav = Path(tmp) / "upload.wav"
            sf.write(str(wav), np.frombuffer(pcm, dtype="<i2"), 16000, subtype="PCM_16")
            with self._recognizer_lock:
                transcript = WhisperASR(model_dir(), threads=1).transcribe(wav, "en")
        words: list[dict] = []
        segments: list[dict] = []
        for segment in transcript.segments:
            # whisper-1's words carry no punctuation (its segments' text does).
            found = [{"word": re.sub(r"^[^\w']+|[^\w']+$", "", w.text), "start": round(w.start, 3),
                      "end": round(w.end, 3)} for w in segment.words]
            if not found:
                continue
            words += found
            logprobs = [math.log(max(w.confidence, 1e-6)) for w in segment.words]
            segments.append({
                "id": len(segments), "seek": 0,
                "start": round(segment.start, 3), "end": round(segment.end, 3),
                "text": " " + segment.text,
                "tokens": [], "temperature": 0.0,
                "avg_logprob": round(sum(logprobs) / len(logprobs), 4),
                "compression_ratio": 1.0, "no_speech_prob": 0.0,
            })
        return words, segments

    def _chat(self, request, record: RequestRecord, body: bytes) -> None:
        payload = _json_body(body)
        messages = payload.get("messages")
        if not payload.get("model") or not isinstance(messages, list) or not messages:
            raise _BadRequest("'model' and 'messages' are required.")
        user = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        try:
            task = json.loads(user[-1]["content"])
            lines = task["lines"]
            ids = [line["id"] for line in lines]
        except (IndexError, KeyError, TypeError, ValueError) as exc:
            raise _BadRequest("This test server answers OneVoice's JSON requests only.") from exc
        record.task, record.ids = task.get("task"), ids
        with self._lock:
            self.chat_ids.append(ids)
            self.chat_tasks.append(task)
        texts = [str(line["text"]) for line in lines]
        if task.get("task") == "translate":
            # Like a model that overlooks the glossary until a rule for the line says it must
            # be used: ruled lines get the glossary's terms (protected through apertium).
            rules, glossary = task.get("rules") or {}, task.get("glossary") or {}
            masked, placeholders = [], []
            for line_id, text in zip(ids, texts):
                swaps = {}
                if line_id in rules:
                    for term, wanted in glossary.items():
                        token = f"Zgl{len(swaps)}z"
                        text, n = re.subn(rf"(?<!\w){re.escape(term)}(?!\w)", token, text, flags=re.IGNORECASE)
                        if n:
                            swaps[token] = wanted
                masked.append(text)
                placeholders.append(swaps)
            source, target = task.get("source_language", "en"), task.get("target_language", "es")
            if "ko" in (source, target):
                try:
                    results = phrasebook.translate(masked, source, target)
                except ValueError as exc:
                    raise _BadRequest(str(exc)) from exc
            else:
                results = _apertium(masked, source, target)
            for i, swaps in enumerate(placeholders):
                for token, wanted in swaps.items():
                    results[i] = re.sub(token, wanted, results[i], flags=re.IGNORECASE)
        elif task.get("task") == "shorten":
            results = [_shorter(t, line.get("max_characters")) for t, line in zip(texts, lines)]
        else:
            raise _BadRequest(f"Unknown task {task.get('task')!r}.")
        answer = dict(zip(ids, results))
        with self._lock:
            omit = self._omit_ids > 0 and len(ids) > 0
            if omit:
                self._omit_ids -= 1
        if omit:
            answer.pop(ids[-1])
        content = json.dumps(answer, ensure_ascii=False)
        with self._lock:
            wrap = self._wraps.pop(0) if self._wraps else None
        if wrap == "fence":
            content = f"Here are the lines:\n```json\n{content}\n```"
        elif wrap == "think":
            content = f"<think>The user wants JSON keyed by id {{like this}}.</think>\n{content}"
        self._json(request, record, 200, {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": payload["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "logprobs": None, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": len(body) // 4, "completion_tokens": len(content) // 4,
                      "total_tokens": (len(body) + len(content)) // 4},
        })

    def _speech(self, request, record: RequestRecord, body: bytes) -> None:
        payload = _json_body(body)
        text = payload.get("input")
        if not payload.get("model") or not payload.get("voice"):
            raise _BadRequest("'model' and 'voice' are required.")
        if not isinstance(text, str) or not text.strip():
            raise _BadRequest("'input' must be a non-empty string.")
        if len(text) > 4096:
            raise _BadRequest("'input' is longer than 4096 characters.")
        response_format = payload.get("response_format", "mp3")
        language = "en"
        match = re.search(r"Speak in ([A-Za-z ]+?)[,.]", payload.get("instructions") or "")
        if match:
            language = _ESPEAK_LANGUAGE_BY_NAME.get(match.group(1).strip().lower(), "en")
        record.text, record.voice = text, payload["voice"]
        audio = _espeak(text, language, response_format)
        with self._lock:
            self.speech_texts.append(text)
        content_type = {"wav": "audio/wav", "pcm": "audio/pcm", "mp3": "audio/mpeg",
                        "flac": "audio/flac", "opus": "audio/ogg"}.get(response_format, "audio/wav")
        self._send(request, record, 200, audio, content_type)

    # -- answers ------------------------------------------------------------------------------

    def _rate_limited(self, request, record: RequestRecord, fault: Fault) -> None:
        retry_after = fault.retry_after or 0.0
        if fault.as_date:
            header = email.utils.formatdate(time.time() + retry_after, usegmt=True)
        elif float(retry_after).is_integer():
            header = str(int(retry_after))
        else:
            header = f"{retry_after:g}"
        body = {"error": {"message": "Rate limit reached for requests. Please try again later.",
                          "type": "requests", "param": None, "code": "rate_limit_exceeded"}}
        self._send(request, record, 429, json.dumps(body).encode(), "application/json",
                   headers={"Retry-After": header})

    def _hang_up(self, request, record: RequestRecord) -> None:
        request.close_connection = True
        with self._lock:
            record.responding_at = record.answered_at = time.monotonic()
        try:
            request.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _error(self, request, record, status: int, message: str, kind: str, *, code=None) -> None:
        body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
        self._send(request, record, status, json.dumps(body).encode(), "application/json")

    def _json(self, request, record, status: int, data: dict) -> None:
        self._send(request, record, status, json.dumps(data, ensure_ascii=False).encode(),
                   "application/json")

    def _send(self, request, record: RequestRecord, status: int, body: bytes, content_type: str,
              headers: dict | None = None) -> None:
        if record.delayed:
            # Latency is the time to answer, work included (as a remote API's would be).
            remaining = self.latency - (time.monotonic() - record.received_at)
            if remaining > 0:
                time.sleep(remaining)
        record.responding_at = time.monotonic()
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        request.send_header("x-request-id", f"req_{uuid.uuid4().hex[:16]}")
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.end_headers()
        try:
            request.wfile.write(body)
            request.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            status = 499  # the client went away (e.g. killed) before the answer arrived
        with self._lock:
            record.status = status
            record.answered_at = time.monotonic()
            if status == 200:
                self.served[record.endpoint] += 1


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "OneVoiceOpenAILoopback/1"

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.app.handle(self)  # type: ignore[attr-defined]

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass


class _BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


_LANGUAGE_NAMES = {"en": "english", "es": "spanish", "ko": "korean", "fr": "french"}


def _first(fields: dict[str, list[bytes]], name: str) -> str | None:
    values = fields.get(name)
    return values[0].decode() if values else None


def _multipart(content_type: str, body: bytes) -> dict[str, list[bytes]]:
    if not content_type.startswith("multipart/form-data"):
        raise _BadRequest("The request must be multipart/form-data.")
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    fields: dict[str, list[bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            fields.setdefault(name, []).append(part.get_payload(decode=True) or b"")
    return fields


def _json_body(body: bytes) -> dict:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise _BadRequest("The body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise _BadRequest("The body must be a JSON object.")
    return data


def _decode_to_pcm(upload: bytes) -> bytes:
    with tempfile.NamedTemporaryFile(suffix=".upload") as source:
        source.write(upload)
        source.flush()
        result = subprocess.run(
            ["ffmpeg", "-v", "error", "-i", source.name, "-vn", "-ac", "1", "-ar", "16000",
             "-f", "s16le", "pipe:1"],
            capture_output=True,
        )
    if result.returncode != 0 or not result.stdout:
        raise _BadRequest("Audio file might be corrupted or unsupported.")
    return result.stdout


def _apertium(texts: list[str], source: str, target: str) -> list[str]:
    pair = _APERTIUM_PAIRS.get((source.split("-")[0], target.split("-")[0]))
    if pair is None or shutil.which("apertium") is None:
        raise _BadRequest(f"This test server cannot translate {source} to {target}.")
    flat = [" ".join(t.split()) for t in texts]
    result = subprocess.run(["apertium", "-u", pair], input="\n".join(flat) + "\n",
                            capture_output=True, text=True)
    out = result.stdout.rstrip("\n").split("\n")
    if result.returncode == 0 and len(out) == len(flat):
        return [line.strip() or original for line, original in zip(out, flat)]
    # A line apertium merged or split: translate one by one instead.
    return [
        subprocess.run(["apertium", "-u", pair], input=t + "\n", capture_output=True,
                       text=True).stdout.strip() or t
        for t in flat
    ]


def _shorter(text: str, max_characters) -> str:
    words = text.split()
    keep = max(1, math.ceil(len(words) * 0.7)) if len(words) > 1 else 1
    words = words[:keep]
    if isinstance(max_characters, int):
        while len(words) > 1 and len(" ".join(words)) > max_characters:
            words.pop()
    return " ".join(words)


def _espeak(text: str, language: str, response_format: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="openai-speech-") as tmp:
        wav = Path(tmp) / "speech.wav"
        result = subprocess.run(["espeak-ng", "-v", language, "-w", str(wav), "--", text],
                                capture_output=True)
        if result.returncode != 0 or not wav.exists():
            raise _BadRequest(f"espeak-ng failed: {result.stderr.decode(errors='replace')[:200]}")
        if response_format == "wav":
            return wav.read_bytes()
        codec = {"pcm": ["-f", "s16le", "-ar", "24000", "-ac", "1"],
                 "mp3": ["-f", "mp3"], "flac": ["-f", "flac"],
                 "opus": ["-c:a", "libopus", "-f", "ogg"]}.get(response_format)
        if codec is None:
            raise _BadRequest(f"response_format {response_format!r} is not supported.")
        converted = subprocess.run(["ffmpeg", "-v", "error", "-i", str(wav), *codec, "pipe:1"],
                                   capture_output=True)
        return converted.stdout
