#!/usr/bin/env python3
"""Loading a single-file checkpoint against its diffusers folder twin (docs/models.md), in one run.

    .venv/bin/python bench/checkpoint_load.py [--arch sd1] [--device cpu] [--rounds 3] [--keep DIR]
    .venv/bin/python bench/checkpoint_load.py --arch sdxl --device cuda      # on a GPU machine
    .venv/bin/python bench/checkpoint_load.py --smoke                        # the tiny pipeline: seconds

Builds the architecture from the config folder the project ships for it (random weights, fp16 on
disk: the real shapes and tokenizer of that family), saves it twice, as a diffusers folder and as one
``.safetensors`` in the original layout, and times loading each through the product's loader
(``generation.backends.checkpoints.load_text_to_image``, then ``.to(device)``), alternated, best of
``--rounds``, in fp32 on a CPU and fp16 on CUDA. The files are in the page cache after the first
round (warm loads: the conversion's cost, not the disk's). Prints both and the ratio. An SDXL build
needs about 14 GB of memory on a CPU; ``--keep`` keeps the files for another run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def build(arch: str, folder: Path, smoke: bool):
    import torch

    from generation.backends.checkpoints import prepared_config
    from library import checkpoints
    from testkit.single_file import build_from_configs, save_single_file

    twin, single = folder / f"{arch}-twin", folder / f"{arch}-single.safetensors"
    if (twin / "model_index.json").exists() and single.exists():
        return twin, single
    started = time.perf_counter()
    if smoke:
        from testkit.tiny_pipeline import build_tiny_pipeline

        pipeline = build_tiny_pipeline(seed=1)
    else:
        pipeline = build_from_configs(prepared_config(checkpoints.CONFIGS / arch), seed=1)
    pipeline = pipeline.to(torch.float16)
    pipeline.save_pretrained(str(twin))
    save_single_file(pipeline, single, configs_beside=smoke)
    print(f"built and saved {arch} in {time.perf_counter() - started:.1f} s ({single.stat().st_size / 1e9:.2f} GB single file)")
    return twin, single


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="sd1", help="a folder of library/checkpoint_configs (sd1, sd2-v, sdxl, …)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", help="a folder to build into and keep (default: a temporary one, removed)")
    parser.add_argument("--smoke", action="store_true", help="the tiny SD pipeline, one round")
    args = parser.parse_args()
    if args.smoke:
        args.arch, args.rounds = "sd1", 1
    import django

    django.setup()
    import diffusers
    import torch

    from generation.backends.checkpoints import load_text_to_image

    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-checkpoint-"))
    folder.mkdir(parents=True, exist_ok=True)
    dtype = torch.float16 if args.device.startswith("cuda") else torch.float32
    try:
        twin, single = build(args.arch, folder, args.smoke)
        times: dict[str, list[float]] = {"folder": [], "single file": []}
        for _ in range(max(1, args.rounds)):
            for label, model in (("folder", twin), ("single file", single)):
                started = time.perf_counter()
                pipeline = load_text_to_image(diffusers, str(model), dtype=dtype, offline=True).to(args.device)
                if args.device.startswith("cuda"):
                    torch.cuda.synchronize()
                times[label].append(time.perf_counter() - started)
                del pipeline
        best = {label: min(values) for label, values in times.items()}
        device = torch.cuda.get_device_name() if args.device.startswith("cuda") else f"CPU ({os.cpu_count()} cores)"
        print(
            f"{args.arch} on {device}, {str(dtype).removeprefix('torch.')}: folder {best['folder']:.2f} s, "
            f"single file {best['single file']:.2f} s ({best['single file'] / best['folder']:.2f}x the folder; best of {args.rounds})"
        )
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
