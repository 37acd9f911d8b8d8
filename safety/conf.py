"""The safety app's settings, read onto django.conf.settings by config/settings.py (config.appsettings)."""

from config.appsettings import flag, integer, number, text

TITLE = "Safety: prompt screening and the image check"
DOC = "[safety.md](safety.md#settings)"

SETTINGS = [
    flag("GARDEN_SAFETY_PROMPT_CHECK", True, "screen prompts (every category; off: nothing is screened)"),
    flag(
        "GARDEN_SAFETY_IMAGE_CHECK",
        True,
        (
            "run the image check on every generated picture; off, every picture is stored unchecked and no live picture "
            "is painted (`POST /live` answers 409, live.md#the-image-check)"
        ),
    ),
    number("GARDEN_SAFETY_THRESHOLD", 0.7, "open_nsfw score at or above which a picture is flagged; lower flags more"),
    flag("GARDEN_SAFETY_DIFFUSERS_CHECKER", True, "also run a model folder's own `safety_checker/` when it ships one"),
    integer("GARDEN_SAFETY_THREADS", 1, "onnxruntime threads per check (0: onnxruntime's default)"),
    text(
        "GARDEN_SAFETY_DEVICE",
        "auto",
        "where the classifier runs: `auto` (a GPU worker's own GPU, `GARDEN_DIFFUSION_DEVICE`'s when that "
        "names one, once its pipeline has brought torch in and torch sees a GPU; the CPU otherwise, and "
        "always in the web tier), `cpu` (onnxruntime), or a torch device (`cuda`, `cuda:1`)",
    ),
]
