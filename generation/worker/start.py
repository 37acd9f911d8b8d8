"""A worker's start and life as Celery sees it: generation's signal receivers and bootsteps, in the
order they come into play, each with why (every app's, in one table: docs/development.md, "Upward
registries and the worker's hooks", kept true by tests/generation/test_hook_tables.py). Imported with generation.tasks (its job task's base,
``JobTask``, is here), so every process that sets Django up registers them; they act only in a worker.

1. Bootsteps (Celery orders them by what they require): ``PresenceStep`` (the presence row, saying
   ``warming``), ``FinishingStep`` (a solo worker's finishing processes, after the presence row and
   before its first message), and the timer ``JobSweeper`` (a ``PeriodicStep``).
2. ``worker_process_init``: one BLAS thread per process that paints.
3. ``worker_ready``: a sweep, then the presence row says ``ready``.
4. While it runs: ``JobTaskRequest`` (a pool process died under a job: the job queued again at once).

The timer runs in the worker's main process (the prefork event loop): database only, no torch. The
pipeline is loaded lazily by the process that runs the first job, so a prefork parent never touches
torch before forking.
"""

from __future__ import annotations

import logging
import time

from billiard.exceptions import WorkerLostError
from celery import Task, bootsteps, current_app
from celery.signals import worker_process_init, worker_ready
from celery.worker.request import Request
from django.conf import settings
from django.db import close_old_connections

from generation.worker import claim, lifecycle, sweeper

log = logging.getLogger(__name__)


def solo(worker) -> bool:
    """A worker whose main thread runs its tasks (``--pool solo``): it may own child processes."""
    from celery.concurrency import solo as solo_pool

    return issubclass(worker.pool_cls, solo_pool.TaskPool)


class PresenceStep(bootsteps.StartStopStep):
    """The worker's presence row (``generation.dispatch.beacon``): written every
    GARDEN_WORKER_PRESENCE_SECONDS by a thread of the main process, deleted on a clean shutdown.
    It says ``warming`` while the steps after it start (finishing processes, a warm-up) and
    ``ready`` once the worker takes messages (``worker_ready``)."""

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.beacon = None

    def start(self, worker):
        if settings.GARDEN_WORKER_PRESENCE_SECONDS <= 0 or settings.CELERY_TASK_ALWAYS_EAGER:
            return
        from generation import cards
        from generation.dispatch.beacon import PresenceBeacon

        queues = list(worker.app.amqp.queues.consume_from.keys())
        self.beacon = PresenceBeacon(name=worker.hostname, queues=queues)
        self.beacon.details["concurrency"] = worker.concurrency
        if set(queues) & _painting_queues():  # its cards, for the status page
            self.beacon.details["cards"] = cards.visible_cards()
        self.beacon.paints_here = solo(worker)
        self.beacon.start()
        _beacons.append(self.beacon)
        log.info("worker presence every %ss (GARDEN_WORKER_PRESENCE_SECONDS), queues %s", self.beacon.interval, queues)

    def stop(self, worker):
        if self.beacon is not None:
            _beacons.remove(self.beacon)
            self.beacon.stop()
            self.beacon = None


_beacons: list = []  # this worker's presence (one), told when it is ready


def _painting_queues() -> set[str]:
    """The queues whose workers paint on a card: the GPU queue and the live queue (the live app's setting)."""
    return {name for name in (settings.GARDEN_GPU_QUEUE, getattr(settings, "GARDEN_LIVE_QUEUE", "")) if name}


class FinishingStep(bootsteps.StartStopStep):
    """A solo worker's finishing processes (generation.worker.finishing_processes), started and set
    up before it takes its first message, stopped with it."""

    requires = {"celery.worker.components:Pool", "generation.worker.start:PresenceStep"}

    def start(self, worker):
        if not solo(worker):
            return
        _one_blas_thread()  # as a pool process gets it (worker_process_init): this process paints
        if settings.GARDEN_FINISHING_PROCESSES <= 0 or settings.CELERY_TASK_ALWAYS_EAGER:
            return
        from generation.worker import finishing_processes

        started = time.perf_counter()
        finishing_processes.start_processes(settings.GARDEN_FINISHING_PROCESSES)
        log.info("finishing processes ready in %.1fs", time.perf_counter() - started)

    def stop(self, worker):
        from generation.worker import finishing_processes

        finishing_processes.stop_processes()


class PeriodicStep(bootsteps.StartStopStep):
    """``tick`` every ``seconds()`` (0: never) on the worker's timer, in its main process: database
    only, no torch. A failed tick (a database outage) is logged; the next one tries again."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.tref = None

    def seconds(self) -> float:
        raise NotImplementedError

    def tick(self) -> None:
        raise NotImplementedError

    def start(self, worker):
        seconds = self.seconds()
        if seconds > 0 and not settings.CELERY_TASK_ALWAYS_EAGER:
            self.tref = worker.timer.call_repeatedly(seconds, self._tick)

    def _tick(self) -> None:
        try:
            self.tick()
        except Exception:  # must not stop the worker
            log.exception("%s failed; the next tick tries again", type(self).__name__)
            close_old_connections()

    def stop(self, worker):
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None


class JobSweeper(PeriodicStep):
    """Every worker sweeps every GARDEN_JOB_SWEEP_SECONDS (one at a time: ``sweep_if_free``), so a
    job whose whole worker died (no process left to notice) is resumed without beat."""

    def seconds(self) -> float:
        return settings.GARDEN_JOB_SWEEP_SECONDS

    def tick(self) -> None:
        sweeper.sweep_if_free()


for step in (PresenceStep, FinishingStep, JobSweeper):
    current_app.steps["worker"].add(step)


@worker_process_init.connect
def _one_blas_thread(**_kwargs) -> None:
    """numpy's OpenBLAS keeps a thread per core spinning after each matrix product: the per-picture
    work (the watermark's many small products, the painter) gains nothing from them, and they
    doubled a live picture's CPU (docs/benchmarks.md#figures-behind-the-code). torch and
    onnxruntime keep their own threads."""
    import numpy  # noqa: F401 (loads the BLAS library the limit applies to)
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")


@worker_ready.connect
def _sweep_when_a_worker_starts(**_kwargs) -> None:
    """Jobs a dead worker left running are resumed as soon as any worker is back (main process)."""
    try:
        sweeper.sweep_stale_jobs()
    except Exception:  # a worker must start even when the database is briefly unavailable
        log.exception("could not sweep stale generation jobs at worker start")


@worker_ready.connect
def _say_ready(**_kwargs) -> None:
    for beacon in _beacons:
        beacon.ready()


class JobTaskRequest(Request):
    """The worker's main process sees a pool process die under a job (SIGKILL, out of memory).

    Before Celery rejects the message back to the queue (acks_late + reject_on_worker_lost), the
    job row goes back to ``queued`` with its reason and attempt, so the redelivered message claims
    it at once instead of waiting for the lease (GARDEN_JOB_LEASE_SECONDS) to expire. The job is
    the one this message claimed (generation.dispatch.pull: not always the one it names).
    """

    def on_failure(self, exc_info, send_failed_event=True, return_ok=False):
        exc = exc_info.exception
        exc = getattr(exc, "exc", exc)  # billiard wraps it in an ExceptionWithTraceback
        if isinstance(exc, WorkerLostError) and self.args:
            reason = str(exc).split(" Job:")[0].strip().rstrip(".")
            try:
                job_id = claim.job_of_message(self.id or "") or self.args[0]
                outcome = lifecycle.resume_lost_job(job_id=job_id, worker=self.hostname or "", reason=reason)
                log.warning("generation job %s: %s; job %s", job_id, reason, outcome or "left alone (not running here)")
            except Exception:  # the sweeper resumes it after the lease; the worker must go on
                log.exception("generation job %s: could not requeue it after its worker was lost", self.args[0])
                close_old_connections()
        return super().on_failure(exc_info, send_failed_event=send_failed_event, return_ok=return_ok)


class JobTask(Task):  # the base of generation.tasks.run_generation_job
    Request = JobTaskRequest
