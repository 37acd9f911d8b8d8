"""Background jobs (the gardener's) wait behind staff and kiosk jobs on a Redis broker: a real
worker, started after both were queued, runs the staff job first although it was queued last
(generation.dispatch.enqueue.BACKGROUND_PRIORITY, kombu's priority lists)."""

import json
from datetime import datetime

import pytest

from generation.dispatch import enqueue
from testkit.local_services import reachable, redis_url
from tests.generation.test_worker import Garden

# Its installation brings its own settings (SQLite, the default Redis or a filesystem broker): the
# same whatever the run's, so CI runs it once, in the pass on the embedded defaults.
pytestmark = [pytest.mark.slow, pytest.mark.backend_free]

QUEUE_JOBS = """
import json
from generation import services
from generation.requests import JobRequest
request = JobRequest(emotion="calm", count=1, width=64, height=64, steps=2)
background = [str(services.create_job(request=request, background=True).pk) for _ in range(2)]
staff = str(services.create_job(request=request).pk)
print(json.dumps({"background": background, "staff": staff}))
"""


def test_a_staff_job_queued_after_background_jobs_runs_first(tmp_path, tiny_model_dir):
    url = redis_url()
    if not reachable(url):
        pytest.skip(f"Redis is not reachable at {url} (set CELERY_BROKER_URL=redis://host:6379/0; CI provides it)")
    garden = Garden(tmp_path, url, tiny_model_dir)
    garden.manage("migrate", "--no-input", "-v", "0")
    jobs = json.loads(garden.manage("shell", "-c", QUEUE_JOBS).stdout.strip().splitlines()[-1])
    try:
        garden.start_worker()  # both messages wait in Redis before the worker's first fetch
        every = [*jobs["background"], jobs["staff"]]
        done = {job_id: garden.wait_for(job_id, lambda job: job["status"] == "succeeded") for job_id in every}
    finally:
        garden.stop_worker()
    started = {job_id: datetime.fromisoformat(str(job["started_at"])) for job_id, job in done.items()}
    assert started[jobs["staff"]] < min(started[job_id] for job_id in jobs["background"]), garden.worker_log()
    assert [bool(done[job_id]["background"]) for job_id in jobs["background"]] == [True, True]
    assert not done[jobs["staff"]]["background"]


def test_background_priority_is_for_redis_only(settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    assert enqueue._priority(True) == {"priority": enqueue.BACKGROUND_PRIORITY} and enqueue._priority(False) == {}
    settings.CELERY_BROKER_URL = "filesystem://"
    assert enqueue._priority(True) == {}
