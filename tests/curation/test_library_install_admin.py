"""The admin's "Install a model" (curation/admin/library_install.py): reached from Library entries,
superusers only; the form queues generation.tasks.install_model (run inline here), whose reports
the page shows: an install from a loopback file server ends as a library entry, a 404 as a failure
with its reason and nothing installed."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from library.models import LibraryEntry
from library.services import install as installer
from tests.library.install_servers import FileServer
from tests.library.test_install_model import lora_bytes

pytestmark = pytest.mark.django_db
LIST = reverse("admin:library_libraryentry_changelist")
INSTALL = reverse("admin:library_libraryentry_install")


@pytest.fixture
def library(settings, tmp_path):
    root = tmp_path / "models"
    root.mkdir()
    settings.GARDEN_MODELS_DIR = str(root)
    settings.GARDEN_MODELS_ALLOW_PRIVATE_URLS = True
    return root


@pytest.fixture
def files():
    server = FileServer()
    yield server
    server.stop()


def test_superusers_reach_it_from_the_list_and_see_the_starters(admin_client, library):
    assert INSTALL in admin_client.get(LIST).content.decode()
    page = admin_client.get(INSTALL).content.decode()
    assert 'id="install-form"' in page and "sd-turbo" in page and "realesrgan-x4plus" in page


def test_other_staff_may_not_install(client, django_user_model, library):
    curator = django_user_model.objects.create_user("curator", password="x", is_staff=True)
    curator.user_permissions.add(*Permission.objects.filter(codename__in=["view_libraryentry", "change_libraryentry"]))
    client.force_login(curator)
    assert INSTALL not in client.get(LIST).content.decode()
    assert client.get(INSTALL).status_code == 403
    assert client.post(INSTALL, {"source": "owner/name"}).status_code == 403


def test_an_install_runs_on_a_worker_and_its_outcome_shows(admin_client, library, files, eager_celery):
    url = files.add("/m/ink-wash.safetensors", body=lora_bytes())
    answer = admin_client.post(INSTALL, {"source": url, "kind": "", "variant": ""})
    assert answer.status_code == 302 and "?install=" in answer["Location"]
    page = admin_client.get(answer["Location"]).content.decode()
    assert "install-done" in page and "installed lora loras/ink-wash.safetensors" in page
    assert '<meta http-equiv="refresh"' not in page  # nothing running: no reloading
    assert LibraryEntry.objects.get(kind="lora", name="ink-wash").present


def test_a_failed_install_shows_why_and_installs_nothing(admin_client, library, files, eager_celery):
    answer = admin_client.post(INSTALL, {"source": files.base + "/m/missing.safetensors"})
    page = admin_client.get(answer["Location"]).content.decode()
    assert "install-failed" in page and "HTTP 404" in page
    assert not LibraryEntry.objects.exists() and not (library / "loras").exists()


def test_a_queued_install_waits_for_a_worker(admin_client, library, monkeypatch):
    sent = []
    monkeypatch.setattr(installer, "request_install", lambda source, **options: sent.append((source, options)) or "0" * 32)
    answer = admin_client.post(INSTALL, {"source": "stabilityai/sd-turbo", "variant": "fp16"})
    assert sent == [("stabilityai/sd-turbo", {"kind": "", "name": "", "revision": "", "variant": "fp16", "sha256": "", "force": False})]
    page = admin_client.get(answer["Location"]).content.decode()
    assert "install-queued" in page and "waiting for a worker" in page and '<meta http-equiv="refresh" content="2">' in page
    assert "<td>stabilityai/sd-turbo</td>" in page  # the source shows while queued


def test_an_install_whose_worker_went_away_shows_as_stalled(admin_client, library):
    import json

    (library / ".incoming").mkdir()
    status = {"source": "owner/big", "state": "running", "done": 10, "total": 100, "updated_at": "2020-01-01T00:00:00+00:00"}
    (library / ".incoming" / f"install-{'a' * 32}.json").write_text(json.dumps(status))
    page = admin_client.get(INSTALL).content.decode()
    assert "install-stalled" in page and "install it again to resume" in page and "http-equiv" not in page


def test_times_are_local_and_sizes_binary(admin_client, library, settings):
    import json

    settings.TIME_ZONE = "Europe/Berlin"
    (library / ".incoming").mkdir()
    status = {"source": "owner/big", "state": "done", "done": 3 * 2**30, "total": 3 * 2**30, "started_at": "2026-07-01T10:00:00+00:00"}
    (library / ".incoming" / f"install-{'b' * 32}.json").write_text(json.dumps(status))
    page = admin_client.get(INSTALL).content.decode()
    assert "3.0 GiB / 3.0 GiB (100 %)" in page and "2026-07-01 12:00:00 CEST" in page and "10:00:00" not in page


def test_an_installed_name_is_refused_before_a_worker_is_asked(admin_client, library, monkeypatch):
    sent = []
    monkeypatch.setattr(installer, "request_install", lambda source, **options: sent.append(source) or "0" * 32)
    (library / "loras").mkdir()
    (library / "loras" / "ink.safetensors").write_bytes(lora_bytes())
    page = admin_client.post(INSTALL, {"source": "https://example.org/files/ink.safetensors", "kind": "lora"}).content.decode()
    assert "loras/ink.safetensors is already installed; nothing downloaded" in page and sent == []
    admin_client.post(INSTALL, {"source": "https://example.org/files/ink.safetensors", "kind": "lora", "force": "on"})
    assert sent == ["https://example.org/files/ink.safetensors"]


def test_the_page_speaks_of_its_controls_and_keeps_one_copy_of_a_file(admin_client, library, files, eager_celery, tmp_path):
    """Issue 79, item 6: refusals name the form's controls (never --force or --name), a download the
    library has under another name is refused by the worker and said so, and nothing is kept twice."""
    body = lora_bytes()
    admin_client.post(INSTALL, {"source": files.add("/m/ink-wash.safetensors", body=body)})
    page = admin_client.post(INSTALL, {"source": files.add("/n/ink-wash.safetensors", body=body)}).content.decode()
    assert "nothing downloaded (“Replace an installed model of the same name” replaces it, “Name” installs it beside)." in page
    assert "--force" not in page and "--name" not in page

    copy = files.add("/o/copy.safetensors", body=body)  # no sha256 typed: the worker knows it once downloaded
    page = admin_client.get(admin_client.post(INSTALL, {"source": copy})["Location"]).content.decode()
    assert "install-failed" in page and f"{copy}: not installed, the library has this file already as ink-wash (lora," in page

    folder = tmp_path / "usb" / "garden-folder"
    folder.mkdir(parents=True)
    (folder / "model_index.json").write_text('{"_class_name": "StableDiffusionPipeline"}')
    page = admin_client.get(admin_client.post(INSTALL, {"source": str(folder), "sha256": "0" * 64})["Location"]).content.decode()
    assert "“sha256” checks one file; this source is a folder." in page and "--sha256" not in page
    assert list(LibraryEntry.objects.values_list("name", flat=True)) == ["ink-wash"]
    assert sorted(path.name for path in (library / "loras").iterdir()) == ["ink-wash.safetensors", "ink-wash.safetensors.source.json"]


def test_the_page_says_how_an_installed_file_uploads_to_the_store(admin_client, library, settings, tmp_path):
    """With a model store, an install's outcome says what its upload has sent, reloading until the
    store holds it (issue 96: the page said nothing while the file uploaded)."""
    from django.utils import timezone

    from library.models import LibraryUpload
    from tests.curation.test_operator_pages_words import report

    settings.GARDEN_MODELS_STORE = f"file://{tmp_path / 'store'}"
    (library / ".incoming").mkdir()
    report(
        library, "d" * 32, state="done", message="installed lora loras/ink-wash.safetensors", entry="ink-wash", done=4 << 20, total=4 << 20
    )
    entry = LibraryEntry.objects.create(kind="lora", name="ink-wash", path="loras/ink-wash.safetensors")
    LibraryUpload.objects.create(entry=entry, host="b", bytes_done=1 << 20, bytes_total=4 << 20)
    page = admin_client.get(INSTALL).content.decode()
    assert "Uploading from b: 1.0\xa0MB of 4.0\xa0MB sent." in page and '<meta http-equiv="refresh"' in page
    LibraryEntry.objects.filter(pk=entry.pk).update(stored_at=timezone.now())
    page = admin_client.get(INSTALL).content.decode()
    assert "In the store." in page and '<meta http-equiv="refresh"' not in page
    settings.GARDEN_MODELS_STORE = ""  # one folder shared by every host: no store to upload to, nothing said
    assert 'class="install-store"' not in admin_client.get(INSTALL).content.decode()


def test_a_renamed_hosts_old_name_leaves_on_hosts_with_the_action(admin_client, library, settings):
    """A host renamed (GARDEN_HOST_NAME) stops looking under its old name, shown in brackets; the
    list's action forgets it, and only it (issue 96)."""
    from datetime import timedelta

    from django.utils import timezone

    from library.models import LibraryCopy

    settings.GARDEN_LIBRARY_SCAN_SECONDS = 5
    entry = LibraryEntry.objects.create(kind="lora", name="ink-wash", path="loras/ink-wash.safetensors")
    LibraryCopy.objects.create(entry=entry, host="b-gpu0", path=entry.path)
    LibraryCopy.objects.create(entry=entry, host="old-b", path=entry.path, seen_at=timezone.now() - timedelta(days=2))
    assert "b-gpu0, (old-b)" in admin_client.get(LIST).content.decode()
    answer = admin_client.post(LIST, {"action": "forget_stale_hosts", "_selected_action": [entry.pk]}, follow=True)
    assert "Forgot the copies of old-b" in answer.content.decode()
    assert sorted(LibraryCopy.objects.values_list("host", flat=True)) == ["b-gpu0"]
    assert "(old-b)" not in admin_client.get(LIST).content.decode()
    answer = admin_client.post(LIST, {"action": "forget_stale_hosts", "_selected_action": [entry.pk]}, follow=True)
    assert "nothing to forget" in answer.content.decode()
