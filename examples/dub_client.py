#!/usr/bin/env python3
"""A OneVoice API client in one file: upload a video, dub it into several languages with one
request (retry-safe with an Idempotency-Key), get told when each dub is done by a signed
webhook on a local port, and download the outputs.

    python examples/dub_client.py speech_en.mp4 --targets es,ca --source en \\
        --api http://127.0.0.1:8000/api/v1 --email demo@onevoice.local --password onevoice-demo

Running it again with the same file and languages reuses the upload and the same idempotency
key: the server answers the first request again and charges nothing more.

The receiver listens on 127.0.0.1, which a production server refuses to call (webhooks go to
public https addresses only): against one, pass --webhook-url with a public https address that
forwards to --port (a tunnel). A local server started with WEBHOOKS_ALLOW_PRIVATE=1 calls it
directly.

Webhooks follow the Standard Webhooks scheme: the signature is checked with the endpoint's
secret, a timestamp more than 5 minutes away is refused (a replayed delivery), and a delivery
seen before (the same webhook-id) is acknowledged and ignored.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

TOLERANCE_SECONDS = 5 * 60
FINAL = {"succeeded", "failed", "cancelled"}
JOB_EVENTS = ["job.succeeded", "job.failed", "job.cancelled"]
DOWNLOADS = ("dubbed_video", "dubbed_audio", "subtitles_target_srt")


class SignatureError(Exception):
    pass


def verify(secret: str, headers, body: bytes, *, now: float | None = None) -> dict:
    """The event, if `body` was signed with `secret` less than 5 minutes ago; else SignatureError."""
    try:
        msg_id, timestamp = headers["webhook-id"], int(headers["webhook-timestamp"])
        signatures = headers["webhook-signature"]
    except (KeyError, TypeError, ValueError):
        raise SignatureError("missing or malformed webhook headers") from None
    if abs((now if now is not None else time.time()) - timestamp) > TOLERANCE_SECONDS:
        raise SignatureError("timestamp outside the 5-minute tolerance (replayed?)")
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for signature in signatures.split():
        version, _, value = signature.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return json.loads(body)
    raise SignatureError("no valid signature")


class Receiver:
    """Webhooks on 127.0.0.1:port: verified, deduplicated by webhook-id, kept by job id."""

    def __init__(self, port: int = 0):
        self.secret = ""
        self.events: dict[str, dict] = {}  # job id -> its last event
        self.seen: set[str] = set()
        self.rejected = 0
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                try:
                    event = verify(receiver.secret, self.headers, body)
                except SignatureError as exc:
                    with receiver._cond:
                        receiver.rejected += 1
                    self._answer(400, str(exc))
                    return
                with receiver._cond:
                    if self.headers["webhook-id"] not in receiver.seen:  # at least once: dedupe
                        receiver.seen.add(self.headers["webhook-id"])
                        job = (event.get("data") or {}).get("id")
                        if job:
                            receiver.events[job] = event
                        receiver._cond.notify_all()
                self._answer(204, "")

            def _answer(self, status: int, text: str):
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/onevoice-webhook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, job_ids: set[str], timeout: float) -> dict[str, dict]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not job_ids <= set(self.events):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no webhook for {sorted(job_ids - set(self.events))}")
                self._cond.wait(left)
            return {job: self.events[job] for job in job_ids}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _check(response: httpx.Response) -> dict:
    if response.status_code >= 400:
        raise SystemExit(f"{response.request.method} {response.request.url}: {response.status_code} {response.text}")
    return response.json() if response.content else {}


def _upload_once(api: httpx.Client, source: Path, digest: str, state: dict, state_path: Path) -> str:
    """Upload once per file (kept in the state file: a rerun sends the same request again) and
    wait until the server has probed it."""
    video_id = state.get(digest)
    if not video_id or api.get(f"/videos/{video_id}").status_code != 200:
        with source.open("rb") as fh:
            video_id = _check(api.post("/videos", files={"file": (source.name, fh)},
                                       data={"title": source.stem}))["id"]
        state[digest] = video_id
        state_path.write_text(json.dumps(state))
    while (video := _check(api.get(f"/videos/{video_id}")))["status"] not in ("ready", "failed"):
        time.sleep(0.5)
    if video["status"] != "ready":
        raise SystemExit(f"The upload could not be processed: {video}")
    return video_id


def _start_jobs(api: httpx.Client, body: dict, key: str) -> tuple[list[dict], bool]:
    """One request for every language; the key makes a retry (or a rerun) safe."""
    for _attempt in range(30):
        answer = api.post("/jobs", json=body, headers={"Idempotency-Key": key})
        if answer.status_code != 409 or answer.json().get("code") != "idempotency_key_in_use":
            break
        time.sleep(1)  # the first request with this key is still running
    return _check(answer)["results"], answer.headers.get("Idempotent-Replayed") == "true"


def _download(api: httpx.Client, job: dict, out: Path, stem: str) -> list[str]:
    """The job's outputs, through fresh links from the job."""
    names = []
    for kind in DOWNLOADS:
        url = job["artifacts"].get(kind)
        if not url:
            continue
        with api.stream("GET", url) as response:
            response.raise_for_status()
            # The server names the file (speech_en.es.mp4); else the kind and language.
            served = response.headers.get("content-disposition", "").partition("filename=")[2].strip('"; ')
            name = out / (Path(served).name or f"{stem}.{job['target_language']}.{kind}")
            with name.open("wb") as fh:
                for chunk in response.iter_bytes():
                    fh.write(chunk)
        names.append(str(name))
        print(f"{job['target_language']}: {name}", file=sys.stderr)
    return names


def dub(args) -> dict:
    api = httpx.Client(base_url=args.api.rstrip("/"), timeout=120)
    token = _check(api.post("/auth/token", json={"email": args.email, "password": args.password}))["access"]
    api.headers["Authorization"] = f"Bearer {token}"
    source = Path(args.file)
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    state_path = out / ".dub_client.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    balance_before = _check(api.get("/me"))["credits"]

    receiver = Receiver(args.port)
    hook = _check(api.post("/webhooks", json={"url": args.webhook_url or receiver.url, "events": JOB_EVENTS}))
    receiver.secret = hook["secret"]
    try:
        video_id = _upload_once(api, source, digest, state, state_path)
        key = args.idempotency_key or f"dub-{digest}-{'-'.join(targets)}-{args.source}"
        jobs, replayed = _start_jobs(api, {"video_id": video_id, "target_languages": targets,
                                           "source_language": args.source, "background": args.background}, key)
        print(f"{'Replayed' if replayed else 'Started'} {len(jobs)} dub(s) with key {key}", file=sys.stderr)
        # Wait for the webhooks of the jobs that have not finished yet, then download.
        current = {job["id"]: _check(api.get(f"/jobs/{job['id']}")) for job in jobs}
        waiting = {job_id for job_id, job in current.items() if job["status"] not in FINAL}
        events = receiver.wait(waiting, args.timeout) if waiting else {}
        files = {}
        for job_id in current:
            current[job_id] = _check(api.get(f"/jobs/{job_id}"))
            names = _download(api, current[job_id], out, source.stem)
            if names:
                files[job_id] = names
        balance_after = _check(api.get("/me"))["credits"]
    finally:
        api.delete(f"/webhooks/{hook['id']}")
        receiver.close()
    return {"key": key, "replayed": replayed, "video_id": video_id, "jobs": current, "webhooks": events,
            "files": files, "rejected_webhooks": receiver.rejected, "charged": balance_before - balance_after}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file")
    parser.add_argument("--targets", default="es,ca", help="comma-separated target languages (up to 5)")
    parser.add_argument("--source", default="auto", help='the spoken language, or "auto"')
    parser.add_argument("--background", default="duck", choices=["duck", "keep", "drop"])
    parser.add_argument("--api", default="http://127.0.0.1:8000/api/v1")
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--idempotency-key", help="default: derived from the file, languages and source")
    parser.add_argument("--port", type=int, default=0, help="webhook receiver port on 127.0.0.1 (0: any free one)")
    parser.add_argument("--webhook-url", help="public https URL forwarding to --port (production servers)")
    parser.add_argument("--out", default="dubs")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait for the webhooks")
    result = dub(parser.parse_args(argv))
    print(json.dumps({"key": result["key"], "replayed": result["replayed"], "charged": result["charged"],
                      "jobs": {j["target_language"]: j["status"] for j in result["jobs"].values()},
                      "files": result["files"]}, indent=2))
    return result


if __name__ == "__main__":
    main()
