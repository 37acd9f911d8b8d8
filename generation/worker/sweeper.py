"""The sweeper: finds jobs whose worker died or whose broker message was lost, and acts (the
attempts it ends are ended, and announced, by their ``Attempt.end`` (generation.worker.attempt), the
same end as a worker's lost pool process or a transient failure; the messages it sends again are
lifecycle's ``resend`` and ``send_message``).

Runs when a worker starts, on every worker's timer, and periodically under celery beat (never in a
web request: creating jobs does no worker's housekeeping)
(``generation.tasks.sweep_stale_jobs``). Each action is one conditional UPDATE, so two sweepers
never both act on the same job.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from config import clock
from config.locks import exclusive
from generation.dispatch import enqueue as broker
from generation.models import GenerationJob
from generation.worker import lifecycle
from generation.worker.attempt import Attempt

log = logging.getLogger(__name__)


def sweep_stale_jobs() -> int:
    """Requeue (or fail, after GARDEN_JOB_MAX_ATTEMPTS) running jobs whose worker stopped beating,
    and re-send queued jobs whose message may have been lost. Returns how many jobs it acted on.

    A worker writes ``heartbeat_at`` when it claims a job, around model loading and at every
    denoising step; a crashed or killed worker stops writing it. Runs when a worker starts, on
    every worker's timer (``sweep_if_free``), and periodically under celery beat.
    """
    return _sweep_running_jobs() + resend_lost_jobs()


def _sweep_running_jobs() -> int:
    deadline = timezone.now() - timedelta(seconds=settings.GARDEN_JOB_LEASE_SECONDS)
    swept = 0
    stale = GenerationJob.objects.running().filter(Q(heartbeat_at__lt=deadline) | Q(heartbeat_at__isnull=True))
    for job in stale.only("id", "attempts", "heartbeat_at", "cancel_requested", "queue", "background"):
        same = GenerationJob.objects.filter(
            pk=job.pk, status=GenerationJob.Status.RUNNING, attempts=job.attempts, heartbeat_at=job.heartbeat_at
        )
        silent = f"no heartbeat for {settings.GARDEN_JOB_LEASE_SECONDS}s, GARDEN_JOB_LEASE_SECONDS"
        swept += bool(lifecycle.end_and_resend(attempt=Attempt([job], rows=same), what="Worker lost", detail=silent))
    swept += _sweep_hung_jobs(alive_since=deadline)
    if swept:
        log.warning("swept %d stale generation job(s)", swept)
    return swept


def hung_limit(job: GenerationJob) -> float:
    """Seconds without progress after which a running attempt is hung: model loading plus an
    allowance per step of the whole job (steps x images), so a large job gets a longer limit."""
    steps = max(job.steps_total, job.steps * max(job.images_total, 1))
    return settings.GARDEN_JOB_HUNG_BASE_SECONDS + steps * settings.GARDEN_JOB_HUNG_SECONDS_PER_STEP


def _sweep_hung_jobs(*, alive_since) -> int:
    """Running jobs whose worker still beats but whose progress stopped for their hung_limit."""
    if settings.GARDEN_JOB_HUNG_SECONDS_PER_STEP <= 0:
        return 0
    now = timezone.now()
    swept = 0
    running = GenerationJob.objects.running().filter(heartbeat_at__gte=alive_since, progress_at__isnull=False)
    fields = ("id", "attempts", "progress_at", "cancel_requested", "queue", "background", "steps", "steps_total", "images_total")
    for job in running.only(*fields):
        limit = hung_limit(job)
        if job.progress_at is None or (now - job.progress_at).total_seconds() <= limit:
            continue
        # The attempt's own writes (heartbeat thread, steps) match on status and attempts: once
        # the row is requeued they find nothing, and the hung attempt stops beating.
        same = GenerationJob.objects.filter(
            pk=job.pk, status=GenerationJob.Status.RUNNING, attempts=job.attempts, progress_at=job.progress_at
        )
        detail = f"no progress for {limit:.0f}s while its worker was alive, GARDEN_JOB_HUNG_SECONDS_PER_STEP"
        swept += bool(lifecycle.end_and_resend(attempt=Attempt([job], rows=same), what="Job hung", detail=detail))
    return swept


def resend_lost_jobs() -> int:
    """Send again the message of every job queued for GARDEN_JOB_REQUEUE_AFTER_SECONDS since its last send,
    and at once that of every job whose last send failed (``send_failed``: the broker was down).

    A broker that restarts without persistence (Redis here keeps nothing on disk) loses queued
    messages, and their jobs would wait forever. How long a job may genuinely wait behind others
    is not knowable, so a re-sent message for a job whose first message is still in the queue must
    be harmless, and it is: whichever message comes first claims the job with one conditional
    UPDATE (``claim_job``); the other finds it claimed or finished and does nothing. Each re-send
    bumps ``resends`` and ``enqueued_at`` on the row (one conditional UPDATE, so two sweepers never
    both send) and is logged. Cancelled jobs are never sent again. While the broker still refuses
    sends (``broker_looks_down``), the sweep stops at the first failure and tries again next time.
    """
    after = settings.GARDEN_JOB_REQUEUE_AFTER_SECONDS
    if broker.broker_looks_down():
        return 0
    now = clock.now()  # enqueued_at and created_at are stamped by the app's clock (generation.services.jobs)
    due = Q(send_failed=True)
    if after > 0:
        deadline = now - timedelta(seconds=after)
        due |= Q(enqueued_at__lt=deadline) | Q(enqueued_at__isnull=True, created_at__lt=deadline)
    waiting = GenerationJob.objects.claimable().filter(due).order_by("created_at")
    resent = []
    for job in waiting.only("id", "queue", "background", "enqueued_at", "resends", "send_failed"):
        if broker.broker_looks_down():  # a send of this sweep failed: the rest wait for the next sweep
            break
        # Sent at once when no transaction is open (the UPDATE has committed), else when the caller's commits.
        if lifecycle.resend(job=job):
            resent.append(job)
    for job in resent:
        why = "its last send failed" if job.send_failed else f"queued without a start for over {after}s (GARDEN_JOB_REQUEUE_AFTER_SECONDS)"
        log.warning("generation job %s: %s; message re-sent (re-send #%d)", job.pk, why, job.resends + 1)
    return len(resent)


class SweepBusy(Exception):
    """Another process is sweeping right now."""


SWEEP_LOCK_ID = 0x6E5357  # a PostgreSQL advisory lock id of this app's own


def sweep_if_free() -> int | None:
    """One sweep unless another process (a worker's timer, beat) is sweeping: None when it was busy.

    Every live worker calls this every GARDEN_JOB_SWEEP_SECONDS (``generation.worker.start.JobSweeper``), so dead
    workers' jobs are picked up without beat; the lock (``config.locks``) keeps it to one sweeper
    at a time. Each action is conditional anyway, so two sweeps at once would still be harmless.
    """
    interval = max(1, settings.GARDEN_JOB_SWEEP_SECONDS)
    try:
        with exclusive(advisory_id=SWEEP_LOCK_ID, cache_key="generation:sweep", timeout=interval, busy=SweepBusy, message="sweeping"):
            return sweep_stale_jobs()
    except SweepBusy:
        return None
