"""Parts of bench/gpu_proof.py: the direct 1-step call (ordinary pipeline against the lean call,
eager and with CUDA graphs, and the tiny decoder) in a child process, and the GPU's SM busy
percentage read from ``nvidia-smi dmon -s u`` over a stretch of time.

The child prints one JSON object per figure as soon as it has it, so a child stopped by its time
budget still hands back what it measured.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from testkit.gpu_figures import parse_dmon

PROMPT = "a garden of glass flowers at dawn, soft light"


def emit(**figure) -> None:
    print(json.dumps(figure), flush=True)


def save_tiny_turbo(folder: Path) -> Path:
    """The tiny test pipeline with SD-Turbo's scheduler (Euler, trailing): the CPU stand-in."""
    import diffusers

    from testkit.tiny_pipeline import build_tiny_pipeline

    if not (folder / "model_index.json").exists():
        pipeline = build_tiny_pipeline(seed=3)
        pipeline.scheduler = diffusers.EulerDiscreteScheduler(
            timestep_spacing="trailing", beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012
        )
        pipeline.save_pretrained(str(folder))
    return folder


def timed(torch, device: str, call, calls: int) -> tuple[float, float]:
    """Median wall and CPU (this thread) ms of ``call`` after two warm-up calls; the GPU's work is
    waited for inside each timing."""
    for _ in range(2):
        call()
    walls, cpus = [], []
    for _ in range(calls):
        started, cpu_started = time.perf_counter(), time.thread_time()
        call()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        walls.append(1000 * (time.perf_counter() - started))
        cpus.append(1000 * (time.thread_time() - cpu_started))
    return round(statistics.median(walls), 2), round(statistics.median(cpus), 2)


def direct_child(model: str, device: str, size: int, calls: int, budget_s: float) -> None:
    """The direct call at batch 1 (and 8), each way, as JSON lines; stops starting new parts when
    fewer than a part's likely seconds of ``budget_s`` are left."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import diffusers
    import torch

    from generation.backends import Batch, lean
    from generation.backends.diffusion import DiffusersBackend

    deadline = time.monotonic() + budget_s
    cuda = device.startswith("cuda")
    backend = DiffusersBackend(model=model, device=device, dtype="fp16" if cuda else "fp32", lean="graphs" if cuda else "eager")
    started = time.perf_counter()
    backend.load()
    emit(part="load", seconds=round(time.perf_counter() - started, 1), device=device_label(torch, device))
    one = Batch(prompt=PROMPT, negative_prompt="", width=size, height=size, steps=1, guidance=0.0, seeds=[11])
    eight = replace(one, seeds=list(range(8)), extra={"prompts": [f"{PROMPT}, {n}" for n in range(8)]})
    as_tensors = replace(one, extra={"output_type": "pt"})
    call = backend.lean_call()
    if call is None:
        emit(part="lean", error=backend.lean_reason)
        return
    reference = torch.stack(list(backend.generate(as_tensors)))

    def levels(pictures) -> int:
        return int(((pictures.float() - reference.float()).abs().max() * 255).round())

    for name, run in (
        ("ordinary pipeline call, PIL pictures", lambda: backend.generate(one)),
        ("ordinary pipeline call, tensors", lambda: backend.generate(as_tensors)),
        ("lean call, eager", lambda: backend.generate_tensors(one)),
    ):
        wall, cpu = timed(torch, device, run, calls)
        emit(part="batch 1", name=name, wall_ms=wall, cpu_ms=cpu)
    emit(part="pixels", name="lean eager vs ordinary", max_levels=levels(backend.generate_tensors(one)))
    if cuda:
        for sizes in ((1,), (8,)):
            if time.monotonic() > deadline - 60:
                emit(part="graphs", skipped=f"batch {sizes[0]}: the time budget")
                break
            seconds = call.warm(width=size, height=size, sizes=sizes)
            emit(part="graphs", name=f"warm (compile and record) batch {sizes[0]}", seconds=round(seconds, 1))
            if sizes == (1,):
                wall, cpu = timed(torch, device, lambda: backend.generate_tensors(one), calls)
                emit(part="batch 1", name="lean call, CUDA graphs", wall_ms=wall, cpu_ms=cpu)
                emit(part="pixels", name="lean graphs vs ordinary", max_levels=levels(backend.generate_tensors(one)))
    graphed = cuda and (8, size // 8, size // 8) in call._warmed
    for name, run in (
        ("ordinary pipeline call, PIL pictures", lambda: backend.generate(eight)),
        ("lean call" + (", CUDA graphs" if graphed else ", eager"), lambda: backend.generate_tensors(eight)),
    ):
        if time.monotonic() > deadline - 15:
            emit(part="batch 8", skipped=name)
            continue
        wall, cpu = timed(torch, device, run, max(3, calls // 4))
        emit(part="batch 8", name=name, wall_ms=wall, cpu_ms=cpu, pictures_per_s=round(8000 / wall, 1))
    if time.monotonic() > deadline - 20:
        emit(part="tiny decoder", skipped="the time budget")
        return
    tiny = diffusers.AutoencoderTiny().to(device=device, dtype=backend.pipeline.vae.dtype).eval()  # TAESD's shape, random weights
    tiny_call = lean.LeanCall(backend.pipeline, call.step, graphs=False, decoder=tiny)
    for batch in (one, eight):
        wall, cpu = timed(torch, device, lambda batch=batch: tiny_call.paint(batch), max(3, calls // 4))
        emit(part=f"batch {len(batch.seeds)}", name="lean call, eager, tiny decoder (random weights)", wall_ms=wall, cpu_ms=cpu)


def device_label(torch, device: str) -> str:
    if device.startswith("cuda"):
        return f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}"
    return f"CPU ({os.cpu_count()} cores allowed: {len(os.sched_getaffinity(0))}), torch {torch.__version__}"


class SmBusy:
    """``nvidia-smi dmon -s u`` (one sample a second) while the block runs: the SM busy percentages."""

    def __init__(self) -> None:
        self.samples: list[int] = []
        self.process = None
        self.file = None

    def __enter__(self):
        self.file = tempfile.TemporaryFile(mode="w+")
        try:
            self.process = subprocess.Popen(["nvidia-smi", "dmon", "-s", "u", "-d", "1"], stdout=self.file, stderr=subprocess.DEVNULL)
        except OSError:
            self.process = None
        return self

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.file.seek(0)
        self.samples = parse_dmon(self.file.read())
        self.file.close()

    def summary(self) -> str:
        if self.process is None:
            return "SM busy: not measured (no nvidia-smi)"
        if not self.samples:
            return "SM busy: no samples"
        ordered = sorted(self.samples)
        tenth, ninetieth = ordered[len(ordered) // 10], ordered[(9 * len(ordered)) // 10]
        return (
            f"SM busy (nvidia-smi dmon -s u, {len(ordered)} one-second samples): mean {statistics.mean(ordered):.0f} %, "
            f"median {statistics.median(ordered):.0f} %, p10–p90 {tenth}–{ninetieth} %"
        )
