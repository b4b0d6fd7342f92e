"""Fetch the whisperx models into the GPU image's caches at build time (Dockerfile target `gpu`).

Jobs never download: the engine (dubbing/engines/asr/whisperx.py) loads with local_files_only and
model_cache_only, and the image sets HF_HUB_OFFLINE. So this script makes the very calls the engine
makes, on the build machine's CPU (the files are the same for the GPU): the transcription model
(faster-whisper's CTranslate2 conversion, with whisperx's bundled VAD), one wav2vec2 alignment
model per language, and, when a Hugging Face token is given as the build secret `hf_token`,
pyannote's diarization pipeline. `--check` then loads everything again with downloads switched
off, so an image whose cache is incomplete fails to build instead of failing a job.

    python scripts/fetch_whisperx_models.py --model large-v3 --languages "en es fr"
    HF_HUB_OFFLINE=1 python scripts/fetch_whisperx_models.py --check --model large-v3 --languages "en es fr"
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

TOKEN_FILE = Path("/run/secrets/hf_token")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="large-v3", help="the whisper model the engine loads (WhisperXASR.model)")
    parser.add_argument("--languages", default="en", help="space-separated languages to fetch alignment models for")
    parser.add_argument("--check", action="store_true", help="load from the caches only; fail on anything missing")
    args = parser.parse_args(argv)

    import whisperx  # the GPU extra (requirements-gpu.txt); this script runs only in that image
    from whisperx import alignment

    offline = args.check
    print(f"transcription model {args.model}", flush=True)
    whisperx.load_model(args.model, "cpu", compute_type="int8", local_files_only=offline)

    for language in args.languages.split():
        if language not in alignment.DEFAULT_ALIGN_MODELS_TORCH and language not in alignment.DEFAULT_ALIGN_MODELS_HF:
            print(f"no whisperx alignment model for {language}: its words will be interpolated", flush=True)
            continue
        print(f"alignment model for {language}", flush=True)
        if offline and language in alignment.DEFAULT_ALIGN_MODELS_TORCH:
            # torchaudio's bundles download whenever their checkpoint is missing (HF_HUB_OFFLINE is
            # not theirs): look for the file itself.
            import torch
            import torchaudio

            bundle = getattr(torchaudio.pipelines, alignment.DEFAULT_ALIGN_MODELS_TORCH[language])
            checkpoint = Path(torch.hub.get_dir()) / "checkpoints" / Path(bundle._path).name
            if not checkpoint.exists():
                raise SystemExit(f"{checkpoint} is missing: the alignment model for {language} was not fetched")
        whisperx.load_align_model(language_code=language, device="cpu", model_cache_only=offline)

    token = os.environ.get("HF_TOKEN") or (TOKEN_FILE.read_text().strip() if TOKEN_FILE.exists() else "")
    if token:
        from whisperx.diarize import DiarizationPipeline

        print("diarization pipeline", flush=True)
        DiarizationPipeline(token=token, device="cpu")
    else:
        print("no hf_token secret: diarization is off in this image", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
