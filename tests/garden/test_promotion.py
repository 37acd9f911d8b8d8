"""Promotion moves file and row together; a storage failure leaves both as they were."""

import pytest
from django.core.files.storage import FileSystemStorage, default_storage

from garden import services
from garden.models import Image
from tests.factories import ImageFactory

pytestmark = pytest.mark.django_db


def test_promote_moves_key_in_storage_and_database(django_capture_on_commit_callbacks):
    image = ImageFactory(status=Image.Status.POOL, emotion="calm", favorite="spring,sunny,day")
    pool_key, content = image.key, services.read_file(image.key)

    with django_capture_on_commit_callbacks(execute=True):
        promoted = services.promote_image(image=image)

    assert promoted.status == Image.Status.SERVING
    assert promoted.key == pool_key.replace("imgPool/", "emotions/", 1)
    assert promoted.promoted_at is not None
    assert services.read_file(promoted.key) == content
    assert not default_storage.exists(pool_key)
    assert Image.objects.get(pk=image.pk).key == promoted.key


def test_demote_moves_it_back(django_capture_on_commit_callbacks):
    image = ImageFactory(status=Image.Status.SERVING)
    with django_capture_on_commit_callbacks(execute=True):
        demoted = services.demote_image(image=image)
    assert demoted.key.startswith("imgPool/") and demoted.status == Image.Status.POOL
    assert default_storage.exists(demoted.key) and not default_storage.exists(image.key)


def test_failed_storage_copy_leaves_database_unchanged_and_no_orphan(monkeypatch):
    image = ImageFactory(status=Image.Status.POOL)
    serving_key = image.key.replace("imgPool/", "emotions/", 1)
    real_save = FileSystemStorage.save

    def failing_save(self, name, content, **kwargs):
        real_save(self, name, content, **kwargs)  # half-written object, then the backend errors
        raise OSError("disk full")

    monkeypatch.setattr(FileSystemStorage, "save", failing_save)
    with pytest.raises(services.StorageError):
        services.promote_image(image=image)

    image.refresh_from_db()
    assert image.status == Image.Status.POOL and image.key.startswith("imgPool/")
    assert default_storage.exists(image.key)
    assert not default_storage.exists(serving_key)


def test_failed_database_update_removes_the_new_copy(monkeypatch):
    image = ImageFactory(status=Image.Status.POOL)
    serving_key = image.key.replace("imgPool/", "emotions/", 1)

    def failing_save(self, *args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(Image, "save", failing_save)
    with pytest.raises(RuntimeError):
        services.promote_image(image=image)

    assert Image.objects.get(pk=image.pk).key == image.key
    assert default_storage.exists(image.key)
    assert not default_storage.exists(serving_key)


def test_reject_is_soft(django_capture_on_commit_callbacks):
    image = ImageFactory(status=Image.Status.SERVING)
    with django_capture_on_commit_callbacks(execute=True):
        rejected = services.reject_image(image=image)
    assert rejected.status == Image.Status.REJECTED and rejected.key.startswith("imgPool/")
    assert default_storage.exists(rejected.key)


def test_purge_deletes_only_rejected_files(django_capture_on_commit_callbacks):
    keep = ImageFactory(status=Image.Status.POOL)
    gone = services.reject_image(image=ImageFactory(status=Image.Status.POOL))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.purge_rejected(images=[keep, gone]) == 1
    assert Image.objects.filter(pk=keep.pk).exists() and default_storage.exists(keep.key)
    assert not Image.objects.filter(pk=gone.pk).exists() and not default_storage.exists(gone.key)
