"""Issue 78 part A: the library in a store by sha256, each host's folder a bounded cache, copies per host.

Two "hosts" are two GARDEN_HOST_NAME values with two folders over one database. The S3 store is
moto's real HTTP server on loopback; the shared-folder store is a folder.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import socket
from pathlib import Path

import boto3
import pytest

from generation.backends import BackendError
from generation.models import GenerationJob
from generation.worker.toolbox import library_files as runner_library_files
from library import cache, selectors
from library import store as model_store
from library.models import LibraryCopy, LibraryEntry
from library.services import entries as library_services
from library.store import StoreCorrupt
from tests.library.test_library_follow import write_checkpoint

pytestmark = pytest.mark.django_db
BUCKET = "garden-models-test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Hosts:
    """Two hosts' folders on one database: ``on("a")`` makes this process host a."""

    def __init__(self, settings, tmp_path: Path) -> None:
        self.settings, self.tmp_path = settings, tmp_path
        for name in ("a", "b"):
            (tmp_path / name).mkdir()

    def on(self, name: str) -> Path:
        cache.release_all()  # another host: this process's uses were the other host's
        self.settings.GARDEN_HOST_NAME = name
        self.settings.GARDEN_MODELS_DIR = str(self.tmp_path / name)
        return self.tmp_path / name


@pytest.fixture
def hosts(settings, tmp_path):
    settings.GARDEN_GENERATOR_BACKEND = "diffusers"
    settings.GARDEN_LIBRARY_SCAN_SECONDS = 30
    yield Hosts(settings, tmp_path)
    cache.release_all()


@pytest.fixture
def s3(settings, monkeypatch):
    moto_server = pytest.importorskip("moto.server")
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}
    client = boto3.client("s3", endpoint_url=endpoint, **credentials)
    client.create_bucket(Bucket=BUCKET)
    settings.S3_CONNECTION = {"endpoint_url": endpoint, "region_name": "us-east-1", "access_key": "testing", "secret_key": "testing"}
    settings.GARDEN_MODELS_STORE = f"s3://{BUCKET}/models"
    yield client
    server.stop()


def _entry(name: str) -> LibraryEntry:
    return LibraryEntry.objects.get(name=name)


# --- copies per host ------------------------------------------------------------------------------


def test_two_hosts_whose_folders_differ_flip_no_row_and_a_model_is_lost_only_with_its_last_copy(hosts):
    write_checkpoint(hosts.on("a") / "only-on-a.safetensors", seed=1)
    write_checkpoint(hosts.on("b") / "only-on-b.safetensors", seed=2)
    flips = []
    for turn in range(6):
        hosts.on("ab"[turn % 2])
        result = library_services.scan()
        if turn >= 2:
            flips += result.added + result.lost
    assert flips == []
    assert set(LibraryEntry.objects.filter(present=True).values_list("name", flat=True)) == {"only-on-a", "only-on-b"}
    assert selectors.hosts_with_copy(_entry("only-on-a").pk) == {"a"}
    assert selectors.hosts_with_copy(_entry("only-on-b").pk) == {"b"}
    # Host b's worker finds only-on-a usable (a holds it: b's worker leaves its jobs to a's, generation.dispatch.pull).
    assert selectors.why_unusable(_entry("only-on-a")) == ""

    (hosts.on("a") / "only-on-a.safetensors").unlink()
    assert selectors.why_unusable(_entry("only-on-a"))  # gone here before a scan, no copy elsewhere
    assert library_services.scan().lost == ["only-on-a"]
    assert not _entry("only-on-a").present and selectors.hosts_with_copy(_entry("only-on-a").pk) == set()


def test_a_host_that_stopped_looking_keeps_nothing_present(hosts, settings):
    write_checkpoint(hosts.on("a") / "shared.safetensors", seed=3)
    library_services.scan()
    write_checkpoint(hosts.on("b") / "shared.safetensors", seed=3)
    library_services.scan()
    LibraryCopy.objects.filter(host="a").update(seen_at=selectors.fresh_since() - dt.timedelta(seconds=1))
    assert selectors.hosts_with_copy(_entry("shared").pk) == {"b"}
    (hosts.on("b") / "shared.safetensors").unlink()
    assert library_services.scan().lost == ["shared"]


# --- the store: S3 (moto's server) ----------------------------------------------------------------


def test_a_model_installed_on_one_host_is_stored_once_and_fetched_onto_the_other(hosts, s3):
    from library.services import follow

    original = write_checkpoint(hosts.on("a") / "garden.safetensors", seed=4)
    follow.scan_now("install")  # a scan on host a puts what it found into the store
    entry = _entry("garden")
    assert entry.stored_at is not None
    head = s3.head_object(Bucket=BUCKET, Key=f"models/sha256/{entry.sha256}")
    assert head["ContentLength"] == original.stat().st_size

    folder_b = hosts.on("b")
    seen: list[tuple[int, int]] = []
    path = cache.local_path(entry, progress=lambda done, total: seen.append((done, total)))
    assert path == folder_b / "garden.safetensors" and path.read_bytes() == original.read_bytes()
    assert seen and seen[-1] == (original.stat().st_size, original.stat().st_size)
    assert list((folder_b / cache.WORK / "tmp").iterdir()) == []
    assert selectors.hosts_with_copy(entry.pk) == {"a", "b"}
    # The second time fetches nothing: the same file stays.
    inode = path.stat().st_ino
    assert cache.local_path(entry, progress=lambda done, total: seen.append((-1, -1))) == path
    assert path.stat().st_ino == inode and (-1, -1) not in seen
    # Host b's scan finds the fetched copy without hashing it again (the sidecar) and changes nothing.
    result = library_services.scan()
    assert result.added == result.changed == result.lost == []
    # A model the store holds is not lost when a host removes its copy.
    path.unlink()
    assert library_services.scan().lost == [] and _entry("garden").present


def test_a_corrupt_object_is_discarded_then_fetched_once_it_is_right(hosts, s3):
    original = write_checkpoint(hosts.on("a") / "fragile.safetensors", seed=5)
    library_services.scan()
    entry = _entry("fragile")
    key = f"models/sha256/{entry.sha256}"
    s3.put_object(Bucket=BUCKET, Key=key, Body=original.read_bytes()[:-4] + b"oops")
    LibraryEntry.objects.filter(pk=entry.pk).update(stored_at="2026-01-01T00:00:00Z")
    entry.refresh_from_db()
    folder_b = hosts.on("b")
    with pytest.raises(StoreCorrupt):
        cache.local_path(entry)
    assert not (folder_b / "fragile.safetensors").exists() and list((folder_b / cache.WORK / "tmp").iterdir()) == []
    s3.put_object(Bucket=BUCKET, Key=key, Body=original.read_bytes())
    assert cache.local_path(entry).read_bytes() == original.read_bytes()


def test_a_job_waits_while_the_store_is_away_and_says_why(hosts, s3, settings, monkeypatch):
    from generation.backends import TransientBackendError
    from library.services import follow

    write_checkpoint(hosts.on("a") / "faraway.safetensors", seed=6)
    follow.scan_now("install")
    hosts.on("b")
    settings.S3_CONNECTION = {**settings.S3_CONNECTION, "endpoint_url": f"http://127.0.0.1:{_free_port()}"}
    monkeypatch.setattr(cache, "UNAVAILABLE_TRIES", 1)
    job = GenerationJob(prompt="x", model="faraway", backend="diffusers")
    with pytest.raises(TransientBackendError, match="waiting for the model store"):
        runner_library_files(job)


# --- the bounded cache (a shared-folder store) ----------------------------------------------------


@pytest.fixture
def three_stored(hosts, settings, tmp_path):
    """Three checkpoints on host a, put into a folder store; host b's cache holds two and a half."""
    from library.services import follow

    settings.GARDEN_MODELS_STORE = f"file://{tmp_path / 'store'}"
    (tmp_path / "store").mkdir()
    folder = hosts.on("a")
    for seed in (1, 2, 3):
        write_checkpoint(folder / f"m{seed}.safetensors", seed=seed)
    follow.scan_now("command")
    size = (folder / "m1.safetensors").stat().st_size
    settings.GARDEN_MODELS_CACHE_GB = 2.5 * size / 1e9
    assert model_store.get().stat(_entry("m3").sha256) is not None
    return [_entry(f"m{seed}") for seed in (1, 2, 3)]


def test_the_least_recently_used_unused_model_makes_room_and_one_in_use_stays(hosts, three_stored):
    m1, m2, m3 = three_stored
    folder = hosts.on("b")
    cache.local_path(m1)
    cache.local_path(m2)
    cache.release_all()
    # Another process uses m1 (a shared lock on its marker), although it was used longest ago.
    marker = folder / cache.WORK / "use" / m1.sha256
    os.utime(marker, (1, 1))
    with open(marker, "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_SH)
        cache.local_path(m3)
    assert (folder / "m1.safetensors").exists() and not (folder / "m2.safetensors").exists()
    assert (folder / "m3.safetensors").exists()
    assert selectors.hosts_with_copy(m2.pk) == {"a"}


def test_a_cache_full_of_models_in_use_fails_the_job_clearly(hosts, three_stored):
    m1, m2, _ = three_stored
    folder = hosts.on("b")
    cache.local_path(m1)
    cache.local_path(m2)  # this process uses both (its last models)
    job = GenerationJob(prompt="x", model="m3", backend="diffusers")
    with pytest.raises(BackendError, match=r"no room for .* on host b .*in use"):
        runner_library_files(job)
    assert (folder / "m1.safetensors").exists() and (folder / "m2.safetensors").exists()
    assert not (folder / "m3.safetensors").exists() and list((folder / cache.WORK / "tmp").iterdir()) == []
