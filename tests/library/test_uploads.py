"""Issue 87 item 2: uploads into the store finish or say why.

An upload under way is a LibraryUpload row with the bytes sent; a failed one is logged and tried
again after a back-off; at a worker's warm shutdown the upload in progress finishes within
GARDEN_LIBRARY_UPLOAD_GRACE_SECONDS or is stopped, marked so, and the model is not called stored.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from library import store as model_store
from library.models import LibraryEntry, LibraryUpload
from library.services import entries as library_services
from library.services import follow, uploads
from library.store import StoreUnavailable
from tests.library.test_library_follow import write_checkpoint
from tests.library.test_store_and_copies import hosts, s3  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


@pytest.fixture
def folder_store(settings, tmp_path):
    settings.GARDEN_MODELS_STORE = f"file://{tmp_path / 'store'}"
    (tmp_path / "store").mkdir()
    uploads.resume()
    yield model_store.get()
    uploads.resume()


def _slow_put(calls: list, *, steps: int, pause: float, seen: list | None = None):
    """FolderStore.put, sending its file in ``steps`` reports ``pause`` seconds apart (a large file on
    a slow link); ``seen`` gets the upload rows as the admin would read them meanwhile."""
    real = model_store.FolderStore.put

    def put(self, path, sha256, progress=None):
        calls.append(sha256)
        size = path.stat().st_size
        for step in range(1, steps + 1):
            time.sleep(pause)
            if progress is not None:
                progress(size * step // steps, size)
            if seen is not None:
                seen.extend(LibraryUpload.objects.values_list("state", "bytes_done", "bytes_total"))
        return real(self, path, sha256, progress)

    return put


def _shutdown_once_started(calls: list, grace: float) -> tuple[threading.Thread, list]:
    """A worker's shutdown (another thread, as celery's signal) once the upload has started."""
    outcome: list = []

    def shut_down():
        while not calls:
            time.sleep(0.01)
        outcome.append(uploads.finish_or_hand_back(grace))

    thread = threading.Thread(target=shut_down)
    thread.start()
    return thread, outcome


def test_an_upload_under_way_says_its_bytes_and_its_row_goes_once_stored(hosts, folder_store, monkeypatch):  # noqa: F811
    monkeypatch.setattr(uploads, "REPORT_SECONDS", 0.0)
    calls: list = []
    seen: list = []
    monkeypatch.setattr(model_store.FolderStore, "put", _slow_put(calls, steps=5, pause=0.01, seen=seen))
    write_checkpoint(hosts.on("a") / "big.safetensors", seed=1)
    library_services.scan()
    entry = LibraryEntry.objects.get(name="big")
    assert uploads.push_pending() == ["big"]
    assert any(state == "uploading" and 0 < done < total for state, done, total in seen), seen
    assert not LibraryUpload.objects.exists()
    entry.refresh_from_db()
    assert entry.stored_at is not None and folder_store.stat(entry.sha256) is not None


def test_a_failed_upload_is_logged_and_tried_again_after_a_back_off(hosts, folder_store, monkeypatch, caplog):  # noqa: F811
    write_checkpoint(hosts.on("a") / "flaky.safetensors", seed=2)
    library_services.scan()
    entry = LibraryEntry.objects.get(name="flaky")
    tries = []

    def refuse(self, path, sha256, progress=None):
        tries.append(sha256)
        raise StoreUnavailable("the store refused put: SlowDown")

    monkeypatch.setattr(model_store.FolderStore, "put", refuse)
    with caplog.at_level(logging.WARNING, logger="library.services.uploads"):
        assert uploads.push_pending() == []
    assert "could not put flaky into the model store" in caplog.text and "next try in 30 s" in caplog.text
    row = LibraryUpload.objects.get(entry=entry, host="a")
    assert row.state == "failed" and row.attempts == 1 and "SlowDown" in row.error
    assert timedelta(seconds=25) < row.next_try_at - timezone.now() <= timedelta(seconds=30)
    assert uploads.push_pending() == [] and len(tries) == 1  # not before its back-off is over
    LibraryUpload.objects.update(next_try_at=timezone.now() - timedelta(seconds=1))
    assert uploads.push_pending() == [] and len(tries) == 2
    row.refresh_from_db()
    assert row.attempts == 2 and uploads.backoff(2) == 60 and row.next_try_at - timezone.now() > timedelta(seconds=55)
    monkeypatch.undo()
    LibraryUpload.objects.update(next_try_at=None)
    assert uploads.push_pending() == ["flaky"]
    assert not LibraryUpload.objects.exists() and LibraryEntry.objects.get(name="flaky").stored_at is not None


def test_a_shutdown_finishes_an_upload_within_its_grace(hosts, folder_store, monkeypatch, settings):  # noqa: F811
    settings.GARDEN_LIBRARY_UPLOAD_GRACE_SECONDS = 10
    calls: list = []
    monkeypatch.setattr(model_store.FolderStore, "put", _slow_put(calls, steps=4, pause=0.1))
    write_checkpoint(hosts.on("a") / "quick.safetensors", seed=3)
    library_services.scan()
    thread, outcome = _shutdown_once_started(calls, 10)
    assert uploads.push_pending() == ["quick"]
    thread.join()
    assert outcome == [True]
    assert LibraryEntry.objects.get(name="quick").stored_at is not None and not LibraryUpload.objects.exists()


def test_a_shutdown_past_its_grace_stops_the_upload_and_says_so(hosts, folder_store, monkeypatch, settings, caplog):  # noqa: F811
    monkeypatch.setattr(uploads, "REPORT_SECONDS", 0.0)
    calls: list = []
    monkeypatch.setattr(model_store.FolderStore, "put", _slow_put(calls, steps=100, pause=0.05))
    write_checkpoint(hosts.on("a") / "huge.safetensors", seed=4)
    library_services.scan()
    entry = LibraryEntry.objects.get(name="huge")
    thread, outcome = _shutdown_once_started(calls, 0.5)
    with caplog.at_level(logging.WARNING, logger="library.services.uploads"):
        assert uploads.push_pending() == []
    thread.join()
    assert outcome == [False]
    row = LibraryUpload.objects.get(entry=entry, host="a")
    assert row.state == "stopped" and 0 < row.bytes_done < row.bytes_total
    assert "stopped by the worker's shutdown" in row.error and "upload of huge" in caplog.text
    entry.refresh_from_db()
    assert entry.stored_at is None and folder_store.stat(entry.sha256) is None  # not called stored: only host a has it
    assert uploads.push_pending() == []  # a stopping worker starts no other upload
    uploads.resume()
    assert uploads.push_pending() == ["huge"]  # the next look (a restarted worker) uploads it


def test_the_follower_stops_through_the_shutdown_hook(hosts, folder_store, settings):  # noqa: F811
    settings.GARDEN_LIBRARY_UPLOAD_GRACE_SECONDS = 1
    settings.GARDEN_LIBRARY_SCAN_SECONDS = 3600
    hosts.on("a")
    follower = follow.start_following()
    assert follower is not None
    assert follow.stop_following() is True
    assert follow.stop_following() is True  # nothing left to stop


def test_the_library_admin_says_what_an_upload_has_done_and_where_the_model_is(hosts, folder_store, admin_client):  # noqa: F811
    from django.urls import reverse

    from library import selectors

    write_checkpoint(hosts.on("a") / "halfway.safetensors", seed=5)
    library_services.scan()
    entry = LibraryEntry.objects.get(name="halfway")
    upload = LibraryUpload.objects.create(entry=entry, host="a", bytes_done=1_200_000_000, bytes_total=2_100_000_000)
    before = selectors.listing_version()
    page = admin_client.get(reverse("admin:library_libraryentry_changelist")).content.decode()
    assert "uploading from a: 1.1\xa0GB of 2.0\xa0GB" in page
    detail = admin_client.get(reverse("admin:library_libraryentry_change", args=[entry.pk])).content.decode()
    assert "Uploading from a: 1.1\xa0GB of 2.0\xa0GB sent." in detail
    LibraryUpload.objects.filter(pk=upload.pk).update(bytes_done=1_500_000_000)
    assert selectors.listing_version() != before  # the open list reloads as the upload moves
    LibraryUpload.objects.filter(pk=upload.pk).update(state="stopped")
    page = admin_client.get(reverse("admin:library_libraryentry_changelist")).content.decode()
    assert "upload from a stopped at 1.4\xa0GB of 2.0\xa0GB" in page
    LibraryUpload.objects.all().delete()
    assert uploads.push_pending() == ["halfway"]
    detail = admin_client.get(reverse("admin:library_libraryentry_change", args=[entry.pk])).content.decode()
    assert "In the store." in detail


def test_a_stopped_s3_upload_aborts_its_multipart_upload(hosts, s3, tmp_path):  # noqa: F811
    """Past the grace, the reader boto3 reads the file through raises: boto3 aborts the multipart
    upload, nothing is left in the bucket, and the store says so rather than half an object."""
    from tests.library.test_store_and_copies import BUCKET

    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * (65 * 1024 * 1024))  # past the 64 MiB multipart threshold
    calls = []

    def progress(done, total):
        calls.append(done)
        if len(calls) == 2:
            raise uploads.UploadStopped("the worker is shutting down")

    with pytest.raises(uploads.UploadStopped):
        model_store.get().put(big, "0" * 64, progress)
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    assert model_store.get().stat("0" * 64) is None
