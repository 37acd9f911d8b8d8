"""AWS Rekognition DetectFaces, mapped onto the same FaceDetails as the offline backend.

The photo sent is the decoded, upright, downscaled copy re-encoded as JPEG: EXIF (GPS, camera
serial) never leaves the machine, and Rekognition's 5 MB inline-image limit is never hit. Nothing
is uploaded to S3, so no copy outlives the request on our side.
"""

from __future__ import annotations

import io

from PIL import Image

from garden.faces.types import EMOTION_LABELS, Box, FaceBackendError, FaceDetails

JPEG_QUALITY = 90


def _flag(detail: dict, name: str) -> bool | None:
    value = detail.get(name)
    return None if value is None else bool(value.get("Value"))


def face_from_rekognition(detail: dict, *, width: int, height: int) -> FaceDetails:
    """One ``FaceDetails`` entry of a DetectFaces response (Attributes=["ALL"]) → FaceDetails."""
    box = detail.get("BoundingBox", {})
    # Rekognition gives ratios of the image size; confidences are percentages.
    emotions = {
        item["Type"]: float(item.get("Confidence", 0.0)) / 100.0
        for item in detail.get("Emotions", [])
        if item.get("Type") in EMOTION_LABELS  # "UNKNOWN" is not a kiosk label
    }
    age = detail.get("AgeRange") or {}
    gender = detail.get("Gender") or {}
    return FaceDetails(
        box=Box(
            left=float(box.get("Left", 0.0)) * width,
            top=float(box.get("Top", 0.0)) * height,
            width=float(box.get("Width", 0.0)) * width,
            height=float(box.get("Height", 0.0)) * height,
        ),
        confidence=float(detail.get("Confidence", 0.0)) / 100.0,
        emotions=emotions,
        age_low=age.get("Low"),
        age_high=age.get("High"),
        gender=gender.get("Value"),
        gender_confidence=float(gender["Confidence"]) / 100.0 if "Confidence" in gender else None,
        smile=_flag(detail, "Smile"),
        eyes_open=_flag(detail, "EyesOpen"),
        mouth_open=_flag(detail, "MouthOpen"),
        eyeglasses=_flag(detail, "Eyeglasses"),
        sunglasses=_flag(detail, "Sunglasses"),
        beard=_flag(detail, "Beard"),
        mustache=_flag(detail, "Mustache"),
    )


class RekognitionFaceBackend:
    name = "rekognition"

    def __init__(self, *, client=None, region: str | None = None) -> None:
        if client is None:
            import boto3

            # boto3 clients are thread-safe; credentials come from the standard AWS chain.
            client = boto3.client("rekognition", region_name=region or None)
        self.client = client

    def analyse(self, *, image: Image.Image) -> list[FaceDetails]:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=JPEG_QUALITY)
        try:
            response = self.client.detect_faces(Image={"Bytes": buffer.getvalue()}, Attributes=["ALL"])
        except Exception as exc:  # botocore ClientError, endpoint and credential errors alike
            # Only the error class goes out: a ClientError message never contains the photo, but
            # we keep the log line free of anything request-shaped on principle.
            raise FaceBackendError(f"Rekognition DetectFaces failed: {type(exc).__name__}") from exc
        width, height = image.size
        return [face_from_rekognition(detail, width=width, height=height) for detail in response.get("FaceDetails", [])]

    def largest_face(self, *, image: Image.Image) -> FaceDetails | None:
        faces = self.analyse(image=image)
        return max(faces, key=lambda face: face.box.area, default=None)
