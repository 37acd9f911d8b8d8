"""Prompt extraction: WD14-style tags of a picture, with onnxruntime in the web process.

GARDEN_RETOUCH_TAGGER_MODEL names a tagger of the library (``tagger/<name>/``), fetched onto this
host through the library's door the first time a process tags (retouch.model_folders), or an
absolute folder. A tagger folder holds ``model.onnx`` and ``selected_tags.csv``
(SmilingWolf's layout): the model takes a batch of NHWC pictures, BGR, float 0..255, padded to a
white square at its input size, and answers one sigmoid score per CSV row; the rows of category 9
are the ratings (general, sensitive, questionable, explicit), 0 general tags, 4 characters.
"""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from PIL import Image

from config.errors import Unavailable
from config.lazy import Lazy
from library import cache as library_cache
from library import selectors as library
from library import store as library_store
from retouch import model_folders

STORE_RETRY_AFTER = 30  # seconds: the store away while this host fetches the tagger
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
                "GARDEN_RETOUCH_TAGGER_MODEL must name a tagger of the library or a folder with model.onnx and selected_tags.csv."
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


@contextlib.contextmanager
def _library_errors() -> Iterator[None]:
    """The library's and the store's errors as a 503 naming the setting (the store away: with Retry-After)."""
    try:
        yield
    except library.UnknownEntry as exc:
        raise TaggerUnavailable(f"GARDEN_RETOUCH_TAGGER_MODEL: {exc}") from None
    except library_store.StoreUnavailable as exc:
        error = TaggerUnavailable(f"The tagger is being fetched and the model store cannot be reached: {exc}")
        error.retry_after = STORE_RETRY_AFTER
        raise error from None
    except (library_store.StoreError, library_cache.CacheFull) as exc:
        raise TaggerUnavailable(f"Cannot fetch the tagger onto this host: {exc}") from None


def _build() -> Tagger:
    with _library_errors():
        folder = model_folders.folder(model_folders.TAGGER_SETTING)
    return Tagger(folder, threads=settings.GARDEN_RETOUCH_TAGGER_THREADS)


def _fingerprint() -> tuple:
    """The setting, the threads and what the setting names now (a tagger replaced in the library is loaded again)."""
    with _library_errors():
        return (model_folders.identity(model_folders.TAGGER_SETTING), settings.GARDEN_RETOUCH_TAGGER_THREADS)


_tagger: Lazy[Tagger] = Lazy(
    _build,
    fingerprint=_fingerprint,
    owner=__name__,
    name="_tagger",
    fresh="GARDEN_RETOUCH_TAGGER_MODEL (the library entry's content hash when it names one) and GARDEN_RETOUCH_TAGGER_THREADS",
)


def get_tagger() -> Tagger:
    if not model_folders.value_of(model_folders.TAGGER_SETTING):
        raise TaggerUnavailable(
            "Tags need a WD14 tagger: set GARDEN_RETOUCH_TAGGER_MODEL to a tagger of the library (tagger/<name>/ in "
            "GARDEN_MODELS_DIR) or a folder with model.onnx and selected_tags.csv."
        )
    return _tagger.get()
