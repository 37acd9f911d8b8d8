"""How ``txt2img`` and ``img2img`` wait for their job: as A1111 does, until it is done.

A1111 has no server-side limit: its clients wait as long as they keep the connection. So the wait
lasts while the job is queued or painting, ended by the job's own limits (the job system's time
limit, attempts and hung-job sweep fail it) or by the client's ``interrupt`` (SillyTavern sends one
when its user gives up: the job is cancelled, and this answers 200 with what was painted, as A1111 does). Only two things end it early: no
worker present at all for a queued job (503 with Retry-After: nothing would ever paint it), and
GARDEN_A1111_WAIT_SECONDS when set to 0 or more (504 with the job to poll). The wait holds its
thread, but the web server runs another in its place (config.web_threads), so waiting clients take
no thread from other requests; at most GARDEN_A1111_MAX_WAITING wait per process (views.waiting).

The wait is generation.waits' (the one wait for a job): it reads the job, then sleeps until the job's
next announcement (generation.changes: every job's end is announced, whatever the job) and reads it
again. An announcement lost (Redis away, a listener reconnecting) costs at most REREAD_SECONDS: the
wait reads the row at least that often whatever it hears.
"""

from __future__ import annotations

import time

from django.conf import settings
from rest_framework import status
from rest_framework.response import Response

from generation import waits
from generation.dispatch import presence
from generation.models import GenerationJob

REREAD_SECONDS = 2.0  # the longest a lost announcement can delay an answer
PRESENCE_EVERY = 10.0  # seconds between checks that some worker is there


def _no_worker() -> bool:
    return not presence.present_workers()


def wait(job: GenerationJob) -> GenerationJob:
    """The job once it finishes, the cap (GARDEN_A1111_WAIT_SECONDS ≥ 0) passes, or no worker is
    present while it is queued; read at each of its announcements (and every REREAD_SECONDS), by
    the one wait for a job (generation.waits)."""
    cap = settings.GARDEN_A1111_WAIT_SECONDS
    if cap == 0:  # no wait at all: the job as it was created (504 with the job to poll)
        return job
    checked = [time.monotonic()]

    def no_worker_for(job: GenerationJob) -> bool:  # looked at every PRESENCE_EVERY seconds, not at each read
        now = time.monotonic()
        if now - checked[0] < PRESENCE_EVERY:
            return False
        checked[0] = now
        return job.status == GenerationJob.Status.QUEUED and _no_worker()

    waited = waits.wait_for_job(job.pk, seconds=cap if cap > 0 else None, reread=REREAD_SECONDS, give_up=no_worker_for)
    return waited if waited is not None else job


def outcome(request, job: GenerationJob) -> Response | None:
    """None for a succeeded job, and for one interrupted (A1111 answers 200 with what was painted
    so far); else the answer: 503 failed or no worker, 504 past the cap."""
    if job.status == GenerationJob.Status.SUCCEEDED or job.status == GenerationJob.Status.CANCELLED:
        return None
    status_url = request.build_absolute_uri(f"/api/v1/jobs/{job.pk}")
    answer = {"job_id": str(job.pk), "status_url": status_url}
    if job.is_finished:
        return Response({"error": job.status, "detail": job.error or job.status, **answer}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
    cap = settings.GARDEN_A1111_WAIT_SECONDS
    if cap < 0:  # the wait ended early only because no worker is present
        retry = str(max(1, round(settings.GARDEN_WORKER_PRESENCE_SECONDS)))
        detail = "No worker is present to paint it: it stays queued (poll the job, or interrupt to cancel it)."
        return Response({"error": "Unavailable", "detail": detail, **answer}, status=status.HTTP_503_SERVICE_UNAVAILABLE,
                        headers={"Retry-After": retry, "Location": status_url})  # fmt: skip
    detail = f"Still {job.status} after {cap:g}s (GARDEN_A1111_WAIT_SECONDS): poll the job."
    timeout = status.HTTP_504_GATEWAY_TIMEOUT
    return Response({"error": "Timeout", "detail": detail, **answer}, status=timeout, headers={"Location": status_url})
