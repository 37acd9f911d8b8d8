#!/usr/bin/env python3
"""Two hosts, one model library: a full-size checkpoint put into the store by one host paints on the other (issue 78).

    .venv/bin/python bench/library_two_hosts.py [--rounds 2] [--database NAME] [--broker redis://…/11] [--keep DIR]
    .venv/bin/python bench/library_two_hosts.py --smoke       # the tiny pipeline as one file: seconds

On this machine, with real processes:

- the store: moto's S3 server in a child process on loopback (testkit/s3_server.py): moto's server,
  its ranged GETs served from one in-memory copy because moto re-reads the whole object per range
  (read once, before anything is timed, for both clients alike);
- a database made on PostgreSQL and dropped after, a Redis for the queues;
- host A: a real Celery GPU worker (prefork, one process) with its own GARDEN_MODELS_DIR holding an
  SD 1.5-architecture single-file checkpoint (random weights, fp16 on disk, about 2.1 GB, built in a
  child process from the shipped sd1 configs: testkit/single_file.py). Its worker follows
  its folder (library.services.follow): it scans the file and puts it into the store, the product's
  own path (no push command);
- host B: a second real Celery GPU worker, its own empty GARDEN_MODELS_DIR, its own host name, the
  same store, CPU. Two jobs for that model (64×64, 1 step) are sent to host B's queue (a queue of
  its own: on a shared queue host A's worker, which has the file, could take them): the first fetches the model
  (``library.cache``, timed by the seconds in its "fetched … in N s" log line) and paints; the
  second must fetch nothing (no new fetched line, no request to the store, host B's copy as before).

In the same run, alternated for ``--rounds``: boto3's ``download_file`` (default TransferConfig) of
the same object from the same server into a temporary file, and ``library.cache.local_path`` in
this process onto an empty folder of a third host name. Prints the object's size, both times, the
ratio (aim ≤ 1.25), the worker's own fetch against the best boto3 and against boto3 just before it
(one just after is printed too), the two jobs' times and the load average at start and end. A
second ratio divides by boto3's time plus the sha256 of its file read after it: the cache checks the
hash as parts arrive, boto3 checks nothing, and on 2 cores shared with the server that CPU is most
of the gap (bench/results/library-two-hosts-2026-11-28.md).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import parser, results
from bench.harness.venue import BUCKET, ROOT, Venue
from testkit import s3_server, smoke

SMOKE_NEEDS = ("postgresql", "redis")
FETCHED = re.compile(r"fetched (\S+) \((\d+) bytes\) from the model store onto host (\S+) in ([\d.]+) s")
HOST_A, HOST_B = "bench-a", "bench-b"
SETTINGS = {"GARDEN_GENERATOR_BACKEND": "diffusers", "GARDEN_DIFFUSION_DEVICE": "cpu", "GARDEN_DIFFUSION_MAX_LOADED": "1",
            "GARDEN_WORKER_PRESENCE_SECONDS": "1", "GARDEN_LIBRARY_SCAN_SECONDS": "1"}  # fmt: skip


def parse_args():
    made = parser(__doc__)
    made.add_argument("--rounds", type=int, default=2, help="boto3 and cache fetches, alternated")
    made.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432", help="made there, dropped after")
    made.add_argument("--database", default="", help="its name (default garden_bench_two_hosts_<random>)")
    made.add_argument("--broker", default="redis://127.0.0.1:6379/11", help="Redis for the workers' queues (names of their own)")
    made.add_argument("--keep", type=Path, help="a folder to build the checkpoint into once and keep (later runs reuse it)")
    made.add_argument("--build", type=Path, help=argparse.SUPPRESS)  # the child that builds the checkpoint
    args = made.parse_args()
    if args.smoke:
        args.rounds = 1
        url = smoke.database_url("library_two_hosts", "", "BENCH_TWO_HOSTS_DATABASE_URL")
        if url:
            args.postgres, args.database = url.split("?", 1)[0].rsplit("/", 1)
        args.broker = smoke.cache_url(args.broker, "BENCH_TWO_HOSTS_REDIS_URL")
    args.database = args.database or f"garden_bench_two_hosts_{uuid.uuid4().hex[:8]}"
    return args


def build(path: Path, smoke: bool) -> None:
    """The checkpoint at ``path`` (run in a child process, so that its build memory goes with it)."""
    import torch

    from testkit.single_file import build_from_configs, save_single_file

    if smoke:  # tiny shapes no shipped config matches: its configs beside it
        from testkit.tiny_pipeline import build_tiny_pipeline

        save_single_file(build_tiny_pipeline(seed=7), path, configs_beside=True)
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from generation.backends.checkpoints import prepared_config
    from library import checkpoints

    pipeline = build_from_configs(prepared_config(checkpoints.CONFIGS / "sd1"), seed=78).to(torch.float16)
    save_single_file(pipeline, path)  # the shipped sd1 configs load it: nothing beside it


def wait_stored(name: str, timeout: float):
    from library.models import LibraryEntry

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        entry = LibraryEntry.objects.filter(name=name, stored_at__isnull=False).first()
        if entry is not None:
            return entry
        time.sleep(0.5)
    raise SystemExit(f"{name} was not put into the store in {timeout:.0f} s")


def paint(model: str, queue: str, seed: int, timeout: float):
    """One job on ``queue`` (a host's own), waited for: the finished row and its seconds from the send."""
    from generation import services
    from generation.requests import JobRequest

    started = time.perf_counter()
    request = JobRequest(emotion="calm", count=1, width=64, height=64, steps=1, seed=seed, model=model)
    job = services.create_job(request=request, queue=queue)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    if job.status != "succeeded":
        raise SystemExit(f"job {job.pk}: {job.status} after {seconds:.0f} s: {job.error or job.notice}")
    return job, seconds


def download(client, key: str, work: Path, size: int, hashes: list[float] | None = None) -> float:
    """boto3's managed download_file (default TransferConfig) into a temporary file: seconds. With
    ``hashes``: the file's sha256 is then read from the page cache (what the cache checks as parts
    arrive, a second baseline), its seconds appended there."""
    target = work / "plain.bin"
    started = time.perf_counter()
    client.download_file(BUCKET, key, str(target))
    seconds = time.perf_counter() - started
    assert target.stat().st_size == size
    if hashes is not None:
        started = time.perf_counter()
        with open(target, "rb") as stream:
            hashlib.file_digest(stream, "sha256")
        hashes.append(time.perf_counter() - started)
    target.unlink()
    return seconds


def fetch_rounds(rounds: int, client, key: str, entry, work: Path) -> tuple[list[float], list[float], list[float]]:
    """boto3's download_file (then the file's sha256) and library.cache.local_path (this process: host
    bench-rounds), alternated."""
    from library import cache

    plain, hashes, ours = [], [], []
    for round_ in range(rounds):
        plain.append(download(client, key, work, entry.size_bytes, hashes))
        started = time.perf_counter()
        path = cache.local_path(entry)
        ours.append(time.perf_counter() - started)
        assert path.stat().st_size == entry.size_bytes
        cache.release_all()
        path.unlink()
        print(
            f"round {round_ + 1}: boto3 download_file {plain[-1]:.2f} s (its file's sha256 after: {hashes[-1]:.2f} s), "
            f"library cache fetch {ours[-1]:.2f} s",
            flush=True,
        )
    return plain, hashes, ours


def place(built: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(built, target)
    except OSError:
        shutil.copy2(built, target)
    configs = built.with_name(f"{built.stem}.config")
    if configs.is_dir():
        shutil.copytree(configs, target.with_name(configs.name))


def fetched(venue: Venue, host: str) -> list[tuple[str, int, str, float]]:
    """The cache's "fetched" lines in a host's worker log: (name, bytes, host, seconds)."""
    return [(m[1], int(m[2]), m[3], float(m[4])) for m in venue.log_matches(host, FETCHED)]


def measure(venue: Venue, args, model: str) -> None:
    from library.models import LibraryCopy

    client, endpoint = venue.s3_client(), venue.endpoint
    queue_b = venue.queue("gpu-b")
    started = time.perf_counter()
    venue.start_worker(HOST_A)
    venue.wait_ready([HOST_A])
    entry = wait_stored(model, timeout=900)
    print(f"host A's worker up, scanned {model} and put it into the store: {time.perf_counter() - started:.1f} s from its start")
    key = f"models/sha256/{entry.sha256}"
    first_read = s3_server.warm(client, BUCKET, key)
    print(f"object: {entry.size_bytes} bytes ({entry.size_bytes / 1e9:.2f} GB); the server's one read of it into memory {first_read:.2f} s")

    plain, hashes, ours = fetch_rounds(args.rounds, client, key, entry, venue.work)
    best_plain, best_ours = min(plain), min(ours)
    verified = min(p + h for p, h in zip(plain, hashes, strict=True))
    size = entry.size_bytes
    rates = size / best_plain / 1e6, size / best_ours / 1e6
    print(f"best: boto3 {best_plain:.2f} s ({rates[0]:.0f} MB/s), cache {best_ours:.2f} s ({rates[1]:.0f} MB/s)")
    print(f"ratio cache/boto3: {best_ours / best_plain:.3f} (aim <= 1.25)")
    print(f"ratio cache/(boto3 then the file's sha256): {best_ours / verified:.3f} (best boto3 + hash {verified:.2f} s)", flush=True)

    venue.start_worker(HOST_B, queue=queue_b)
    venue.wait_ready([HOST_B])
    # boto3 just before and just after host B's fetch: the baseline beside it on a machine others share
    beside = [download(client, key, venue.work, size)]
    load = results.load_line()
    before = s3_server.stats(endpoint)
    job, seconds = paint(model, queue_b, seed=1, timeout=1800)
    fetches = fetched(venue, HOST_B)
    assert len(fetches) == 1 and fetches[0][2] == HOST_B, fetches
    worker_fetch = fetches[0][3]
    served = s3_server.stats(endpoint)["ranged_gets_from_copy"] - before["ranged_gets_from_copy"]
    beside.append(download(client, key, venue.work, size))
    print(
        f"host B job 1: {seconds:.1f} s from send to success (worker {job.worker}; fetch {worker_fetch:.2f} s in its log, "
        f"{served} ranged GETs; load {job.timings.get('load', 0):.1f} s; generate {job.timings.get('generate', 0):.2f} s); "
        f"{load} before it; memory available after {results.memory_available_gb():.1f} GB"
    )
    print(f"boto3 download_file just before job 1 {beside[0]:.2f} s, just after {beside[1]:.2f} s")
    print(f"host B's fetch / best boto3 of the rounds: {worker_fetch / best_plain:.3f} (aim <= 1.25)")
    # The one just after runs slower in every run so far (cause not found): the one just before is the baseline beside it.
    print(f"host B's fetch / boto3 just before it: {worker_fetch / beside[0]:.3f} (aim <= 1.25)", flush=True)

    copy = list(LibraryCopy.objects.filter(host=HOST_B).values_list("entry__name", "path", "size_bytes", "on_disk"))
    requests = s3_server.stats(endpoint)["requests"]
    job2, seconds2 = paint(model, queue_b, seed=2, timeout=900)
    nothing = (
        len(fetched(venue, HOST_B)) == 1
        and s3_server.stats(endpoint)["requests"] == requests
        and list(LibraryCopy.objects.filter(host=HOST_B).values_list("entry__name", "path", "size_bytes", "on_disk")) == copy
    )
    print(f"host B job 2: {seconds2:.1f} s from send to success (load {job2.timings.get('load', 0):.1f} s); fetched nothing: {nothing}")
    assert nothing, "the second job fetched (a fetched line, a request to the store or host B's copy changed)"
    stats = s3_server.stats(endpoint)
    print(f"server: object read into memory {stats['objects_read']} time(s), {stats['ranged_gets_from_copy']} ranged GETs from that copy")


def main() -> None:
    args = parse_args()
    if args.build:
        build(args.build, args.smoke)
        return
    print(f"{results.load_line('at start')}; memory available {results.memory_available_gb():.1f} GB", flush=True)
    work = Path(tempfile.mkdtemp(prefix="bench-two-hosts-"))
    model = "tiny-two-hosts" if args.smoke else "sd15-two-hosts"
    try:
        with Venue(work, database=f"{args.postgres}/{args.database}", broker=args.broker, store="s3", **SETTINGS) as venue:
            venue.folder(HOST_A).mkdir(parents=True)
            checkpoint = venue.folder(HOST_A) / f"{model}.safetensors"
            built = (args.keep or venue.folder(HOST_A)) / checkpoint.name
            if not built.exists():
                started = time.perf_counter()
                command = [sys.executable, __file__, "--build", str(built), *(["--smoke"] if args.smoke else [])]
                subprocess.run(command, cwd=ROOT, check=True, env=venue.env)
                print(f"built {built.name} in {time.perf_counter() - started:.1f} s", flush=True)
            if built != checkpoint:  # a kept build: host A's folder gets its own copy (a hard link where it can)
                place(built, checkpoint)
            print(f"checkpoint: {checkpoint.name}, {checkpoint.stat().st_size} bytes in host A's folder", flush=True)
            if args.smoke:  # folders stay on their host: host B gets the tiny model's configs (no weights) as an operator would
                shutil.copytree(checkpoint.with_name(f"{model}.config"), venue.folder(HOST_B) / f"{model}.config")
            venue.join("bench-rounds")  # this process: a third host
            measure(venue, args, model)
    finally:
        if args.keep:  # the workers' logs (the fetched lines) beside the kept checkpoint
            for log in work.glob("worker-*.log"):
                shutil.copy2(log, args.keep / log.name)
        shutil.rmtree(work, ignore_errors=True)
    print(results.load_line("at end"))


if __name__ == "__main__":
    main()
