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

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BUCKET = "bench-models"

from testkit import s3_server  # noqa: E402 (needs ROOT on the path)


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gb", type=float, default=2.1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--folder", action="store_true", help="a diffusers folder of --gb GB instead of one file")
    args = parser.parse_args()
    size = int((0.064 if args.smoke else args.gb) * 1e9)

    work = Path(tempfile.mkdtemp(prefix="library-fetch-"))
    port = s3_server.free_port()
    endpoint = f"http://127.0.0.1:{port}"
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=f"sqlite:///{work / 'bench.sqlite3'}",
        GARDEN_MODELS_DIR=str(work / "host-b"),
        GARDEN_MODELS_STORE=f"s3://{BUCKET}/models",
        GARDEN_S3_ENDPOINT_URL=endpoint,
        GARDEN_S3_REGION="us-east-1",
        GARDEN_S3_ACCESS_KEY_ID="testing",
        GARDEN_S3_SECRET_ACCESS_KEY="testing",
        GARDEN_HOST_NAME="bench-b",
        GARDEN_LIBRARY_SCAN_SECONDS="0",
    )
    (work / "host-b").mkdir()
    server = s3_server.start(port)
    try:
        import django

        django.setup()
        import boto3
        from django.core.management import call_command
        from django.utils import timezone

        from library import cache
        from library import store as model_store
        from library.models import LibraryEntry

        call_command("migrate", verbosity=0)
        client = boto3.client(
            "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        client.create_bucket(Bucket=BUCKET)
        started = time.perf_counter()
        if args.folder:
            entry, keys = stored_folder(work, size, model_store.get())
        else:
            source = work / "model.safetensors"
            sha256 = random_file(source, size)
            model_store.get().put(source, sha256)
            source.unlink()
            entry = LibraryEntry.objects.create(
                kind="pipeline", name="bench", path="bench.safetensors", size_bytes=size, sha256=sha256, stored_at=timezone.now()
            )
            keys = [model_store.get().key(sha256)]
        put_seconds = time.perf_counter() - started
        what = f"a folder of {len(keys)} objects" if args.folder else "object"
        print(f"{what}: {size / 1e9:.2f} GB, written and put (hashed while uploading) in {put_seconds:.1f} s; moto on {endpoint}")
        warmed = sum(s3_server.warm(client, BUCKET, key) for key in keys)
        print(f"the server's one read of it into memory: {warmed:.2f} s (before anything is timed)")

        plain, ours, again = [], [], []
        for round_ in range(args.rounds):
            started = time.perf_counter()
            for number, key in enumerate(keys):
                client.download_file(BUCKET, key, str(work / f"plain.{number}.bin"))
            plain.append(time.perf_counter() - started)
            for number in range(len(keys)):
                (work / f"plain.{number}.bin").unlink()

            local = work / "host-b" / entry.path
            started = time.perf_counter()
            path = cache.local_path(entry)
            ours.append(time.perf_counter() - started)
            assert path == local and (path.stat().st_size == size or path.is_dir())
            started = time.perf_counter()
            cache.local_path(entry)
            again.append(time.perf_counter() - started)
            cache.release_all()
            if path.is_dir():
                shutil.rmtree(local)
                shutil.rmtree(work / "host-b" / cache.WORK / "blobs")
            else:
                local.unlink()
            print(f"round {round_ + 1}: boto3 download_file {plain[-1]:.2f} s, library cache fetch {ours[-1]:.2f} s")
        best_plain, best_ours = min(plain), min(ours)
        rate_plain, rate_ours = size / best_plain / 1e6, size / best_ours / 1e6
        print(f"best: boto3 {best_plain:.2f} s ({rate_plain:.0f} MB/s), cache {best_ours:.2f} s ({rate_ours:.0f} MB/s)")
        print(f"ratio cache/boto3: {best_ours / best_plain:.3f} (aim <= 1.25)")
        print(f"second local_path (nothing fetched): {max(again) * 1000:.1f} ms at most")
    finally:
        server.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
