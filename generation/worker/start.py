"""A worker's start and life as Celery sees it: every signal receiver and bootstep of generation, in
the order they come into play, each with why. Imported with generation.tasks (its job task's base,
``JobTask``, is here), so every process that sets Django up registers them; they act only in a worker.

1. ``celeryd_after_setup``: a routed queue's worker also takes its host's queue (before consuming).
2. Bootsteps (Celery orders them by what they require): ``PresenceStep`` (the presence row, saying
   ``warming``), ``FinishingStep`` (a solo worker's finishing processes, after the presence row and
   before its first message), and the timers ``JobSweeper`` and ``Rerouter`` (``PeriodicStep``s).
3. ``worker_process_init``: one BLAS thread per process that paints.
4. ``worker_ready``: a sweep, then the presence row says ``ready``.
5. While it runs: ``task_revoked`` (an expired routed message's job routed again) and
   ``JobTaskRequest`` (a pool process died under a job: the job queued again at once).

The timers run in the worker's main process (the prefork event loop): database only, no torch. The
pipeline is loaded lazily by the process that runs the first job, so a prefork parent never touches
torch before forking.
"""

from __future__ import annotations

import logging
import time

from billiard.exceptions import WorkerLostError
from celery import Task, bootsteps, current_app
from celery.signals import celeryd_after_setup, task_revoked, worker_process_init, worker_ready
from celery.worker.request import Request
from django.conf import settings
from django.db import close_old_connections

from generation import services
from generation.dispatch.enqueue import RUN_JOB_TASK

log = logging.getLogger(__name__)


@celeryd_after_setup.connect
def _consume_host_queues(sender, instance, **_kwargs) -> None:
    """A worker of a routed queue (the GPU queue, the live queue) also takes that queue's own queue
    for its host, ``<queue>.<host>``, where the router sends the jobs whose model is warm here
    (generation.dispatch.routing). Before the consumer starts, so ``-Q gpu`` is all a worker is given."""
    from generation.dispatch import route_facts, routing
    from library.hosts import host_name

    if not settings.GARDEN_ROUTING:
        return
    queues = instance.app.amqp.queues
    for queue in sorted(route_facts.routed_queues() & set(queues.consume_from)):
        queues.select_add(routing.host_queue(queue, host_name()))


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
        from generation.dispatch import route_facts
        from generation.dispatch.beacon import PresenceBeacon

        queues = list(worker.app.amqp.queues.consume_from.keys())
        self.beacon = PresenceBeacon(name=worker.hostname, queues=queues)
        self.beacon.details["concurrency"] = worker.concurrency
        if any(queue in route_facts.routed_queues() for queue in queues):  # a painting worker: its cards, for the status page
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
        services.sweep_if_free()


class Rerouter(PeriodicStep):
    """Every GARDEN_ROUTE_CHECK_SECONDS: routed jobs whose wait is over or whose host stopped
    answering are sent where they can run now (generation.dispatch.rerouting)."""

    def seconds(self) -> float:
        return settings.GARDEN_ROUTE_CHECK_SECONDS if settings.GARDEN_ROUTING else 0

    def tick(self) -> None:
        services.reroute_jobs()


for step in (PresenceStep, FinishingStep, JobSweeper, Rerouter):
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
        services.sweep_stale_jobs()
    except Exception:  # a worker must start even when the database is briefly unavailable
        log.exception("could not sweep stale generation jobs at worker start")


@worker_ready.connect
def _say_ready(**_kwargs) -> None:
    for beacon in _beacons:
        beacon.ready()


@task_revoked.connect
def _route_expired_job_again(sender=None, request=None, expired=False, **_kwargs) -> None:
    """A routed message expired in its host's queue (GARDEN_ROUTE_EXPIRES_SECONDS): its job, if
    still queued, gets a new message, routed afresh (generation.dispatch.rerouting.route_again)."""
    # sender: the task; request: its Context (the message's task name, args).
    if not expired or getattr(sender, "name", "") != RUN_JOB_TASK or not getattr(request, "args", None):
        return
    try:
        services.route_again(job_id=request.args[0])
    except Exception:  # the re-router finds it when its route_expires_at passes anyway
        log.warning("could not route expired job %s again", request.args[0], exc_info=True)
        close_old_connections()


class JobTaskRequest(Request):
    """The worker's main process sees a pool process die under a job (SIGKILL, out of memory).

    Before Celery rejects the message back to the queue (acks_late + reject_on_worker_lost), the
    job row goes back to ``queued`` with its reason and attempt, so the redelivered message claims
    it at once instead of waiting for the lease (GARDEN_JOB_LEASE_SECONDS) to expire.
    """

    def on_failure(self, exc_info, send_failed_event=True, return_ok=False):
        exc = exc_info.exception
        exc = getattr(exc, "exc", exc)  # billiard wraps it in an ExceptionWithTraceback
        if isinstance(exc, WorkerLostError) and self.args:
            reason = str(exc).split(" Job:")[0].strip().rstrip(".")
            try:
                outcome = services.resume_lost_job(job_id=self.args[0], worker=self.hostname or "", reason=reason)
                log.warning("generation job %s: %s; job %s", self.args[0], reason, outcome or "left alone (not running here)")
            except Exception:  # the sweeper resumes it after the lease; the worker must go on
                log.exception("generation job %s: could not requeue it after its worker was lost", self.args[0])
                close_old_connections()
        return super().on_failure(exc_info, send_failed_event=send_failed_event, return_ok=return_ok)


class JobTask(Task):  # the base of generation.tasks.run_generation_job
    Request = JobTaskRequest
