#!/usr/bin/env python3
"""Two real hosts, a diffusers folder and a LoRA: host A stores them, is stopped, host B paints with the LoRA (issue 87).

    .venv/bin/python bench/library_folder_hosts.py [--pairs 3] [--broker redis://…/11]
    .venv/bin/python bench/library_folder_hosts.py --smoke     # one pair: the same path

The issue's aim, with real processes on this machine (the harness's venue: bench/harness/venue.py):

- the store: moto's S3 server in a child process on a free loopback port (testkit/s3_server.py);
  a PostgreSQL database made here and dropped after; Redis for the queues (names of their own);
- host A: a real Celery GPU worker (prefork, one process, GARDEN_HOST_NAME bench-a) whose own
  GARDEN_MODELS_DIR holds two tiny diffusers folders, ``tiny-sd-a`` and ``tiny-sd-c`` (a's text
  encoder, VAE, tokenizer and scheduler with another UNet), and the LoRA ``loras/tiny-ink``
  (testkit/tiny_pipeline.py, tiny_library.py). Its follower scans them and puts them
  into the store (the product's path: no push command). The store must then hold each distinct
  file once (the components c shares with a once) and each folder's manifest;
- host A is stopped with SIGTERM (a warm shutdown) and must be gone from worker presence
  (``library.hosts.present_hosts``, the reader the library is handed);
- host B: a second real worker, its own empty folder and host name. Pairs of jobs on B's queue,
  the same seed with the LoRA and without: each must succeed and the two pictures differ (the LoRA
  applied). B fetches the folder and the LoRA once (its log's "fetched" lines), then a job for
  ``tiny-sd-c`` fetches only the files a lacked (B's blobs: each distinct file once).

Prints the seconds from A's start to all three stored, the store's objects and bytes against the
folders' bytes, A's shutdown, each job's seconds and picture difference, and B's fetch lines.
"""

from __future__ import annotations

import io
import re
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import parser, results
from bench.harness.venue import BUCKET, Venue
from testkit import smoke

SMOKE_NEEDS = ("postgresql", "redis")
MODEL, SHARING, LORA = "tiny-sd-a", "tiny-sd-c", "tiny-ink"
HOST_A, HOST_B = "bench-a", "bench-b"
FETCHED = re.compile(r"fetched (\S+) \((?:(\d+) files, )?(\d+) bytes\)(?: from the model store)? onto host (\S+) in ([\d.]+) s")
APPLIED = 10  # the least largest pixel difference (of 255) that says a LoRA changed the picture
SETTINGS = {"GARDEN_GENERATOR_BACKEND": "diffusers", "GARDEN_DIFFUSION_DEVICE": "cpu", "GARDEN_DIFFUSION_MAX_LOADED": "1",
            "GARDEN_WORKER_PRESENCE_SECONDS": "1", "GARDEN_LIBRARY_SCAN_SECONDS": "1"}  # fmt: skip


def parse_args():
    made = parser(__doc__)
    made.add_argument("--pairs", type=int, default=3, help="job pairs on host B (with the LoRA, without), a seed each")
    made.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432", help="made there, dropped after")
    made.add_argument("--database", default="", help="its name (default garden_bench_folder_hosts_<random>)")
    made.add_argument("--broker", default="redis://127.0.0.1:6379/11", help="Redis for the workers' queues (names of their own)")
    args = made.parse_args()
    if args.smoke:
        args.pairs = 1
        url = smoke.database_url("library_folder_hosts", "", "BENCH_FOLDER_HOSTS_DATABASE_URL")
        if url:
            args.postgres, args.database = url.split("?", 1)[0].rsplit("/", 1)
        args.broker = smoke.cache_url(args.broker, "BENCH_FOLDER_HOSTS_REDIS_URL")
    args.database = args.database or f"garden_bench_folder_hosts_{uuid.uuid4().hex[:8]}"
    return args


def build(folder: Path) -> None:
    """Host A's folder: tiny-sd-a, tiny-sd-c (a with another UNet) and the LoRA."""
    from testkit.tiny_library import save_tiny_lora
    from testkit.tiny_pipeline import save_tiny_pipeline

    folder.mkdir(parents=True, exist_ok=True)
    save_tiny_pipeline(folder / MODEL, seed=0)
    other = Path(tempfile.mkdtemp(prefix="tiny-sd-b-"))
    save_tiny_pipeline(other, seed=1)
    shutil.copytree(folder / MODEL, folder / SHARING)
    shutil.rmtree(folder / SHARING / "unet")
    shutil.copytree(other / "unet", folder / SHARING / "unet")
    shutil.rmtree(other)
    save_tiny_lora(folder / "loras" / f"{LORA}.safetensors")


def wait_stored(names: tuple[str, ...], timeout: float) -> dict:
    from library.models import LibraryEntry

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        entries = {entry.name: entry for entry in LibraryEntry.objects.filter(name__in=names, stored_at__isnull=False)}
        if len(entries) == len(names):
            return entries
        time.sleep(0.5)
    raise SystemExit(f"{names} were not all put into the store in {timeout:.0f} s")


def check_store(client, entries: dict, folder_a: Path) -> None:
    """Each distinct file once, the manifests, nothing else; the shared components once."""
    from library import manifests

    listed = client.list_objects_v2(Bucket=BUCKET, Prefix="models/sha256/")
    objects = {item["Key"].rsplit("/", 1)[1]: item["Size"] for item in listed.get("Contents", [])}
    a, c, lora = entries[MODEL], entries[SHARING], entries[LORA]
    blobs_a, blobs_c = manifests.blobs(a.details["files"]), manifests.blobs(c.details["files"])
    expected = set(blobs_a) | set(blobs_c) | {lora.sha256, a.manifest_sha256, c.manifest_sha256}
    assert set(objects) == expected, sorted(set(objects) ^ expected)
    shared = set(blobs_a) & set(blobs_c)
    assert shared, "tiny-sd-c shares no file with tiny-sd-a"
    on_disk = sum(path.stat().st_size for name in (MODEL, SHARING) for path in (folder_a / name).rglob("*") if path.is_file())
    stored = sum(size for sha, size in objects.items() if sha in set(blobs_a) | set(blobs_c))
    print(
        f"store: {len(objects)} objects; the two folders {on_disk} bytes on host A, {stored} bytes of their files in the store "
        f"({len(shared)} shared files, {sum(blobs_a[sha] for sha in shared)} bytes, stored once), 2 manifests, the LoRA"
    )


def fetched(venue: Venue, host: str) -> list[tuple[str, str, int, str, float]]:
    """Every "fetched" line of a host's worker log, a folder's or a file's: (name, files, bytes, host, seconds)."""
    return [(m[1], m[2] or "", int(m[3]), m[4], float(m[5])) for m in venue.log_matches(host, FETCHED)]


def stop_host(venue: Venue, host: str) -> None:
    """SIGTERM (a warm shutdown, as `docker compose stop`), then host A must be gone from presence."""
    from generation.models import WorkerPresence
    from library import hosts
    from library.models import LibraryUpload

    started = time.perf_counter()
    code = venue.stop_worker(host, timeout=180)
    gone = not WorkerPresence.objects.filter(host=host).exists() and host not in (hosts.present_hosts() or set())
    print(f"host {host} stopped by SIGTERM: exit {code} in {time.perf_counter() - started:.1f} s; gone from presence: {gone}")
    assert code == 0 and gone, "host A did not stop cleanly"
    assert not LibraryUpload.objects.exists(), list(LibraryUpload.objects.values())


def paint(venue: Venue, model: str, seed: int, loras: tuple = ()):
    """One job on host B's queue, waited for: its picture (int16 RGB) and its seconds from the send."""
    import numpy as np
    from PIL import Image

    from garden.services import read_file
    from generation import selectors, services
    from generation.requests import JobRequest

    started = time.perf_counter()
    request = JobRequest(prompt="a red fox", count=1, width=64, height=64, steps=2, seed=seed, model=model, loras=loras)
    job = services.create_job(request=request, queue=venue.queue("gpu-b"))
    deadline = time.monotonic() + 600
    while job.status not in ("succeeded", "failed", "cancelled") and time.monotonic() < deadline:
        time.sleep(0.2)
        job.refresh_from_db()
    seconds = time.perf_counter() - started
    if job.status != "succeeded":
        raise SystemExit(f"job {job.pk} ({model}, loras {loras}): {job.status} after {seconds:.0f} s: {job.error or job.notice}")
    with Image.open(io.BytesIO(read_file(selectors.job_images(job)[0].key))) as picture:
        return np.asarray(picture.convert("RGB"), dtype=np.int16), seconds


def measure(venue: Venue, args) -> None:
    from library import cache, manifests

    started = time.perf_counter()
    venue.start_worker(HOST_A)
    venue.wait_ready([HOST_A])
    entries = wait_stored((MODEL, SHARING, LORA), timeout=600)
    print(f"host A's worker up, scanned the two folders and the LoRA and put them into the store: {time.perf_counter() - started:.1f} s")
    check_store(venue.s3_client(), entries, venue.folder(HOST_A))
    stop_host(venue, HOST_A)

    venue.start_worker(HOST_B, queue=venue.queue("gpu-b"))
    venue.wait_ready([HOST_B])
    for pair in range(args.pairs):
        styled, with_seconds = paint(venue, MODEL, seed=pair, loras=((LORA, 1.0),))
        plain, plain_seconds = paint(venue, MODEL, seed=pair)
        difference = int(abs(styled - plain).max())
        timing = f"with {LORA} {with_seconds:.1f} s, without {plain_seconds:.1f} s"
        print(f"host B pair {pair + 1}: {timing}; largest pixel difference {difference} (LoRA applied: {difference > APPLIED})")
        assert difference > APPLIED, "the LoRA changed nothing: not applied"
    lines = fetched(venue, HOST_B)
    assert sorted(name for name, *_ in lines) == [LORA, MODEL], lines  # each once, whatever the pairs
    folder_b, lora = venue.folder(HOST_B), Path("loras") / f"{LORA}.safetensors"
    assert (folder_b / lora).read_bytes() == (venue.folder(HOST_A) / lora).read_bytes()
    _, sharing_seconds = paint(venue, SHARING, seed=0)
    blobs = {path.name for path in (folder_b / cache.WORK / "blobs").iterdir()}
    distinct = set(manifests.blobs(entries[MODEL].details["files"])) | set(manifests.blobs(entries[SHARING].details["files"]))
    print(f"host B {SHARING}: {sharing_seconds:.1f} s; host B's blobs {len(blobs)} files, the two folders' distinct files {len(distinct)}")
    assert blobs == distinct
    for name, files, size, host, seconds in fetched(venue, HOST_B):
        print(f"host B's log: fetched {name} ({f'{files} files, ' if files else ''}{size} bytes) onto {host} in {seconds:.2f} s")


def main() -> None:
    args = parse_args()
    print(results.load_line("at start"), flush=True)
    work = Path(tempfile.mkdtemp(prefix="bench-folder-hosts-"))
    try:
        with Venue(work, database=f"{args.postgres}/{args.database}", broker=args.broker, store="s3", **SETTINGS) as venue:
            build(venue.folder(HOST_A))
            venue.join("bench")  # this process: a host without a folder of models
            measure(venue, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(results.load_line("at end"))


if __name__ == "__main__":
    main()
