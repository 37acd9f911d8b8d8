"""Face analysis for /emotion: photo decoding, backends (offline models, AWS Rekognition), labels.

Public entry points: ``get_backend()`` and the service in ``garden.faces.services``.
"""

from __future__ import annotations

from typing import Protocol

from django.conf import settings
from PIL import Image

from config.lazy import Lazy
from garden.faces.types import FaceBackendError, FaceDetails

LOCAL, REKOGNITION = "local", "rekognition"
BACKENDS = (LOCAL, REKOGNITION)  # GARDEN_FACE_BACKEND, checked at start-up (garden.apps)


class FaceBackend(Protocol):
    """What the /emotion service needs from a backend."""

    name: str

    def analyse(self, *, image: Image.Image) -> list[FaceDetails]:
        """Every face in ``image`` (RGB, upright)."""

    def largest_face(self, *, image: Image.Image) -> FaceDetails | None:
        """The largest face in ``image``, or None when there is no face."""


def _build() -> FaceBackend:
    if settings.GARDEN_FACE_BACKEND == REKOGNITION:
        from garden.faces.rekognition import RekognitionFaceBackend

        return RekognitionFaceBackend(region=settings.GARDEN_REKOGNITION_REGION)
    from garden.faces import expression
    from garden.faces.local import LocalFaceBackend

    try:
        own = expression.load_configured(threads=settings.GARDEN_FACE_THREADS)
    except expression.ExpressionModelError as exc:  # checked at start-up; the file may have gone since
        raise FaceBackendError(str(exc)) from exc
    return LocalFaceBackend(
        threads=settings.GARDEN_FACE_THREADS, min_detection_score=settings.GARDEN_FACE_MIN_CONFIDENCE, own_expression=own
    )


# The own expression model's settings (garden.faces.expression): changing any rebuilds the backend.
EXPRESSION_SETTINGS = (
    "GARDEN_EXPRESSION_MODEL",
    "GARDEN_EXPRESSION_MODE",
    "GARDEN_EXPRESSION_WEIGHT",
    "GARDEN_EXPRESSION_SIZE",
    "GARDEN_EXPRESSION_COLOR",
    "GARDEN_EXPRESSION_RANGE",
    "GARDEN_EXPRESSION_MEAN",
    "GARDEN_EXPRESSION_STD",
    "GARDEN_EXPRESSION_CLASSES",
    "GARDEN_EXPRESSION_OUTPUT",
    "GARDEN_EXPRESSION_MARGIN",
)


def _setting_key(value):
    return tuple(value) if isinstance(value, list) else value


# Models are read once per process, then shared by every request (see garden.faces.local).
_backend: Lazy[FaceBackend] = Lazy(
    _build,
    fingerprint=lambda: (
        settings.GARDEN_FACE_BACKEND,
        settings.GARDEN_FACE_THREADS,
        settings.GARDEN_FACE_MIN_CONFIDENCE,
        settings.GARDEN_REKOGNITION_REGION,
        *(_setting_key(getattr(settings, name)) for name in EXPRESSION_SETTINGS),
    ),
    owner=__name__,
    name="_backend",
    fresh="GARDEN_FACE_BACKEND, _THREADS, _MIN_CONFIDENCE, GARDEN_REKOGNITION_REGION and the GARDEN_EXPRESSION_* settings",
)


def get_backend() -> FaceBackend:
    """The configured backend, built once per process."""
    return _backend.get()
