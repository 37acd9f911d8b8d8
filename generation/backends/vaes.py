"""VAEs of the library swapped into a loaded pipeline for one batch (a job's ``vae``, or its model's
``default_vae``).

Worker-side only. A library VAE is a file or folder under ``<GARDEN_MODELS_DIR>/vae/``:

- a diffusers folder (``config.json`` + weights): ``AutoencoderKL.from_pretrained(folder)``, its
  own config;
- a single ``.safetensors`` file, in the original (LDM) layout (``encoder.*``, ``decoder.*``,
  ``quant_conv``, with or without ``first_stage_model.``) or in diffusers' layout:
  ``AutoencoderKL.from_single_file(path, config=…, local_files_only=True)`` with the config of
  the VAE it replaces (the pipeline's own: same architecture, and the model's latent scaling
  factor), written to a temporary folder. Nothing is fetched from the Hub.

A VAE is loaded once per worker process for a given architecture, dtype and device and kept (the
two most recent); it sits on the pipeline's execution device (the GPU, also when the model is
offloaded: it is not offloaded itself) in the dtype of the VAE it replaces.
The pipeline's own VAE is put back after the batch, so a job that asks for none paints with the
model's own.
"""

from __future__ import annotations

import json
import tempfile
import threading
from collections import OrderedDict
from contextlib import contextmanager, suppress
from pathlib import Path

from config import caches
from generation.backends import BackendError

CACHED = 2

_lock = threading.Lock()
_loaded: OrderedDict[tuple, object] = OrderedDict()
caches.register(
    _loaded.clear,
    owner=__name__,
    name="_loaded",
    key="(file path, its modification time, config, device, dtype); the CACHED most recently used",
    fresh="the file's modification time, part of the key",
)


class VaeError(BackendError):
    """The VAE cannot be loaded, or does not fit the model; the message says which and why."""


def _config(vae) -> dict:
    config = dict(vae.config)
    return {key: value for key, value in config.items() if not key.startswith("_")} | {"_class_name": type(vae).__name__}


def load(path: str | Path, *, like, name: str = "", device=None) -> object:
    """The VAE in ``path`` shaped like ``like`` (the pipeline's own VAE), in its dtype, on ``device``
    (the pipeline's execution device; default: where ``like`` is)."""
    import diffusers
    import torch

    path = Path(path)
    label = name or path.name
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as exc:
        raise VaeError(f"The VAE {label} is gone ({path}): rescan the library.") from exc
    config = _config(like)
    parameter = next(like.parameters())
    device, dtype = device or parameter.device, parameter.dtype
    if str(device) == "meta":  # sequential offload keeps the weights elsewhere: decode on the GPU
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    key = (str(path), stamp, json.dumps(config, sort_keys=True, default=str), str(device), str(dtype))
    with _lock:
        if key in _loaded:
            _loaded.move_to_end(key)
            return _loaded[key]
        vae_class = getattr(diffusers, config["_class_name"], diffusers.AutoencoderKL)
        try:
            if path.is_dir():
                vae = vae_class.from_pretrained(str(path), torch_dtype=dtype, local_files_only=True)
            else:
                with tempfile.TemporaryDirectory() as folder:
                    (Path(folder) / "config.json").write_text(json.dumps(config, default=str))
                    vae = vae_class.from_single_file(str(path), config=folder, torch_dtype=dtype, local_files_only=True)
        except Exception as exc:  # shapes that do not fit, a file that is no VAE, …
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise VaeError(f"Cannot load the VAE {label} for this model ({type(exc).__name__}: {first_line[:300]}).") from exc
        vae = vae.to(device).eval()
        vae.requires_grad_(False)
        _loaded[key] = vae
        while len(_loaded) > CACHED:
            _loaded.popitem(last=False)
        return vae


@contextmanager
def swapped(backend, *, path: str, name: str = ""):
    """The backend's pipelines (text-to-image and, when made, image-to-image) paint with the VAE in
    ``path`` inside the block, and with their own again after it; nothing changes for ``path`` "".

    The image-to-image pipeline is made first (``from_pipe`` shares the components it is made
    with: it must never be made while another VAE is in)."""
    if not path:
        yield
        return
    backend.load()
    pipeline = backend.pipeline
    own = getattr(pipeline, "vae", None)
    if own is None:
        raise VaeError(f"The model {backend.label or backend.model!r} has no VAE to replace with {name or path}.")
    with suppress(BackendError):  # no image-to-image pipeline for this architecture: only the text one paints
        backend._image_to_image()
    # The execution device, not where the own VAE sits: with CPU offload it waits in CPU memory.
    vae = load(path, like=own, name=name, device=getattr(pipeline, "_execution_device", None))
    # The memory options of the model's own (GARDEN_DIFFUSION_VAE_TILING / _SLICING) hold for its stand-in.
    for flag, enable, disable in (("use_tiling", "enable_tiling", "disable_tiling"), ("use_slicing", "enable_slicing", "disable_slicing")):
        if hasattr(vae, enable):
            getattr(vae, enable if getattr(own, flag, False) else disable)()
    pipelines = [found for found in (pipeline, backend._img2img) if found is not None]
    for found in pipelines:
        found.vae = vae
    try:
        yield vae
    finally:
        for found in pipelines:
            found.vae = own
