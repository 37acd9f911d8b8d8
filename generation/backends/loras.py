"""LoRA adapters of one UNet, shared by every pipeline built on it.

Apps above build their inpainting pipelines with ``from_pipe`` on the text-to-image pipeline,
so they share its UNet and text encoder: adapters are tracked per UNet
(``adapters_for``), loaded once per file, switched on for one call with their weights and off after
it, whichever pipeline paints. Only worker processes import this module (torch is loaded lazily by
diffusers through the pipelines it is given).
"""

from __future__ import annotations

import contextlib
import itertools
import re

from generation.backends import BackendError

# LoRAs kept loaded per UNet between calls (loading costs a file read); past these, unused ones go.
MAX_ADAPTERS = 8
# peft adapter names become module attribute names: letters, digits and underscores only.
_ADAPTER_NAME = re.compile(r"\W")
_ATTRIBUTE = "_garden_lora_adapters"


class LoraAdapters:
    """The adapters loaded into one UNet (and its text encoder), by file."""

    def __init__(self, pipeline, label: str) -> None:
        self.pipeline = pipeline  # the pipeline that loads files; its modules are the shared ones
        self.label = label
        self._adapters: dict[str, str] = {}  # LoRA file → adapter name
        self._numbers = itertools.count()

    @contextlib.contextmanager
    def active(self, pipeline, loras, paths: dict[str, str]):
        """``loras`` ((name, weight), …) switched on for the body on ``pipeline``; none: nothing to do."""
        if not loras:
            yield []
            return
        wanted = [paths.get(name) for name, _ in loras]
        if len(set(self._adapters) | set(wanted)) > MAX_ADAPTERS:
            unused = [path for path in self._adapters if path not in wanted]
            self.pipeline.delete_adapters([self._adapters.pop(path) for path in unused])
        names = []
        for (lora, _), path in zip(loras, wanted, strict=True):
            if not path:
                raise BackendError(f"LoRA {lora!r} has no file (lora_paths).")
            if path not in self._adapters:
                self._adapters[path] = self._load(lora, path)
            names.append(self._adapters[path])
        pipeline.enable_lora()
        pipeline.set_adapters(names, adapter_weights=[float(weight) for _, weight in loras])
        try:
            yield [{"name": name, "weight": float(weight)} for name, weight in loras]
        finally:
            # Pipelines built on this UNet paint without them next, unless they ask again.
            pipeline.disable_lora()

    def _load(self, lora: str, path: str) -> str:
        adapter = f"{_ADAPTER_NAME.sub('_', lora)}_{next(self._numbers)}"
        try:
            self.pipeline.load_lora_weights(path, adapter_name=adapter)
        except Exception as exc:
            # A file of another family can fail half-way: leave no half-loaded adapter behind.
            with contextlib.suppress(Exception):
                self.pipeline.delete_adapters([adapter])
            raise BackendError(f"Cannot load the LoRA {lora!r} ({path}) into {self.label}: {exc}") from exc
        return adapter


def adapters_for(pipeline, label: str = "") -> LoraAdapters:
    """The adapters of ``pipeline``'s UNet, created on first use (kept on the UNet, gone with it)."""
    unet = pipeline.unet
    adapters = unet.__dict__.get(_ATTRIBUTE)
    if adapters is None:
        adapters = LoraAdapters(pipeline, label or type(pipeline).__name__)
        unet.__dict__[_ATTRIBUTE] = adapters  # not a submodule or parameter: torch leaves it alone
    return adapters
