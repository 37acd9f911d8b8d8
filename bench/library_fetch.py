#!/usr/bin/env python3
"""A model fetched onto a host through the library's cache against a plain boto3 download, in one run.

    .venv/bin/python bench/library_fetch.py [--gb 2.1] [--rounds 2]
    .venv/bin/python bench/library_fetch.py --smoke          # 64 MB: seconds

Starts moto's S3 server in a child process on loopback (testkit/s3_server.py: moto's server, its
ranged GETs served from one in-memory copy because moto re-reads the whole object per range; the
copy is read before anything is timed), puts a random file of ``--gb`` GB in a bucket (as
``push_models`` would: ``library.store.S3Store.put``, hashed while it uploads), then, in alternation
for ``--rounds`` rounds, times

- the baseline: ``boto3``'s managed ``download_file`` of the same object (ranged parts, 10 at a time,
  a temporary file renamed into place), no hash;
- the cache: ``library.cache.local_path(entry)`` on an empty host folder (parallel ranged GETs into a
  process-unique temporary file, the sha256 checked in order as parts arrive, the rename, the copy's
  row), on a SQLite database of its own;

and prints both, the ratio (the aim is at most 1.25) and the time of a second ``local_path`` for the
same entry, which fetches nothing.

``--folder`` (issue 87): the model is a diffusers folder of ``--gb`` GB in all, shaped as SD-Turbo's
(a UNet of 70 %, a text encoder of 22 %, a VAE of 8 %, and the small configs and tokenizer files),
stored as its files by sha256 plus its manifest; the baseline is ``download_file`` of each of the
same objects in turn, the cache's fetch ``local_path`` of the folder entry (each file into the
host's blobs, hash checked, then the folder rebuilt from hard links and moved into place). Between
rounds the folder and the blobs go, so each round fetches every byte.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import parser, results
from bench.harness.venue import BUCKET, here
from testkit import s3_server


def random_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    block = 64 * 1024 * 1024
    with open(path, "wb") as out:
        written = 0
        while written < size:
            chunk = os.urandom(min(block, size - written))
            digest.update(chunk)
            out.write(chunk)
            written += len(chunk)
    return digest.hexdigest()


FOLDER_PARTS = {  # SD-Turbo's shape (fp16): the share of the bytes each weights file holds
    "unet/diffusion_pytorch_model.fp16.safetensors": 0.70,
    "text_encoder/model.fp16.safetensors": 0.22,
    "vae/diffusion_pytorch_model.fp16.safetensors": 0.08,
}
FOLDER_SMALL = ("model_index.json", "unet/config.json", "text_encoder/config.json", "vae/config.json",
                "scheduler/scheduler_config.json", "tokenizer/vocab.json", "tokenizer/merges.txt")  # fmt: skip


def stored_folder(work: Path, size: int, store):
    """A diffusers-shaped folder of ``size`` bytes of random weights, put into ``store`` as its files
    by sha256 plus its manifest (as a host's follower does), and its library entry."""
    from django.utils import timezone

    from library import manifests
    from library.models import LibraryEntry

    folder = work / "folder"
    for relative, share in FOLDER_PARTS.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        random_file(folder / relative, int(size * share))
    for relative in FOLDER_SMALL:
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(os.urandom(2048))
    manifest = manifests.build(folder)
    for relative, sha256, _ in manifest:
        if store.stat(sha256) is None:
            store.put(folder / relative, sha256)
    (work / "manifest.json").write_bytes(manifests.encode(manifest))
    digest = manifests.digest_of(manifest)
    store.put(work / "manifest.json", digest)
    shutil.rmtree(folder)
    entry = LibraryEntry.objects.create(
        kind="pipeline", name="bench", path="bench-folder", size_bytes=size, manifest_sha256=digest,
        details={"files": manifest}, stored_at=timezone.now(),
    )  # fmt: skip
    return entry, [store.key(sha256) for sha256 in manifests.blobs(manifest)]


def stored_file(work: Path, size: int, store):
    """One file of ``size`` random bytes put into ``store`` (hashed while it uploads), and its library entry."""
    from django.utils import timezone

    from library.models import LibraryEntry

    source = work / "model.safetensors"
    sha256 = random_file(source, size)
    store.put(source, sha256)
    source.unlink()
    entry = LibraryEntry.objects.create(
        kind="pipeline", name="bench", path="bench.safetensors", size_bytes=size, sha256=sha256, stored_at=timezone.now()
    )
    return entry, [store.key(sha256)]


def main() -> None:
    made = parser(__doc__)
    made.add_argument("--gb", type=float, default=2.1)
    made.add_argument("--rounds", type=int, default=2)
    made.add_argument("--folder", action="store_true", help="a diffusers folder of --gb GB instead of one file")
    args = made.parse_args()
    started = results.machine()
    with here("library-fetch-", store="s3", GARDEN_LIBRARY_SCAN_SECONDS="0") as venue:
        figures = run(args, venue, int((0.064 if args.smoke else args.gb) * 1e9))
    print(results.load_line("at the end"))
    results.write(args.json, "library_fetch", vars(args), figures, started)


def run(args, venue, size: int) -> dict:
    from library import cache
    from library import store as model_store

    work, host, client = venue.work, venue.folder("bench"), venue.s3_client()
    host.mkdir(parents=True, exist_ok=True)
    store = model_store.get()
    (entry, keys), put_seconds = results.timed(lambda: (stored_folder if args.folder else stored_file)(work, size, store))
    what = f"a folder of {len(keys)} objects" if args.folder else "object"
    print(f"{what}: {size / 1e9:.2f} GB, written and put (hashed while uploading) in {put_seconds:.1f} s; moto on {venue.endpoint}")
    warmed = sum(s3_server.warm(client, BUCKET, key) for key in keys)
    print(f"the server's one read of it into memory: {warmed:.2f} s (before anything is timed)")

    def plain() -> None:
        for number, key in enumerate(keys):
            client.download_file(BUCKET, key, str(work / f"plain.{number}.bin"))

    def ours() -> None:
        path = cache.local_path(entry)
        assert path == host / entry.path and (path.stat().st_size == size or path.is_dir())

    def measure(setting: str, _: int) -> dict:
        if setting == "boto3":
            seconds = results.timed(plain)[1]
            for number in range(len(keys)):
                (work / f"plain.{number}.bin").unlink()
            return {"s": seconds}
        seconds = results.timed(ours)[1]
        again = results.timed(lambda: cache.local_path(entry))[1]
        cache.release_all()
        if (host / entry.path).is_dir():
            shutil.rmtree(host / entry.path)
            shutil.rmtree(host / cache.WORK / "blobs")
        else:
            (host / entry.path).unlink()
        return {"s": seconds, "again_s": again}

    runs = results.alternate(("boto3", "cache"), args.rounds, measure)
    best_plain, best_ours = (min(run["s"] for run in runs[setting]) for setting in ("boto3", "cache"))
    again = max(run["again_s"] for run in runs["cache"])
    rate_plain, rate_ours = size / best_plain / 1e6, size / best_ours / 1e6
    print(f"best: boto3 {best_plain:.2f} s ({rate_plain:.0f} MB/s), cache {best_ours:.2f} s ({rate_ours:.0f} MB/s)")
    print(f"ratio cache/boto3: {best_ours / best_plain:.3f} (aim <= 1.25)")
    print(f"second local_path (nothing fetched): {again * 1000:.1f} ms at most")
    return {"boto3_best_s": best_plain, "cache_best_s": best_ours, "ratio": best_ours / best_plain, "again_max_s": again, "runs": runs}


if __name__ == "__main__":
    main()
