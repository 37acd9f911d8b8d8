#!/usr/bin/env python3
"""Provenance benchmark: what marking a generated picture adds to its encode, at 768x512.

    .venv/bin/python bench/provenance.py              # 10 pictures x 3 rounds, this CPU
    .venv/bin/python bench/provenance.py --pictures 20 --rounds 5
    .venv/bin/python bench/provenance.py --smoke      # 1 picture, 1 round

Per picture (procedural paintings, one seed each), alternated in the same run: the JPEG encode
with none of it (Pillow, EXIF parameters: the encoder before provenance), with the XMP packet,
with XMP and the watermark, and with XMP, watermark and a C2PA manifest signed by a test chain
made here; where imwatermark is installed, also with XMP and the same watermark embedded by
imwatermark itself (its Python loop over blocks: the cost before provenance/watermark.py was
vectorized). The median of each, and each one's added cost over the plain encode, in ms.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pictures", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="1 picture, 1 round: the whole path in seconds")
    args = parser.parse_args()
    if args.smoke:
        args.pictures, args.rounds = 1, 1
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import numpy as np
    from django.conf import settings
    from PIL import Image

    from generation.backends import procedural
    from generation.imagefile import _exif, encode_jpeg
    from provenance import watermark
    from provenance.certs import make_test_chain

    pictures = [procedural.paint(emotion="happy", favorite="tulip", seed=seed, width=768, height=512) for seed in range(args.pictures)]
    parameters = {"generator": "procedural", "model_id": procedural.MODEL_ID, "seed": 0, "width": 768, "height": 512}
    folder = Path(tempfile.mkdtemp(prefix="bench-provenance-"))
    chain, key = make_test_chain()
    (folder / "chain.pem").write_bytes(chain)
    (folder / "key.pem").write_bytes(key)

    def plain(picture: Image.Image) -> bytes:
        buffer = io.BytesIO()
        picture.convert("RGB").save(buffer, "JPEG", quality=90, optimize=True, exif=_exif(parameters))
        return buffer.getvalue()

    def marked(picture: Image.Image, *, mark: bool, sign: bool) -> bytes:
        settings.GARDEN_C2PA_CERT, settings.GARDEN_C2PA_KEY = (str(folder / "chain.pem"), str(folder / "key.pem")) if sign else ("", "")
        return encode_jpeg(picture, parameters, watermark=mark)

    variants = {
        "plain": plain,
        "xmp": lambda p: marked(p, mark=False, sign=False),
        "xmp+watermark": lambda p: marked(p, mark=True, sign=False),
        "xmp+watermark+c2pa": lambda p: marked(p, mark=True, sign=True),
    }
    if importlib.util.find_spec("imwatermark") is not None:
        from imwatermark import WatermarkEncoder

        encoder = WatermarkEncoder()
        encoder.set_watermark("bits", watermark.BITS)

        def library(picture: Image.Image) -> bytes:
            bgr = np.ascontiguousarray(np.asarray(picture.convert("RGB"), dtype=np.float32)[:, :, ::-1])
            embedded = encoder.encode(bgr, watermark.METHOD)[:, :, ::-1].round().clip(0, 255).astype(np.uint8)
            return marked(Image.fromarray(np.ascontiguousarray(embedded), "RGB"), mark=False, sign=False)

        variants["xmp+imwatermark"] = library
    for variant in variants.values():  # warm: imports (torch via imwatermark), the C2PA library
        variant(pictures[0])
    times: dict[str, list[float]] = {name: [] for name in variants}
    sizes: dict[str, int] = {}
    for _round in range(args.rounds):
        for picture in pictures:
            for name, variant in variants.items():
                started = time.perf_counter()
                content = variant(picture)
                times[name].append((time.perf_counter() - started) * 1000)
                sizes[name] = len(content)
    base = statistics.median(times["plain"])
    report = {
        "size": "768x512",
        "samples": len(times["plain"]),
        "cpus": os.cpu_count(),
        "watermark_method": watermark.METHOD,
        "median_ms": {name: round(statistics.median(values), 1) for name, values in times.items()},
        "added_ms": {name: round(statistics.median(values) - base, 1) for name, values in times.items() if name != "plain"},
        "bytes": sizes,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
