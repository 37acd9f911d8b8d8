"""The retouch app's settings, read onto django.conf.settings by config/settings.py (config.appsettings)."""

from config.appsettings import integer, number, text

TITLE = "Retouch: repainting part of an image"
DOC = "[retouch.md](retouch.md)"

SETTINGS = [
    text(
        "GARDEN_RETOUCH_INPAINT_MODEL",
        "",
        "local folder of a diffusers inpainting pipeline (9-channel); empty: reuse "
        "`GARDEN_DIFFUSION_MODEL`'s loaded weights with `from_pipe` (needs "
        "`GARDEN_GENERATOR_BACKEND=diffusers`)",
    ),
    text(
        "GARDEN_RETOUCH_LINEART_CONTROLNET",
        "",
        "a lineart ControlNet of the model's family (e.g. `control_v11p_sd15_lineart` with SD 1.5): the name of a "
        "library entry (`controlnet/<name>/` under `GARDEN_MODELS_DIR`, fetched onto a worker that lacks it), or an "
        "absolute folder; empty: no lineart control",
    ),
    text(
        "GARDEN_RETOUCH_CANNY_CONTROLNET",
        "",
        "a Canny ControlNet: a library entry's name (`controlnet/<name>/`), or an absolute folder; empty: no Canny control",
    ),
    text("GARDEN_RETOUCH_IP_ADAPTER", "", "an IP-Adapter `.safetensors` file (e.g. `ip-adapter_sd15.safetensors`); empty: no reference"),
    text(
        "GARDEN_RETOUCH_IMAGE_ENCODER",
        "",
        "local folder of its CLIP image encoder",
        shown_default="`image_encoder/` beside the IP-Adapter file",
    ),
    text(
        "GARDEN_RETOUCH_TAGGER_MODEL",
        "",
        "a WD14 tagger (`model.onnx` and `selected_tags.csv`, e.g. SmilingWolf's wd-v1-4-moat-tagger-v2): the name "
        "of a library entry (`tagger/<name>/`, fetched onto a web host that lacks it at its first tags request), or "
        "an absolute folder; empty: no tags",
    ),
    integer("GARDEN_RETOUCH_TAGGER_THREADS", 1, "onnxruntime threads of the tagger per web process"),
    integer(
        "GARDEN_RETOUCH_MAX_PIXELS",
        4096 * 4096,
        "largest picture (width × height) accepted, checked before decoding",
        shown_default="`16777216` (4096²)",
    ),
    integer(
        "GARDEN_RETOUCH_MAX_BODY_BYTES",
        64 * 1024 * 1024,
        "largest retouch request body: multipart jobs, edges, tags and every A1111 endpoint (413 above)",
        shown_default="`67108864` (64 MiB)",
    ),
    integer("GARDEN_RETOUCH_MAX_FRAMES", 300, "most pictures in a frames or masks archive"),
    integer(
        "GARDEN_RETOUCH_MAX_ZIP_BYTES", 1024 * 1024 * 1024, "most bytes an archive may unpack to", shown_default="`1073741824` (1 GiB)"
    ),
    integer("GARDEN_RETOUCH_KEEP_UPLOADS_HOURS", 72, "uploads of a finished retouch job are deleted this long after it ends"),
    number(
        "GARDEN_RETOUCH_PING_TIMEOUT",
        1.0,
        "seconds the status endpoint waits for workers to answer (`/sdapi/v1/options` reads worker presence instead)",
        shown_default="`1.0`",
    ),
    text(
        "GARDEN_RETOUCH_UPLOAD_ROOT",
        lambda values: str(values["VAR_DIR"] / "retouch-uploads"),
        "local folder of the private upload storage (never inside `GARDEN_MEDIA_ROOT`)",
        shown_default="`var/retouch-uploads`",
    ),
    text(
        "GARDEN_RETOUCH_S3_BUCKET",
        lambda values: values["GARDEN_S3_BUCKET"],
        "bucket of the private upload storage when S3 is used (private objects under `retouch-uploads/`)",
        shown_default="`GARDEN_S3_BUCKET`",
    ),
]
