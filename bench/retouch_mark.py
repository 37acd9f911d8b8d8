#!/usr/bin/env python3
"""The watermark of a retouch: read back over its region, and its cost against the whole-picture mark.

    .venv/bin/python bench/retouch_mark.py              # 4 sources x 7 masks, 768x512, 5 timing rounds
    .venv/bin/python bench/retouch_mark.py --smoke      # one source, two masks, one round (seconds)

A retouch carries the mark only in the box it repainted (``retouch.imaging.mark_box`` and
``finish(mark=…)``), read back over that box (``provenance.report``). Per mask shape, on
procedural 768x512 sources with another procedural painting composited in as the repainted content
(the steps after the model; no model runs here): the bits matched of 48 over the box, from the
lossless PNG, after the JPEG a promotion makes (quality 95, ``garden.services.as_jpeg``) and after
JPEG 90 then a re-save at 85; and the pixels that differ from the source outside the feathered mask.

Then the cost, alternated in the same run, best of --rounds: the steps a retouch takes after the
model (composite + PNG encoding with EXIF and XMP) with the region mark, against the same with the
whole-picture mark the encoder adds to generated pictures (what retouches carried before issue 49).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BLUR = 4


def shapes(draw_module):
    """Mask drawings on 768x512: (name, draw(ImageDraw))."""
    return {
        "rectangle 300x280": lambda d: d.rectangle((200, 120, 499, 399), fill=255),
        "ellipse 320x300": lambda d: d.ellipse((180, 100, 500, 400), fill=255),
        "freehand blob": lambda d: d.polygon([(150, 90), (330, 60), (520, 160), (480, 380), (290, 440), (170, 320)], fill=255),
        "ring": lambda d: (d.ellipse((180, 100, 480, 400), fill=255), d.ellipse((260, 180, 400, 320), fill=0)),
        "stroke 110px": lambda d: d.line([(120, 100), (320, 260), (560, 140)], fill=255, width=110),
        "stroke 40px": lambda d: d.line([(120, 100), (320, 260), (560, 140)], fill=255, width=40),
        "small 200x200": lambda d: d.rectangle((280, 150, 479, 349), fill=255),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="one source, two masks, one round: end to end in seconds")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import numpy as np
    from PIL import Image, ImageDraw

    from garden.services import as_jpeg
    from generation.backends import procedural
    from generation.imagefile import encode_png
    from provenance import watermark
    from retouch import imaging

    if not watermark.available():
        sys.exit("OpenCV is not installed (requirements/generation.txt): no watermark to measure")
    size = (768, 512)
    masks = shapes(ImageDraw)
    if args.smoke:
        args.sources, args.rounds = 1, 1
        masks = {name: masks[name] for name in ("rectangle 300x280", "small 200x200")}
    emotions = ["happy", "calm", "sad", "angry"]
    parameters = {"kind": "retouch", "generator": "diffusers", "model_id": "bench"}

    def reread(content: bytes) -> Image.Image:
        return Image.open(io.BytesIO(content)).convert("RGB")

    def jpeg(picture: Image.Image, quality: int) -> Image.Image:
        buffer = io.BytesIO()
        picture.save(buffer, "JPEG", quality=quality)
        return reread(buffer.getvalue())

    rows, timings = [], {"region mark": [], "whole-picture mark": []}
    for number in range(args.sources):
        emotion, other = emotions[number % 4], emotions[(number + 2) % 4]
        source = procedural.paint(emotion=emotion, seed=number, width=size[0], height=size[1])
        for name, draw in masks.items():
            mask = Image.new("L", size, 0)
            draw(ImageDraw.Draw(mask))
            hard = np.asarray(mask) >= 128
            rect = imaging.padded(imaging.bounding_box(hard), 32 + imaging.feather_reach(BLUR), size)
            prepared = imaging.prepare(source, hard, rect, work=(rect[2], rect[3]), blur=BLUR, fill="original", seed=0)
            painted = procedural.paint(emotion=other, seed=number + 10, width=rect[2], height=rect[3])
            box = imaging.mark_box(prepared, 1.0)

            def region(box=box, prepared=prepared, painted=painted, source=source):
                result = imaging.finish(source, painted, prepared, opacity=1.0, color_match=True, ring_width=12, mark=box)
                return result, encode_png(result, parameters, watermark=False)

            def whole(prepared=prepared, painted=painted, source=source):
                result = imaging.finish(source, painted, prepared, opacity=1.0, color_match=True, ring_width=12)
                return encode_png(result, parameters, watermark=True)

            result, content = region()
            x, y, w, h = rect
            touched = np.zeros(hard.shape, bool)
            touched[y : y + h, x : x + w] = prepared.alpha > 0
            stored = np.asarray(reread(content))
            outside = int((stored != np.asarray(source)).any(axis=-1)[~touched].sum())
            row = {"source": number, "mask": name, "box": list(box) if box else None, "outside_pixels_changed": outside}
            if box is not None:
                bx, by, bw, bh = box
                crop = (bx, by, bx + bw, by + bh)
                row["full_coverage"] = round(float((prepared.alpha[by - y : by - y + bh, bx - x : bx - x + bw] == 255).mean()), 2)
                row["bits"] = {
                    "png": watermark.matching_bits(reread(content).crop(crop)),
                    "promotion jpeg 95": watermark.matching_bits(reread(as_jpeg(content)).crop(crop)),
                    "jpeg 90 then 85": watermark.matching_bits(jpeg(jpeg(result, 90), 85).crop(crop)),
                }
            rows.append(row)
            if name.startswith("rectangle"):
                for _ in range(args.rounds):
                    for label, run in (("region mark", region), ("whole-picture mark", whole)):
                        started = time.perf_counter()
                        run()
                        timings[label].append(time.perf_counter() - started)
    best = {label: round(min(values) * 1000, 1) for label, values in timings.items()}
    print(f"{size[0]}x{size[1]}, mask_blur {BLUR}, {os.cpu_count()} CPUs; bits of 48 over the box: png / promotion jpeg 95 / jpeg 90+85")
    for row in rows:
        bits = " / ".join(str(value) for value in row["bits"].values()) if "bits" in row else "no mark"
        coverage = f"fully repainted {row['full_coverage']:.0%}" if "full_coverage" in row else ""
        box = json.dumps(row["box"])
        print(f"source {row['source']}  {row['mask']:18s} box {box:22s} {coverage:22s} {bits:14s} outside: {row['outside_pixels_changed']}")
    print(
        f"finish + PNG, rectangle mask, best of {len(timings['region mark'])}: region mark {best['region mark']} ms, "
        f"whole-picture mark {best['whole-picture mark']} ms, ratio {best['region mark'] / best['whole-picture mark']:.2f}"
    )
    return 0 if all(row["outside_pixels_changed"] == 0 for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
