"""Run in a child process (``python -c``) against a database and storage of the test's own.

``populate()`` makes a garden with everything a backup must keep; ``snapshot()`` prints every
table's rows (hashed) and every stored object's sha256 as one JSON line, so before and after a
restore can be compared whole.
"""

import hashlib
import json


def populate() -> None:
    from django.contrib.admin.models import ADDITION, LogEntry
    from django.contrib.auth import get_user_model
    from django.contrib.contenttypes.models import ContentType
    from django.core.files.base import ContentFile
    from django.core.files.storage import storages
    from django.utils import timezone

    from curation import services as curation_services
    from displays import services as display_services
    from garden import thumbnails
    from garden.models import Image
    from generation.models import GenerationJob
    from insights.services import refresh_rollups
    from recommend import eventlog
    from recommend import services as recommend_services
    from tests.factories import ImageFactory, VisitorFactory

    users = get_user_model()
    admin = users.objects.create_superuser("admin", email="", password="admin-pw-12345678")
    alice = users.objects.create_user("alice", password="alice-pw-12345678")
    curation_services.make_curator(user=alice)  # the Curators group and its rights
    serving = [ImageFactory(status=Image.Status.SERVING, emotion="happy", favorite="spring,sunny,day", seed=i) for i in range(3)]
    pool = [ImageFactory(status=Image.Status.POOL, emotion="calm", favorite="autumn,rainy,night", seed=10 + i) for i in range(2)]
    for image in serving + pool:
        thumbnails.ensure_thumbnail(image=image)
    job = GenerationJob.objects.create(
        created_by=alice,
        emotion="calm",
        favorite="autumn,rainy,night",
        prompt="a calm garden in the rain",
        width=512,
        height=512,
        steps=20,
        guidance=7.0,
        seed=42,
        count=2,
        backend="procedural",
    )
    job.images.set(pool)
    visitor = VisitorFactory()
    keys = [image.key for image in serving]
    eventlog.write_recommendation(
        visitor_id=str(visitor.id),
        search_key="happy/spring,sunny,day",
        image_ids=[i.pk for i in serving],
        ranker="test",
        created_at=timezone.now(),
    )
    recommend_services.record_impression(visitor_id=str(visitor.id), impression=keys)
    recommend_services.record_like(visitor_id=str(visitor.id), item_key=keys[0], impression=keys)
    display_services.start_live(zone="lobby", emotion="happy", user=admin)
    refresh_rollups()
    LogEntry.objects.create(
        user=admin,
        content_type=ContentType.objects.get_for_model(Image),
        object_id=str(pool[0].pk),
        object_repr=pool[0].key,
        action_flag=ADDITION,
        change_message="made for the backup test",
    )
    storages["retouch"].save(f"jobs/{job.pk}/source.png", ContentFile(b"\x89PNG retouch upload"))


def snapshot() -> None:
    from django.apps import apps
    from django.core.files.storage import storages

    from curation.backup import STORAGE_ALIASES, storage_keys

    tables = {}
    for model in apps.get_models(include_auto_created=True):
        if not model._meta.managed or model._meta.proxy:
            continue
        rows = list(model._default_manager.order_by("pk").values())
        digest = hashlib.sha256(json.dumps(rows, default=str, sort_keys=True).encode()).hexdigest()
        tables[model._meta.label_lower] = [len(rows), digest]
    files = {}
    for alias in STORAGE_ALIASES:
        storage = storages[alias]
        for key in storage_keys(storage):
            with storage.open(key, "rb") as handle:
                files[f"{alias}:{key}"] = hashlib.sha256(handle.read()).hexdigest()
    print("SNAPSHOT " + json.dumps({"tables": tables, "files": files}, sort_keys=True))
