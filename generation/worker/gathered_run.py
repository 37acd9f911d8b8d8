"""A gathered run: one-picture jobs painted together in one call each time, and each call's
finishing beside the next call (docs/generation.md#gathered-calls).

``execute_job`` (generation.worker.runner) hands a claimed job that may share its call
(gathering.gatherable) to ``run_gathered``:

- the loop (the caller's thread, the one that launches the model's work): gather the queued jobs
  that share the claimed job's call, paint them in ONE call, each with its own prompt and seed (a
  picture is the one its job gets alone), hand the pictures over to be finished (finishing_processes.Handover),
  take back the outcomes of calls finished meanwhile, take the next queued jobs; stop when none is
  queued (or after LOOP_SECONDS), take the last outcomes, return;
- finishing (call_finishing.finish_call, in a finishing process or inline) stores one call's pictures and
  finishes their jobs in one transaction, and reports each job's outcome.

Each job keeps its own lease, attempt and outcome: one heartbeat thread beats every job in flight,
a cancelled job is dropped at the call's end and the others go on, a picture that fails to store
fails or requeues its job alone. The job whose message started the run (the leader) reports a
transient failure by raising TransientJobError, so its task retries its own message as for any
job; another job is requeued and its message sent again (a duplicate is harmless: claim_job). A job
still in flight when the run ends (a crash anywhere, a finishing process dying included) is
requeued the same way, never left running. Every write but the finishing's is made on this thread;
the states are written and announced by each job's ``Attempt`` (generation.worker.attempt), as for
a job run alone.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import datetime

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from generation.backends import DIFFUSERS
from generation.models import GenerationJob
from generation.planning import job_batches
from generation.worker import card_finishing, claim, gathering, lifecycle
from generation.worker.attempt import Attempt
from generation.worker.call_finishing import FAILED, STORED, TRANSIENT, TRANSIENT_FAILURE, Item, Outcome, finish_call
from generation.worker.finishing_processes import Handover
from generation.worker.lifecycle import beating
from generation.worker.toolbox import (
    JobStopped,
    ProgressThrottle,
    StepReporter,
    TransientJobError,
    embedding_files,
    error_text,
    library_files,
)

log = logging.getLogger(__name__)

# A run takes new calls from the queue for this long at most, then returns (the next message goes on;
# a solo worker answers its control messages, a ping, between runs).
LOOP_SECONDS = 10.0
# Calls painted and waiting to be finished at most (their pictures held in memory).
FINISHING_BOUND = 2


def run_gathered(leader: GenerationJob, *, worker: str, heartbeat: bool) -> GenerationJob:
    """Run the claimed job ``leader`` and the jobs gathered with it; raises TransientJobError when
    the leader's attempt should be retried."""
    run = GatheredRun(worker=worker)
    run.run(leader, heartbeat=heartbeat)
    if run.leader_error:
        raise TransientJobError(run.leader_error, job_id=leader.pk)
    leader.refresh_from_db()
    return leader


class GatheredRun:
    """One worker's run of gathered calls; ``in_flight``: the jobs claimed and not yet finished here."""

    def __init__(self, *, worker: str) -> None:
        self.worker = worker
        self.in_flight: dict = {}
        self._lock = threading.Lock()  # in_flight is read by the heartbeat thread
        self.leader_id: uuid.UUID | None = None
        self.leader_error = ""
        self.requeued: set = set()  # jobs this run sent back to the queue: not taken again by it
        self.calls = 0  # pipeline calls made (bench/overlap.py, tests)

    def run(self, leader: GenerationJob, *, heartbeat: bool) -> None:
        self.leader_id = leader.pk
        self._track([leader])
        started = time.monotonic()
        handover = Handover(finish_call, bound=FINISHING_BOUND)
        try:
            with beating(self._beat, interval=None if heartbeat else 0):
                try:
                    jobs = gathering.gather(leader, worker=self.worker)
                    while jobs:
                        self._track(jobs)
                        self._paint(jobs, handover)
                        self._settle(handover.settled())
                        if time.monotonic() - started > LOOP_SECONDS:
                            break
                        jobs = self._next_call(leader.queue)
                finally:
                    self._settle(handover.settled(block=True))
        except TRANSIENT as exc:  # taking jobs from the queue met the database away
            log.warning("gathered run stopped: %s", exc)
        except Exception:  # whatever stopped it, its jobs go back to the queue (below)
            log.exception("gathered run stopped")
        finally:
            for job in list(self.in_flight.values()):
                self._transient(job, RuntimeError("interrupted before its picture was stored"))

    # --- the jobs in flight and their heartbeat ---------------------------------------------------

    def _track(self, jobs: list[GenerationJob]) -> None:
        with self._lock:
            self.in_flight.update({job.pk: job for job in jobs})

    def _untrack(self, job: GenerationJob) -> None:
        with self._lock:
            self.in_flight.pop(job.pk, None)

    def _beat(self, now: datetime) -> bool:
        """The heartbeat thread's UPDATE: every job in flight, each on its own attempt; between calls
        (none in flight) it goes on beating."""
        with self._lock:
            jobs = list(self.in_flight.values())
        if jobs:
            Attempt(jobs).beat(now)
        return True

    # --- the loop ----------------------------------------------------------------------------------

    def _paint(self, jobs: list[GenerationJob], handover: Handover) -> None:
        leader, timings = jobs[0], dict[str, float]()
        flags: list[bool | None]
        rendered: list = []
        try:
            backend, batch, specs, progress = self._prepare(jobs, timings)
            progress(0)  # before the call: a cancel check (throttled)
            started = time.perf_counter()
            self.calls += 1
            on_card = card_finishing.wanted(backend)
            with lifecycle.advertising_loras(leader):
                if on_card:  # tensors on the card, finished there
                    pictures = backend.generate_tensors(batch, on_step=progress)
                    flags = [None] * len(jobs)  # the lean call runs no checker of the model's own
                else:
                    pictures = backend.generate(batch, on_step=progress)
                    flags = backend.safety_flags(pictures)  # the model's own checker, if it ships one (recorded only)
            description = backend.describe()
            timings["generate"] = time.perf_counter() - started
            timings["gathered"] = len(jobs)  # each mate records the whole call's time: the estimates count the call once
            if on_card:
                rendered = card_finishing.render_on_card(jobs=jobs, specs=specs, pictures=pictures, description=description)
        except JobStopped:
            self._drop(jobs)
            return
        except TRANSIENT as exc:
            for job in jobs:
                self._transient(job, exc)
            return
        except Exception as exc:
            log.exception("gathered call of %d led by job %s failed", len(jobs), leader.pk)
            for job in jobs:
                self._failed(job, exc)
            if isinstance(exc, SoftTimeLimitExceeded):
                raise
            return
        if on_card:
            items = [Item(job, spec, None, None, done) for job, spec, done in zip(jobs, specs, rendered, strict=True)]
        else:
            items = [Item(*item) for item in zip(jobs, specs, pictures, flags, strict=True)]
        if progress.running not in (None, len(jobs)):  # someone cancelled (or lost a lease) during the call
            ours = Attempt(jobs).still_ours()
            self._drop([job for job in jobs if job.pk not in ours])
            items = [item for item in items if item.job.pk in ours]
        if items:
            handover.submit(items, description, timings)

    def _prepare(self, jobs: list[GenerationJob], timings: dict) -> tuple:
        leader = jobs[0]
        extra = library_files(leader)
        if len(jobs) > 1:
            extra["prompts"] = [job.prompt for job in jobs]
            if leader.backend == DIFFUSERS:
                extra["embeddings"] = embedding_files(leader, "\n".join([*extra["prompts"], leader.negative_prompt]))
        attempt = Attempt(jobs)
        backend, loaded = lifecycle.load_model(attempt, extra, timings=timings)
        specs = [job_batches(job)[0][0] for job in jobs]
        batch = lifecycle.call_batch(jobs, specs, extra)
        throttle = ProgressThrottle(settings.GARDEN_GATHER_PROGRESS_SECONDS, pending=loaded, claimed=True)
        return backend, batch, specs, StepReporter(attempt, steps=leader.steps, throttle=throttle)

    def _next_call(self, queue: str) -> list[GenerationJob]:
        """The next call's jobs: its leader picked as a message's job is (claim.claim_next_leader), and
        the queued jobs that share its call; [] when none is queued."""
        leader = claim.claim_next_leader(queue=queue, worker=self.worker, skip=self.requeued)
        return [] if leader is None else gathering.gather(leader, worker=self.worker, skip=self.requeued)

    # --- outcomes ------------------------------------------------------------------------------

    def _settle(self, finished) -> None:
        """The outcomes of finished calls (None: the finishing died with the call; its jobs stay in
        flight and go back to the queue when the run ends)."""
        for items, outcomes in finished:
            if outcomes is None:
                continue
            jobs = {item.job.pk: item.job for item in items}
            for outcome in outcomes:
                self._settle_one(jobs[outcome.job_id], outcome)

    def _settle_one(self, job: GenerationJob, outcome: Outcome) -> None:
        if outcome.kind == STORED:
            self._untrack(job)
        elif outcome.kind == TRANSIENT_FAILURE:
            self._transient(job, outcome.error)
        elif outcome.kind == FAILED:
            self._failed(job, outcome.error)

    def _transient(self, job: GenerationJob, exc: BaseException | str) -> None:
        """A retry may help: the leader's task retries its message; another job is requeued and sent again."""
        self._untrack(job)
        error = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
        if job.pk == self.leader_id:
            self.leader_error = self.leader_error or error
            return
        log.warning("generation job %s: transient failure, requeued: %s", job.pk, error)
        job.refresh_from_db(fields=["cancel_requested"])  # asked since the call began: it ends cancelled
        if lifecycle.end_and_resend(attempt=Attempt([job]), what="Transient error", detail=error) == GenerationJob.Status.QUEUED:
            self.requeued.add(job.pk)

    def _failed(self, job: GenerationJob, exc: BaseException | str) -> None:
        self._untrack(job)
        Attempt([job]).fail(error=exc if isinstance(exc, str) else error_text(exc))

    def _drop(self, jobs: list[GenerationJob]) -> None:
        for job in jobs:
            self._untrack(job)
        Attempt(jobs).drop()
