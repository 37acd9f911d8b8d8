"""The garden app's settings, read onto django.conf.settings by config/settings.py (config.appsettings)."""

from config.appsettings import integer, names, number, text

TITLE = "Garden: face analysis, kiosk pages, the AI-generated label"
DOC = "[faces.md](faces.md#settings), [kiosk.md](kiosk.md), [languages.md](languages.md#settings)"

SETTINGS = [
    text(
        "GARDEN_SECOND_LANGUAGE",
        "",
        "a second language shown under the first on the kiosk pages, e.g. `ko` for the original's \"English "
        '· 한국어" look; empty: one language. Ignored on a page already in that language; a code not in '
        "`LANGUAGES` shows none and `manage.py check` warns (`garden.W103`)",
    ),
    integer(
        "GARDEN_MAX_UPLOAD_BYTES", 10 * 1024 * 1024, "largest photo for `/emotion`; larger → 413 (read with a limit, never buffered whole)"
    ),
    text("GARDEN_LEGACY_BUCKET", "emotion-garden", "the `bucket` value `/emotion` returns for old clients (nothing is stored there)"),
    text("GARDEN_FACE_BACKEND", "local", "`local` (offline models) or `rekognition` (AWS); checked when the process starts"),
    integer("GARDEN_FACE_MAX_PIXELS", 40_000_000, "largest declared JPEG in pixels (decoded at reduced scale); more → 413 before decoding"),
    integer("GARDEN_FACE_MAX_SIDE", 1024, "photos are downscaled to this longest side before analysis"),
    integer(
        "GARDEN_FACE_MAX_FULL_DECODE_PIXELS",
        2_500_000,
        "largest declared PNG or WebP in pixels (decoded at full size); more → 413 before decoding",
    ),
    number("GARDEN_FACE_MIN_CONFIDENCE", 0.5, "local face-detector score threshold"),
    integer("GARDEN_FACE_THREADS", 1, "CPU threads per model in each web process (1 suits several gunicorn workers)"),
    text("GARDEN_REKOGNITION_REGION", "", "AWS region for `rekognition`", shown_default="empty (boto3's default)"),
    text("GARDEN_EXPRESSION_MODEL", "", "path of the `.onnx` or `.tflite` file", shown_default="empty (the bundled model only)"),
    text("GARDEN_EXPRESSION_MODE", "replace", "`replace` the bundled expression model, or `average` with it"),
    number("GARDEN_EXPRESSION_WEIGHT", 0.5, "the own model's share in `average` mode (0 < w ≤ 1)"),
    text(
        "GARDEN_EXPRESSION_SIZE",
        "",
        "input size, `64` or `224x224`; required when the model's size is not fixed",
        shown_default="empty (the model's fixed input size)",
    ),
    text("GARDEN_EXPRESSION_COLOR", "", "`grey`, `rgb` or `bgr`", shown_default="empty (grey for 1 channel, rgb for 3)"),
    text("GARDEN_EXPRESSION_RANGE", "0-1", "pixel range before mean and std: `0-1` (divided by 255) or `0-255`"),
    names("GARDEN_EXPRESSION_MEAN", ["0"], "subtracted after scaling: one number, or three (R,G,B)"),
    names("GARDEN_EXPRESSION_STD", ["1"], "divided by after the mean: one number, or three (R,G,B)"),
    names(
        "GARDEN_EXPRESSION_CLASSES",
        [],
        "the outputs in order, `name=LABEL` each (a Rekognition label: HAPPY, SAD, ANGRY, CONFUSED, "
        "DISGUSTED, SURPRISED, CALM, FEAR) or `name=-` to drop it",
        shown_default="empty (required with a model)",
    ),
    text("GARDEN_EXPRESSION_OUTPUT", "logits", "`logits` (softmax applied) or `probabilities` (used as they are)"),
    number("GARDEN_EXPRESSION_MARGIN", 1.1, "side of the square face crop ÷ the face mesh's extent (1.1 is how FER-2013 faces were cut)"),
    integer(
        "GARDEN_KIOSK_IDLE_SECONDS",
        90,
        "seconds without input before the garden page's countdown to start over; `0` turns it off; a page's `?idle=<seconds>` overrides it",
    ),
    integer(
        "GARDEN_KIOSK_OUTBOX_MAX_AGE_SECONDS",
        24 * 3600,
        "how long the kiosk keeps resending an event the server has not taken (at least 1)",
    ),
    integer(
        "GARDEN_KIOSK_OUTBOX_MAX_EVENTS", 500, "how many events may wait in a kiosk's outbox; the oldest is dropped first (at least 1)"
    ),
    text(
        "GARDEN_SHARE_BASE_URL",
        "",
        "base URL of the public site for share links and their QR codes (`https://garden.example.org`); empty: the request's host",
    ),
    text("GARDEN_AI_LABEL_EN", "AI-generated", "the label's English words", on_settings=False),
    text("GARDEN_AI_LABEL_KO", "AI 생성 그림", "the label's Korean words", on_settings=False),
    text("GARDEN_AI_LABEL_JA", "AI生成", "the label's Japanese words", on_settings=False),
]


def derive(values: dict) -> dict:
    """The label on every generated picture a visitor sees (garden/labels.py): language → words. A blank
    entry falls back to the default words; the label cannot be removed."""
    return {"GARDEN_AI_LABEL": {language: values[f"GARDEN_AI_LABEL_{language.upper()}"] for language in ("en", "ko", "ja")}}
