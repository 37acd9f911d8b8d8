"""curation.services: bulk decisions, undo, promotion, purge, and their admin-log entries; thumbnails (garden.thumbnails)."""

import io

import pytest
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.core.files.storage import default_storage
from PIL import Image as PILImage

from curation import services
from garden import thumbnails
from garden.models import Image
from tests.factories import ImageFactory

pytestmark = pytest.mark.django_db


def states(images):
    return {i.pk: (i.status, i.kept) for i in Image.objects.filter(pk__in=[x.pk for x in images])}


def test_keep_reject_undo_roundtrip_is_soft_and_logged(curator, pool_images):
    a, b, c, d = pool_images
    services.decide(images=[a, b], decision="keep", user=curator)
    services.decide(images=Image.objects.filter(pk__in=[c.pk, d.pk]), decision="reject", user=curator)
    assert states(pool_images) == {a.pk: ("pool", True), b.pk: ("pool", True), c.pk: ("rejected", False), d.pk: ("rejected", False)}
    assert all(default_storage.exists(i.key) for i in pool_images)  # reject deletes nothing

    services.decide(images=[b, c], decision="pending", user=curator)  # undo
    assert states([b, c]) == {b.pk: ("pool", False), c.pk: ("pool", False)}
    assert Image.objects.get(pk=c.pk).rejected_at is None

    entries = LogEntry.objects.filter(user=curator, action_flag=CHANGE)
    assert entries.count() == 6
    assert {e.change_message for e in entries} == {"Kept (curation)", "Rejected (curation)", "Undo: back to undecided"}


def test_keep_un_rejects(curator, pool_images):
    image = pool_images[0]
    services.decide(images=[image], decision="reject", user=curator)
    services.decide(images=[image], decision="keep", user=curator)
    image.refresh_from_db()
    assert (image.status, image.kept, image.rejected_at) == ("pool", True, None)


def test_rejecting_a_serving_image_demotes_it_first(curator):
    image = ImageFactory(status=Image.Status.SERVING)
    services.decide(images=[image], decision="reject", user=curator)
    image.refresh_from_db()
    assert image.status == "rejected" and image.key.startswith("imgPool/")
    assert default_storage.exists(image.key)


def test_promote_kept_moves_keys_and_skips_others(curator, pool_images):
    a, b, c, _d = pool_images
    services.decide(images=[a, b], decision="keep", user=curator)
    services.decide(images=[c], decision="reject", user=curator)
    result = services.promote_kept(user=curator)
    assert sorted(result.changed) == sorted([a.pk, b.pk])
    for image in (a, b):
        image.refresh_from_db()
        assert image.status == "serving" and image.key.startswith("emotions/calm/img_")
        assert default_storage.exists(image.key)
    assert services.promote(images=[Image.objects.get(pk=c.pk)], user=curator).changed == []  # rejected: skipped

    services.demote(images=Image.objects.filter(pk=a.pk), user=curator)
    a.refresh_from_db()
    assert a.status == "pool" and a.key.startswith("imgPool/") and a.kept


def test_purge_only_touches_rejected_and_logs_deletions(curator, pool_images, django_capture_on_commit_callbacks):
    a, b, *_ = pool_images
    thumbnails.ensure_thumbnail(image=a)
    a.refresh_from_db()
    services.decide(images=[a], decision="reject", user=curator)
    with django_capture_on_commit_callbacks(execute=True):  # files go after the commit
        purged = services.purge(images=Image.objects.filter(pk__in=[a.pk, b.pk]), user=curator)
    assert purged == 1
    assert not Image.objects.filter(pk=a.pk).exists() and Image.objects.filter(pk=b.pk).exists()
    assert not default_storage.exists(a.key) and not default_storage.exists(a.thumbnail_key)
    assert LogEntry.objects.get(action_flag=DELETION).object_repr == a.key


def test_thumbnail_is_small_webp_made_once(curator):
    from tests.factories import jpeg_bytes

    image = ImageFactory(status=Image.Status.POOL)
    # A real 1280x800 original, as generation writes them.
    from garden.services import write_file

    write_file(key=image.key, content=jpeg_bytes(1280, 800))
    key = thumbnails.ensure_thumbnail(image=image)
    assert key.startswith("thumbs/") and key.endswith(".webp")
    with default_storage.open(key) as handle:
        content = handle.read()
    with PILImage.open(io.BytesIO(content)) as thumb:
        assert thumb.format == "WEBP" and thumb.size == (320, 200)
    assert len(content) < 20_000
    assert Image.objects.get(pk=image.pk).thumbnail_key == key
    # Promotion moves the original but not the thumbnail.
    services.promote(images=[Image.objects.get(pk=image.pk)], user=curator)
    assert Image.objects.get(pk=image.pk).thumbnail_key == key
    assert thumbnails.generate_missing_thumbnails() == (0, 0)


def test_generate_missing_thumbnails_survives_a_missing_file():
    ok = ImageFactory(status=Image.Status.POOL)
    broken = ImageFactory(status=Image.Status.POOL)
    default_storage.delete(broken.key)
    assert thumbnails.generate_missing_thumbnails() == (1, 1)
    assert Image.objects.get(pk=ok.pk).thumbnail_key


def test_curators_group_has_exactly_its_rights():
    group, missing = services.ensure_curators_group()
    names = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
    assert names == set(services.CURATOR_PERMISSIONS)
    assert missing == []
    assert "garden.delete_image" not in names and "garden.view_visitor" not in names
