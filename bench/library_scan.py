#!/usr/bin/env python3
"""The model library's scan and file identity (docs/models.md), in one run:

    .venv/bin/python bench/library_scan.py [--checkpoints 50] [--checkpoint-mb 64] [--hash-gb 2] [--rounds 3]
    .venv/bin/python bench/library_scan.py --smoke      # 5 files of 1 MB, a 16 MB hash: seconds

1. Rescan: a library of N single-file checkpoints (SD 1.x headers, then filler to the size asked)
   scanned once (every file hashed) and again with no file changed: the rescan reads headers and
   trusts the stored hashes. Prints both times; the rescan's is what a curator's Rescan button or
   A1111's refresh-checkpoints costs on a library that did not change.
2. Hashing a new file: ``library.files.sha256_of`` against ``sha256sum`` on the same
   file (random bytes, in the page cache after a first read by each), alternated, best of
   ``--rounds``; prints the ratio.

Runs on a throw-away SQLite database and temporary files.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import parser, results
from bench.harness.venue import here

SD1_KEYS = {
    "model.diffusion_model.input_blocks.0.0.weight": [320, 4, 3, 3],
    "model.diffusion_model.out.2.weight": [4, 320, 3, 3],
    "cond_stage_model.transformer.text_model.embeddings.position_embedding.weight": [77, 768],
    "first_stage_model.decoder.conv_out.weight": [3, 128, 3, 3],
}


def write_checkpoint(path: Path, size: int, seed: int) -> None:
    """A safetensors header of an SD 1.x checkpoint, then ``size`` bytes of weights (its own bytes per file)."""
    header = {name: {"dtype": "F16", "shape": shape, "data_offsets": [0, 0]} for name, shape in SD1_KEYS.items()}
    raw = json.dumps(header).encode()
    block = os.urandom(1 << 20)
    with open(path, "wb") as stream:
        stream.write(struct.pack("<Q", len(raw)) + raw)
        stream.write(seed.to_bytes(8, "little"))
        for _ in range(size >> 20):
            stream.write(block)


def write_random(path: Path, size: int) -> None:
    with open(path, "wb") as stream:
        for _ in range(size >> 24):
            stream.write(os.urandom(1 << 24))


def main() -> None:
    made = parser(__doc__)
    made.add_argument("--checkpoints", type=int, default=50)
    made.add_argument("--checkpoint-mb", type=int, default=64, help="size of each checkpoint (the rescan reads none of it)")
    made.add_argument("--hash-gb", type=float, default=2.0)
    made.add_argument("--rounds", type=int, default=3)
    args = made.parse_args()
    if args.smoke:
        args.checkpoints, args.checkpoint_mb, args.hash_gb, args.rounds = 5, 1, 1 / 64, 1
    started = results.machine()
    with here("bench-library-") as venue:
        figures = run(args, venue.folder("bench"), venue.work)
    print(results.load_line("at the end"))
    results.write(args.json, "library_scan", vars(args), figures, started)


def run(args, library_root: Path, work: Path) -> dict:
    from library.completeness import fingerprint
    from library.files import sha256_of
    from library.services import entries as library

    library_root.mkdir(parents=True, exist_ok=True)
    for number in range(args.checkpoints):
        write_checkpoint(library_root / f"model-{number:02d}.safetensors", args.checkpoint_mb << 20, number)
    first, first_s = results.timed(library.scan)
    assert len(first.found) == args.checkpoints and all(entry.sha256 for entry in first.found)
    rounds = max(1, args.rounds)
    rescans = results.repeat(library.scan, rounds, warmup=0)
    assert [entry.sha256 for entry in library.scan().found] == [entry.sha256 for entry in first.found]
    looks = results.repeat(lambda: fingerprint(library_root), rounds, warmup=0)
    total_gb = args.checkpoints * args.checkpoint_mb / 1024
    print(
        f"scan of {args.checkpoints} checkpoints ({total_gb:.1f} GB): first {first_s:.2f} s (hashing every file), "
        f"rescan unchanged {min(rescans):.3f} s (best of {len(rescans)}), periodic look {min(looks) * 1000:.1f} ms"
    )

    big = work / "new-model.safetensors"
    write_random(big, max(1 << 24, int(args.hash_gb * (1 << 30))))
    expected = subprocess.run(["sha256sum", str(big)], capture_output=True, text=True, check=True).stdout.split()[0]  # warms the cache
    assert sha256_of(big) == expected
    hashed = results.alternate(
        ("sha256sum", "sha256_of"),
        rounds,
        lambda tool, _: {"s": results.timed(
            lambda: subprocess.run(["sha256sum", str(big)], capture_output=True, check=True) if tool == "sha256sum" else sha256_of(big)
        )[1]},
    )  # fmt: skip
    ours, theirs = (min(run["s"] for run in hashed[tool]) for tool in ("sha256_of", "sha256sum"))
    size_gb = big.stat().st_size / (1 << 30)
    print(
        f"hashing a new {size_gb:.2f} GB file: sha256_of {ours:.2f} s, sha256sum {theirs:.2f} s "
        f"({ours / theirs:.2f}x sha256sum, best of {rounds})"
    )
    return {
        "first_scan_s": first_s, "rescan_s": results.summary(rescans), "periodic_look_s": results.summary(looks),
        "sha256_of_s": ours, "sha256sum_s": theirs, "hash_ratio": ours / theirs,
    }  # fmt: skip


if __name__ == "__main__":
    main()
