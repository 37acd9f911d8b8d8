"""Settings for Emotion Garden.

Driven by typed environment variables, each declared once: the core ones in config/conf.py, each
app's own in its conf.py (config/appsettings.py), collected here at the end; docs/settings.md is
written from those declarations (bin/settings-doc). Every default works on a fresh machine with no
server: SQLite and media under ``var/``, an embedded Celery broker on the filesystem, local-memory
cache. Production points the same variables at PostgreSQL, Redis and S3. Settings whose values are
names (backends, schedulers) are checked when the apps start (``config.checks.require_choice``).
"""

import os
import secrets
from pathlib import Path

import environ
from whitenoise.compress import Compressor

from config import conf, rest, security
from config.appsettings import collect_app_settings, read_settings
from config.broker import transport_options
from config.storages import media_storage, retouch_storage, s3_connection

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A .env file beside manage.py is optional; real environment variables win.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
if os.environ.get("PYTEST_XDIST_WORKER"):  # a parallel test process: Redis databases of its own
    from config.parallel_tests import separate_redis_databases

    separate_redis_databases()

core = read_settings(conf.SETTINGS, env, {"BASE_DIR": BASE_DIR})
globals().update({setting.name: core[setting.name] for setting in conf.SETTINGS if setting.on_settings and not setting.read_by})
VAR_DIR = core["VAR_DIR"]
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _local_secret_key() -> str:
    """A per-installation key kept in var/, so a fresh machine is safe without configuration."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = core["SECRET_KEY"] or _local_secret_key()

INSTALLED_APPS = [
    *("django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions"),
    *("django.contrib.messages", "whitenoise.runserver_nostatic", "django.contrib.staticfiles"),
    *("rest_framework", "rest_framework.authtoken", "drf_spectacular", "drf_spectacular_sidecar", "csp", "axes", "statici18n"),
    # The project's apps, lowest layer first (pyproject.toml's import-linter contract).
    *("infra", "provenance", "screens", "garden", "safety", "library", "recommend", "generation", "retouch", "a1111"),
    *("comfy", "curation", "displays", "insights", "gardener", "live"),
]

MIDDLEWARE = [
    # /healthz, /readyz and /metrics, before host checks and the TLS redirect (config/probes.py).
    "config.probes.ProbeMiddleware",
    # A client key in an A1111 client's base URL (/k/<key>/sdapi/…) → its credentials, out of the path (a1111/keypath.py).
    "a1111.keypath.ClientKeyPathMiddleware",
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
DATABASES = {"default": environ.Env.db_url_config(core["DATABASE_URL"])}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web and worker processes share the file: WAL lets readers run beside a writer, IMMEDIATE
    # transactions take the write lock up front instead of failing half-way with "locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
    # garden.Image's serving index INCLUDEs columns for PostgreSQL's index-only scans; SQLite builds
    # it without them, which is all W040 says (the same rows, read from the table).
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", core["DATABASE_CONN_MAX_AGE"])
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # The same backend, with a health check that costs no round trip (config/postgresql/base.py).
        DATABASES["default"]["ENGINE"] = "config.postgresql"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: Redis as a speed-up only (config/caches/breaker.py): a failing call answers as a miss --------
CACHES = {"default": environ.Env.cache_url_config(core["CACHE_URL"])}
if CACHES["default"]["BACKEND"].startswith("django_redis."):
    _cache_options = CACHES["default"].setdefault("OPTIONS", {})
    _cache_options.setdefault("CLIENT_CLASS", "config.caches.breaker.BreakerClient")
    _cache_options.setdefault("IGNORE_EXCEPTIONS", True)  # the client's failures answer as misses
    _cache_options.setdefault("SOCKET_CONNECT_TIMEOUT", core["GARDEN_CACHE_TIMEOUT_SECONDS"])
    _cache_options.setdefault("SOCKET_TIMEOUT", core["GARDEN_CACHE_TIMEOUT_SECONDS"])

# --- Logins: the admin and API logins, throttled by django-axes ----------------------------------
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"  # where a login with no (or an unsafe) ?next= lands
AXES_COOLOFF_TIME = core["GARDEN_LOGIN_COOLOFF_MINUTES"] / 60  # hours, as axes counts
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "config.api.client_ip"  # the address the throttles use (GARDEN_TRUSTED_PROXIES)
AXES_VERBOSE = False
# An API call's failures are counted under "api:<name>", apart from the admin's form (config/auth.py).
AXES_USERNAME_CALLABLE = "config.axes_names.axes_username"
# The site's own lockout page: styled, translated, says when to try again (config/lockout.py).
AXES_LOCKOUT_CALLABLE = "config.lockout.lockout_response"
# A login tried while locked out is not checked: not recorded as a failure, nor pushing the lockout further.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in ("UserAttributeSimilarityValidator", "MinimumLengthValidator", "CommonPasswordValidator", "NumericPasswordValidator")
]

# --- Languages (docs/languages.md): English is the source; Korean and Japanese ship complete -----
LANGUAGES = [("en", "English"), ("ko", "한국어"), ("ja", "日本語")]  # the native names the switch shows
LOCALE_PATHS = [BASE_DIR / "locale"]  # catalogs of the templates and code outside an app's locale/
FORMAT_MODULE_PATH = ["config.formats"]  # times to the second on the staff pages, in every language
# JavaScript catalogs compiled to garden/static/jsi18n/<language>/djangojs.js by `make messages`
# (committed, served as static files): {% load statici18n %}{% statici18n LANGUAGE_CODE %}.
STATICI18N_ROOT = BASE_DIR / "garden" / "static"
USE_I18N = True
USE_TZ = True

# --- Static files and media (config/storages.py): a folder served by the app, or S3 ---------------
STATIC_URL = "static/"
STORAGES = {
    "default": media_storage(core),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Source maps are read by developer tools only: compressing them took most of collectstatic's time
# (make run, the image, every test server; docs/benchmarks.md), so they are served as they are.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = [*Compressor.SKIP_COMPRESS_EXTENSIONS, "map"]
# Files served at the site root before any middleware behind WhiteNoise (/favicon.ico), cached a day.
WHITENOISE_ROOT = BASE_DIR / "config" / "root"
ROOT_FILE_MAX_AGE = 24 * 60 * 60


def _root_file_headers(headers, path: str, url: str) -> None:
    if not url.startswith("/" + STATIC_URL):
        headers["Cache-Control"] = f"public, max-age={ROOT_FILE_MAX_AGE}"


WHITENOISE_ADD_HEADERS_FUNCTION = _root_file_headers

# --- APIs (config/rest.py): Django REST framework and its OpenAPI schema -------------------------
REST_FRAMEWORK = rest.REST_FRAMEWORK
SPECTACULAR_SETTINGS = rest.SPECTACULAR_SETTINGS

# --- Security headers (config/security.py) and HTTPS ----------------------------------------------
CONTENT_SECURITY_POLICY = security.content_security_policy(core)
PERMISSIONS_POLICY = security.PERMISSIONS_POLICY
if core["DJANGO_SECURE"]:  # `check --deploy` passes with DJANGO_SECURE=true
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = core["SECURE_SSL_REDIRECT"]
    SECURE_HSTS_SECONDS = core["SECURE_HSTS_SECONDS"]
    SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_PRELOAD = SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": core["GARDEN_LOG_LEVEL"]},
    # Request bodies are never logged: /emotion bodies are face photos.
    "loggers": {"django.request": {"level": "ERROR"}},
}

# --- Each installed app's own settings ------------------------------------------------------------
# Loaded by name from INSTALLED_APPS (<app>/conf.py), as Django loads apps: config imports no app.
apps = collect_app_settings(INSTALLED_APPS, env, {"BASE_DIR": BASE_DIR, **core})
globals().update(apps)
# Hugging Face libraries read HF_HUB_OFFLINE when first imported, so it is set here, before any
# worker imports them: weights come from local folders or the local cache, never a surprise download.
if apps["GARDEN_HF_OFFLINE"]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
STORAGES["retouch"] = retouch_storage(core, apps)
# The model library's store (GARDEN_MODELS_STORE = s3://…) reaches S3 as the images do (library.store).
S3_CONNECTION = s3_connection(core)

# --- Celery (config/broker.py): the default broker is kombu's filesystem transport under var/ ------
CELERY_TASK_IGNORE_RESULT = True  # job state lives in the database (GenerationJob rows)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A prefork pool process imports the app before it reports up: on a loaded machine that can take longer
# than Celery's default 4 s, after which it is killed. (The live worker warms in its main process: live/worker.py.)
CELERY_WORKER_PROC_ALIVE_TIMEOUT = 600.0
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TIMEZONE = core["TIME_ZONE"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Sending a job's message while the broker is down must not hold a web request: connect for at most
# GARDEN_BROKER_TIMEOUT_SECONDS, retry the publish once, and let the sweeper send it later (generation/enqueue.py).
CELERY_BROKER_CONNECTION_TIMEOUT = core["GARDEN_BROKER_TIMEOUT_SECONDS"]
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}
_transport = transport_options(
    core["CELERY_BROKER_URL"], VAR_DIR, core["GARDEN_BROKER_TIMEOUT_SECONDS"], apps["GARDEN_JOB_SOFT_TIME_LIMIT"]
)
if _transport is not None:
    CELERY_BROKER_TRANSPORT_OPTIONS = _transport
CELERY_TASK_ROUTES = {
    "generation.tasks.run_generation_job": {"queue": apps["GARDEN_GPU_QUEUE"]},
    "generation.tasks.sweep_stale_jobs": {"queue": "default"},
}
# The one beat schedule (`make run` starts beat). Workers also sweep stale jobs when they start.
CELERY_BEAT_SCHEDULE = {
    # Beat's heartbeat: the admin's system status page shows its last run (infra.periodic).
    "beat-tick": {"task": "garden.tasks.beat_tick", "schedule": 60.0},
    "sweep-stale-generation-jobs": {"task": "generation.tasks.sweep_stale_jobs", "schedule": 300.0},
    "recommend-rebuild": {"task": "recommend.tasks.rebuild_model", "schedule": apps["RECOMMEND_REBUILD_MINUTES"] * 60.0},
    "apply-retention": {"task": "recommend.tasks.apply_retention", "schedule": 24 * 3600.0},
    "sweep-idempotency-keys": {"task": "garden.tasks.sweep_idempotency_keys", "schedule": 3600.0},
    "displays-refresh-live-zones": {
        "task": "displays.tasks.refresh_live_zones",
        "schedule": apps["DISPLAY_LIVE_REFRESH_MINUTES"] * 60.0,
    },
    "insights-refresh": {"task": "insights.tasks.refresh_rollups", "schedule": apps["INSIGHTS_REFRESH_MINUTES"] * 60.0},
    # Does nothing while GardenerPolicy is off (docs/gardener.md).
    "gardener-tend": {"task": "gardener.tasks.tend_garden", "schedule": apps["GARDEN_GARDENER_MINUTES"] * 60.0},
}
