"""The worker's Celery side: generation's tasks and the hooks that start a worker.

- Tasks, which take ids and call generation.services: ``run_generation_job`` (its retries and
  their waits; ``JobTaskRequest`` puts a job back to ``queued`` when its pool process dies) and
  beat's ``sweep_stale_jobs``.
- Signal receivers: one BLAS thread per process that paints (``worker_process_init``), a sweep and
  the presence row's ``ready`` (``worker_ready``), a routed queue's host queue taken
  (``celeryd_after_setup``), an expired routed message's job routed again (``task_revoked``).
- Bootsteps: ``JobSweeper`` and ``Rerouter`` (timers in the main process: database only, no
  torch), ``PresenceStep`` (the presence row), ``FinishingStep`` (a solo worker's finishing processes).

A job's message goes to its row's queue (generation.enqueue: the GPU queue, the live queue, or a
host's queue when routed). The pipeline is loaded lazily by the process that runs the first job,
so a prefork parent never touches torch before forking.
"""

from __future__ import annotations

import logging
import time

from billiard.exceptions import WorkerLostError
from celery import Task, bootsteps, current_app, shared_task
from celery.signals import celeryd_after_setup, task_revoked, worker_process_init, worker_ready
from celery.worker.request import Request
from django.conf import settings
from django.db import DatabaseError, close_old_connections

from generation import kinds, services
from generation.enqueue import RUN_JOB_TASK, SWEEP_TASK
from infra import periodic

log = logging.getLogger(__name__)


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


class JobTask(Task):
    Request = JobTaskRequest


@shared_task(
    bind=True,
    base=JobTask,
    name=RUN_JOB_TASK,
    # Acknowledge after the run: a worker killed mid-job leaves the message to be redelivered,
    # and claim_job makes the redelivery (or a duplicate re-sent by the sweeper for a job queued
    # too long) a no-op unless the job is still queued or its lease has expired.
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.GARDEN_JOB_SOFT_TIME_LIMIT,
    time_limit=settings.GARDEN_JOB_SOFT_TIME_LIMIT + 120,
    ignore_result=True,
)
def run_generation_job(self, job_id: str) -> None:
    try:
        job = services.execute_job(job_id=job_id, worker=self.request.hostname or "", heartbeat=not self.request.is_eager)
        if job is not None and job.status == job.Status.RUNNING:
            # Another attempt holds a live lease (e.g. this message was redelivered after a
            # worker crash while the heartbeat is still fresh): look again once the lease can
            # have expired, so a dead worker's job is picked up even without the sweeper.
            raise self.retry(countdown=settings.GARDEN_JOB_LEASE_SECONDS, max_retries=None)
    except services.TransientJobError as exc:
        # The job row counts attempts (GARDEN_JOB_MAX_ATTEMPTS), whichever message runs them.
        if not services.requeue_job(job_id=job_id, error=str(exc)):
            services.fail_job(job_id=job_id, error=f"Gave up after GARDEN_JOB_MAX_ATTEMPTS attempts: {exc}")
            return
        log.warning("generation job %s: transient failure, retrying: %s", job_id, exc)
        raise self.retry(exc=exc, countdown=min(60, 5 * 2**self.request.retries), max_retries=None) from exc
    except DatabaseError as exc:
        # Claiming or finishing the job met the database away or locked (SQLite under load): the
        # claim is one UPDATE, so nothing was half done; try again rather than drop the message
        # and leave the job queued until the sweeper re-sends it.
        close_old_connections()
        log.warning("generation job %s: database error, retrying: %s", job_id, exc)
        raise self.retry(exc=exc, countdown=min(60, 2 * 2**self.request.retries), max_retries=None) from exc


@shared_task(name=SWEEP_TASK, ignore_result=True)
@periodic.recorded(SWEEP_TASK)  # beat's run, shown on the System status page
def sweep_stale_jobs() -> int:
    # Beat runs this every few minutes: also a good moment for the registered kinds' own clean-up.
    kinds.sweep_all()
    return services.sweep_stale_jobs()


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
    # Runs in the worker's main process: database only, no torch.
    try:
        services.sweep_stale_jobs()
    except Exception:  # a worker must start even when the database is briefly unavailable
        log.exception("could not sweep stale generation jobs at worker start")


class JobSweeper(bootsteps.StartStopStep):
    """Every worker sweeps every GARDEN_JOB_SWEEP_SECONDS (one at a time: ``sweep_if_free``), so a
    job whose whole worker died (no process left to notice) is resumed without beat.

    The timer runs in the worker's main process (the prefork event loop): database only, no torch.
    """

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.tref = None

    def start(self, worker):
        if settings.GARDEN_JOB_SWEEP_SECONDS > 0 and not settings.CELERY_TASK_ALWAYS_EAGER:
            self.tref = worker.timer.call_repeatedly(settings.GARDEN_JOB_SWEEP_SECONDS, _sweep_now)
            log.info("sweeping stale generation jobs every %ss (GARDEN_JOB_SWEEP_SECONDS)", settings.GARDEN_JOB_SWEEP_SECONDS)

    def stop(self, worker):
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None


def _sweep_now() -> None:
    try:
        services.sweep_if_free()
    except Exception:  # a database outage must not stop the worker; the next tick tries again
        log.exception("periodic sweep of generation jobs failed")
        close_old_connections()


class PresenceStep(bootsteps.StartStopStep):
    """The worker's presence row (``generation.services.presence``): written every
    GARDEN_WORKER_PRESENCE_SECONDS by a thread of the main process, deleted on a clean shutdown.
    It says ``warming`` while the steps after it start (finishing processes, a warm-up) and
    ``ready`` once the worker takes messages (``worker_ready``)."""

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.beacon = None

    def start(self, worker):
        if settings.GARDEN_WORKER_PRESENCE_SECONDS <= 0 or settings.CELERY_TASK_ALWAYS_EAGER:
            return
        from generation import cards, routing
        from generation.services.presence import PresenceBeacon

        queues = list(worker.app.amqp.queues.consume_from.keys())
        self.beacon = PresenceBeacon(name=worker.hostname, queues=queues)
        self.beacon.details["concurrency"] = worker.concurrency
        if any(queue in routing.routed_queues() for queue in queues):  # a painting worker: its cards, for the status page
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


@worker_ready.connect
def _say_ready(**_kwargs) -> None:
    for beacon in _beacons:
        beacon.ready()


def solo(worker) -> bool:
    """A worker whose main thread runs its tasks (``--pool solo``): it may own child processes."""
    from celery.concurrency import solo as solo_pool

    return issubclass(worker.pool_cls, solo_pool.TaskPool)


class FinishingStep(bootsteps.StartStopStep):
    """A solo worker's finishing processes (generation.worker.finishing_processes), started and set up
    before it takes its first message, stopped with it."""

    requires = {"celery.worker.components:Pool", "generation.tasks:PresenceStep"}

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


@celeryd_after_setup.connect
def _consume_host_queues(sender, instance, **_kwargs) -> None:
    """A worker of a routed queue (the GPU queue, the live queue) also takes that queue's own queue
    for its host, ``<queue>.<host>``, where the router sends the jobs whose model is warm here
    (generation.routing). Before the consumer starts, so ``-Q gpu`` is all a worker is given."""
    from generation import routing
    from library.hosts import host_name

    if not settings.GARDEN_ROUTING:
        return
    queues = instance.app.amqp.queues
    for queue in sorted(routing.routed_queues() & set(queues.consume_from)):
        queues.select_add(routing.host_queue(queue, host_name()))


@task_revoked.connect
def _route_expired_job_again(sender=None, request=None, expired=False, **_kwargs) -> None:
    """A routed message expired in its host's queue (GARDEN_ROUTE_EXPIRES_SECONDS): its job, if
    still queued, gets a new message, routed afresh (generation.services.rerouting.route_again)."""
    # sender: the task; request: its Context (the message's task name, args).
    if not expired or getattr(sender, "name", "") != RUN_JOB_TASK or not getattr(request, "args", None):
        return
    try:
        services.route_again(job_id=request.args[0])
    except Exception:  # the re-router finds it when its route_expires_at passes anyway
        log.warning("could not route expired job %s again", request.args[0], exc_info=True)
        close_old_connections()


class Rerouter(bootsteps.StartStopStep):
    """Every GARDEN_ROUTE_CHECK_SECONDS, in the worker's main process (database only): routed jobs
    whose wait is over or whose host stopped answering are sent where they can run now."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.tref = None

    def start(self, worker):
        if settings.GARDEN_ROUTING and settings.GARDEN_ROUTE_CHECK_SECONDS > 0 and not settings.CELERY_TASK_ALWAYS_EAGER:
            self.tref = worker.timer.call_repeatedly(settings.GARDEN_ROUTE_CHECK_SECONDS, _reroute_now)

    def stop(self, worker):
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None


def _reroute_now() -> None:
    try:
        services.reroute_jobs()
    except Exception:  # a database outage must not stop the worker; the next tick tries again
        log.exception("re-routing generation jobs failed")
        close_old_connections()


current_app.steps["worker"].add(JobSweeper)
current_app.steps["worker"].add(Rerouter)
current_app.steps["worker"].add(PresenceStep)
current_app.steps["worker"].add(FinishingStep)
