"""ESRGAN-family (RRDBNet) key layouts, read from key names and shapes alone: no torch.

The worker (generation.backends.upscalers) renames a state dict with ``basicsr_names`` and builds
the network ``describe`` reads; the library scan can call ``describe`` on a ``.safetensors``
header's shapes to tell, without loading a weight, whether an upscaler file can run here and at
which scale. Three layouts are known, as spandrel's ESRGAN architecture detects them:

- ESRGAN's original: ``model.0.*``, ``model.1.sub.N.RDBr.convc.0.*``, upsampling convs at
  ``model.3``, ``model.6`` …, then the HR conv and the last conv;
- BasicSR / Real-ESRGAN: ``conv_first``, ``body.N.rdbr.convc``, ``conv_body``, ``conv_upK``,
  ``conv_hr``, ``conv_last``;
- BSRGAN / RealSR: ``RRDB_trunk.N.RDBr.convc``, ``trunk_conv``, ``upconvK``, ``HRconv``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence


class NotAnUpscaler(ValueError):
    """The keys are not an RRDBNet this product runs; the message says why."""


def _renames(keys: list[str]) -> list[tuple[str, str]]:
    names = set(keys)
    if "conv_first.weight" in names and "body.0.rdb1.conv1.weight" in names:
        return []
    if "conv_first.weight" in names and "RRDB_trunk.0.RDB1.conv1.weight" in names:  # BSRGAN / RealSR
        return [
            (r"^RRDB_trunk\.(\d+)\.RDB(\d)\.conv(\d)\.", r"body.\1.rdb\2.conv\3."),
            (r"^trunk_conv\.", "conv_body."),
            (r"^upconv(\d)\.", r"conv_up\1."),
            (r"^HRconv\.", "conv_hr."),
        ]
    if "model.0.weight" in names and "model.1.sub.0.RDB1.conv1.0.weight" in names:  # ESRGAN's original
        blocks = 1 + max(int(key.split(".")[3]) for key in keys if key.startswith("model.1.sub.") and ".RDB" in key)
        numbers = sorted({int(key.split(".")[1]) for key in keys if key.startswith("model.")})
        # model.0 first, model.1 the trunk, then an upsample (no weights) + conv + activation per
        # 2x stage (convs at 3, 6, …), then the HR conv and, after its activation, the last conv.
        last, hr = numbers[-1], numbers[-2]
        ups = [number for number in numbers if 1 < number < hr]
        return [
            (r"^model\.0\.", "conv_first."),
            (r"^model\.1\.sub\.(\d+)\.RDB(\d)\.conv(\d)\.0\.", r"body.\1.rdb\2.conv\3."),
            (rf"^model\.1\.sub\.{blocks}\.", "conv_body."),
            (rf"^model\.{hr}\.", "conv_hr."),
            (rf"^model\.{last}\.", "conv_last."),
            *((rf"^model\.{number}\.", f"conv_up{index}.") for index, number in enumerate(ups, 1)),
        ]
    if any(".conv1x1." in key for key in keys):
        raise NotAnUpscaler("ESRGAN+ upscalers (conv1x1 blocks) are not supported: use an ESRGAN, Real-ESRGAN or BSRGAN model.")
    shown = ", ".join(keys[:4])
    raise NotAnUpscaler(f"Not an ESRGAN-family (RRDBNet) upscaler: its keys start {shown}.")


def basicsr_names(keys: Iterable[str]) -> dict[str, str]:
    """Each key → its name in BasicSR's layout (NotAnUpscaler for other networks)."""
    keys = list(keys)
    renames = _renames(keys)
    mapping = {}
    for key in keys:
        for pattern, replacement in renames:
            new, hits = re.subn(pattern, replacement, key)
            if hits:
                mapping[key] = new
                break
        else:
            mapping[key] = key
    return mapping


def describe(shapes: Mapping[str, Sequence[int]]) -> dict:
    """The network the keys and shapes describe: ``in_channels``, ``out_channels``, ``filters``,
    ``blocks``, ``growth``, ``upsamples`` (2x stages), ``shuffle`` (Real-ESRGAN's pixel-unshuffle of
    the input: 1, 2 or 4) and ``scale`` (the picture's), plus ``architecture`` and ``layout``."""
    names = basicsr_names(shapes)
    renamed = {new: list(shapes[old]) for old, new in names.items()}
    layout = "basicsr" if all(old == new for old, new in names.items()) else ("esrgan" if "model.0.weight" in shapes else "bsrgan")
    try:
        first, last = renamed["conv_first.weight"], renamed["conv_last.weight"]
        in_channels, out_channels, filters = first[1], last[0], first[0]
        blocks = 1 + max(int(key.split(".")[1]) for key in renamed if key.startswith("body."))
        growth = renamed["body.0.rdb1.conv1.weight"][0]
    except (KeyError, ValueError, IndexError) as exc:
        raise NotAnUpscaler(f"An incomplete RRDBNet (missing {exc}).") from exc
    upsamples = sum(1 for key in renamed if key.startswith("conv_up") and key.endswith(".weight"))
    shuffle = 1
    if in_channels in (out_channels * 4, out_channels * 16):  # Real-ESRGAN x2 / x1: pixel-unshuffled input
        shuffle = math.isqrt(in_channels // out_channels)
    return {
        "architecture": "ESRGAN",
        "layout": layout,
        "in_channels": in_channels,
        "out_channels": out_channels,
        "filters": filters,
        "blocks": blocks,
        "growth": growth,
        "upsamples": upsamples,
        "shuffle": shuffle,
        "scale": max(1, 2**upsamples // shuffle),
    }
