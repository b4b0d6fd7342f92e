"""Media handling shared by the uploads and the dubbing pipeline: plain Python, no Django.

- `safety`: how ffmpeg/ffprobe may open a file nobody has vetted (signature sniffing, one
  demuxer forced, local files only);
- `probe`: what a file is (`probe_media` -> `MediaInfo`, or a `MediaError` with an API code);
- `ffmpeg`: the one ffmpeg runner (bounded time, stoppable, readable failures);
- `process`: running any subprocess so that a cancelled job stops it.

The sample rates every stage agrees on live here, once.
"""

from __future__ import annotations

MIX_RATE = 48000  # Hz: extracted background, fitted clips, the mix and the final AAC
ASR_RATE = 16000  # Hz, mono: what recognition and the VAD read
