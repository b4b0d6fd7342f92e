"""A loopback webhook receiver for tests and the benchmark: it records every delivery (headers,
body, arrival time) and answers as scripted: a status code, "hang" (answer nothing for
`hang_seconds`), or "redirect"; after the script, 200."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Delivery:
    path: str
    headers: dict
    body: bytes
    arrived: float  # time.time()


@dataclass
class WebhookReceiver:
    script: list = field(default_factory=list)
    hang_seconds: float = 3.0

    def __post_init__(self):
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver._lock:
                    receiver.deliveries.append(Delivery(self.path, {k.lower(): v for k, v in self.headers.items()},
                                                        body, time.time()))
                    action = receiver.script.pop(0) if receiver.script else 200
                    receiver._arrived.notify_all()
                if action == "hang":
                    time.sleep(receiver.hang_seconds)
                    return
                if action == "redirect":
                    self.send_response(302)
                    self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(int(action))
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def __enter__(self) -> WebhookReceiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.deliveries) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.deliveries)} deliveries arrived, {count} expected")
                self._arrived.wait(left)
            return list(self.deliveries)
