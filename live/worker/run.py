"""The live worker's run: live requests painted together in one pipeline call, and each call's
post-processing beside the next call (docs/live.md#the-live-worker).

generation's ``execute_job`` hands a claimed live job that may share its call (batching.takes_live_path)
to ``run_claimed``, the runner this app registers in LiveConfig.ready().

- The paint loop (the caller's thread, the one that launches the model's work): gather the queued
  live jobs that share the claimed job's call (batching.gather), paint them in ONE call, each with
  its own prompt and seed (a picture is the one its request gets alone), hand the pictures to the
  post stage, take the next queued live jobs; stop when none is queued (or after LOOP_SECONDS),
  wait for the post stage, return.
- The post stage (stage.PostStage: a process of a pool, a thread, or inline for in-process runs):
  store.store_call stores one call's pictures and finishes their jobs in one transaction, and
  reports each job's outcome here (``_settle``).

Each job keeps its own lease, attempt and outcome: one heartbeat thread beats every job in flight
(``update``), a cancelled job in a batch is dropped at the call's end and the others go on, a
picture that fails to store fails or requeues its job alone. The job whose message started the
run (the leader) reports a transient failure by raising TransientJobError, so its task retries
its own message as for any job; another job is requeued and its message sent again (a duplicate
message is harmless: claim_job). A job still in flight when the run ends (a crash in any stage,
the pool's process dying included) is requeued the same way, never left running.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.utils import timezone

from generation import worker_api as generation
from generation.worker_api import DIFFUSERS, GenerationJob
from live.worker import batching, device
from live.worker.stage import PostStage
from live.worker.store import FAILED, STORED, TRANSIENT, TRANSIENT_FAILURE, Item, Outcome, attempt_rows

log = logging.getLogger(__name__)

# A run takes new batches from the queue for this long at most, then returns (the next message goes on).
LOOP_SECONDS = 60.0
# Calls painted and waiting for the post stage at most (their pictures held in memory).
POST_QUEUE_BOUND = 2


def run_claimed(leader: GenerationJob, *, worker: str, heartbeat: bool, overlap: bool) -> GenerationJob:
    """Run the claimed live job ``leader`` and the live jobs queued with it; raises TransientJobError
    when the leader's attempt should be retried."""
    run = LiveRun(worker=worker, overlap=overlap)
    run.run(leader, heartbeat=heartbeat)
    if run.leader_error:
        raise generation.TransientJobError(run.leader_error)
    leader.refresh_from_db()
    return leader


class LiveRun:
    """One worker's run of live batches; ``in_flight``: the jobs claimed and not yet finished here."""

    def __init__(self, *, worker: str, overlap: bool, post_cpus: set[int] | None = None, post_processes: int | None = None) -> None:
        self.worker = worker
        self.overlap = overlap
        self.post_cpus = post_cpus
        self.post_processes = post_processes  # None: GARDEN_LIVE_POST_PROCESSES
        self.in_flight: dict = {}
        self._lock = threading.Lock()
        self.leader_id: uuid.UUID | None = None
        self.leader_error = ""
        self.calls = 0  # pipeline calls made (bench/overlap.py, tests)

    def run(self, leader: GenerationJob, *, heartbeat: bool) -> None:
        self.leader_id = leader.pk
        self._track([leader])
        started = time.monotonic()
        try:
            with generation.beating(self, interval=None if heartbeat else 0), self._post_stage() as post:
                jobs = batching.gather(leader, worker=self.worker)  # the card is free: no wait
                while jobs:
                    self._track(jobs)
                    self._paint(jobs, post)
                    if time.monotonic() - started > LOOP_SECONDS:
                        break
                    jobs = batching.next_batch(queue=leader.queue, worker=self.worker)
        except TRANSIENT as exc:  # taking jobs from the queue met the database away
            log.warning("live run stopped: %s", exc)
        except Exception:  # whatever stopped it, its jobs go back to the queue (below)
            log.exception("live run stopped")
        finally:
            for job in list(self.in_flight.values()):
                self._transient(job, RuntimeError("interrupted before its picture was stored"))

    def _post_stage(self) -> PostStage:
        return PostStage(
            overlap=self.overlap, bound=POST_QUEUE_BOUND, cpus=self.post_cpus, settle=self._settle, processes=self.post_processes
        )

    # --- the jobs in flight and their heartbeat ---------------------------------------------------

    def _track(self, jobs: list[GenerationJob]) -> None:
        with self._lock:
            self.in_flight.update({job.pk: job for job in jobs})

    def _untrack(self, job: GenerationJob) -> None:
        with self._lock:
            self.in_flight.pop(job.pk, None)

    def update(self, **fields) -> int:
        """The heartbeat thread's UPDATE (heartbeat.beating): every job in flight, each on its own attempt."""
        with self._lock:
            jobs = list(self.in_flight.values())
        if not jobs:
            return 1  # between batches: keep beating
        return attempt_rows(jobs).update(**fields) or 1

    # --- the paint loop --------------------------------------------------------------------------

    def _paint(self, jobs: list[GenerationJob], post: PostStage) -> None:
        leader, timings = jobs[0], dict[str, float]()
        flags: list[bool | None]
        rendered: list = []
        try:
            backend, batch, specs, progress = self._prepare(jobs, timings)
            progress(0)  # before the call: a cancel check (throttled)
            started = time.perf_counter()
            self.calls += 1
            on_card = device.uses_device(backend)
            if on_card:  # tensors on the card, post-processed there (live.worker.device)
                pictures = backend.generate_tensors(batch, on_step=progress)
                flags = [None] * len(jobs)  # the lean call runs no checker of the model's own
            else:
                pictures = backend.generate(batch, on_step=progress)
                flags = backend.safety_flags(pictures)  # the model's own checker, if it ships one (recorded only)
            description = backend.describe()
            timings["generate"] = time.perf_counter() - started
            if on_card:
                rendered = generation.render_on_device(jobs=jobs, specs=specs, pictures=pictures, description=description)
        except generation.JobStopped:
            self._dropped(jobs)
            return
        except TRANSIENT as exc:
            for job in jobs:
                self._transient(job, exc)
            return
        except Exception as exc:
            log.exception("live batch of %d led by job %s failed", len(jobs), leader.pk)
            for job in jobs:
                self._failed(job, exc)
            if isinstance(exc, SoftTimeLimitExceeded):
                raise
            return
        if on_card:
            items = [Item(job, spec, None, None, done) for job, spec, done in zip(jobs, specs, rendered, strict=True)]
        else:
            items = [Item(*item) for item in zip(jobs, specs, pictures, flags, strict=True)]
        if progress.rows < len(jobs):  # someone cancelled (or lost a lease) during the call
            ours = set(attempt_rows(jobs).filter(cancel_requested=False).values_list("pk", flat=True))
            self._dropped([job for job in jobs if job.pk not in ours])
            items = [item for item in items if item.job.pk in ours]
        if items:
            post.submit(items, description, timings)

    def _prepare(self, jobs: list[GenerationJob], timings: dict) -> tuple:
        leader = jobs[0]
        extra = generation.library_files(leader)
        if len(jobs) > 1:
            extra["prompts"] = [job.prompt for job in jobs]
            if leader.backend == DIFFUSERS:
                extra["embeddings"] = generation.embeddings_in("\n".join([*extra["prompts"], leader.negative_prompt]))
        backend = generation.get_backend(
            leader.backend,
            model=extra.pop("model_path", ""),
            label=leader.model,
            pin=True,  # the live model stays loaded (backends.LoadedPipelines)
            dtype=extra.pop("model_dtype", ""),
            offload=extra.pop("model_offload", ""),
        )
        started = time.perf_counter()
        backend.load()
        timings["load"] = time.perf_counter() - started
        options = leader.options or {}
        sampler = options.get("sampler", "") if leader.backend == DIFFUSERS else ""
        scheduler = generation.SAMPLERS.get(sampler) or backend.scheduler_name
        for job in jobs:
            job.model_id, job.scheduler = backend.model_id, scheduler
        specs = [generation.job_batches(job)[0][0] for job in jobs]
        starts = [
            generation.init_picture(job.options["init_image"], width=job.width, height=job.height)
            for job in jobs
            if "init_image" in options
        ]
        batch = generation.Batch(
            prompt=leader.prompt,
            negative_prompt=leader.negative_prompt,
            width=leader.width,
            height=leader.height,
            steps=leader.steps,
            guidance=leader.guidance,
            seeds=[spec.seed for spec in specs],
            emotion=leader.emotion,
            favorite=leader.favorite,
            extra=extra,
            model=leader.model,
            loras=tuple((lora["name"], float(lora["weight"])) for lora in leader.loras or ()),
            sampler=sampler,
            clip_skip=options.get("clip_skip") or 1,
            init_image=(starts[0] if len(starts) == 1 else starts) if starts else None,
            denoising_strength=options.get("denoising_strength", 0.0),
        )
        loaded = {"model_id": backend.model_id, "scheduler": scheduler}
        return backend, batch, specs, BatchProgress(jobs, steps=leader.steps, pending=loaded)

    # --- the post stage's outcomes ----------------------------------------------------------------

    def _settle(self, items: list[Item], outcomes: list[Outcome] | None) -> None:
        """What the post stage reports for one call (None: it died with the call; its jobs stay in
        flight and go back to the queue when the run ends)."""
        if outcomes is None:
            return
        jobs = {item.job.pk: item.job for item in items}
        for outcome in outcomes:
            job = jobs[outcome.job_id]
            if outcome.kind == STORED:
                self._untrack(job)
            elif outcome.kind == TRANSIENT_FAILURE:
                self._transient(job, outcome.error)
            elif outcome.kind == FAILED:
                self._failed(job, outcome.error)

    # --- outcomes ------------------------------------------------------------------------------

    def _transient(self, job: GenerationJob, exc: BaseException | str) -> None:
        """A retry may help: the leader's task retries its message; another job is requeued and sent again."""
        self._untrack(job)
        error = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
        if job.pk == self.leader_id:
            self.leader_error = self.leader_error or error
            return
        log.warning("live job %s: transient failure, requeued: %s", job.pk, error)
        if generation.requeue_job(job_id=job.pk, error=error):
            generation.enqueue_job(job_id=job.pk, queue=job.queue, background=job.background)
        else:
            generation.fail_job(job_id=job.pk, error=f"Gave up after GARDEN_JOB_MAX_ATTEMPTS attempts: {error}", attempt=job.attempts)

    def _failed(self, job: GenerationJob, exc: BaseException | str) -> None:
        self._untrack(job)
        generation.fail_job(job_id=job.pk, error=exc if isinstance(exc, str) else generation.error_text(exc), attempt=job.attempts)

    def _dropped(self, jobs: list[GenerationJob]) -> None:
        """Jobs no longer ours to finish: a cancelled one ends cancelled; one whose lease was lost is
        left to the attempt that took it over."""
        now = timezone.now()
        for job in jobs:
            self._untrack(job)
            mine = GenerationJob.objects.filter(pk=job.pk, attempts=job.attempts, cancel_requested=True)
            if not mine.exclude(status__in=GenerationJob.FINISHED).update(status=GenerationJob.Status.CANCELLED, finished_at=now):
                log.warning("live job %s: attempt %d lost its lease; leaving it to the next attempt", job.pk, job.attempts)


class BatchProgress:
    """The step callback of one call for all its jobs: one UPDATE per written step (at most every
    GARDEN_LIVE_PROGRESS_SECONDS, the last always), progress and heartbeat; ``rows``: the rows
    the last write found still running and not cancelled. None left: the call stops (JobStopped)."""

    def __init__(self, jobs: list[GenerationJob], *, steps: int, pending: dict) -> None:
        self.jobs, self.steps, self.rows = jobs, steps, len(jobs)
        self.throttle = generation.ProgressThrottle(settings.GARDEN_LIVE_PROGRESS_SECONDS, pending=pending, claimed=True)

    def __call__(self, steps_done: int) -> None:
        if not self.throttle.due(final=steps_done >= self.steps):
            return
        fields, self.throttle.pending = self.throttle.pending, {}
        now = timezone.now()
        done = min(steps_done, self.steps)
        running = attempt_rows(self.jobs).filter(cancel_requested=False)
        self.rows = running.update(steps_done=done, heartbeat_at=now, progress_at=now, **fields)
        if not self.rows:
            raise generation.JobStopped


# What LiveConfig.ready() registers with generation: the live jobs this runner takes, and how.
RUNNER = generation.LiveRunner(takes=batching.takes_live_path, run=run_claimed)
