"""The a1111 app's settings, read onto django.conf.settings by config/settings.py (config.appsettings)."""

from config.appsettings import flag, integer, names, number

TITLE = "The A1111-compatible API"
DOC = "[a1111.md](a1111.md)"

SETTINGS = [
    number(
        "GARDEN_A1111_WAIT_SECONDS",
        -1.0,
        "most seconds `txt2img`/`img2img` wait for their job before answering 504 with the job id; negative: no fixed limit "
        "(as A1111: until the job is done, cancelled or fails; 503 when no worker is present for a queued job)",
    ),
    number(
        "GARDEN_A1111_REFRESH_SECONDS",
        10.0,
        "how long `POST /sdapi/v1/refresh-checkpoints` waits for a worker to rescan the models folder before answering "
        "(the scan stays queued and runs; a web process never scans)",
    ),
    integer("GARDEN_A1111_MAX_WAITING", 4, "most `txt2img`/`img2img` requests of one web process waiting at once (503 above)"),
    names(
        "GARDEN_A1111_TRUSTED_CLIENTS",
        [],
        "IPs or networks that may call the A1111 endpoints without credentials (A1111 without `--api-auth`)",
    ),
    flag(
        "GARDEN_A1111_REVIEW_POOL",
        False,
        "pictures painted through `/sdapi/v1/txt2img` (marked `origin: a1111`) join the curators' review pool",
    ),
    flag(
        "GARDEN_A1111_CONTROL_PASSTHROUGH",
        False,
        "canny/lineart ControlNet units take `input_image` as the finished edge map (the retouch app's `--myapp`)",
    ),
]
