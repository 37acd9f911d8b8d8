"""The memory section of bench/gpu_proof.py: SDXL's architecture at 1024² (two pictures a call, 4
steps) under the memory options of docs/models.md#memory-and-precision, each group in a fresh
process: torch's peak GPU memory allocated and reserved, load seconds, seconds per picture.

The default run (``--memory quick``) measures what the baseline run left out, in two processes at
once: the whole fp16 model with nothing, VAE tiling alone, VAE slicing alone and the VAE decoding
without its fp16 → fp32 upcast (SDXL's ``force_upcast``: what bf16 skips), options switched on one
loaded pipeline with the peak counters reset between them; and a worker budget
(GARDEN_DIFFUSION_MEMORY_GB=9) too small for the call, to show the job's out-of-memory answer.
``--memory all`` runs every option in a fresh process of its own (minutes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from testkit.gpu_figures import memory_line

ROOT = Path(__file__).resolve().parent.parent

# The memory options as DiffusersBackend keywords; "vae_variants": switched on one loaded pipeline.
MEMORY_OPTIONS = {
    "fp16, whole model on the GPU": {"dtype": "fp16"},
    "bf16, whole model on the GPU": {"dtype": "bf16"},
    "fp16, VAE tiling": {"dtype": "fp16", "vae_tiling": True},
    "fp16, VAE slicing": {"dtype": "fp16", "vae_slicing": True},
    "fp16, model offload": {"dtype": "fp16", "offload": "model"},
    "fp16, sequential offload": {"dtype": "fp16", "offload": "sequential"},
    "fp16, model offload, VAE tiling and slicing": {"dtype": "fp16", "offload": "model", "vae_tiling": True, "vae_slicing": True},
    "fp16, whole model, budget GARDEN_DIFFUSION_MEMORY_GB=9": {"dtype": "fp16", "memory_gb": 9.0},
}
QUICK_OPTIONS = {
    "fp16, whole model:": {"dtype": "fp16", "vae_variants": ["none", "tiling", "slicing", "no upcast"]},
    "fp16, whole model, budget GARDEN_DIFFUSION_MEMORY_GB=9": {"dtype": "fp16", "memory_gb": 9.0},
}
# What a CPU can run (--smoke): one child, no offload, no budget.
SMOKE_OPTIONS = {"fp32:": {"dtype": "fp32", "vae_variants": ["none", "tiling", "slicing"]}}
MEMORY_SIZE, MEMORY_PICTURES, MEMORY_STEPS = 1024, 2, 4


def memory_child(options_json: str, model: str, device: str, size: int) -> None:
    """One option (or one loaded pipeline's VAE variants) in this fresh process: load, paint one call
    (warm-up) and another; torch's peak GPU memory over both. Prints one JSON object per answer; an
    error is an answer too (the budget's out-of-memory)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import torch

    from generation.backends import BackendError, Batch
    from generation.backends.diffusion import DiffusersBackend

    options = json.loads(options_json)
    variants = options.pop("vae_variants", [""])
    backend = DiffusersBackend(model=model, device=device, **options)
    batch = Batch(prompt="a garden of glass flowers", negative_prompt="", width=size, height=size, steps=MEMORY_STEPS,
                  guidance=5.0, seeds=list(range(MEMORY_PICTURES)))  # fmt: skip
    cuda = device.startswith("cuda")
    answer: dict = {"options": options}
    try:
        started = time.perf_counter()
        backend.load()
        answer["load_s"] = round(time.perf_counter() - started, 2)
        if cuda:
            answer["resident_gib"] = round(torch.cuda.memory_allocated() / 2**30, 2)
    except BackendError as exc:
        print(json.dumps(answer | {"error": str(exc)}), flush=True)
        return
    vae = backend.pipeline.vae
    own_upcast = vae.config.get("force_upcast", False)
    for variant in variants:
        vae.disable_tiling()
        vae.disable_slicing()
        vae.register_to_config(force_upcast=own_upcast)
        if options.get("vae_tiling") or variant == "tiling":
            vae.enable_tiling()
        if options.get("vae_slicing") or variant == "slicing":
            vae.enable_slicing()
        if variant == "no upcast":
            vae.register_to_config(force_upcast=False)
        found = answer | {"variant": variant, "vae_upcast": bool(vae.config.get("force_upcast")) and vae.dtype == torch.float16}
        if cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        try:
            backend.generate(batch)
            if cuda:
                torch.cuda.synchronize()
            started = time.perf_counter()
            backend.generate(batch)
            if cuda:
                torch.cuda.synchronize()
            found["s_per_picture"] = round((time.perf_counter() - started) / MEMORY_PICTURES, 3)
            found["dtype"] = backend.dtype_name
        except BackendError as exc:
            found["error"] = str(exc)
        if cuda:
            found["peak_allocated_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
            found["peak_reserved_gib"] = round(torch.cuda.max_memory_reserved() / 2**30, 2)
        print(json.dumps(found), flush=True)


def memory_section(report, args, work: Path, budget_s: float) -> None:
    """Each option group in a fresh child process, the groups at once (each process's own peak)."""
    if args.smoke:
        from testkit.tiny_pipeline import save_tiny_pipeline

        model, options = save_tiny_pipeline(work / "models" / "tiny-sd"), SMOKE_OPTIONS
    else:
        from testkit.random_sd import save_random_pipeline

        model, options = save_random_pipeline("sdxl", work / "models" / "sdxl"), MEMORY_OPTIONS if args.memory == "all" else QUICK_OPTIONS
    children = []
    for name, option in options.items():
        command = [sys.executable, str(ROOT / "bench" / "gpu_proof.py"), "--memory-child", json.dumps(option), "--memory-model", str(model)]
        if args.smoke:
            command.append("--smoke")
        log = open(work / f"memory-{len(children)}.log", "w+")  # noqa: SIM115 (closed below)
        children.append((name, subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy()), log))
        if args.memory == "all":  # one at a time: each its own peak, and not the card's memory shared
            children[-1][1].wait()
    deadline = time.monotonic() + budget_s
    for name, child, log in children:
        try:
            child.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            report.add(f"{name} (stopped at the section's {budget_s:.0f} s budget)")
        log.seek(0)
        output = log.read()
        log.close()
        answers = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
        if not answers:
            report.add(f"{name}: (exit {child.returncode}) {output[-1500:]}")
        for answer in answers:
            report.add(memory_line(name, answer))
