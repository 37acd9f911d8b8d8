"""Upscalers: the built-in resamplers (Lanczos, Nearest) and ESRGAN-family models of the library.

Worker-side only (imports torch). A library upscaler is a ``.safetensors`` or ``.pth`` file under
``<GARDEN_MODELS_DIR>/upscalers/`` holding an RRDBNet state dict, the network of ESRGAN,
Real-ESRGAN (``RealESRGAN_x4plus``, ``x2plus``, ``anime_6B``), BSRGAN and most community upscalers
(4x-UltraSharp, Remacri, …), in any of its three key layouts:

- ESRGAN's original: ``model.0.*``, ``model.1.sub.N.RDBr.convc.0.*``, ``model.3.*`` …;
- BasicSR / Real-ESRGAN: ``conv_first``, ``body.N.rdbr.convc``, ``conv_body``, ``conv_upK``,
  ``conv_hr``, ``conv_last`` (optionally under ``params_ema`` or ``params``);
- BSRGAN / RealSR: ``RRDB_trunk.N.RDBr.convc``, ``trunk_conv``, ``upconvK``, ``HRconv``.

The network is read from the state dict's shapes (filters, blocks, growth channels, the number of
2x upsampling stages, Real-ESRGAN's pixel-unshuffle for its x2 and x1 models: the torch-free
library.upscaler_layouts, which the library scan can run on a file's header), as
spandrel's ESRGAN architecture does. spandrel itself (what ComfyUI and InvokeAI load these with) is not used: its
``import spandrel`` imports torchvision (RestoreFormer's and LaMa's modules), and torchvision must
not be installed beside this project's pinned torch. ``.pth`` files are pickles: they are read with
``torch.load(weights_only=True)`` (tensors and plain containers only, no code).

Models are loaded once per worker process and kept (the two most recent).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import torch
from PIL import Image as PILImage
from torch import nn
from torch.nn import functional

from config import caches
from generation.backends import BackendError
from library import upscaler_layouts

# The resamplers every upscaler list offers (A1111's "None" resizes with Lanczos too).
RESAMPLERS = {"lanczos": PILImage.Resampling.LANCZOS, "nearest": PILImage.Resampling.NEAREST, "none": PILImage.Resampling.LANCZOS}
CACHED = 2
# A1111 applies a model at most this many times to reach a size (modules/upscaler.py).
MAX_PASSES = 3


class UpscalerError(BackendError):
    """The file is not an upscaler this product can run; the message says why."""


# --- the network -------------------------------------------------------------------------------


class _DenseBlock(nn.Module):
    """A residual dense block: five 3x3 convolutions, each seeing every earlier output."""

    def __init__(self, filters: int, growth: int):
        super().__init__()
        self.conv1 = nn.Conv2d(filters, growth, 3, 1, 1)
        self.conv2 = nn.Conv2d(filters + growth, growth, 3, 1, 1)
        self.conv3 = nn.Conv2d(filters + 2 * growth, growth, 3, 1, 1)
        self.conv4 = nn.Conv2d(filters + 3 * growth, growth, 3, 1, 1)
        self.conv5 = nn.Conv2d(filters + 4 * growth, filters, 3, 1, 1)

    def forward(self, x):
        x1 = functional.leaky_relu(self.conv1(x), 0.2)
        x2 = functional.leaky_relu(self.conv2(torch.cat((x, x1), 1)), 0.2)
        x3 = functional.leaky_relu(self.conv3(torch.cat((x, x1, x2), 1)), 0.2)
        x4 = functional.leaky_relu(self.conv4(torch.cat((x, x1, x2, x3), 1)), 0.2)
        x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
        return x5 * 0.2 + x


class _RRDB(nn.Module):
    def __init__(self, filters: int, growth: int):
        super().__init__()
        self.rdb1 = _DenseBlock(filters, growth)
        self.rdb2 = _DenseBlock(filters, growth)
        self.rdb3 = _DenseBlock(filters, growth)

    def forward(self, x):
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


class RRDBNet(nn.Module):
    """ESRGAN's generator in BasicSR's key layout, with any number of 2x upsampling stages and
    Real-ESRGAN's pixel-unshuffle of the input (``shuffle`` 2 or 4) for its x2 and x1 models."""

    def __init__(self, *, in_channels: int, out_channels: int, filters: int, blocks: int, growth: int, upsamples: int, shuffle: int):
        super().__init__()
        self.shuffle = shuffle
        self.scale = 2**upsamples // shuffle
        self.conv_first = nn.Conv2d(in_channels, filters, 3, 1, 1)
        self.body = nn.Sequential(*(_RRDB(filters, growth) for _ in range(blocks)))
        self.conv_body = nn.Conv2d(filters, filters, 3, 1, 1)
        self.ups = upsamples
        for number in range(1, upsamples + 1):
            self.add_module(f"conv_up{number}", nn.Conv2d(filters, filters, 3, 1, 1))
        self.conv_hr = nn.Conv2d(filters, filters, 3, 1, 1)
        self.conv_last = nn.Conv2d(filters, out_channels, 3, 1, 1)

    def forward(self, x):
        height, width = x.shape[-2:]
        if self.shuffle > 1:
            pad_h, pad_w = (-height) % self.shuffle, (-width) % self.shuffle
            if pad_h or pad_w:
                x = functional.pad(x, (0, pad_w, 0, pad_h), mode="reflect")
            x = functional.pixel_unshuffle(x, self.shuffle)
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        for number in range(1, self.ups + 1):
            conv = getattr(self, f"conv_up{number}")
            feat = functional.leaky_relu(conv(functional.interpolate(feat, scale_factor=2, mode="nearest")), 0.2)
        out = self.conv_last(functional.leaky_relu(self.conv_hr(feat), 0.2))
        return out[..., : height * self.scale, : width * self.scale]


# --- state dicts ---------------------------------------------------------------------------------


def read_state(path: Path) -> dict:
    """The file's tensors (safetensors, or a .pth read with weights_only), unwrapped from BasicSR's
    ``params_ema``/``params`` or a ``state_dict`` key."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path), device="cpu")
        else:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UpscalerError(f"Cannot read the upscaler {path.name} ({type(exc).__name__}: {exc}).") from exc
    for wrapper in ("params_ema", "params", "state_dict"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
            break
    if not isinstance(state, dict) or not all(isinstance(value, torch.Tensor) for value in state.values()):
        raise UpscalerError(f"The upscaler {path.name} holds no state dict of tensors.")
    return state


def basicsr_layout(state: dict) -> dict:
    """Any of the three RRDBNet layouts as BasicSR's (``conv_first``, ``body.N.rdbR.convC`` …)."""
    try:
        names = upscaler_layouts.basicsr_names(state)
    except upscaler_layouts.NotAnUpscaler as exc:
        raise UpscalerError(str(exc)) from None
    return {names[key]: value for key, value in state.items()}


def build(state: dict) -> RRDBNet:
    """The network the state dict describes (upscaler_layouts.describe), with its weights (strict:
    every key must fit)."""
    try:
        spec = upscaler_layouts.describe({key: tuple(value.shape) for key, value in state.items()})
    except upscaler_layouts.NotAnUpscaler as exc:
        raise UpscalerError(str(exc)) from None
    net = RRDBNet(**{name: spec[name] for name in ("in_channels", "out_channels", "filters", "blocks", "growth", "upsamples", "shuffle")})
    try:
        net.load_state_dict(basicsr_layout(state), strict=True)
    except RuntimeError as exc:
        raise UpscalerError(f"The RRDBNet weights do not fit the network read from their shapes: {exc}") from exc
    return net.eval()


# --- loading and running -------------------------------------------------------------------------

_lock = threading.Lock()
_loaded: OrderedDict[tuple, RRDBNet] = OrderedDict()
caches.register(
    _loaded.clear,
    owner=__name__,
    name="_loaded",
    key="(file path, its modification time, device, dtype); the CACHED most recently used",
    fresh="the file's modification time, part of the key",
)


def load(path: str | Path, *, device: str = "cpu", dtype=None) -> RRDBNet:
    """The upscaler in ``path`` on ``device`` (kept: the CACHED most recently used per process)."""
    path = Path(path)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as exc:
        raise UpscalerError(f"The upscaler file {path} is gone ({exc}): rescan the library.") from exc
    dtype = dtype or torch.float32
    key = (str(path), stamp, str(device), str(dtype))
    with _lock:
        if key in _loaded:
            _loaded.move_to_end(key)
            return _loaded[key]
        net = build(read_state(path)).to(device=device, dtype=dtype)
        _loaded[key] = net
        while len(_loaded) > CACHED:
            _loaded.popitem(last=False)
        return net


def scale_of(path: str | Path) -> int:
    return load(path).scale


def apply(net: RRDBNet, picture: PILImage.Image) -> PILImage.Image:
    """One run of the network on an RGB picture: the picture ``net.scale`` times larger."""
    import numpy as np

    parameter = next(net.parameters())
    pixels = np.asarray(picture.convert("RGB"), dtype=np.float32) / 255.0
    tensor = torch.from_numpy(pixels).permute(2, 0, 1).unsqueeze(0).to(device=parameter.device, dtype=parameter.dtype)
    with torch.inference_mode():
        out = net(tensor).float().clamp(0, 1)
    array = (out[0].permute(1, 2, 0).cpu().numpy() * 255.0).round().astype(np.uint8)
    return PILImage.fromarray(array, "RGB")


def upscale(picture: PILImage.Image, width: int, height: int, *, upscaler: str, path: str = "", device: str = "cpu", dtype=None):
    """``picture`` at ``width`` x ``height``: a resampler (``lanczos``, ``nearest``, ``none``) resizes it;
    a library model (``path``) is run until the picture is at least that large (at most MAX_PASSES
    times, as A1111 does), then resized down to exactly that size with Lanczos."""
    if upscaler in RESAMPLERS:
        return picture.convert("RGB").resize((width, height), RESAMPLERS[upscaler])
    if not path:
        raise UpscalerError(f"Unknown upscaler {upscaler!r}: no file was given for it.")
    net = load(path, device=device, dtype=dtype)
    for _ in range(MAX_PASSES):
        if picture.width >= width and picture.height >= height:
            break
        picture = apply(net, picture)
    if picture.size != (width, height):
        picture = picture.resize((width, height), PILImage.Resampling.LANCZOS)
    return picture
