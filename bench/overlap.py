#!/usr/bin/env python3
"""A gathered run's two halves on two cores: job ÷ direct call with finishing inline and in the
worker's finishing process, and a picture painted in a gathered call against the same job painted alone.

    .venv/bin/python bench/overlap.py             # 16 live jobs, 64x64, steps calibrated, best of 3 rounds
    .venv/bin/python bench/overlap.py --database-url postgres://postgres@127.0.0.1:5432/NAME   # on PostgreSQL
    .venv/bin/python bench/overlap.py --smoke     # 3 jobs, one round: seconds (tests/bench/test_smoke.py)

The worker's own code (generation.worker.gathered_run.GatheredRun, what the live worker runs)
paints ``--jobs`` live jobs, queued before the run, one call each (GARDEN_GATHER_SIZE=1, so every
call is followed by its finishing). The loop (claim, progress, the model call) runs on core 0,
finishing (safety check, watermark, JPEG and metadata, storage, rows) on core 1
(os.sched_setaffinity; torch and the safety check on one thread each). The model call is the tiny
random-weight pipeline (testkit/tiny_models.py) with its steps chosen so that finishing
is about 40 % of the call (at least 30 %), measured first. Then, in interleaved rounds (best of
``--rounds``), the run's wall time against the same calls made directly (same prompts, seeds,
size and steps, on core 0):

- serial: finishing inline after each call (no finishing processes): job ÷ direct ≈ 1 + finishing ÷ call;
- overlapped: finishing in the finishing process the live worker starts (GARDEN_FINISHING_PROCESSES,
  pinned to core 1) while the next call runs: aim job ÷ direct ≤ 1.05.

"batched equals alone": three live requests painted in one call against each painted alone
(largest pixel difference, of 255).
"""

from __future__ import annotations

import dataclasses
import math
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import parser, results
from bench.harness.venue import here

MODEL_CORE, POST_CORE = 0, 1
POST_SHARE = 0.4  # the post-processing's share of the call that the steps are chosen for
PIXEL_TOLERANCE = 2


def parse_args():
    made = parser(__doc__)
    made.add_argument("--jobs", type=int, default=16, help="Live jobs per run (one call each)")
    made.add_argument("--size", type=int, default=64)
    made.add_argument("--steps", type=int, default=0, help="Steps per call (default: calibrated so post ≈ 40 %% of the call)")
    made.add_argument("--rounds", type=int, default=3)
    made.add_argument("--database-url", default="sqlite", help="postgres://server/name: a copy of the migrated template made there")
    args = made.parse_args()
    if args.smoke:
        args.jobs, args.steps, args.rounds = 3, 2, 1
    return args


def pin_here(core: int | None) -> None:
    """This thread onto ``core`` (Linux: 0 is the calling thread); nothing when it is not ours."""
    if core is not None:
        os.sched_setaffinity(0, {core})


def pin_threads_named(prefix: str, core: int | None) -> None:
    """Threads made earlier (the safety check's pool) onto ``core``."""
    if core is None:
        return
    for thread in threading.enumerate():
        if thread.name.startswith(prefix) and thread.native_id:
            os.sched_setaffinity(thread.native_id, {core})


def live_jobs(count: int, *, steps: int, size: int, first_seed: int) -> list:
    from django.conf import settings

    from generation import services

    jobs = []
    for seed in range(first_seed, first_seed + count):
        request = services.JobRequest(emotion="happy", favorite="spring,sunny,day", width=size, height=size, steps=steps,
                                      guidance=0.0, seed=seed, count=1, backend="diffusers")  # fmt: skip
        jobs.append(services.create_job(request=request, enqueue=False, queue=settings.GARDEN_LIVE_QUEUE, live=True))
    return jobs


def run_jobs(jobs: list, *, overlap: bool, post_core: int | None) -> tuple[float, int]:
    """The gathered run over ``jobs`` (queued), finishing in the finishing process (``overlap``) or
    inline: wall seconds and pipeline calls."""
    from generation.models import GenerationJob
    from generation.worker import finishing_processes, lifecycle
    from generation.worker.gathered_run import GatheredRun

    if overlap and finishing_processes.running() is None:
        finishing_processes.start_processes(1)
        pin_children(post_core)
    elif not overlap:
        finishing_processes.stop_processes()
    started, calls = time.perf_counter(), 0
    for job in jobs:  # each job's message, as the worker takes them: a run ends after 10 s of calls
        leader = lifecycle.claim_job(job_id=job.pk, worker="bench")
        if leader is None:  # painted by an earlier run
            continue
        run = GatheredRun(worker="bench")
        run.run(leader, heartbeat=True)
        assert not run.leader_error, run.leader_error
        calls += run.calls
    seconds = time.perf_counter() - started
    statuses = set(GenerationJob.objects.filter(pk__in=[job.pk for job in jobs]).values_list("status", flat=True))
    assert statuses == {"succeeded"}, statuses
    return seconds, calls


def pin_children(core: int | None) -> None:
    """This process's finishing process onto ``core``."""
    import psutil

    if core is not None:
        for child in psutil.Process().children(recursive=True):
            os.sched_setaffinity(child.pid, {core})


def direct_calls(backend, jobs: list, *, steps: int | None = None) -> float:
    """The jobs' calls made directly (their prompt, seed, size; their steps unless ``steps``): wall seconds."""
    from generation.backends import Batch

    started = time.perf_counter()
    for job in jobs:
        backend.generate(Batch(prompt=job.prompt, negative_prompt="", width=job.width, height=job.height, steps=steps or job.steps,
                               guidance=job.guidance, seeds=[job.seed]))  # fmt: skip
    return time.perf_counter() - started


def post_seconds(*, size: int, post_core: int | None, jobs: int) -> float:
    """The median finishing render of one picture (check, watermark, JPEG), inline on the finishing core."""
    from generation.worker import call_finishing

    spent, original = [], call_finishing.render_generated_image

    def timed(**kwargs):
        started = time.perf_counter()
        try:
            return original(**kwargs)
        finally:
            spent.append(time.perf_counter() - started)

    call_finishing.render_generated_image = timed
    pin_here(post_core)
    try:
        run_jobs(live_jobs(jobs, steps=1, size=size, first_seed=900), overlap=False, post_core=None)
    finally:
        call_finishing.render_generated_image = original
        pin_here(MODEL_CORE if post_core is not None else None)
    return statistics.median(spent[1:])  # not the first: the classifier's first run


def calibrate(backend, args, post_core: int | None) -> tuple[int, float, float]:
    """Steps for which the post-processing is POST_SHARE of the call (at least 1); with post and call seconds."""
    [job] = live_jobs(1, steps=1, size=args.size, first_seed=800)
    tries = 1 if args.smoke else 3
    post = post_seconds(size=args.size, post_core=post_core, jobs=2 if args.smoke else 6)
    steps = args.steps
    if not steps:
        one = min(direct_calls(backend, [job], steps=1) for _ in range(tries))
        two = min(direct_calls(backend, [job], steps=2) for _ in range(tries))
        per_step, fixed = max(two - one, 1e-3), max(2 * one - two, 0.0)
        steps = max(1, math.ceil((post / POST_SHARE - fixed) / per_step))
    call = min(direct_calls(backend, [job], steps=steps) for _ in range(tries))
    return steps, post, call


def batched_equals_alone(backend, size: int) -> int:
    """The largest pixel difference between three requests painted in one call and each alone."""
    import numpy as np

    from generation.backends import Batch

    jobs = live_jobs(3, steps=2, size=size, first_seed=700)
    prompts = [job.prompt for job in jobs]
    base = Batch(prompt=prompts[0], negative_prompt="", width=size, height=size, steps=2, guidance=0.0, seeds=[job.seed for job in jobs])
    together = backend.generate(dataclasses.replace(base, extra={"prompts": prompts}))
    worst = 0
    for job, picture in zip(jobs, together, strict=True):
        [alone] = backend.generate(dataclasses.replace(base, prompt=job.prompt, seeds=[job.seed]))
        worst = max(worst, int(np.abs(np.asarray(picture, dtype=np.int16) - np.asarray(alone, dtype=np.int16)).max()))
    return worst


def main() -> None:
    args = parse_args()
    split = {MODEL_CORE, POST_CORE} <= os.sched_getaffinity(0)
    model_core, post_core = (MODEL_CORE, POST_CORE) if split else (None, None)
    started = results.machine()
    with tempfile.TemporaryDirectory(prefix="garden-bench-overlap-model-") as work:
        from testkit.tiny_models import save_sensitive_pipeline

        model = save_sensitive_pipeline(Path(work) / "tiny-sd")
        with here(
            "garden-bench-overlap-",
            memory=True,
            database=args.database_url,
            GARDEN_DIFFUSION_MODEL=str(model),
            GARDEN_DIFFUSION_DEVICE="cpu",
            GARDEN_GENERATOR_BACKEND="diffusers",
            GARDEN_GATHER_SIZE="1",  # one call per job: every call has its finishing after it
            GARDEN_SAFETY_THREADS="1",
            GARDEN_LOG_LEVEL="WARNING",
            TRANSFORMERS_VERBOSITY="error",
            DIFFUSERS_VERBOSITY="error",
        ):
            figures = measure(args, split, model_core, post_core)
    print(results.load_line("at the end"))
    results.write(args.json, "overlap", vars(args), figures, started)


def measure(args, split: bool, model_core: int | None, post_core: int | None) -> dict:
    import torch
    from threadpoolctl import threadpool_limits

    from generation import backends
    from generation.worker import finishing_processes

    torch.set_num_threads(1)
    threadpool_limits(1, user_api="blas")  # as a worker's pool process (generation.worker.start): no spinning BLAS threads
    pin_here(model_core)
    backend = backends.get_backend("diffusers")
    backend.load()
    steps, post, call = calibrate(backend, args, post_core)
    pin_threads_named("safety-check", post_core)  # the check's pool thread, made during calibration
    from django.db import connection

    print(f"torch {torch.__version__}, 1 thread; cores: model call {model_core}, finishing {post_core}"
          f"{'' if split else ' (cores 0 and 1 not both allowed: not pinned)'}; database {connection.vendor};"
          f" {results.load_line()}")  # fmt: skip
    print(f"tiny pipeline {args.size}x{args.size}, {steps} step(s): call {call * 1000:.1f} ms, finishing "
          f"{post * 1000:.1f} ms = {post / call:.0%} of the call; {args.jobs} jobs per run, best of {args.rounds}")  # fmt: skip
    run_jobs(live_jobs(2, steps=1, size=args.size, first_seed=950), overlap=True, post_core=post_core)  # the process's first call
    best = {"direct": math.inf, "serial": math.inf, "overlap": math.inf}
    calls = {}
    for number in range(args.rounds):
        jobs = live_jobs(args.jobs, steps=steps, size=args.size, first_seed=1000 * (number + 1))
        best["direct"] = min(best["direct"], direct_calls(backend, jobs))
        seconds, calls["serial"] = run_jobs(jobs, overlap=False, post_core=post_core)
        best["serial"] = min(best["serial"], seconds)
        jobs = live_jobs(args.jobs, steps=steps, size=args.size, first_seed=1000 * (number + 1) + 500)
        seconds, calls["overlap"] = run_jobs(jobs, overlap=True, post_core=post_core)
        best["overlap"] = min(best["overlap"], seconds)
    assert calls == {"serial": args.jobs, "overlap": args.jobs}, calls
    direct = best["direct"]
    print(f"  direct calls:                  {direct:7.3f} s ({direct / args.jobs * 1000:.1f} ms a call)")
    print(f"  jobs, finishing inline:        {best['serial']:7.3f} s   job ÷ direct {best['serial'] / direct:.3f}")
    print(f"  jobs, finishing process:       {best['overlap']:7.3f} s   job ÷ direct {best['overlap'] / direct:.3f} (aim ≤ 1.05)")
    worst = batched_equals_alone(backend, args.size)
    print(f"  batched equals alone: largest pixel difference {worst} of 255 (tolerance {PIXEL_TOLERANCE})")
    assert worst <= PIXEL_TOLERANCE, worst
    finishing_processes.stop_processes()
    return {"steps": steps, "post_s": post, "call_s": call, "best_s": best, "batched_pixel_difference": worst}


if __name__ == "__main__":
    main()
