"""Live requests racing on PostgreSQL (DATABASE_URL): the limits hold under concurrent kiosks."""

import threading

import pytest
from django.db import connection, connections

from generation.models import GenerationJob
from live import services

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("live_settings", "live_worker")]


def race(count: int, visitor_of) -> list:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    barrier, results = threading.Barrier(count), []

    def ask(n):
        try:
            barrier.wait()
            results.append(services.request_live_picture(visitor_id=visitor_of(n), search_key="calm"))
        except services.LiveUnavailable as exc:
            results.append(exc.reason)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_one_visitor_asking_at_once_from_many_kiosks_keeps_one_job_in_flight(no_enqueue):
    results = race(6, lambda n: "same-visitor")
    assert len(results) == 6
    assert GenerationJob.objects.filter(status="queued", live_request__visitor_id="same-visitor").count() == 1
    assert GenerationJob.objects.filter(status="cancelled").count() == 5


def test_the_queue_limit_holds_under_concurrent_visitors(settings, no_enqueue):
    settings.GARDEN_LIVE_MAX_QUEUED = 3
    results = race(8, lambda n: f"visitor-{n}")
    assert sorted(r for r in results if isinstance(r, str)) == ["queue_full"] * 5
    assert GenerationJob.objects.filter(status="queued", live_request__isnull=False).count() == 3
