"""A tiny decoder (TAESD's architecture: diffusers' ``AutoencoderTiny``) for live pictures.

Worker-side only. The operator installs its weights into the library's ``vae/`` folder
(``manage.py install_model … --kind vae``, or a copy) and names it in the live model's library
entry (``live_vae``); the lean call (generation.backends.lean) then decodes that model's live
pictures with it. TAESD loses fine detail (its README), so it is an option per model, never the
default. Recognised forms:

- a diffusers folder (``config.json`` with ``"_class_name": "AutoencoderTiny"`` and its weights,
  as ``AutoencoderTiny.save_pretrained`` and the hub's madebyollin/taesd write it);
- a single ``.safetensors`` file in diffusers' keys (``decoder.layers.*``, ``encoder.layers.*``),
  or TAESD's own decoder file (``taesd_decoder``: keys ``1.weight``, ``3.conv.0.weight``, …: the
  decoder's Sequential, one place ahead of diffusers' because of its leading Clamp).
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

from config import caches
from generation.backends.vaes import VaeError

_lock = threading.Lock()
_loaded: dict[tuple, object] = {}  # (path, mtime, device, dtype) → the decoder (one live model: one entry)
caches.register(
    _loaded.clear,
    owner=__name__,
    name="_loaded",
    key="(file path, its modification time, device, dtype); the last decoder loaded",
    fresh="the file's modification time, part of the key",
)
_TAESD_DECODER_KEY = re.compile(r"^(\d+)\.(.+)$")


def is_tiny(path: str | Path) -> bool:
    """Whether ``path`` holds a tiny decoder in a form ``load`` reads (headers only, no weights)."""
    path = Path(path)
    if path.is_dir():
        config = path / "config.json"
        return config.is_file() and json.loads(config.read_text()).get("_class_name") == "AutoencoderTiny"
    if path.suffix != ".safetensors" or not path.is_file():
        return False
    from safetensors import safe_open

    with safe_open(str(path), "np") as handle:
        keys = list(handle.keys())
    return bool(keys) and (all(key.startswith(("decoder.layers.", "encoder.layers.")) for key in keys) or _taesd_decoder_keys(keys))


def _taesd_decoder_keys(keys: list[str]) -> bool:
    return all(_TAESD_DECODER_KEY.match(key) for key in keys)


def _state_dict(path: Path) -> dict:
    from safetensors.torch import load_file

    weights = load_file(str(path))
    if _taesd_decoder_keys(list(weights)):  # TAESD's decoder: Sequential(Clamp, conv, ReLU, …)
        return {
            f"decoder.layers.{int(found[1]) - 1}.{found[2]}": tensor
            for key, tensor in weights.items()
            if (found := _TAESD_DECODER_KEY.match(key))
        }
    return weights


def load(path: str | Path, *, like, device=None, dtype=None):
    """The tiny decoder in ``path`` for a model whose own VAE is ``like`` (same latent channels), on
    ``device`` in ``dtype`` (default: where and what ``like`` is); loaded once per process."""
    import diffusers

    path = Path(path)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as exc:
        raise VaeError(f"The tiny decoder {path.name} is gone ({path}): rescan the library.") from exc
    parameter = next(like.parameters())
    device, dtype = device or parameter.device, dtype or parameter.dtype
    key = (str(path), stamp, str(device), str(dtype))
    with _lock:
        if key in _loaded:
            return _loaded[key]
        try:
            if path.is_dir():
                decoder = diffusers.AutoencoderTiny.from_pretrained(str(path), local_files_only=True)
            else:
                decoder = diffusers.AutoencoderTiny()
                missing, unexpected = decoder.load_state_dict(_state_dict(path), strict=False)
                if unexpected or any(name.startswith("decoder.") for name in missing):
                    raise ValueError(f"not a tiny decoder's weights (missing {len(missing)}, unexpected {len(unexpected)} keys)")
        except Exception as exc:
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise VaeError(f"Cannot load the tiny decoder {path.name} ({type(exc).__name__}: {first_line[:300]}).") from exc
        if decoder.config.latent_channels != like.config.latent_channels:
            raise VaeError(
                f"The tiny decoder {path.name} decodes {decoder.config.latent_channels} latent channels; "
                f"this model paints {like.config.latent_channels}: choose the tiny decoder made for its family (TAESD, TAESDXL)."
            )
        decoder = decoder.to(device=device, dtype=dtype).eval()
        decoder.requires_grad_(False)
        _loaded.clear()
        _loaded[key] = decoder
        return decoder
