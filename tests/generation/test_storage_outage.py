"""Storage outages (issue 19, item 5): S3 unreachable, or a media folder that cannot be written.

Generation, promotion, import and export fail with a clear error naming the key and the storage's
complaint; no catalogue row ever points at a file that was not written; a failed job can be retried
once storage works; kiosk listings (rows only) keep answering.

How the local outage is made: the tests may run as root, where ``chmod 0555`` does not stop a write,
so the "read-only" media folder is a path *under a regular file* (every write fails with
NotADirectoryError, root or not), or, where reads must keep working, a FileSystemStorage whose
``_save`` raises ``OSError(EROFS)``. The S3 outage is moto's real HTTP server, stopped mid-test.
"""

from __future__ import annotations

import contextlib
import errno
import json
import socket
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from celery.exceptions import Retry
from django.core.files.storage import FileSystemStorage
from django.core.management import CommandError, call_command
from django.db import DatabaseError

from curation import services as curation
from garden.models import Image
from generation import services
from generation.models import GenerationJob
from generation.requests import JobRequest
from generation.worker import runner, toolbox
from tests.factories import ImageFactory

pytestmark = pytest.mark.django_db
BUCKET = "emotion-garden-outage-test"


class ReadOnlyStorage(FileSystemStorage):
    """Reads work, every write fails as on a read-only mount."""

    def _save(self, name, content):
        raise OSError(errno.EROFS, "Read-only file system", name)

    def delete(self, name):
        raise OSError(errno.EROFS, "Read-only file system", name)


def _local(settings, location: str, backend: str = "django.core.files.storage.FileSystemStorage") -> None:
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": backend, "OPTIONS": {"location": location, "base_url": "/media/"}}}


@pytest.fixture
def unwritable_media(settings, tmp_path):
    """The media folder is a path under a regular file: no write can succeed, even as root."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the media folder's parent should be")
    good = settings.STORAGES["default"]["OPTIONS"]["location"]
    _local(settings, str(blocker / "media"))
    return good


def _procedural_job(count: int = 2) -> GenerationJob:
    request = JobRequest(emotion="calm", favorite="spring,cloudy,day", kind="bulk", count=count, width=64, height=64, backend="procedural")
    return services.create_job(request=request, enqueue=False)


def test_a_job_on_unwritable_storage_fails_with_the_storage_message_and_can_be_retried(
    settings, unwritable_media, eager_celery, django_capture_on_commit_callbacks
):
    settings.GARDEN_JOB_MAX_ATTEMPTS = 2
    job = _procedural_job()
    # The task retries transient failures (storage included) until GARDEN_JOB_MAX_ATTEMPTS, then fails:
    # each apply() here is one delivery of its message (the retry's countdown is the worker's).
    for _ in range(settings.GARDEN_JOB_MAX_ATTEMPTS):
        with contextlib.suppress(Retry):
            eager_celery.tasks["generation.tasks.run_generation_job"].apply(args=[str(job.pk)])
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.FAILED, job.error
    assert "StorageError: could not write imgPool/calm/spring,cloudy,day/" in job.error
    assert "Not a directory" in job.error and "GARDEN_JOB_MAX_ATTEMPTS" in job.error
    # No row for a file that was never written, and the job lists no image.
    assert not Image.objects.exists() and job.images.count() == 0 and job.images_done == 0

    _local(settings, unwritable_media)  # storage is back: the curator retries the job
    with django_capture_on_commit_callbacks(execute=True):
        services.retry_job(job=job)
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error
    assert sorted(image.key.rsplit("_", 1)[1] for image in job.images.all()) == ["0h.jpeg", "0v.jpeg", "1h.jpeg", "1v.jpeg"]
    for image in job.images.all():
        assert (Path(unwritable_media) / image.key).is_file()


def test_a_failed_row_after_a_written_file_leaves_no_file(settings, monkeypatch, media_dir):
    """File first, row after: a row that cannot be written takes its file with it."""
    job = _procedural_job(count=1)

    def no_row(**_kwargs):
        raise DatabaseError("simulated: the INSERT failed")

    monkeypatch.setattr(Image.objects, "create", no_row)
    with pytest.raises(toolbox.TransientJobError):
        runner.execute_job(job_id=job.pk)
    assert not Image.objects.exists()
    assert [path for path in media_dir.rglob("*") if path.is_file()] == []


def test_promotion_on_read_only_storage_fails_per_image_and_changes_nothing(settings, media_dir, django_user_model):
    image = ImageFactory(status=Image.Status.POOL, emotion="happy", favorite="summer,sunny,day")
    _local(settings, str(media_dir), backend=f"{__name__}.ReadOnlyStorage")
    result = curation.promote(images=[image], user=django_user_model.objects.create_user("curator-ro", is_staff=True))
    assert result.changed == [] and "could not write emotions/happy/summer,sunny,day/" in result.failed[image.pk]
    assert "Read-only file system" in result.failed[image.pk]
    image.refresh_from_db()
    assert image.status == Image.Status.POOL and (media_dir / image.key).is_file()
    assert not (media_dir / "emotions").exists()


def test_import_into_unwritable_storage_is_a_clear_command_error(settings, tmp_path, unwritable_media):
    tree = tmp_path / "bucket"
    picture = tree / "imgPool" / "calm" / "img_20240101-120000_0h.jpeg"
    picture.parent.mkdir(parents=True)
    from PIL import Image as PILImage

    PILImage.new("RGB", (16, 10), "green").save(picture, "JPEG")
    with pytest.raises(CommandError, match=r"could not write imgPool/calm/img_20240101-120000_0h\.jpeg.*no row was recorded"):
        call_command("import_garden", str(tree), verbosity=0)
    assert not Image.objects.exists()


def test_kiosk_listings_do_not_touch_storage(settings, client, unwritable_media):
    broken = settings.STORAGES["default"]["OPTIONS"]["location"]
    _local(settings, unwritable_media)
    image = ImageFactory(emotion="sad", favorite="winter,snowy,the-middle-of-the-night")
    _local(settings, broken)  # reads and writes now fail
    response = client.post("/gardenfromDB", json.dumps({"emotion": "sad/winter,snowy,the-middle-of-the-night"}), content_type="text/plain")
    assert response.status_code == 200
    assert [item["url"].endswith(image.key) for item in response.json()["landscape"]] == [True]


# --- S3: moto's server, stopped -------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def s3(settings, monkeypatch):
    """A bucket on moto's HTTP server; ``s3.stop()`` makes S3 unreachable (connection refused)."""
    moto_server = pytest.importorskip("moto.server")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{server._port}"
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": endpoint,
                "access_key": "testing",
                "secret_key": "testing",
                "region_name": "us-east-1",
                "querystring_auth": False,
                "file_overwrite": False,
                # Fail fast when S3 is down: one try, a short connect timeout.
                "client_config": Config(retries={"max_attempts": 1}, connect_timeout=2),
            },
        },
    }
    running = [True]

    class Handle:
        def stop(self):
            if running[0]:
                server.stop()
                running[0] = False

    handle = Handle()
    yield handle
    handle.stop()


@pytest.mark.slow
def test_s3_down_generation_promotion_export_fail_clearly_and_kiosk_still_answers(s3, settings, client, tmp_path, django_user_model):
    serving = ImageFactory(emotion="happy", favorite="summer,sunny,day")
    pool = ImageFactory(status=Image.Status.POOL, emotion="happy", favorite="summer,sunny,day")
    s3.stop()

    job = _procedural_job(count=1)
    with pytest.raises(toolbox.TransientJobError, match=r"StorageError: could not write imgPool/calm/spring,cloudy,day/\S+_0h\.jpeg"):
        runner.execute_job(job_id=job.pk)
    assert set(Image.objects.values_list("pk", flat=True)) == {serving.pk, pool.pk}  # no row for the unwritten file

    result = curation.promote(images=[pool], user=django_user_model.objects.create_user("curator-s3", is_staff=True))
    assert result.changed == [] and pool.pk in result.failed and "127.0.0.1" in result.failed[pool.pk]
    pool.refresh_from_db()
    assert (pool.status, pool.key.startswith("imgPool/")) == (Image.Status.POOL, True)

    with pytest.raises(CommandError, match=r"could not read (emotions|imgPool)/happy/summer,sunny,day/\S+ from storage"):
        call_command("export_garden", str(tmp_path / "backup"), verbosity=0)

    response = client.post("/gardenfromDB", json.dumps({"emotion": "happy/summer,sunny,day"}), content_type="text/plain")
    assert response.status_code == 200
    assert [item["url"].endswith(serving.key) for item in response.json()["landscape"]] == [True]
