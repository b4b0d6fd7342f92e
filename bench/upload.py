"""Upload benchmark: a large file through the real web server, memory of the web process.

    .venv/bin/python bench/upload.py            # 100 MB and 1024 MB
    .venv/bin/python bench/upload.py --sizes 100 2048

For each size it starts a fresh gunicorn (one sync worker, no threads) on loopback with its own
temporary data folder and migrated SQLite database, creates a user, uploads a generated media
file to POST /api/v1/videos with a JWT, and prints the wall time and the worker's peak resident
memory (VmHWM from /proc). Targets: under 150 MB at any size, and the 1 GB figure within 30 MB
of the 100 MB one (memory must not grow with the file).

The media files are valid QuickTime movies with an uncompressed picture (so they are large but
cheap to make: no encoding) and a short AAC track; they are cached under bench/out/.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from testing.media import FIXTURE_MEDIA  # noqa: E402  (needs the repository on sys.path)

OUT = ROOT / "bench" / "out"
PYTHON = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
MB = 1024 * 1024
WIDTH, HEIGHT, FPS = 1280, 720, 25
FRAME_BYTES = WIDTH * HEIGHT * 2  # uyvy422

TARGET_PEAK_MB = 150
TARGET_SPREAD_MB = 30


def media_file(size_mb: int) -> Path:
    path = OUT / f"upload_{size_mb}mb.mov"
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    frames = max(1, round(size_mb * MB / FRAME_BYTES))
    seconds = frames / FPS
    print(f"generating {path.name} ({frames} raw frames, {seconds:.1f} s)…", flush=True)
    tmp = path.with_suffix(".part.mov")
    subprocess.run(
        [
            "ffmpeg", "-nostdin", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"color=c=0x3060a0:size={WIDTH}x{HEIGHT}:rate={FPS}",
            "-f", "lavfi", "-i", "sine=frequency=440",
            "-frames:v", str(frames), "-t", f"{seconds:.3f}",
            "-c:v", "rawvideo", "-pix_fmt", "uyvy422", "-c:a", "aac", "-b:a", "32k",
            str(tmp),
        ],
        check=True,
    )
    tmp.rename(path)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def vm_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not found for {pid}")


def run_one(size_mb: int) -> dict:
    media = media_file(size_mb)
    data_dir = Path(tempfile.mkdtemp(prefix="onevoice-bench-"))
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("DATABASE_URL", "REDIS_URL", "RABBITMQ_URL", "AWS_"))
    }
    env.update(ONEVOICE_DATA_DIR=str(data_dir), DJANGO_DEBUG="1", LOG_LEVEL="WARNING")
    subprocess.run([PYTHON, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, env=env, check=True)
    token = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", (
            "from accounts.models import User; from rest_framework_simplejwt.tokens import AccessToken;"
            "u = User.objects.create_user(email='bench@example.com', password='x-bench-password-1');"
            "print(AccessToken.for_user(u))"
        )],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    ).stdout.strip().splitlines()[-1]

    port = free_port()
    server = subprocess.Popen(
        [GUNICORN, "onevoice.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--threads", "1", "--worker-class", "sync", "--timeout", "900", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not start")
        (worker,) = children(server.pid)
        # Warm up: the first upload imports the API, DRF and the probe path.
        with open(FIXTURE_MEDIA / "speech_en.mp4", "rb") as fh:
            warm = httpx.post(f"{base}/api/v1/videos", headers=headers, files={"file": ("warm.mp4", fh, "video/mp4")}, timeout=120)
        warm.raise_for_status()
        baseline_kb = vm_kb(worker, "VmHWM")

        started = time.perf_counter()
        with media.open("rb") as fh:
            response = httpx.post(
                f"{base}/api/v1/videos", headers=headers,
                files={"file": (media.name, fh, "video/quicktime")}, data={"title": f"bench {size_mb} MB"},
                timeout=900,
            )
        wall = time.perf_counter() - started
        if response.status_code != 201:
            raise RuntimeError(f"upload failed: {response.status_code} {response.text[:300]}")
        peak_kb = vm_kb(worker, "VmHWM")
        body = response.json()
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)
    return {
        "size_mb": media.stat().st_size / MB,
        "wall_s": wall,
        "peak_mb": peak_kb / 1024,
        "baseline_mb": baseline_kb / 1024,
        "duration": body["duration"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1024], help="file sizes in MB")
    args = parser.parse_args()
    results = [run_one(size) for size in args.sizes]
    print()
    print(f"{'file':>10} {'wall time':>10} {'MB/s':>8} {'worker peak RSS':>16} {'after warm-up':>14}")
    for r in results:
        print(f"{r['size_mb']:>8.0f}MB {r['wall_s']:>9.1f}s {r['size_mb'] / r['wall_s']:>8.0f} "
              f"{r['peak_mb']:>13.1f} MB {r['baseline_mb']:>11.1f} MB")
    peaks = [r["peak_mb"] for r in results]
    spread = max(peaks) - min(peaks)
    ok = max(peaks) < TARGET_PEAK_MB and spread <= TARGET_SPREAD_MB
    print(f"\npeak {max(peaks):.1f} MB (target < {TARGET_PEAK_MB} MB); spread across sizes {spread:.1f} MB "
          f"(target <= {TARGET_SPREAD_MB} MB): {'OK' if ok else 'OVER TARGET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
