#!/usr/bin/env python3
"""What measuring a picture's look costs (``garden.looks.measure``), against decoding it, in the same run.

    .venv/bin/python bench/looks.py [--rounds 300]
    .venv/bin/python bench/looks.py --smoke        # 10 rounds: the whole path in seconds

Every stored picture is measured once, by the process that stores it (create_image, rewrite_image)
or by ``manage.py measure_pictures``. Pictures: the procedural painter's (what the demo garden
holds, smooth), a photo-like one (1/f noise, the spectrum of natural pictures) and a worst case
(block noise over a gradient: the most bytes to decode for its size), as JPEG at the generator's
quality 90 and as the PNG that retouched pictures are stored as. For each: the median and 90th
percentile CPU milliseconds of ``--rounds`` measures (CPU time, so that other work on a shared
machine does not count), and the baseline of the same run: decoding the file at full size (what
any reader of it pays, e.g. the thumbnail), with the ratio of the two medians. Pure Pillow and
numpy: no Django, no database.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SMOKE_NEEDS = ()  # no database, no services


def pictures(size: tuple[int, int]):
    import numpy as np
    from PIL import Image as PILImage

    from generation.backends import procedural

    width, height = size
    rng = np.random.default_rng(0)
    yield "painted", procedural.paint(emotion="calm", favorite="spring", seed=7, width=width, height=height)
    # Photo-like: a 1/f^1.4 amplitude spectrum as natural pictures have, smoother colour over it
    # (86 KB as a 512x512 JPEG at quality 90: a detailed photo's size).
    frequency = np.hypot(*np.meshgrid(np.fft.fftfreq(height), np.fft.rfftfreq(width), indexing="ij"))
    frequency = np.maximum(frequency, 1 / max(size))
    luma = np.fft.irfft2(np.fft.rfft2(rng.standard_normal((height, width))) / frequency**1.4, s=(height, width))
    tint = np.fft.irfft2(np.fft.rfft2(rng.standard_normal((3, height, width))) / frequency**2.2, s=(height, width))
    natural = _standard(luma)[None] * 45 + _standard(tint) * 25 + 120
    yield "natural", PILImage.fromarray(np.clip(natural, 0, 255).astype(np.uint8).transpose(1, 2, 0))
    # The worst case: block noise over a gradient, the most bytes to decode for its size.
    blocks = rng.integers(0, 256, size=(height // 4, width // 4, 3)).repeat(4, axis=0).repeat(4, axis=1)
    ramp = np.linspace(0, 1, height)[:, None, None]
    yield "noise", PILImage.fromarray((blocks * 0.5 + ramp * 127).astype(np.uint8))


def _standard(values):
    return (values - values.mean()) / values.std()


def encoded(picture, kind: str) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, kind, **({"quality": 90} if kind == "JPEG" else {}))
    return buffer.getvalue()


def cpu_ms(call, rounds: int) -> list[float]:
    """CPU milliseconds of each call (this thread's): on a shared machine, waiting for a core is not counted."""
    call()  # warm: imports, allocations
    spent = []
    for _ in range(rounds):
        started = time.thread_time()
        call()
        spent.append((time.thread_time() - started) * 1000)
    return spent


def quantile(values: list[float], q: float) -> float:
    return sorted(values)[min(int(q * len(values)), len(values) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--smoke", action="store_true", help="10 rounds: the whole path in seconds (testkit/smoke.py)")
    args = parser.parse_args()
    if args.smoke:
        args.rounds = 10
    from PIL import Image as PILImage

    from garden import looks

    def full_decode(content: bytes) -> None:
        with PILImage.open(io.BytesIO(content)) as picture:
            picture.load()

    print("CPU time per picture, this thread's (time.thread_time):")
    print(f"{'picture':<24} {'bytes':>9} {'measure p50':>12} {'p90':>7} {'full decode p50':>16} {'ratio':>6}")
    for size in ((512, 512), (1280, 800)):
        for name, picture in pictures(size):
            for kind in ("JPEG", "PNG"):
                content = encoded(picture, kind)
                assert len(looks.measure(content)) == len(looks.LOOK_FIELDS)
                measuring = cpu_ms(lambda content=content: looks.measure(content), args.rounds)
                decoding = cpu_ms(lambda content=content: full_decode(content), args.rounds)
                p50, base = statistics.median(measuring), statistics.median(decoding)
                label = f"{size[0]}x{size[1]} {name} {kind}"
                print(f"{label:<24} {len(content):>9,} {p50:>9.3f} ms {quantile(measuring, 0.9):>7.3f} {base:>13.3f} ms {p50 / base:>6.2f}")


if __name__ == "__main__":
    main()
