"""What a face-analysis backend returns, and the errors photo handling raises.

Every backend (the offline models, AWS Rekognition) maps its output onto ``FaceDetails`` so the
service above them never knows which one ran. A field a backend cannot estimate is ``None``: the
caller decides what a legacy client sees for "unknown", nothing here invents a value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from config.errors import DomainError, Unavailable
from garden.keys import EMOTIONS

# Rekognition's emotion types, the labels kiosks understand (docs/contracts.md: POST /emotion).
EMOTION_LABELS = tuple(emotion.upper() for emotion in EMOTIONS)


@dataclass(frozen=True, slots=True)
class Box:
    """A face's bounding box in pixels of the analysed (oriented, downscaled) photo."""

    left: float
    top: float
    width: float
    height: float

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)


@dataclass(frozen=True, slots=True)
class FaceDetails:
    """One face. Probabilities are 0..1; ``None`` means "this backend does not estimate it"."""

    box: Box
    confidence: float
    # Label → probability over EMOTION_LABELS (only the labels the backend knows).
    emotions: dict[str, float]
    age_low: int | None = None
    age_high: int | None = None
    gender: str | None = None  # "Male" / "Female"
    gender_confidence: float | None = None
    smile: bool | None = None
    eyes_open: bool | None = None
    mouth_open: bool | None = None
    eyeglasses: bool | None = None
    sunglasses: bool | None = None
    beard: bool | None = None
    mustache: bool | None = None
    # Backend-specific numbers worth keeping with the visitor (ratios, raw scores), never pixels.
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def top_emotion(self) -> str | None:
        """The highest-confidence emotion label (ties: the earlier label in EMOTION_LABELS)."""
        if not self.emotions:
            return None
        return max(EMOTION_LABELS, key=lambda label: (self.emotions.get(label, -1.0), -EMOTION_LABELS.index(label)))


class PhotoError(DomainError, ValueError):
    """The upload cannot be analysed; ``status_code`` is the HTTP answer it deserves."""

    status_code = 400


class UnsupportedPhoto(PhotoError):
    """Not a PNG, JPEG or WebP (judged by the bytes, never by the Content-Type header)."""

    status_code = 415


class CorruptPhoto(PhotoError):
    """Truncated or otherwise undecodable image data."""

    status_code = 400


class PhotoTooLarge(PhotoError):
    """Too many pixels (a decompression bomb, or simply a huge photo)."""

    status_code = 413


class FaceBackendError(Unavailable, RuntimeError):
    """The analysis backend failed (AWS unreachable, models missing): a 503, not the visitor's fault."""

    def as_body(self) -> dict:
        return {"detail": f"Face analysis is unavailable: {self.message}"}
