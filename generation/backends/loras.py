"""LoRA adapters of one denoiser (a UNet, or the transformer of Flux, SD3 and the like), shared by
every pipeline built on it.

Apps above build their inpainting pipelines with ``from_pipe`` on the text-to-image pipeline,
so they share its denoiser and text encoder: adapters are tracked per denoiser
(``adapters_for``), loaded once per file, switched on for one call with their weights and off after
it, whichever pipeline paints. Only worker processes import this module (torch is loaded lazily by
diffusers through the pipelines it is given).
"""

from __future__ import annotations

import contextlib
import itertools
import re

from generation.backends import BackendError, denoiser

# LoRAs kept loaded per denoiser between calls (loading costs a file read); past these, unused ones go.
MAX_ADAPTERS = 8
# peft adapter names become module attribute names: letters, digits and underscores only.
_ADAPTER_NAME = re.compile(r"\W")
_ATTRIBUTE = "_garden_lora_adapters"


class LoraAdapters:
    """The adapters loaded into one denoiser (and its text encoders), by file; diffusers'
    ``load_lora_weights`` puts each file's layers where they belong (UNet or transformer)."""

    def __init__(self, pipeline, label: str) -> None:
        self.pipeline = pipeline  # the pipeline that loads files; its modules are the shared ones
        self.label = label
        self._adapters: dict[str, str] = {}  # LoRA file → adapter name
        self._names: dict[str, str] = {}  # LoRA file → the library's name for it
        self._numbers = itertools.count()

    @contextlib.contextmanager
    def active(self, pipeline, loras, paths: dict[str, str]):
        """``loras`` ((name, weight), …) switched on for the body on ``pipeline``; none: nothing to do."""
        if not loras:
            yield []
            return
        if not hasattr(self.pipeline, "load_lora_weights"):  # diffusers has no LoRA loader for it (PixArt)
            raise BackendError(f"{self.label} ({type(self.pipeline).__name__}) takes no LoRAs: paint without <lora:…> and loras.")
        wanted = [paths.get(name) for name, _ in loras]
        if len(set(self._adapters) | set(wanted)) > MAX_ADAPTERS:
            unused = [path for path in self._adapters if path not in wanted]
            self.pipeline.delete_adapters([self._adapters.pop(path) for path in unused])
            for path in unused:
                self._names.pop(path, None)
        names = []
        for (lora, _), path in zip(loras, wanted, strict=True):
            if not path:
                raise BackendError(f"LoRA {lora!r} has no file (lora_paths).")
            if path not in self._adapters:
                self._adapters[path] = self._load(lora, path)
                self._names[path] = lora
            names.append(self._adapters[path])
        pipeline.enable_lora()
        pipeline.set_adapters(names, adapter_weights=[float(weight) for _, weight in loras])
        try:
            yield [{"name": name, "weight": float(weight)} for name, weight in loras]
        finally:
            # Pipelines built on this denoiser paint without them next, unless they ask again.
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

    def names(self) -> list[str]:
        """The LoRAs loaded now, by the names jobs gave them (a worker's presence says them)."""
        return sorted(set(self._names.values()))


def lora_key(model: str, lora: str) -> str:
    """The name a worker advertises model ``model`` holding LoRA ``lora`` under (its presence's models_loaded)."""
    return f"{model}+lora:{lora}"


def loaded_loras(pipeline) -> list[str]:
    """The LoRAs loaded into ``pipeline``'s denoiser ([] when none was ever asked for)."""
    network = denoiser(pipeline)
    adapters = vars(network).get(_ATTRIBUTE) if network is not None and hasattr(network, "__dict__") else None
    return adapters.names() if isinstance(adapters, LoraAdapters) else []


def adapters_for(pipeline, label: str = "") -> LoraAdapters:
    """The adapters of ``pipeline``'s denoiser, created on first use (kept on it, gone with it)."""
    network = denoiser(pipeline)
    if network is None:
        raise BackendError(f"{label or type(pipeline).__name__} has neither a UNet nor a transformer to denoise with.")
    adapters = network.__dict__.get(_ATTRIBUTE)
    if adapters is None:
        adapters = LoraAdapters(pipeline, label or type(pipeline).__name__)
        network.__dict__[_ATTRIBUTE] = adapters  # not a submodule or parameter: torch leaves it alone
    return adapters
