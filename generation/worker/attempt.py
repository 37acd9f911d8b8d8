"""One attempt of one or more jobs (a gathered call's): the only writer of their rows once claimed.

A worker claims a job with one conditional UPDATE (generation.worker.lifecycle.claim_job) and owns it
while ``attempts`` equals the number it claimed with; every write here is one UPDATE conditional on
that, so an attempt that lost its lease never overwrites the attempt that replaced it. What paints a
job — the ordinary and gathered paths, and every kind an app above registers (generation.kinds) —
gets an ``Attempt``, never the job's rows: its progress (``note``, ``step``, ``beat``) and its ends.

The ends have one shape: keyword arguments only, each one conditional UPDATE of the attempt's rows,
announced once it commits (someone may wait: a kiosk, an A1111 client), and each returns the status
it gave the rows — ``"succeeded"``, ``"failed"``, ``"cancelled"``, ``"queued"`` — or ``""`` when
no row was this attempt's any more (finished, cancelled or taken over meanwhile).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import partial, reduce
from operator import or_

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from config import clock
from generation import changes
from generation.models import GenerationJob
from generation.worker.notices import resumed_notice

log = logging.getLogger(__name__)

Status = GenerationJob.Status
NOT_OURS = ""  # what an end returns when no row of the attempt was left to end


def announce(jobs: Iterable[GenerationJob] = (), *, ids: Iterable = ()) -> None:
    """Say that these jobs changed once the change commits: the live ones of ``jobs`` (their start:
    a kiosk shows it), and ``ids`` whatever they are (an end, a requeue: once per job)."""
    said = [job.pk for job in jobs if job.live] + list(ids)
    if said:
        transaction.on_commit(partial(changes.announce_ids, said))


class Attempt:
    """The attempt of ``jobs`` (as claimed: each job's ``attempts`` is its attempt's number).
    ``rows``: the rows its writes are conditional on, when not the jobs' running rows (an attempt
    the sweeper read: matched only as it read it)."""

    def __init__(self, jobs: Iterable[GenerationJob], *, rows: QuerySet | None = None) -> None:
        self.jobs = list(jobs)
        self._rows = rows if rows is not None else _running_rows(self.jobs)

    @classmethod
    def running(cls, *, job_id, worker: str | None = None) -> Attempt | None:
        """The attempt running ``job_id`` now (under ``worker`` when given), as read now; None when it
        is not running."""
        running = GenerationJob.objects.filter(pk=job_id, status=Status.RUNNING)
        if worker is not None:
            running = running.filter(worker=worker[:255])
        job = running.only("attempts", "cancel_requested", "queue", "background").first()
        return None if job is None else cls([job], rows=running.filter(attempts=job.attempts))

    @classmethod
    def unfinished(cls, *, job_id, attempt: int | None = None) -> Attempt:
        """The job's latest attempt while it has not finished (``attempt``: only while it is that one)."""
        rows = GenerationJob.objects.filter(pk=job_id).exclude(status__in=GenerationJob.FINISHED)
        return cls([GenerationJob(pk=job_id)], rows=rows if attempt is None else rows.filter(attempts=attempt))

    @classmethod
    def spent(cls, *, job_id) -> Attempt:
        """A queued job whose attempts are used up (GARDEN_JOB_MAX_ATTEMPTS): no claim will run it."""
        rows = GenerationJob.objects.filter(pk=job_id, status=Status.QUEUED, attempts__gte=settings.GARDEN_JOB_MAX_ATTEMPTS)
        return cls([GenerationJob(pk=job_id)], rows=rows)

    @property
    def ids(self) -> list:
        return [job.pk for job in self.jobs]

    # --- while it paints --------------------------------------------------------------------------

    def beat(self, now) -> bool:
        """The heartbeat's write (generation.worker.lifecycle.beating); False once no row is left to beat."""
        return bool(self.jobs) and bool(self._rows.update(heartbeat_at=now))

    def note(self, **columns) -> int:
        """Progress that is no step (the loaded model, the images done, the stage), with a heartbeat."""
        return self._rows.update(heartbeat_at=timezone.now(), **columns)

    def step(self, **columns) -> int:
        """A step's write (generation.worker.toolbox.StepReporter): how many jobs are still ours and not cancelled."""
        return self._rows.filter(cancel_requested=False).update(**columns)

    def still_ours(self) -> set:
        """The jobs still running on this attempt with no cancel asked."""
        return set(self._rows.filter(cancel_requested=False).values_list("pk", flat=True))

    # --- the ends ---------------------------------------------------------------------------------

    def succeed(self, *, timings: dict, counted: int | None = None) -> str:
        """The pictures are stored; ``counted``: the images' count, riding on this UPDATE (one write,
        not two). In a transaction, the announcement waits for its commit."""
        now = timezone.now()
        succeeded = self._rows.update(
            status=Status.SUCCEEDED,
            error="",  # an earlier attempt's error; what happened on the way stays in `notice`
            steps_done=F("steps_total"),
            finished_at=now,
            heartbeat_at=now,
            timings=timings,
            **({"images_done": counted, "progress_at": now} if counted is not None else {}),
        )
        return self._ended(succeeded, Status.SUCCEEDED)

    def fail(self, *, error: str) -> str:
        """Failed for good, with ``error`` (as the job page shows it)."""
        return self._ended(self._rows.update(status=Status.FAILED, error=error[:4000], finished_at=clock.now()), Status.FAILED)

    def cancel(self, **columns) -> str:
        """Ended cancelled (a cancel was asked), with ``columns`` written too."""
        return self._ended(self._rows.update(status=Status.CANCELLED, finished_at=clock.now(), **columns), Status.CANCELLED)

    def drop(self, *, timings: dict | None = None) -> str:
        """No longer ours to finish (the step callback stopped): a job whose cancel was asked ends
        cancelled; one whose lease was lost is left to the attempt that took it over."""
        columns = {} if timings is None else {"timings": timings}
        ended = NOT_OURS
        for job in self.jobs:
            asked = GenerationJob.objects.filter(pk=job.pk, attempts=job.attempts, cancel_requested=True)
            if Attempt([job], rows=asked.exclude(status__in=GenerationJob.FINISHED)).cancel(**columns):
                ended = Status.CANCELLED
            else:
                log.warning("generation job %s: attempt %d lost its lease; leaving it to the next attempt", job.pk, job.attempts)
        return ended

    def end(self, *, what: str, detail: str) -> str:
        """The one end of an attempt of one job that will not finish: its worker stopped beating or
        hung (the sweeper), its pool process died, a transient failure. Cancelled if a cancel was
        asked, failed once GARDEN_JOB_MAX_ATTEMPTS attempts ran, else queued again with a notice (a
        message runs it again: the caller's own coming back — a redelivery, a task's retry — or
        the one the sweeper sends, lifecycle.send_message)."""
        (job,) = self.jobs
        with transaction.atomic():
            if job.cancel_requested:
                return self.cancel()
            if job.attempts >= settings.GARDEN_JOB_MAX_ATTEMPTS:
                return self.fail(error=f"{what} ({detail}) after {job.attempts} attempts (GARDEN_JOB_MAX_ATTEMPTS).")
            requeued = self._rows.filter(cancel_requested=False).update(
                status=Status.QUEUED,
                heartbeat_at=None,
                progress_at=None,
                worker="",
                error=(f"{what.lower()}: {detail}" if detail else what.lower())[:4000],
                notice=resumed_notice(what, attempts=job.attempts, detail=detail),
                enqueued_at=clock.now(),
                send_failed=False,
            )
            return self._requeued(requeued)

    def give_way(self, *, timings: dict) -> str:
        """Queued again for a waiting foreground job (generation.worker.yielding): the attempt it used
        given back, its pictures and progress kept; its message comes back by the task's retry."""
        requeued = self._rows.filter(cancel_requested=False).update(
            status=Status.QUEUED,
            attempts=F("attempts") - 1,  # a yield uses no attempt (GARDEN_JOB_MAX_ATTEMPTS counts failures)
            worker="",
            heartbeat_at=None,
            progress_at=None,
            enqueued_at=timezone.now(),  # its message is sent again now (the sweeper's clock)
            send_failed=False,
            timings=timings,
        )
        return self._requeued(requeued)

    def _ended(self, changed: int, status: str) -> str:
        if not changed:
            return NOT_OURS
        announce(ids=self.ids)
        return status

    def _requeued(self, changed: int) -> str:
        if not changed:
            return NOT_OURS
        announce(ids=self.ids)
        return Status.QUEUED


def _running_rows(jobs: list[GenerationJob]) -> QuerySet:
    """The running rows of these jobs' attempts (each write of a run is conditional on them)."""
    if not jobs:
        return GenerationJob.objects.none()
    rows = reduce(or_, (Q(pk=job.pk, attempts=job.attempts) for job in jobs))
    return GenerationJob.objects.filter(rows, status=Status.RUNNING)
