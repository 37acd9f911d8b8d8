"""The /emotion use case: photo bytes in, derived labels out, the visitor stored.

The photo exists only as local variables of ``read_emotion``: it is never written to storage,
the database or a log line, and the visitor row keeps derived labels only.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.conf import settings

from garden.faces import get_backend
from garden.faces.photo import decode_photo
from garden.faces.types import FaceDetails
from garden.models import Visitor
from garden.services import touch_visitor
from garden.visitors import new_visitor_id

log = logging.getLogger(__name__)

AgeGroup = Visitor.AgeGroup


def age_group_for_age(*, low: float, high: float) -> str:
    """The age group of an age range, from its middle m = (low + high) / 2.

    Every m gets exactly one bucket (the original left 64 < m < 65 unassigned).
    """
    middle = (low + high) / 2
    if middle <= 5:
        return AgeGroup.TODDLER
    if middle <= 12:
        return AgeGroup.CHILD
    if middle <= 18:
        return AgeGroup.TEENAGER
    if middle <= 25:
        return AgeGroup.YOUNG_ADULT
    if middle < 50:
        return AgeGroup.ADULT
    if middle < 65:
        return AgeGroup.MIDDLE_AGE
    return AgeGroup.ELDER


@dataclass(frozen=True, slots=True)
class EmotionReading:
    visitor: Visitor
    face: FaceDetails
    emotion: str  # upper-case Rekognition label
    age_group: str


def analyse_photo(*, photo: bytes) -> FaceDetails | None:
    """Decode safely and return the largest face (None: no face). Raises PhotoError subclasses."""
    decoded = decode_photo(
        data=photo,
        max_pixels=settings.GARDEN_FACE_MAX_PIXELS,
        max_side=settings.GARDEN_FACE_MAX_SIDE,
        max_full_decode_pixels=settings.GARDEN_FACE_MAX_FULL_DECODE_PIXELS,
    )
    return get_backend().largest_face(image=decoded.image)


def read_emotion(*, photo: bytes, visitor_id: str | None) -> EmotionReading | None:
    """Analyse the photo and store the visitor's labels; None when no face was found."""
    started = time.perf_counter()
    face = analyse_photo(photo=photo)
    del photo  # nothing below needs the pixels
    if face is None or face.top_emotion is None:
        log.info("emotion: no face (%.0f ms)", (time.perf_counter() - started) * 1000)
        return None
    emotion = face.top_emotion
    age_group = age_group_for_age(low=face.age_low, high=face.age_high) if face.age_low is not None and face.age_high is not None else ""
    visitor = touch_visitor(
        visitor_id=visitor_id or new_visitor_id(),
        age_low=face.age_low,
        age_high=face.age_high,
        age_group=age_group,
        gender=face.gender or "",
        emotion=emotion.lower(),
        features=face_features(face),
    )
    log.info("emotion: %s (%.0f ms)", emotion, (time.perf_counter() - started) * 1000)
    return EmotionReading(visitor=visitor, face=face, emotion=emotion, age_group=age_group)


def face_features(face: FaceDetails) -> dict:
    """What the visitor row keeps besides the labels: estimates and scores, never pixels or boxes."""
    flags = {
        "smile": face.smile,
        "eyesOpen": face.eyes_open,
        "mouthOpen": face.mouth_open,
        "eyeglasses": face.eyeglasses,
        "sunglasses": face.sunglasses,
        "beard": face.beard,
        "mustache": face.mustache,
    }
    return {
        "backend": settings.GARDEN_FACE_BACKEND,
        # None stays None here: the row records that the backend did not estimate it.
        **flags,
        "emotionScores": {label: round(score, 4) for label, score in face.emotions.items()},
        "genderConfidence": None if face.gender_confidence is None else round(face.gender_confidence, 4),
        "scores": dict(face.extra),
    }
