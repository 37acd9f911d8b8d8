"""The core settings (Django, files, database, cache, broker, storage, security), declared once.

config/settings.py reads them first and builds Django's own dictionaries from them (DATABASES,
CACHES, STORAGES…); those marked ``on_settings=False`` are inputs to that and not settings of their
own. Each app's settings live in its own ``conf.py`` (config.appsettings).
"""

from config.appsettings import flag, integer, names, number, path, text

TITLE = "Core: Django, files, database, cache, broker, storage, security"
DOC = "[operations.md](operations.md)"

DJANGO = [
    text(
        "SECRET_KEY",
        "",
        "Django's signing key; set it in production",
        var="DJANGO_SECRET_KEY",
        on_settings=False,
        shown_default="generated once into `var/secret_key`",
    ),
    flag("DEBUG", False, "Django debug pages (never in production)", var="DJANGO_DEBUG"),
    names(
        "ALLOWED_HOSTS",
        ["localhost", "127.0.0.1", "[::1]"],
        "host names the site answers to (add the kiosk-facing name)",
        var="DJANGO_ALLOWED_HOSTS",
    ),
    names("CSRF_TRUSTED_ORIGINS", [], "origins allowed to post forms over HTTPS behind a proxy", var="DJANGO_CSRF_TRUSTED_ORIGINS"),
    flag(
        "DJANGO_SECURE",
        False,
        "HTTPS hardening: secure cookies, HSTS, SSL redirect, proxy header; `check --deploy` passes with it",
        on_settings=False,
    ),
    flag(
        "SECURE_SSL_REDIRECT",
        True,
        "redirect HTTP to HTTPS",
        var="DJANGO_SECURE_SSL_REDIRECT",
        on_settings=False,
        shown_default="`true` (with `DJANGO_SECURE`)",
    ),
    integer(
        "SECURE_HSTS_SECONDS",
        60 * 60 * 24 * 365,
        "HSTS max-age",
        var="DJANGO_SECURE_HSTS_SECONDS",
        on_settings=False,
        shown_default="`31536000` (with `DJANGO_SECURE`)",
    ),
]
FILES = [
    path(
        "VAR_DIR",
        lambda values: values["BASE_DIR"] / "var",
        "where the SQLite file, media, broker queue, secret key and admin password live",
        var="GARDEN_VAR_DIR",
        shown_default="`./var`",
    ),
    path(
        "STATIC_ROOT",
        lambda values: values["BASE_DIR"] / "staticfiles",
        "where `collectstatic` writes and the web server reads static files from (the image collects them at "
        "build time into the "
        "default); the test and bench servers set one per server, so servers started side by side do not "
        "collect into one folder at once",
        var="GARDEN_STATIC_ROOT",
        shown_default="`./staticfiles`",
    ),
    text(
        "DATABASE_URL",
        lambda values: f"sqlite:///{values['VAR_DIR'] / 'garden.sqlite3'}",
        "e.g. `postgres://user:pass@host:5432/garden`",
        on_settings=False,
        shown_default="`sqlite:///var/garden.sqlite3`",
    ),
    integer("DATABASE_CONN_MAX_AGE", 60, "persistent connection lifetime (seconds) for server databases", on_settings=False),
    flag(
        "DATABASE_PREPARED_STATEMENTS",
        True,
        "PostgreSQL parses and plans the kiosk's hot statements once per connection (`config/sql.py`); set "
        "`false` behind a "
        "transaction-mode pooler that cannot keep prepared statements (PgBouncer before 1.21)",
    ),
    text(
        "CACHE_URL",
        "locmemcache://garden",
        "e.g. `redis://127.0.0.1:6379/1` (through django-redis: one client per process); shared throttle "
        "counters and rendered "
        "gardens need a shared cache when several web processes run",
        on_settings=False,
    ),
    number(
        "GARDEN_CACHE_TIMEOUT_SECONDS",
        0.25,
        "Redis cache only: seconds a cache call may take to connect or answer before it counts as failed and "
        "answers as a miss "
        "(`config/caches/breaker.py`)",
    ),
    number(
        "GARDEN_CACHE_BREAKER_SECONDS",
        5.0,
        "Redis cache only: after a failed call the cache is skipped for this long (answers as misses, the "
        "kiosk throttle open), "
        "then one call tries it again ([operations.md](operations.md#cache-and-database-outages))",
    ),
    integer(
        "GARDEN_DATABASE_RETRY_AFTER_SECONDS", 5, "the `Retry-After` of the JSON 503 a request answers when the database fails under it"
    ),
    text(
        "CELERY_BROKER_URL",
        "filesystem://",
        "e.g. `redis://127.0.0.1:6379/0` or `amqp://…`",
        shown_default="`filesystem://` (folders under `var/broker/`)",
    ),
    flag("CELERY_TASK_ALWAYS_EAGER", False, "run tasks inside the web process (debugging only)"),
    number(
        "GARDEN_BROKER_TIMEOUT_SECONDS",
        2.0,
        "seconds a send may wait to connect to the broker; then the job stays queued, marked `send_failed`, and the next sweep sends it",
    ),
    number(
        "GARDEN_BROKER_RETRY_AFTER_SECONDS",
        5.0,
        "after a failed send, this process does not try the broker again for this long (requests answer at once)",
    ),
]
STORAGE = [
    text("GARDEN_S3_BUCKET", "", "store images in this S3 bucket"),
    path(
        "MEDIA_ROOT",
        lambda values: values["VAR_DIR"] / "media",
        "local image folder (when no bucket is set)",
        var="GARDEN_MEDIA_ROOT",
        shown_default="`var/media`",
    ),
    text("MEDIA_URL", "/media/", "URL prefix of local images", var="GARDEN_MEDIA_URL"),
    flag(
        "GARDEN_SERVE_MEDIA",
        lambda values: not values["GARDEN_S3_BUCKET"],
        "the app serves `GARDEN_MEDIA_ROOT` itself",
        shown_default="`true` without a bucket",
    ),
    text(
        "GARDEN_PUBLIC_BASE_URL",
        "",
        "base of absolute image URLs, e.g. a CDN `https://cdn.example.org`; "
        "empty: the storage's URL, made absolute with the request's host",
    ),
    text("GARDEN_S3_ENDPOINT_URL", "", "any S3-speaking server (MinIO, Ceph, R2…)", on_settings=False, shown_default="empty (AWS)"),
    text("GARDEN_S3_REGION", "", "bucket region", on_settings=False),
    text("GARDEN_S3_ACCESS_KEY_ID", "", "access key", on_settings=False, shown_default="empty (boto3's credential chain)"),
    text("GARDEN_S3_SECRET_ACCESS_KEY", "", "secret key", on_settings=False, shown_default="empty (boto3's credential chain)"),
    text("GARDEN_S3_CUSTOM_DOMAIN", "", "CloudFront/CDN domain for image URLs", on_settings=False),
    text("GARDEN_S3_PREFIX", "", "key prefix inside the bucket", on_settings=False),
    flag("GARDEN_S3_SIGNED_URLS", False, "signed (expiring) URLs; kiosks want plain ones", on_settings=False),
    flag(
        "GARDEN_S3_PRIVATE_POOL",
        True,
        "only `emotions/` (serving) and `display/` (zone slots) are public: every other key (pool images, "
        "thumbnails) gets a presigned "
        "URL, so the admin, the review page and the job pages work on a private bucket "
        "([operations.md](operations.md#storage-bucket-and-policy)); `false`: plain URLs for every key (the "
        "whole bucket must be readable)",
        on_settings=False,
    ),
    integer("GARDEN_S3_STAFF_URL_SECONDS", 3600, "how long those presigned staff URLs stay valid", on_settings=False),
    text(
        "GARDEN_S3_DEFAULT_ACL",
        "",
        "e.g. `public-read` for buckets that use ACLs; leave empty with a bucket policy or CDN",
        on_settings=False,
    ),
]
KIOSK_LIMITS = [
    integer("DATA_UPLOAD_MAX_MEMORY_SIZE", 256 * 1024, "largest JSON body of a kiosk call; larger → 413", var="GARDEN_MAX_JSON_BYTES"),
    text(
        "GARDEN_KIOSK_RATE",
        "600/minute",
        "requests per client and period for the kiosk endpoints (`N/second|minute|hour|day`); one counter "
        "per client whose window "
        "opens with its first request (one cache increment per call; on Redis one round trip)",
    ),
    integer(
        "GARDEN_TRUSTED_PROXIES",
        0,
        "how many reverse proxies (nginx, a load balancer, a CDN) stand in front of the app and append the "
        "address they saw to "
        "`X-Forwarded-For`; the client is the entry that many places from the end. `0`: the socket's address "
        "is the client and the "
        "header is ignored (anyone can send one). Used by the kiosk throttle and the login lockout. Behind "
        "one nginx that sets "
        "`proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;`, set `1`; behind a CDN and nginx, `2`",
    ),
    number("GARDEN_IDEMPOTENCY_HOURS", 24.0, "how long keys and their answers are kept (at least; swept hourly)"),
    integer(
        "GARDEN_IDEMPOTENCY_CLAIM_SECONDS",
        900,
        "an A1111 call claims its key before it runs; a claim with no answer after this long (its process "
        "died) is taken over by "
        "the next retry",
    ),
]
PROCESSES = [
    text("TIME_ZONE", "UTC", "time zone of the admin and Celery beat", var="GARDEN_TIME_ZONE"),
    text(
        "LANGUAGE_CODE",
        "en",
        "the installation's language (`en`, `ko` or `ja`): what a visitor sees who chose nothing and whose "
        "browser asks for none of "
        "these, and where the kiosk goes back at the idle reset ([languages.md](languages.md#settings))",
        var="GARDEN_LANGUAGE",
    ),
    text("GARDEN_LOG_LEVEL", "INFO", "root log level (request bodies are never logged)", on_settings=False),
    text("GARDEN_BIND", "127.0.0.1:8000", "where the gunicorn of `make run` listens", read_by="the `Procfile`"),
    integer("GARDEN_WEB_WORKERS", 2, "how many gunicorn workers `make run` starts", read_by="the `Procfile`"),
    integer(
        "GARDEN_WEB_THREADS",
        16,
        "threads per web process that take requests (gunicorn's gthread worker, config/web_threads.py); a long poll "
        "waiting holds none: the web server runs another thread in its place while it waits",
    ),
    text(
        "GARDEN_CHROMIUM",
        "",
        "Chromium binary for the browser tests ([development.md](development.md#browser-tests))",
        read_by="the browser tests",
        shown_default="`chromium` (or `chromium-browser`) on the `PATH`",
    ),
]
HEALTH = [
    number(
        "GARDEN_READY_TIMEOUT",
        2.0,
        "seconds each `/readyz` check (database, cache, broker, storage; run in parallel) may take before its part counts as down",
    ),
    names(
        "GARDEN_READY_REQUIRED",
        ["database", "cache", "broker", "storage"],
        "the parts whose failure makes `/readyz` answer 503; the others are reported but do not fail it",
    ),
    names(
        "GARDEN_METRICS_ALLOWED_IPS",
        ["127.0.0.1", "::1"],
        "client addresses or networks (`10.0.0.0/8`) allowed to read `/metrics` (the client address follows `GARDEN_TRUSTED_PROXIES`)",
    ),
    text("GARDEN_METRICS_TOKEN", "", "also allow `/metrics` to requests with `Authorization: Bearer <token>`; empty: no token opens it"),
    text(
        "PROMETHEUS_MULTIPROC_DIR",
        "",
        "an empty, writable folder shared by the web processes: each writes its counters there and a scrape "
        "adds them all up "
        "(prometheus_client's multiprocess mode); without it each gunicorn worker reports only its own "
        "requests. Empty it when the "
        "server starts",
        read_by="prometheus_client",
        shown_default="unset (`make run` and the image set it)",
    ),
]
SECURITY = [
    names("GARDEN_CSP_EXTRA_IMG_SRC", [], "more origins images may come from (comma-separated), e.g. another CDN", on_settings=False),
    integer(
        "AXES_FAILURE_LIMIT",
        5,
        "failed logins per username and address before a lockout (the admin's form, and API calls' passwords)",
        var="GARDEN_LOGIN_FAILURE_LIMIT",
    ),
    number("GARDEN_LOGIN_COOLOFF_MINUTES", 15.0, "how long a lockout lasts", on_settings=False),
    integer(
        "GARDEN_LOGIN_ADDRESS_FAILURE_LIMIT",
        10,
        "failed API passwords (HTTP Basic) from one address, whatever the usernames, before its password calls get 429 for "
        "`GARDEN_LOGIN_COOLOFF_MINUTES` (no password is hashed meanwhile; [a1111.md](a1111.md#authentication))",
    ),
    integer(
        "GARDEN_LOGIN_REMEMBER_SECONDS",
        300,
        "how long an API call's username and password (HTTP Basic) are remembered once checked, so the next calls skip "
        "the password hash (kept in the shared cache under an HMAC; dropped at once when the password, active or "
        "staff flag changes); `0`: check every call in full",
    ),
]

# The docs show the core in these sections (config/settings_doc.py adds their prose).
SECTIONS = {
    "Django": DJANGO,
    "Files, database, cache, broker": FILES,
    "Storage": STORAGE,
    "Kiosk limits": KIOSK_LIMITS,
    "Time, language, logging, processes": PROCESSES,
    "Health and metrics": HEALTH,
    "Security headers and logins": SECURITY,
}
SETTINGS = [setting for section in SECTIONS.values() for setting in section]
