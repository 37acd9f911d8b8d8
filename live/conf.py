"""The live app's settings, read onto django.conf.settings by config/settings.py (config.appsettings)."""

from config.appsettings import flag, integer, number, text

TITLE = "The live picture"
DOC = "[live.md](live.md#settings)"

SETTINGS = [
    flag("GARDEN_LIVE_ENABLED", True, "`POST /live` paints live pictures; false: 503 `off`"),
    text("GARDEN_LIVE_QUEUE", "live", "the Celery queue of live jobs (the Procfile's `live` worker and the `live-worker` role serve it)"),
    integer("GARDEN_LIVE_MAX_QUEUED", 4, "live jobs queued or running at once; more: 503 `queue_full`"),
    integer(
        "GARDEN_LIVE_DAILY_BUDGET", 2000, "live jobs a day (midnight to midnight in `TIME_ZONE`); more: 503 `budget_spent`; `0`: no limit"
    ),
    text("GARDEN_LIVE_RATE", "30/minute", "`POST /live` per kiosk (client address, as the kiosk throttle), a DRF rate"),
    number("GARDEN_LIVE_STRENGTH", 0.35, "how much of a `from` picture is repainted (img2img denoising strength)"),
    flag(
        "GARDEN_LIVE_WARM",
        True,
        "the live worker loads the live model and warms its lean call (CUDA graphs, kept on disk under the var folder)"
        " when it starts, before its presence says ready (CUDA only)",
    ),
    integer("GARDEN_LIVE_SIZE", 512, "the live picture's width and height, a multiple of 8"),
    number(
        "GARDEN_LIVE_WAIT_SECONDS",
        10.0,
        "the longest `GET /live/<uuid>?wait=` holds its answer for the job to change (a bounded long poll)",
    ),
    integer(
        "GARDEN_LIVE_WAIT_SLOTS",
        64,
        "long polls (`GET /live/<uuid>?wait=`) per web process waiting at once, each in its thread while the web server "
        "runs another thread in its place (config/web_threads.py); past that `?wait=` answers at once",
    ),
    number(
        "GARDEN_LIVE_WORKER_SECONDS",
        lambda values: 3 * values["GARDEN_WORKER_PRESENCE_SECONDS"],
        "how fresh a live-queue worker's presence row must be",
        shown_default="3 × `GARDEN_WORKER_PRESENCE_SECONDS` (30)",
    ),
]
