#!/usr/bin/env python3
"""Hires fix benchmark: one picture at the kiosk size painted directly, and in two passes.

    .venv/bin/python bench/hires.py                                    # the tiny test pipeline on CPU
    .venv/bin/python bench/hires.py --smoke                            # 128x96, 2 steps, a tiny upscaler: seconds
    python3 bench/hires.py --random-architecture sd15 --device cuda --steps 25   # full-size SD 1.5, random weights

For each way (direct at WIDTHxHEIGHT; hires with the latent upscaler; hires with an RRDBNet
upscaler of Real-ESRGAN x4plus's shapes, 64 filters and 23 blocks, random weights, written as a
.safetensors file here) it reports the wall time of DiffusersBackend.generate (the production
code: generation/backends/hires.py) and, on CUDA, the peak GPU memory allocated during the call.
The first pass paints the model's native area (512x512 for SD 1.5) in the picture's aspect
(hires.first_pass_size), the second runs --steps at --denoising. The model is loaded and warmed
(one call per way at a tiny size) before anything is timed; best of --repeat rounds, interleaved.
The pictures are noise with random weights: the figures are speed and memory, not quality.

Figures and the machine they came from: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--random-architecture", choices=("sd15",), help="Full-size SD 1.5 network with random weights")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800)
    parser.add_argument("--native", type=int, default=512, help="The model's native side (SD 1.5: 512)")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--denoising", type=float, default=0.5)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="the whole path at 128x96 (native 64), 2 steps, a tiny RRDBNet: seconds")
    args = parser.parse_args()
    if args.smoke:
        args.width, args.height, args.native, args.steps, args.repeat = 128, 96, 64, 2, 1
    return args


def main() -> None:
    args = parse_args()
    import django

    django.setup()
    import torch

    from generation.backends import Batch, HiresFix, hires
    from generation.backends.diffusion import DiffusersBackend
    from generation.backends.upscalers import RRDBNet

    work = Path(tempfile.mkdtemp(prefix="bench-hires-"))
    if args.random_architecture:
        from testkit.random_sd import save_random_pipeline

        model = save_random_pipeline(args.random_architecture, work / "model", half=args.device.startswith("cuda"))
    else:
        from testkit.tiny_pipeline import save_tiny_pipeline

        model = save_tiny_pipeline(work / "model")
    from safetensors.torch import save_file

    torch.manual_seed(0)
    filters, blocks, growth = (8, 1, 4) if args.smoke else (64, 23, 32)  # Real-ESRGAN x4plus's shapes, or a tiny one
    net = RRDBNet(in_channels=3, out_channels=3, filters=filters, blocks=blocks, growth=growth, upsamples=2, shuffle=1)
    upscaler = work / "x4plus-shaped.safetensors"
    save_file({key: value.contiguous() for key, value in net.state_dict().items()}, str(upscaler))

    backend = DiffusersBackend(model=str(model), device=args.device)
    started = time.perf_counter()
    backend.load()
    print(f"loaded {model.name} on {backend.device} ({backend.dtype_name}) in {time.perf_counter() - started:.1f}s")
    first = hires.first_pass_size(args.width, args.height, args.native, args.native)
    assert first is not None, "the picture is no larger than the native size"

    def batch(width: int, height: int, way: str) -> Batch:
        fix = None
        extra = {"upscaler_path": str(upscaler)} if way == "x4plus" else {}
        if way != "direct":  # the warm-up's small size: a first pass of half of it
            fix_first = hires.first_pass_size(width, height, args.native, args.native) or (width // 2 // 8 * 8, height // 2 // 8 * 8)
            second = max(1, int(args.steps * args.denoising))  # a garden job's default second pass (generation.requests.hires)
            fix = HiresFix(first_width=fix_first[0], first_height=fix_first[1], upscaler=way, steps=second, denoising=args.denoising)
        return Batch(prompt="a garden of glass flowers", negative_prompt="", width=width, height=height, steps=args.steps,
                     guidance=7.5, seeds=[1], hires=fix, extra=extra)  # fmt: skip

    ways = ("direct", "latent", "x4plus")
    cuda = args.device.startswith("cuda")
    for way in ways:  # warm-up at a small size (kernels, the img2img twin, the upscaler's load)
        backend.generate(batch(*((args.width, args.height) if args.smoke else (256, 160)), way))
    best: dict[str, tuple[float, float]] = {}
    for _ in range(args.repeat):
        for way in ways:
            if cuda:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            steps: list[int] = []
            started = time.perf_counter()
            pictures = backend.generate(batch(args.width, args.height, way), on_step=steps.append)
            if cuda:
                torch.cuda.synchronize()
            seconds = time.perf_counter() - started
            peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else 0.0
            assert pictures[0].size == (args.width, args.height)
            if way not in best or seconds < best[way][0]:
                best[way] = (seconds, peak)
            print(f"  {way:7s} {seconds:7.2f}s  peak {peak:8.0f} MiB  steps reported {steps[-1] if steps else 0}")
    shown = f"{args.width}x{args.height}, {args.steps} steps, first pass {first[0]}x{first[1]}, denoising {args.denoising}"
    print(f"{shown}, best of {args.repeat}:")
    for way, (seconds, peak) in best.items():
        ratio = seconds / best["direct"][0]
        print(f"  {way:7s} {seconds:7.2f}s ({ratio:.2f}x direct)" + (f", peak GPU memory {peak:.0f} MiB" if cuda else ""))


if __name__ == "__main__":
    main()
