"""The model library's settings, read onto django.conf.settings by config/settings.py (config.appsettings)."""

from config.appsettings import flag, number, text

TITLE = "The model library: its folder, how it is followed, what an install may reach"
DOC = "[models.md](models.md#settings)"

SETTINGS = [
    text(
        "GARDEN_MODELS_DIR",
        "",
        "the model library: models (checkpoints, diffusers folders), LoRA and textual-inversion files under one folder, "
        "scanned into the admin (`manage.py scan_models`); empty: no library, `GARDEN_DIFFUSION_MODEL` alone",
    ),
    number(
        "GARDEN_LIBRARY_SCAN_SECONDS",
        30.0,
        "how often each worker looks at its host's `GARDEN_MODELS_DIR` (names, sizes, times) and rescans that host's copies "
        "when a file was added, replaced or removed (one process per host at a time); each also scans at start; web processes "
        "never scan; `0`: only when asked",
    ),
    text(
        "GARDEN_HOST_NAME",
        "",
        "this machine's name among the venue's GPU hosts (its model folder, its copies, its workers on the status page; "
        "jobs are pulled, not queued per host); "
        "empty: the machine's host name. Two processes with different names act as two hosts, even on one machine",
        shown_default="the machine's host name",
    ),
    text(
        "GARDEN_MODELS_STORE",
        "",
        "the venue's model library shared by every host, files by sha256: `s3://bucket/prefix` (reached with the "
        "`GARDEN_S3_ENDPOINT_URL`, region and keys the images use) or a folder every host mounts, `file:///path`; each host's "
        "`GARDEN_MODELS_DIR` is then its copy (a cache). Empty: the one-folder library (docs/models.md#several-machines)",
    ),
    number(
        "GARDEN_MODELS_CACHE_GB",
        0.0,
        "with a store, the most this host's `GARDEN_MODELS_DIR` holds of models fetched or pushed (GB): the least recently "
        "used model that the store holds and no process uses is removed to make room; `0`: no bound",
    ),
    number(
        "GARDEN_LIBRARY_UPLOAD_GRACE_SECONDS",
        120.0,
        "at a worker's warm shutdown, how long an upload into `GARDEN_MODELS_STORE` under way may take to finish; past it the "
        "upload is stopped, the library's *store* column says so with the bytes sent, and a host holding the file uploads it "
        "again at its next look",
    ),
    number(
        "GARDEN_LIBRARY_UPLOAD_STALL_SECONDS",
        600.0,
        "an upload into `GARDEN_MODELS_STORE` whose progress has not moved for this long is marked stalled (its host killed "
        "or cut off) and, after a back-off, uploaded by a host holding the file; an upload whose host has no worker present "
        "is marked so after 30 s",
    ),
    flag("GARDEN_MODELS_ALLOW_CKPT", False, "load `.ckpt`/`.pth` pickles (with torch's `weights_only`); off: they are listed not usable"),
    flag("GARDEN_MODELS_ALLOW_PRIVATE_URLS", False, "let `install_model` download from loopback, private and link-local addresses"),
]
