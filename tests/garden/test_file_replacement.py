"""Replacing a stored file cannot lose it (garden.services.write_file, rewrite_image): the new
bytes replace the old in one step, so a failure half way leaves the old picture served, and a
rewrite whose row does not commit puts the old bytes back. S3: tests/garden/test_s3_storage.py."""

from __future__ import annotations

import os

import pytest
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper

from garden import services
from garden.models import Image
from tests.factories import ImageFactory, jpeg_bytes

pytestmark = pytest.mark.django_db


def test_a_rewrite_replaces_the_file_and_its_row_keeping_the_key(client, media_dir):
    image = ImageFactory(status=Image.Status.SERVING, emotion="calm")
    new = jpeg_bytes(color=(9, 9, 9))
    services.rewrite_image(image=image, content=new)
    row = Image.objects.get(pk=image.pk)
    assert (row.key, row.content_hash, row.byte_size) == (image.key, services.sha256(new), len(new))
    assert services.read_file(image.key) == new
    assert [path.name for path in media_dir.rglob("*") if path.name.startswith(".replacing-")] == []


def test_a_storage_failure_half_way_leaves_the_old_picture_served(client, media_dir, monkeypatch):
    image = ImageFactory(status=Image.Status.SERVING, emotion="calm")
    old = services.read_file(image.key)

    def broken_rename(source, target):  # the new bytes are written, the swap fails (a full disk, EIO)
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", broken_rename)
    with pytest.raises(services.StorageError):
        services.rewrite_image(image=image, content=jpeg_bytes(color=(9, 9, 9)))
    monkeypatch.undo()
    assert services.read_file(image.key) == old
    assert Image.objects.get(pk=image.pk).content_hash == image.content_hash
    assert [path.name for path in media_dir.rglob("*") if path.name.startswith(".replacing-")] == []
    served = client.get("/media/" + image.key)  # the local store is served by the app
    assert served.status_code == 200 and b"".join(served.streaming_content) == old


@pytest.mark.django_db(transaction=True)
def test_a_rewrite_whose_commit_fails_puts_the_old_bytes_back(monkeypatch):
    image = ImageFactory(status=Image.Status.POOL, emotion="calm")
    old = services.read_file(image.key)

    def lost(self):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(BaseDatabaseWrapper, "commit", lost)
    with pytest.raises(OperationalError):
        services.rewrite_image(image=image, content=jpeg_bytes(color=(9, 9, 9)))
    monkeypatch.undo()
    assert services.read_file(image.key) == old
    assert Image.objects.get(pk=image.pk).content_hash == image.content_hash


def test_write_file_never_deletes_before_it_writes(monkeypatch):
    image = ImageFactory(status=Image.Status.POOL, emotion="calm")
    deleted = []
    monkeypatch.setattr(type(services.default_storage._wrapped), "delete", lambda self, name: deleted.append(name))
    services.write_file(key=image.key, content=b"second")
    assert deleted == [] and services.read_file(image.key) == b"second"
