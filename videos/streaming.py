"""Serve a stored file with HTTP byte ranges (206 Partial Content), streamed in chunks.

Browsers seek in a <video> by asking for ranges, and iOS will not play a video whose server
ignores them. The body is read from storage chunk by chunk, never whole into memory.
Reusable for any stored object (the dubbing app serves its artifacts the same way).
"""

from __future__ import annotations

import re

from django.core.files.storage import Storage
from django.http import HttpResponse, StreamingHttpResponse

CHUNK_SIZE = 64 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str, size: int) -> tuple[int, int] | None | bool:
    """(first, last) inclusive for a satisfiable single range; None to send the whole file;
    False when the range cannot be satisfied (416)."""
    match = _RANGE.match(header.strip().replace(" ", ""))
    if not match:
        return None  # multiple or malformed ranges: RFC 9110 lets us ignore Range and send 200
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # suffix range: the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            return False
        return max(0, size - length), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        return False
    return start, min(end, size - 1)


def _chunks(fh, remaining: int):
    try:
        while remaining > 0:
            data = fh.read(min(CHUNK_SIZE, remaining))
            if not data:
                break
            remaining -= len(data)
            yield data
    finally:
        fh.close()


def ranged_file_response(
    request, *, storage: Storage, name: str, content_type: str, filename: str = "", private_max_age: int = 0
) -> HttpResponse:
    size = storage.size(name)
    wanted = parse_range(request.headers.get("Range", ""), size) if "Range" in request.headers else None
    if wanted is False:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        response["Accept-Ranges"] = "bytes"
        return response

    fh = storage.open(name, "rb")
    if wanted is None:
        first, last, status = 0, size - 1, 200
    else:
        first, last = wanted
        status = 206
        fh.seek(first)
    length = max(0, last - first + 1)
    response = StreamingHttpResponse(_chunks(fh, length), status=status, content_type=content_type)
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    if status == 206:
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    if filename:
        from django.utils.http import content_disposition_header

        response["Content-Disposition"] = content_disposition_header(False, filename)
    response["Cache-Control"] = f"private, max-age={private_max_age}" if private_max_age else "private, no-store"
    return response
