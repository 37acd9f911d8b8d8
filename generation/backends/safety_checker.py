"""diffusers' own safety checker, run beside the pipeline and recorded, never blacking a picture out.

A Stable Diffusion model folder may ship ``safety_checker/`` (StableDiffusionSafetyChecker, CLIP
vision plus concept embeddings) and ``feature_extractor/`` (its CLIPImageProcessor). With
GARDEN_SAFETY_DIFFUSERS_CHECKER on, they are loaded once per pipeline and run on each output
picture; the pipeline's own ``safety_checker`` stays None, so nothing is replaced by black. The
per-picture answer goes to ``safety.images.check_picture(picture, diffusers_nsfw=…)``.
Only worker processes import this module (torch).
"""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings
from PIL import Image as PILImage

log = logging.getLogger(__name__)


class DiffusersSafetyChecker:
    """A loaded checker and its image processor, on the pipeline's device and dtype."""

    def __init__(self, checker, processor, *, device: str, dtype) -> None:
        self.checker, self.processor, self.device, self.dtype = checker, processor, device, dtype

    def flags(self, pictures: list[PILImage.Image]) -> list[bool]:
        """True for each picture the checker counts as not safe for work."""
        import numpy as np
        import torch

        if not pictures:
            return []
        rgb = [picture.convert("RGB") for picture in pictures]
        clip_input = self.processor(rgb, return_tensors="pt").pixel_values.to(self.device, self.dtype)
        # The checker blacks out flagged entries of ``images`` in place: it gets a throwaway copy.
        images = np.stack([np.asarray(picture, dtype=np.float32) / 255.0 for picture in rgb])
        with torch.inference_mode():
            _, has_nsfw = self.checker(clip_input=clip_input, images=images)
        return [bool(flag) for flag in has_nsfw]


def load_checker(model: str, *, pipeline=None, device: str, dtype) -> DiffusersSafetyChecker | None:
    """The model's checker, or None (setting off, no checker shipped, or it fails to load: logged).

    A pipeline that loaded its own ``safety_checker``/``feature_extractor`` (listed in its
    model_index.json) lends them; otherwise they are read from the folder's subfolders.
    """
    if not settings.GARDEN_SAFETY_DIFFUSERS_CHECKER:
        return None
    checker = getattr(pipeline, "safety_checker", None)
    processor = getattr(pipeline, "feature_extractor", None)
    try:
        if checker is None or processor is None:
            folder = Path(model)
            if not (folder / "safety_checker").is_dir() or not (folder / "feature_extractor").is_dir():
                return None
            from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
            from transformers import CLIPImageProcessor

            checker = StableDiffusionSafetyChecker.from_pretrained(str(folder / "safety_checker"), local_files_only=True)
            processor = CLIPImageProcessor.from_pretrained(str(folder / "feature_extractor"), local_files_only=True)
        checker = checker.to(device=device, dtype=dtype).eval()
    except Exception:  # a broken checker must not stop generation: open_nsfw still checks every picture
        log.warning("cannot load the safety checker of %s; open_nsfw alone checks its pictures", model, exc_info=True)
        return None
    log.info("running the safety checker of %s (recorded, never blacked out)", model)
    return DiffusersSafetyChecker(checker, processor, device=device, dtype=dtype)


def picture_flags(checker: DiffusersSafetyChecker | None, pictures: list[PILImage.Image]) -> list[bool | None]:
    """Per picture: the checker's flag, or None when there is no checker or it failed (logged)."""
    if checker is None or not settings.GARDEN_SAFETY_IMAGE_CHECK:  # off: check_picture records "unchecked"
        return [None] * len(pictures)
    try:
        return list(checker.flags(pictures))
    except Exception:
        log.warning("the diffusers safety checker failed; open_nsfw alone checks these pictures", exc_info=True)
        return [None] * len(pictures)
