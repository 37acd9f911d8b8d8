#!/usr/bin/env python3
"""Rendering a search key's answer entries: ``garden.selectors.listing_entries`` (one probed URL
base) against ``listing_entry`` per image (the storage's own URL, DRF's JSON), in the same run.

    .venv/bin/python bench/listing_entries.py [--images 190] [--rounds 200]
    .venv/bin/python bench/listing_entries.py --smoke       # 10 images, 10 rounds

Each web process renders every search key's entries again whenever the serving set changes
(every gardener round); 190 is bench/serving.py's images per search key. The keys have a
favorite with a comma and a space, as kiosk keys may. Prints milliseconds per key for both on the
configured storage (the file system on the embedded defaults), and the ratio.
"""

from __future__ import annotations

import argparse
import os
import sys
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=190)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--smoke", action="store_true", help="10 images, 10 rounds: the whole path in seconds")
    args = parser.parse_args()
    if args.smoke:
        args.images, args.rounds = 10, 10
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.test import RequestFactory

    from garden import selectors

    request = RequestFactory().post("/garden", HTTP_HOST="127.0.0.1:8000")
    rows = [(f"emotions/calm/spring,cloudy day/img_20261121-101500-{n:06x}_{n}h.jpg", "calm") for n in range(args.images)]
    assert selectors.listing_entries(rows, request=request) == [
        selectors.listing_entry(key=key, emotion=emotion, request=request) for key, emotion in rows
    ]

    def each() -> None:
        [selectors.listing_entry(key=key, emotion=emotion, request=request) for key, emotion in rows]

    def probed() -> None:
        selectors.listing_entries(rows, request=request)

    per_image = min(timeit.repeat(each, number=args.rounds // 10, repeat=10)) / (args.rounds // 10) * 1000
    per_key = min(timeit.repeat(probed, number=args.rounds // 10, repeat=10)) / (args.rounds // 10) * 1000
    ratio = per_image / per_key
    print(f"{args.images} entries: listing_entry each {per_image:.2f} ms, listing_entries {per_key:.2f} ms ({ratio:.1f}x faster)")


if __name__ == "__main__":
    main()
