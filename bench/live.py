#!/usr/bin/env python3
"""Live-picture benchmark (issue 43): a live job's work outside the pipeline call, and the queue hop.

    taskset -c 1 .venv/bin/python bench/live.py --no-worker     # the parts: tiny pipeline, 1 and 4 steps, 512x512
    .venv/bin/python bench/live.py --no-parts --worker-jobs 30   # a real worker: job service and kiosk API
    .venv/bin/python bench/live.py --device cuda --full-size --worker-backend diffusers   # GPU aims
    .venv/bin/python bench/live.py --smoke                       # 64x64, 1 step, 1 job each way (worker too): seconds

1. Per image, in this process, torch on one thread: the direct pipeline call (the baseline, same
   prompt, size, steps and seeds) against live jobs (``live``, count 1) run by the
   worker's code (``runner.execute_job``, heartbeat thread on). Each part of the job is timed
   where it runs (bench/_live_parts.py): claim, per-step progress UPDATEs, the pipeline call,
   the safety check, JPEG + EXIF/XMP (watermark and C2PA apart), storage write, image row,
   thumbnail (none for live jobs: the admin makes it on first view), heartbeat; "other" is the
   rest (counting, finishing, Django). CPU time (thread and process CPU, not wall time: the
   machine is shared) in ms per image; wall in brackets.
   Aim: work outside the pipeline call ≤ 10 ms CPU per image (tiny pipeline).
2. With Redis (CELERY_BROKER_URL or 127.0.0.1:6379): a real ``celery worker`` process on the live
   queue paints live jobs on the procedural painter. Queue hop = create → the worker claims the
   job; create → picture = create → the job succeeded with its picture stored and checked (the
   moment its URL can be given); the worker's CPU per job (all its processes). Then the kiosk API
   (Django's test client in this process): POST /live → GET /live/<job> until it gives ``image``.
   Aim: create → picture URL p50 ≤ 300 ms.

--full-size builds stabilityai/sd-turbo's shapes with random weights (testkit/random_sd.py, no
download; pictures are noise) for the GPU aims: job ÷ direct ≤ 1.15 at 1 step, create → picture
p50 ≤ 1 s (with --worker-backend diffusers: the job service round; the API round needs a library
model marked live, so it runs on the procedural painter only). Not run here: no GPU was lent.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._live_parts import CLASSIFIER, PARTS, PIPELINE, PROGRESS, PartClock, cpu_now
from bench.harness import parser, results
from bench.harness.venue import here, wait_for
from testkit.local_services import reachable, redis_url


def parse_args():
    made = parser(__doc__)
    made.add_argument("--device", default="cpu")
    made.add_argument("--size", type=int, default=512, help="Width and height (GARDEN_LIVE_SIZE)")
    made.add_argument("--steps", type=int, nargs="+", default=[1, 4])
    made.add_argument("--images", type=int, default=8, help="Live jobs (one image each) per step count, after one warm-up")
    made.add_argument("--full-size", action="store_true", help="SD-Turbo-sized random weights (testkit/random_sd.py), not the tiny one")
    made.add_argument("--save-to", help="Folder for the --full-size pipeline (reused when it exists)")
    made.add_argument("--database-url", default="sqlite", help="postgres://server/name: a copy of the migrated template made there")
    made.add_argument("--no-worker", action="store_true", help="Skip the real-worker figures")
    made.add_argument(
        "--kiosk-poll",
        choices=["long", "schedule"],
        default="long",
        help="The kiosk API round's polls: GET /live/<job>?wait=10 asked again at once, or every 100, 150 … 400 ms (the old kiosk)",
    )
    made.add_argument("--no-parts", action="store_true", help="Skip the per-image parts (only the real-worker figures)")
    made.add_argument("--worker-jobs", type=int, default=30)
    made.add_argument("--worker-backend", default="procedural", choices=("procedural", "diffusers"))
    made.add_argument("--c2pa", action="store_true", help="Sign C2PA manifests (a throwaway chain from provenance.certs)")
    args = made.parse_args()
    if args.smoke:
        args.size, args.steps, args.images, args.worker_jobs = 64, [1], 1, 1
    return args


def settings_for(args, work: Path, use_worker: bool) -> tuple[str, dict]:
    if args.full_size:
        from testkit.random_sd import save_random_pipeline

        model = str(save_random_pipeline("sd-turbo", Path(args.save_to) if args.save_to else work / "random-sd-turbo"))
    else:
        from testkit.tiny_models import save_sensitive_pipeline

        model = str(save_sensitive_pipeline(work / "tiny-sd"))
    env = {
        "CELERY_BROKER_URL": redis_url() if use_worker else "filesystem://",
        "GARDEN_DIFFUSION_MODEL": model,
        "GARDEN_DIFFUSION_DEVICE": args.device,
        "GARDEN_LOG_LEVEL": "WARNING",
        "TRANSFORMERS_VERBOSITY": "error",
        "DIFFUSERS_VERBOSITY": "error",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        # The kiosk API round: the procedural painter paints live pictures (no library model marked
        # live), at the bench's size, on the worker's queue; no throttle in the way of the polling.
        "GARDEN_GENERATOR_BACKEND": "procedural",
        "GARDEN_LIVE_SIZE": str(args.size),
        "GARDEN_LIVE_MAX_QUEUED": "100",
        "GARDEN_KIOSK_RATE": "100000/minute",
        "GARDEN_LIVE_RATE": "100000/minute",
    }
    if args.c2pa:
        from provenance.certs import make_test_chain

        chain, key = make_test_chain()
        (work / "chain.pem").write_bytes(chain)
        (work / "key.pem").write_bytes(key)
        env |= {"GARDEN_C2PA_CERT": str(work / "chain.pem"), "GARDEN_C2PA_KEY": str(work / "key.pem")}
    return model, env


def create_live_job(*, backend: str, steps: int, size: int, seed: int, enqueue: bool):
    """A live job as the live app makes one (live.services): count 1, ``live``, the live queue
    (its LiveRequest row, which the worker never reads, is left out)."""
    from django.conf import settings

    from generation import services
    from generation.models import GenerationJob

    # The flag's name before the rename (issue 70), so the same bench measures the code before it.
    flag = "live" if any(field.name == "live" for field in GenerationJob._meta.fields) else "interactive"

    request = services.JobRequest(emotion="happy", favorite="spring,sunny,day", width=size, height=size, steps=steps,
                                  guidance=0.0, seed=seed, count=1, backend=backend)  # fmt: skip
    return services.create_job(request=request, enqueue=enqueue, queue=settings.GARDEN_LIVE_QUEUE, **{flag: True})


def per_image_parts(args, steps: int) -> dict:
    """CPU (and wall) ms per image of the direct call and of each part of live jobs."""
    import torch

    from generation import backends
    from generation.backends import Batch
    from generation.worker import runner

    backend = backends.get_backend("diffusers")
    backend.load()
    prompt = create_live_job(backend="diffusers", steps=steps, size=args.size, seed=0, enqueue=False).prompt  # the job's own
    batch = Batch(prompt=prompt, negative_prompt="", width=args.size, height=args.size, steps=steps, guidance=0.0, seeds=[0])
    direct_generate = backend.generate  # bound before the clock wraps the class's method
    clock = PartClock()
    runs = {"direct": [], "job": []}

    finishing_cpu: list[float] = []

    def one_job(seed: int) -> tuple[float, float]:
        job = create_live_job(backend="diffusers", steps=steps, size=args.size, seed=seed, enqueue=False)
        children = children_cpu()  # first: psutil's look at /proc is not the job's CPU
        cpu, wall = cpu_now(), time.perf_counter()
        done = runner.execute_job(job_id=job.pk, worker="bench", heartbeat=True)
        spent = (cpu_now() - cpu, time.perf_counter() - wall)
        finishing_cpu.append(children_cpu() - children)
        assert done is not None and done.status == "succeeded", (done and done.status, done and done.error)
        return spent

    with clock.watching():
        for seed in range(args.images + 1):  # interleaved: a busy moment slows both paths alike
            cpu, wall = cpu_now(), time.perf_counter()
            direct_generate(dataclasses.replace(batch, seeds=[seed]))
            direct = (cpu_now() - cpu, time.perf_counter() - wall)
            if seed == 0:  # warm-up (first-call allocations, the classifier's first run)
                one_job(seed)
                clock.reset()
                continue
            runs["direct"].append(direct)
            runs["job"].append(one_job(seed))
    count = len(runs["job"])
    figures = {name: {"cpu": 1000 * clock.cpu[name] / count, "wall": 1000 * clock.wall[name] / count} for name in clock.cpu}
    figures["direct"] = {"cpu": 1000 * sum(c for c, _ in runs["direct"]) / count, "wall": 1000 * sum(w for _, w in runs["direct"]) / count}
    figures["job"] = {"cpu": 1000 * sum(c for c, _ in runs["job"]) / count, "wall": 1000 * sum(w for _, w in runs["job"]) / count}
    figures["_threads"] = torch.get_num_threads()
    figures["_finishing"] = 1000 * sum(finishing_cpu[1:]) / max(1, len(finishing_cpu) - 1)  # the warm-up's left out
    return figures


def start_finishing() -> str:
    """The finishing process a live worker starts (generation.worker.finishing_processes), here in the
    bench process as the worker does; code before it started its pool on the first job itself."""
    try:
        from generation.worker import finishing_processes
    except ImportError:
        return "the post stage's pool, started on the first job (code before generation.worker.finishing_processes)"
    finishing_processes.start_processes(1)
    return "the worker's finishing process, started first (generation.worker.finishing_processes)"


def children_cpu() -> float:
    """CPU seconds of this process's children (the finishing process), user + system."""
    import psutil

    total = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def print_parts(args, steps: int, figures: dict) -> None:
    job, direct = figures["job"], figures["direct"]
    named = [part for _m, _a, part, _p in PARTS if part in figures and part != PIPELINE]
    named = list(dict.fromkeys([PROGRESS, *named]))
    parts_cpu = sum(figures[part]["cpu"] for part in named if part in figures)
    other = job["cpu"] - figures[PIPELINE]["cpu"] - parts_cpu
    outside = job["cpu"] - figures[PIPELINE]["cpu"]
    print(f"\n{steps} step(s), {args.size}x{args.size}, {args.images} live jobs: ms per image, CPU [wall]")
    print(f"  {'direct pipeline call (baseline)':36s} {direct['cpu']:8.2f} [{direct['wall']:8.2f}]")
    print(f"  {'job: pipeline call':36s} {figures[PIPELINE]['cpu']:8.2f} [{figures[PIPELINE]['wall']:8.2f}]")
    for part in named:
        if part in figures:
            wall = "" if part == "heartbeat thread" else f" [{figures[part]['wall']:8.2f}]"
            print(f"  {'  ' + part:36s} {figures[part]['cpu']:8.2f}{wall}")
    print(f"  {'  other (counting, finishing, Django)':36s} {other:8.2f}")  # the heartbeat's wall is the job's: not shown
    print(f"  {'job, whole (execute_job)':36s} {job['cpu']:8.2f} [{job['wall']:8.2f}]")
    classifier = figures.get(CLASSIFIER, {"cpu": 0.0, "wall": 0.0})
    print(f"  outside the pipeline call: {outside:.2f} ms CPU per image;"
          f" without the safety check: {outside - figures.get('safety check', {'cpu': 0.0})['cpu'] - classifier['cpu']:.2f}")  # fmt: skip
    print(f"  outside the model calls (pipeline and classifier): {outside - classifier['cpu']:.2f} ms CPU per image (aim ≤ 10);"
          f" the classifier's model call: {classifier['cpu']:.2f} CPU [{classifier['wall']:.2f} wall]")  # fmt: skip
    print(f"  job ÷ direct: CPU {job['cpu'] / direct['cpu']:.3f}, wall {job['wall'] / direct['wall']:.3f}")
    print(f"  the finishing process(es) beside it: {figures['_finishing']:.2f} ms CPU per image;"
          f" every process of the run: {job['cpu'] + figures['_finishing']:.2f}")  # fmt: skip


def worker_cpu(worker) -> float:
    """CPU seconds of the worker's processes (main and pool), user + system."""
    import psutil

    total = 0.0
    for process in [psutil.Process(worker.pid), *psutil.Process(worker.pid).children(recursive=True)]:
        times = process.cpu_times()
        total += times.user + times.system
    return total


def real_worker(args, venue) -> tuple[list, list]:
    """Live jobs through a real worker on Redis: made by the job service (queue hop, create →
    picture, the create call, worker CPU) and, with the procedural painter, asked for over the
    kiosk API (POST /live → GET /live/<job> until ``image``: HTTP round trip, the API's answer)."""
    from live import selectors

    worker = venue.start_worker("live", queue=venue.env["GARDEN_LIVE_QUEUE"], pool=worker_pool(), loglevel="WARNING")
    # its start (imports, finishing process, warm-up), then ready
    if not wait_for(lambda: selectors.live_worker_present() or worker.poll() is not None, 120, every=0.2) or worker.poll() is not None:
        raise SystemExit(f"the live worker did not come up; see {venue.log('live')}")
    try:
        return service_round(args, venue.log("live"), worker), api_round(
            args, venue.log("live")
        ) if args.worker_backend == "procedural" else []
    finally:
        venue.stop_worker("live", timeout=30)


def worker_pool() -> str:
    """The live worker's pool as the Procfile runs it: solo since generation.worker.finishing_processes, prefork before."""
    import importlib.util

    return "solo" if importlib.util.find_spec("generation.worker.finishing_processes") else "prefork"


def service_round(args, log: Path, worker) -> list[tuple[float, float, float, float]]:
    """(queue hop, create → picture, create call, worker CPU) in seconds per job. Polls the row every
    10 ms: faster polling takes CPU from the worker."""
    from django.utils import timezone

    from generation.models import GenerationJob

    rows_out = []
    for number in range(args.worker_jobs + 1):
        cpu = worker_cpu(worker)
        sent, started = timezone.now(), time.perf_counter()
        job = create_live_job(backend=args.worker_backend, steps=args.steps[0], size=args.size, seed=number, enqueue=True)
        created = time.perf_counter() - started
        rows = GenerationJob.objects.filter(pk=job.pk)
        while True:
            status = rows.values_list("status", flat=True).get()
            if status in GenerationJob.FINISHED:
                break
            if time.perf_counter() - started > 120:
                raise SystemExit(f"live job not finished after 120 s; see {log}")
            time.sleep(0.01)
        done = time.perf_counter() - started
        job.refresh_from_db()
        assert job.status == "succeeded" and job.images.filter(safety_verdict="passed").exists(), (job.status, job.error)
        time.sleep(0.3)  # anything the worker does after the job finished still counts in its CPU
        if number:  # the first one starts the pool process and loads the painter
            rows_out.append(((job.started_at - sent).total_seconds(), done, created, worker_cpu(worker) - cpu))
    return rows_out


def api_round(args, log: Path) -> list[tuple[float, float, float]]:
    """(create → picture URL seen, the POST's answer, seen − stored) in seconds per picture asked for
    through the kiosk API in this process (Django's test client: the whole view, middleware and
    throttles, no socket). Stored: the job's ``finished_at`` (the worker's commit). ``--kiosk-poll
    long``: GET /live/<job>?wait=10 asked again at once; ``schedule``: every 100, 150 … 400 ms."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment
    from django.utils import timezone

    from generation.models import GenerationJob

    setup_test_environment()  # the test client's host name
    client, pictures = Client(), []
    reads: list[int] = []  # reads of the job's row per status request
    query = "?wait=10" if args.kiosk_poll == "long" else ""
    for number in range(args.worker_jobs + 1):
        sent, started = timezone.now(), time.perf_counter()
        asked = client.post("/live", {"id": f"visitor-{number}", "emotion": "happy/spring,sunny,day"}, content_type="application/json")
        answered = time.perf_counter() - started
        assert asked.status_code == 202, (asked.status_code, asked.content)
        polls = 0
        while True:
            if args.kiosk_poll == "schedule":
                time.sleep(min(0.4, 0.1 + 0.05 * polls))
            polls += 1
            with CaptureQueriesContext(connection) as queries:
                status = client.get(f"/live/{asked.json()['job']}{query}").json()
            reads.append(sum('"generation_generationjob"' in query["sql"] for query in queries.captured_queries))
            if status["image"] or status["status"] in ("failed", "cancelled") or status.get("withheld"):
                break
            if time.perf_counter() - started > 120:
                raise SystemExit(f"no live picture after 120 s; see {log}")
        seen = time.perf_counter() - started
        assert status["image"] and status["image"]["url"], status
        stored = (GenerationJob.objects.get(pk=asked.json()["job"]).finished_at - sent).total_seconds()
        if number:
            pictures.append((seen, answered, seen - stored))
    print(f"reads of the job's row per status request (the first and the last of a long poll): max {max(reads)}, "
          f"{len(reads)} requests")  # fmt: skip
    return pictures


def quantiles(values):
    ordered = sorted(values)
    return statistics.median(ordered), ordered[int(0.9 * (len(ordered) - 1))], ordered[-1]


def print_worker(args, rounds: tuple[list, list]) -> None:
    through_service, through_api = rounds
    hops, totals, creates, cpus = ([row[column] * 1000 for row in through_service] for column in range(4))

    what = f"{args.worker_backend}, {args.size}x{args.size}, {len(through_service)} jobs"
    print(f"\nreal worker (Redis, {worker_pool()} -c 1, a queue of its own), {what}, ms: p50 / p90 / max")
    print("  queue hop (create → worker claims):  {:7.1f} / {:7.1f} / {:7.1f}".format(*quantiles(hops)))
    print("  create → picture stored and checked: {:7.1f} / {:7.1f} / {:7.1f}   (aim p50 ≤ 300)".format(*quantiles(totals)))
    print("  the create call (row, commit, send):  {:7.1f} / {:7.1f} / {:7.1f}".format(*quantiles(creates)))
    print("  worker CPU per live job (all its processes): {:7.1f} / {:7.1f} / {:7.1f}".format(*quantiles(cpus)))
    if through_api:
        urls, posts, lags = ([row[column] * 1000 for row in through_api] for column in range(3))
        print(f"kiosk API (POST /live → GET /live/<job> until image, polls: {args.kiosk_poll}), {len(urls)} pictures:")
        print("  create → picture URL:                {:7.1f} / {:7.1f} / {:7.1f}   (aim p50 ≤ 300)".format(*quantiles(urls)))
        print("  seen − stored (URL seen after commit): {:7.1f} / {:7.1f} / {:7.1f}   (aim p50 ≤ 20)".format(*quantiles(lags)))
        print("  POST /live answered (202):           {:7.1f} / {:7.1f} / {:7.1f}".format(*quantiles(posts)))


def main() -> int:
    args = parse_args()
    use_worker = not args.no_worker and reachable(redis_url())
    started = results.machine()
    with tempfile.TemporaryDirectory(prefix="garden-bench-live-") as work:
        model, settings = settings_for(args, Path(work), use_worker)
        # its own live queue: the Redis may be shared
        with here("garden-bench-live-", database=args.database_url, GARDEN_LIVE_QUEUE=f"live-bench-{os.getpid()}", **settings) as venue:
            figures = measure(args, model, venue if use_worker else None)
    print(f"\n{results.load_line('at the end')}")
    results.write(args.json, "live", vars(args), figures, started)
    return 0


def measure(args, model: str, venue) -> dict:
    import torch

    torch.set_num_threads(1)  # the pipeline's CPU in this thread: CPU times add up per thread
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")  # as in a worker's pool process (generation.worker.start)
    import diffusers

    print(f"model: {'sd-turbo shapes, random weights' if args.full_size else 'tiny random-weight SD'} ({model}) on {args.device}")
    database = os.environ["DATABASE_URL"].split(":")[0]
    print(f"torch {torch.__version__}, diffusers {diffusers.__version__}; {results.load_line()}"
          f"; database {database}; C2PA {'on' if args.c2pa else 'off'}")  # fmt: skip
    figures: dict = {"parts": {}, "worker": None}
    if not args.no_parts:
        print(f"finishing: {start_finishing()}")
    for steps in [] if args.no_parts else args.steps:
        figures["parts"][steps] = per_image_parts(args, steps)
        print_parts(args, steps, figures["parts"][steps])
    if venue is not None:
        figures["worker"] = real_worker(args, venue)
        print_worker(args, figures["worker"])
    else:
        print("\nreal worker: skipped (Redis not reachable or --no-worker)")
    return figures


if __name__ == "__main__":
    sys.exit(main())
