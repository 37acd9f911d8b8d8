"""Face analysis for /emotion: photo decoding, backends (offline models, AWS Rekognition), labels.

Public entry points: ``get_backend()`` and the service in ``garden.faces.services``.
"""

from __future__ import annotations

import threading
from typing import Protocol

from django.conf import settings
from PIL import Image

from garden.faces.types import FaceBackendError, FaceDetails


class FaceBackend(Protocol):
    """What the /emotion service needs from a backend."""

    name: str

    def analyse(self, *, image: Image.Image) -> list[FaceDetails]:
        """Every face in ``image`` (RGB, upright)."""

    def largest_face(self, *, image: Image.Image) -> FaceDetails | None:
        """The largest face in ``image``, or None when there is no face."""


_backends: dict[tuple, FaceBackend] = {}
_lock = threading.Lock()


def get_backend() -> FaceBackend:
    """The configured backend, built once per process (models are read once, then shared)."""
    name = settings.GARDEN_FACE_BACKEND
    config = (name, settings.GARDEN_FACE_THREADS, settings.GARDEN_FACE_MIN_CONFIDENCE, settings.GARDEN_REKOGNITION_REGION)
    backend = _backends.get(config)
    if backend is not None:
        return backend
    with _lock:
        if config not in _backends:
            _backends[config] = _build(name)
        return _backends[config]


def _build(name: str) -> FaceBackend:
    if name == "local":
        from garden.faces.local import LocalFaceBackend

        return LocalFaceBackend(threads=settings.GARDEN_FACE_THREADS, min_detection_score=settings.GARDEN_FACE_MIN_CONFIDENCE)
    if name == "rekognition":
        from garden.faces.rekognition import RekognitionFaceBackend

        return RekognitionFaceBackend(region=settings.GARDEN_REKOGNITION_REGION)
    raise FaceBackendError(f"unknown GARDEN_FACE_BACKEND {name!r} (use 'local' or 'rekognition')")
