#!/usr/bin/env python3
"""Model switching cost: jobs that alternate between two models of the library, with
GARDEN_DIFFUSION_MAX_LOADED 1 (every switch loads the other model again) and 2 (both stay loaded).

    .venv/bin/python bench/model_switch.py                       # two tiny random-weight SD pipelines, CPU
    .venv/bin/python bench/model_switch.py --architecture sd-turbo --device cuda   # full-size, random weights (GPU box)
    .venv/bin/python bench/model_switch.py --smoke               # one round: seconds

The models are built here (testkit/tiny_pipeline.py, or testkit/random_sd.py for a
full-size architecture: no download) and loaded through the workers' own cache
(generation.backends.LoadedPipelines: the same get() and load() a job does), in the order
A, B, A, B, A, best of --repeat rounds per switch. Figures:
- cold: A loaded with nothing held (its files in the OS page cache after the first round);
- switch: the median of the four switches (B, A, B, A) under each limit;
- ratio: a switch at MAX_LOADED=1 ÷ a switch at 2, and a switch ÷ one picture (--width² at --steps
  steps), i.e. how many pictures a switch costs.
The memory side of MAX_LOADED=2 (two models held) is the GPU proof's (bench/gpu_proof.py --only memory).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ARCHITECTURES = ("tiny", "sd15", "sd-turbo", "sdxl")
ORDER = "ABABA"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--architecture", choices=ARCHITECTURES, default="tiny")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="auto", help="GARDEN_DIFFUSION_DTYPE (auto: fp32 on CPU, fp16/bf16 on CUDA)")
    parser.add_argument("--width", type=int, default=64, help="The picture painted after each switch (square)")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="Rounds; best of N for each switch")
    parser.add_argument("--work", default="", help="Folder for the two models (reused; default: a temp folder)")
    parser.add_argument("--smoke", action="store_true", help="One round, one step")
    args = parser.parse_args()
    if args.smoke:
        args.repeat, args.steps = 1, 1
    return args


def build_models(architecture: str, work: Path) -> tuple[Path, Path]:
    folders = (work / f"{architecture}-a", work / f"{architecture}-b")
    for seed, folder in enumerate(folders):
        if architecture == "tiny":
            from testkit.tiny_pipeline import save_tiny_pipeline

            save_tiny_pipeline(folder, seed=seed)
        else:
            from testkit.random_sd import save_random_pipeline

            save_random_pipeline(architecture, folder, seed=seed)
    return folders


def setup_django(device: str, dtype: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.update({"GARDEN_GENERATOR_BACKEND": "diffusers", "GARDEN_DIFFUSION_DEVICE": device, "GARDEN_DIFFUSION_DTYPE": dtype})
    os.environ["GARDEN_HF_OFFLINE"] = "true"
    import django

    django.setup()


def run_round(models: dict[str, Path], limit: int, args) -> tuple[list[float], float]:
    """One A, B, A, B, A round at GARDEN_DIFFUSION_MAX_LOADED=limit: seconds of get()+load() per step,
    and one picture's seconds on the last model."""
    from django.conf import settings

    from generation import backends

    settings.GARDEN_DIFFUSION_MAX_LOADED = limit
    backends.loaded_pipelines.reset()  # every round starts with nothing loaded
    seconds = []
    backend = None
    for name in ORDER:
        started = time.perf_counter()
        backend = backends.get_backend(backends.DIFFUSERS, model=str(models[name]))
        backend.load()
        _synchronise(args.device)
        seconds.append(time.perf_counter() - started)
    batch = backends.Batch(
        prompt="a garden", negative_prompt="", width=args.width, height=args.width, steps=args.steps, guidance=1.0, seeds=[1]
    )
    backend.generate(batch)  # warm-up for the size
    started = time.perf_counter()
    backend.generate(batch)
    _synchronise(args.device)
    return seconds, time.perf_counter() - started


def _synchronise(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def environment(device: str) -> str:
    import diffusers
    import torch

    where = device
    if device.startswith("cuda") and torch.cuda.is_available():
        where = f"{device} ({torch.cuda.get_device_name(0)})"
    return f"torch {torch.__version__}, diffusers {diffusers.__version__}, {where}, {os.cpu_count()} CPUs"


def main() -> None:
    args = parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="garden-model-switch-"))
    model_a, model_b = build_models(args.architecture, work)
    setup_django(args.device, args.dtype)
    models = {"A": model_a, "B": model_b}
    results: dict[int, dict] = {}
    for limit in (1, 2):
        rounds = [run_round(models, limit, args) for _ in range(args.repeat)]
        per_step = [min(round_[0][index] for round_ in rounds) for index in range(len(ORDER))]
        results[limit] = {"cold": per_step[0], "switch": statistics.median(per_step[1:]), "picture": min(r[1] for r in rounds)}
    import gc

    from generation import backends

    backends.loaded_pipelines.reset()
    started = time.perf_counter()
    gc.collect()
    collect = time.perf_counter() - started
    one, two = results[1], results[2]
    picture = min(one["picture"], two["picture"])
    order = "→".join(ORDER)
    print(f"model switching cost: {args.architecture} pipelines A and B, order {order}, best of {args.repeat}; {environment(args.device)}")
    print(f"  load of A with nothing held: {one['cold']:.3f} s")
    print(f"  GARDEN_DIFFUSION_MAX_LOADED=1: a switch {one['switch']:.4f} s (median of 4) = {one['switch'] / one['cold']:.2f}x a cold load")
    print(f"    (a switch drops the other model first: unload() runs a full gc.collect(), {collect:.3f} s in this process)")
    print(f"  GARDEN_DIFFUSION_MAX_LOADED=2: a switch {two['switch'] * 1e3:.3f} ms (median of 4)")
    print(f"  ratio MAX_LOADED=1 ÷ 2: {one['switch'] / two['switch']:.0f}x")
    print(
        f"  one picture ({args.width}x{args.width}, {args.steps} step(s)): {picture:.3f} s; a switch at MAX_LOADED=1 costs "
        f"{one['switch'] / picture:.1f} pictures, at 2: {two['switch'] / picture:.4f}"
    )


if __name__ == "__main__":
    main()
