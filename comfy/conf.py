"""The comfy app's settings, read onto django.conf.settings by config/settings.py (config.appsettings)."""

from config.appsettings import integer, text

TITLE = "The ComfyUI-compatible door"
DOC = "[comfyui.md](comfyui.md)"

SETTINGS = [
    text(
        "GARDEN_COMFY_BIND", "127.0.0.1:8188", "address and port the ComfyUI door (`manage.py comfy_door`) listens on (ComfyUI's own port)"
    ),
    integer("GARDEN_COMFY_HISTORY_SIZE", 200, "finished prompts kept in each caller's ComfyUI `/history` (older ones are forgotten)"),
    integer("GARDEN_COMFY_MAX_UPLOAD_BYTES", 20 << 20, "largest picture `POST /upload/image` takes (ComfyUI's `max_upload_size`)"),
    integer("GARDEN_COMFY_UPLOADS_KEPT", 100, "pictures kept per caller from `POST /upload/image` (its oldest are deleted past this)"),
    integer(
        "GARDEN_COMFY_UPLOAD_HOURS",
        24,
        "hours an uploaded picture is kept for the caller's `LoadImage` nodes (a queued job has its own copy)",
    ),
]
