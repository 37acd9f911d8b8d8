"""Counters under concurrency (PostgreSQL): none lost, and a rebuild racing live events agrees."""

import json
import threading
import uuid

import pytest
from django.db import connection, connections
from django.test import Client

from recommend import training
from recommend.models import ImageStat
from tests.factories import ImageFactory, VisitorFactory

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_concurrent_events_and_rebuild_lose_no_counts():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    images = [ImageFactory() for _ in range(3)]
    keys = [image.key for image in images]
    visitors = [str(VisitorFactory(age_group="adult", gender="Male").id) for _ in range(4)]
    threads, per_thread, statuses = 6, 10, []
    barrier = threading.Barrier(threads + 1)

    def kiosk(n):
        client = Client()
        barrier.wait()
        try:
            for i in range(per_thread):
                body = {"id": visitors[n % 4], "itemId": keys[(n + i) % 3], "impression": keys}
                response = client.post("/like", data=json.dumps(body), content_type="application/json")
                statuses.append(response.status_code)
                body = {"id": str(uuid.uuid4()), "impression": keys}
                statuses.append(client.post("/impression", data=json.dumps(body), content_type="application/json").status_code)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=kiosk, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    training.rebuild()  # races the kiosks: the counter lock keeps the totals exact
    for worker in workers:
        worker.join()

    assert statuses == [200] * (threads * per_thread * 2)
    totals = {
        image_id: (n, likes) for image_id, n, likes in ImageStat.objects.filter(segment="*").values_list("image_id", "impressions", "likes")
    }
    assert sum(n for n, _ in totals.values()) == threads * per_thread * 2 * 3
    assert sum(likes for _, likes in totals.values()) == threads * per_thread
    assert sum(ImageStat.objects.filter(segment="adult|male").values_list("likes", flat=True)) == threads * per_thread
    live = sorted(ImageStat.objects.values_list("segment", "image_id", "impressions", "likes"))
    training.rebuild()
    assert sorted(ImageStat.objects.values_list("segment", "image_id", "impressions", "likes")) == live
