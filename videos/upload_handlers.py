"""The upload handler for POST /api/v1/videos: stream to disk, stop at the size limit.

Django's TemporaryFileUploadHandler already writes each chunk to a temporary file, so memory
stays flat whatever the file size. This one adds the limit, enforced twice:

- before reading a byte, when Content-Length alone says the body is over the limit (plus a
  little room for the multipart headers and the title field);
- while streaming, by counting what was written: the chunk that would pass the limit is never
  written, the partial temporary file is closed (which deletes it), and parsing stops without
  reading the rest of the body.

The view looks at `too_large` afterwards and answers 413 file_too_large.
"""

from __future__ import annotations

from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict

FILE_FIELD = "file"
# Multipart boundaries, part headers and the title field; far smaller than this in practice.
MULTIPART_OVERHEAD = 64 * 1024


class SizeLimitedUploadHandler(TemporaryFileUploadHandler):
    def __init__(self, request=None, *, max_bytes: int):
        super().__init__(request)
        self.max_bytes = max_bytes
        self.bytes_written = 0
        self.too_large = False
        self._file_seen = False
        self._skipping = False

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length > self.max_bytes + MULTIPART_OVERHEAD:
            self.too_large = True
            # Returning a result tells the parser the body is handled: nothing is read or written.
            return QueryDict(encoding=encoding), MultiValueDict()
        return None

    def new_file(self, field_name, file_name, *args, **kwargs):
        # One file per request, in the `file` field; anything else is read past, not stored.
        # (Not SkipFile: the parser would then close, and so delete, the file already received.)
        self._skipping = field_name != FILE_FIELD or self._file_seen
        if self._skipping:
            return
        self._file_seen = True
        super().new_file(field_name, file_name, *args, **kwargs)

    def receive_data_chunk(self, raw_data, start):
        if self._skipping:
            return None
        if self.bytes_written + len(raw_data) > self.max_bytes:
            self.too_large = True
            raise StopUpload(connection_reset=True)
        self.bytes_written += len(raw_data)
        return super().receive_data_chunk(raw_data, start)

    def file_complete(self, file_size):
        if self._skipping:
            return None
        return super().file_complete(file_size)
