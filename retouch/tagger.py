"""Prompt extraction: WD14-style tags of a picture, with onnxruntime in the web process.

A tagger folder (GARDEN_RETOUCH_TAGGER_MODEL) holds ``model.onnx`` and ``selected_tags.csv``
(SmilingWolf's layout): the model takes a batch of NHWC pictures, BGR, float 0..255, padded to a
white square at its input size, and answers one sigmoid score per CSV row; the rows of category 9
are the ratings (general, sensitive, questionable, explicit), 0 general tags, 4 characters.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from PIL import Image

from config.errors import Unavailable
from config.lazy import Lazy

DEFAULT_THRESHOLD = 0.35  # A1111's tagger default for general tags
CHARACTER_THRESHOLD = 0.85
RATING, GENERAL, CHARACTER = 9, 0, 4
# Emoticons keep their underscores; every other tag reads with spaces ("red_flower" → "red flower").
KAOMOJI = {
    "0_0",
    "(o)_(o)",
    "+_+",
    "+_-",
    "._.",
    "<o>_<o>",
    "<|>_<|>",
    "=_=",
    ">_<",
    "3_3",
    "6_9",
    ">_o",
    "@_@",
    "^_^",
    "o_o",
    "u_u",
    "x_x",
    "|_|",
    "||_||",
}


class TaggerUnavailable(Unavailable):
    """No tagger is configured, or its files cannot be loaded (a 503 naming the setting)."""


@dataclass(frozen=True)
class Tag:
    name: str
    category: int


class Tagger:
    def __init__(self, folder: str, *, threads: int = 1) -> None:
        import onnxruntime

        path = Path(folder)
        try:
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = max(1, threads)
            options.inter_op_num_threads = 1
            self.session = onnxruntime.InferenceSession(str(path / "model.onnx"), options, providers=["CPUExecutionProvider"])
            with (path / "selected_tags.csv").open(newline="", encoding="utf-8") as handle:
                self.tags = [Tag(row["name"], int(row["category"])) for row in csv.DictReader(handle)]
        except Exception as exc:
            raise TaggerUnavailable(
                f"Cannot load the tagger in {folder!r} ({type(exc).__name__}: {exc}): "
                "GARDEN_RETOUCH_TAGGER_MODEL must be a folder with model.onnx and selected_tags.csv."
            ) from exc
        model_input = self.session.get_inputs()[0]
        self.input_name = model_input.name
        side = model_input.shape[1]
        self.size = side if isinstance(side, int) else 448
        self.name = path.name

    def _prepare(self, picture: Image.Image) -> np.ndarray:
        rgba = picture.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        side = max(flat.size)
        square = Image.new("RGB", (side, side), (255, 255, 255))
        square.paste(flat, ((side - flat.width) // 2, (side - flat.height) // 2))
        square = square.resize((self.size, self.size), Image.Resampling.BICUBIC)
        return np.asarray(square, np.float32)[:, :, ::-1][None].copy()  # RGB → BGR, a batch of one

    def tag(self, picture: Image.Image, *, threshold: float = DEFAULT_THRESHOLD) -> dict[str, dict[str, float]]:
        """``{"tags": {tag: score}, "rating": {rating: score}}``, tags above the threshold, best first."""
        scores = self.session.run(None, {self.input_name: self._prepare(picture)})[0][0]
        if len(scores) != len(self.tags):
            raise TaggerUnavailable(
                f"The tagger answers {len(scores)} scores for {len(self.tags)} tags: check GARDEN_RETOUCH_TAGGER_MODEL."
            )
        rating, tags = {}, {}
        for tag, score in zip(self.tags, scores, strict=True):
            value = round(float(score), 4)
            if tag.category == RATING:
                rating[tag.name] = value
            elif value >= (CHARACTER_THRESHOLD if tag.category == CHARACTER else threshold):
                tags[tag.name if tag.name in KAOMOJI else tag.name.replace("_", " ")] = value
        return {"tags": dict(sorted(tags.items(), key=lambda item: -item[1])), "rating": rating}


def _build() -> Tagger:
    return Tagger(settings.GARDEN_RETOUCH_TAGGER_MODEL, threads=settings.GARDEN_RETOUCH_TAGGER_THREADS)


_tagger: Lazy[Tagger] = Lazy(
    _build,
    fingerprint=lambda: (settings.GARDEN_RETOUCH_TAGGER_MODEL, settings.GARDEN_RETOUCH_TAGGER_THREADS),
    owner=__name__,
    name="_tagger",
    fresh="GARDEN_RETOUCH_TAGGER_MODEL and GARDEN_RETOUCH_TAGGER_THREADS",
)


def get_tagger() -> Tagger:
    if not settings.GARDEN_RETOUCH_TAGGER_MODEL:
        raise TaggerUnavailable(
            "Tags need a WD14 tagger: set GARDEN_RETOUCH_TAGGER_MODEL to a folder with model.onnx and selected_tags.csv."
        )
    return _tagger.get()
