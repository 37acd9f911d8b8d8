"""Issue 87 item 2: an upload whose host was killed does not say "uploading" forever.

A process killed mid-upload (SIGKILL: no handler runs) leaves its LibraryUpload row *uploading*.
Any host's look marks it *stalled* once its host has no worker present (the workers' presence rows,
read through library.hosts.present_hosts, which the curation app wires to generation's reader) or
its progress stopped past GARDEN_LIBRARY_UPLOAD_STALL_SECONDS; after the row's back-off a host
holding the file (another one, or the same one back) uploads it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from generation.dispatch.beacon import record_presence
from library import hosts as library_hosts
from library import store as model_store
from library.models import LibraryEntry, LibraryUpload
from library.services import entries as library_services
from library.services import uploads
from tests.library.test_library_follow import write_checkpoint
from tests.library.test_store_and_copies import hosts  # noqa: F401 (fixture)
from tests.library.test_uploads import folder_store  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


class Killed(BaseException):
    """What SIGKILL does to an upload, in one process: it stops and no handler of ours runs."""


def _killed_mid_upload(hosts, monkeypatch, name: str) -> LibraryEntry:  # noqa: F811
    """``name`` on hosts a and b (the same bytes); host a's upload of it killed after its first report."""
    for host in ("b", "a"):
        write_checkpoint(hosts.on(host) / f"{name}.safetensors", seed=7)
        library_services.scan()

    def dies(self, path, sha256, progress=None):
        progress(path.stat().st_size // 3, path.stat().st_size)
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(model_store.FolderStore, "put", dies)
        with pytest.raises(Killed):
            uploads.push_pending()
    row = LibraryUpload.objects.get()
    assert (row.host, row.state) == ("a", "uploading") and 0 < row.bytes_done < row.bytes_total
    return LibraryEntry.objects.get(name=name)


def _present(host: str) -> None:
    """A worker of ``host`` writes its presence row (as its beacon does)."""
    record_presence(name=f"gpu@{host}", queues=["gpu", f"gpu.{host}"])


def _age(seconds: float) -> None:
    LibraryUpload.objects.update(updated_at=timezone.now() - timedelta(seconds=seconds))


def test_presence_is_read_through_the_library_hook(hosts, folder_store):  # noqa: F811
    hosts.on("b")
    _present("b")
    assert library_hosts.present_hosts() == {"b"}  # curation.apps registered generation's reader


def test_a_killed_hosts_upload_is_stalled_and_another_host_takes_it_over_after_a_back_off(hosts, folder_store, monkeypatch, caplog):  # noqa: F811
    entry = _killed_mid_upload(hosts, monkeypatch, "orphan")
    hosts.on("b")
    _present("b")
    assert uploads.push_pending() == []  # a's row moved seconds ago: b leaves a's upload alone
    assert LibraryUpload.objects.get().state == "uploading"

    _age(60)  # host a has no worker present and its row has not moved for 60 s
    with caplog.at_level(logging.INFO, logger="library.services.uploads"):
        assert uploads.push_pending() == []  # marked, then its back-off
        row = LibraryUpload.objects.get()
        assert row.state == "stalled" and row.attempts == 1 and row.bytes_done > 0
        assert row.error.startswith("host a has no worker present: no progress since")
        assert timedelta(seconds=25) < row.next_try_at - timezone.now() <= timedelta(seconds=30)
        assert "upload of orphan from host a stalled" in caplog.text
        assert folder_store.stat(entry.sha256) is None

        LibraryUpload.objects.update(next_try_at=timezone.now() - timedelta(seconds=1))
        assert uploads.push_pending() == ["orphan"]
    assert "host b takes over the upload of orphan from host a" in caplog.text
    assert folder_store.stat(entry.sha256) is not None and not LibraryUpload.objects.exists()
    assert LibraryEntry.objects.get(pk=entry.pk).stored_at is not None


def test_a_silent_upload_is_stalled_past_the_horizon_and_its_host_takes_it_back(hosts, folder_store, monkeypatch, settings):  # noqa: F811
    settings.GARDEN_LIBRARY_UPLOAD_STALL_SECONDS = 600
    entry = _killed_mid_upload(hosts, monkeypatch, "quiet")
    _present("a")  # host a is back (or never left: a hung upload)
    _age(120)
    assert uploads.mark_stalled() == []  # present, and within the horizon: it may still move
    _age(700)
    assert uploads.mark_stalled() == ["quiet from a"]
    row = LibraryUpload.objects.get()
    assert row.state == "stalled" and row.error.startswith("its progress stopped: no progress since")
    assert uploads.push_pending() == []  # the same host waits its back-off too
    LibraryUpload.objects.update(next_try_at=timezone.now() - timedelta(seconds=1))
    assert uploads.push_pending() == ["quiet"]
    assert folder_store.stat(entry.sha256) is not None and not LibraryUpload.objects.exists()


def test_a_stalled_upload_that_moves_again_is_uploading_again(hosts, folder_store, monkeypatch):  # noqa: F811
    """A slow link, not a dead host: the upload's next report takes its row back."""
    monkeypatch.setattr(uploads, "REPORT_SECONDS", 0.0)
    write_checkpoint(hosts.on("a") / "slow.safetensors", seed=8)
    library_services.scan()
    states: list[str] = []
    real = model_store.FolderStore.put

    def slow(self, path, sha256, progress=None):
        progress(1, path.stat().st_size)
        _age(700)
        uploads.mark_stalled()
        states.append(LibraryUpload.objects.get().state)
        progress(2, path.stat().st_size)
        states.append(LibraryUpload.objects.get().state)
        return real(self, path, sha256, progress)

    monkeypatch.setattr(model_store.FolderStore, "put", slow)
    assert uploads.push_pending() == ["slow"]
    assert states == ["stalled", "uploading"] and not LibraryUpload.objects.exists()


def test_the_library_admin_says_an_upload_stalled_and_when_it_is_taken_over(hosts, folder_store, admin_client):  # noqa: F811
    from django.urls import reverse

    write_checkpoint(hosts.on("a") / "stuck.safetensors", seed=9)
    library_services.scan()
    entry = LibraryEntry.objects.get(name="stuck")
    retry = timezone.now() + timedelta(seconds=30)
    LibraryUpload.objects.create(
        entry=entry, host="a", state="stalled", bytes_done=1_200_000_000, bytes_total=2_100_000_000,
        error="host a has no worker present: no progress since 2026-11-28T15:00:00+00:00", next_try_at=retry,
    )  # fmt: skip
    when = timezone.localtime(retry).strftime("%H:%M:%S")
    page = admin_client.get(reverse("admin:library_libraryentry_changelist")).content.decode()
    assert f"upload from a stalled at 1.1\xa0GB of 2.0\xa0GB; taken over from {when}" in page
    detail = admin_client.get(reverse("admin:library_libraryentry_change", args=[entry.pk])).content.decode()
    assert "The upload from a stalled at 1.1\xa0GB of 2.0\xa0GB (host a has no worker present" in detail
    assert f"a host holding it uploads it from {when}." in detail
