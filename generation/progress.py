"""What a job's progress tells people: its stage and an estimate of the time left.

The stage: ``queued``; ``loading`` while its worker loads the model (the runner writes it, and
``painting`` with the first step); ``finishing`` once the last step is done (decoding, checking and
storing the pictures, which "100 %" alone would hide); then the job's final status.

The estimate (``Estimates.seconds_left``) adds up, at the worker's recent pace (``Pace``: of its last
RECENT_JOBS succeeded jobs, those of the job's model where it painted any, else all; before a worker
claims the job, those of any worker on its queue):

- the job's own work left;
- the model's load time, while the worker loads it, or for a queued job whose model differs from
  the job's before it in line: the last time this worker (before a claim: its queue's workers)
  loaded that model, else any model (the runner times real loads only);
- for a queued job, the jobs ahead of it on its queue: the time left of those running and the whole
  of those queued before it, shared among the jobs running there (each worker runs one).

A running job's time left counts from its last written progress (``progress_at``), so it goes down
between two steps too; it stops at 0, which the screens show as the stage ("Decoding, checking and
storing the pictures"), never as "0 s left". None: finished, or no speed (or load time) known yet.
One ``Estimates`` reads each worker's recent jobs and each queue's line once per answer.

A pace is per unit of work, so a small call's predicts a big job's: a call's step costs a fixed part
(the pipeline's own overhead, which dominates a 64² call) plus a part per megapixel of the call's
pictures; both are fitted to the recent jobs' painting times (``fit_pace``: a gathered call counted once,
not once per mate), the fixed part only once they span two call sizes (before, one size cannot tell
them apart: the pace is split by a prior, PRIOR_FIXED_MEGAPIXELS).
``Estimates.missing`` says why there is none ("First run on this model: no estimate yet").

The percentage (``Estimates.share``) is the share of the job's time done, not of its steps: a
picture's time is its painting (a hires fix's first pass counted at its own smaller size) and then
its decoding, checking and storing, weighed at the worker's recent speed (FINISHING_SHARE before any
timing). Pictures painted but not yet stored count their painting only, so the percentage and the
"images made" count (pictures stored) agree; the painting stage names the pictures in hand
("Painting pictures 4–6 of 6").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext

from generation import backends, planning
from generation.backends import hires
from generation.models import GenerationJob

RECENT_JOBS = 20  # the worker's last jobs that make its speed and its load times
# Before any timing: a picture's decoding, checking and storing as a share of its whole time (a
# guess, replaced by the worker's own ratio after its first succeeded job).
FINISHING_SHARE = 0.05
# The columns an estimate reads of a job in line (not its prompt, images or error).
LINE_FIELDS = (
    "id", "status", "stage", "queue", "worker", "backend", "model", "width", "height", "steps", "count", "options",
    "steps_done", "steps_total", "images_done", "images_total", "created_at", "started_at", "progress_at",
)  # fmt: skip


def stage(job: GenerationJob) -> str:
    """queued, loading, painting, finishing, or the final status."""
    if job.status != GenerationJob.Status.RUNNING:
        return job.status
    if job.stage == GenerationJob.Stage.LOADING:
        return "loading"
    if job.steps_total and job.steps_done >= job.steps_total:
        return "finishing"
    return "painting"


def stage_text(job: GenerationJob) -> str:
    """The stage in words, naming the model it loads."""
    now = stage(job)
    if now == "loading":
        return gettext("Loading the model %(model)s") % {"model": job.model or gettext("of the job")}
    if now == "finishing":
        return gettext("Decoding, checking and storing the pictures")
    if now == "painting":
        return _painting_text(job)
    return str(GenerationJob.Status(now).label) if now in GenerationJob.Status.values else now


def _painting_text(job: GenerationJob) -> str:
    """ "Painting", or with more than one pipeline call "Painting pictures 4–6 of 6": the pictures in
    hand, which the "images made" count (pictures stored) does not include yet."""
    batches = planning.job_batches(job) if job.images_total > 1 else []
    per_batch = hires.batch_steps(job.options, job.steps)
    if len(batches) < 2 or not per_batch:
        return gettext("Painting")
    # A batch whose last step is done is still in hand while its pictures are stored, not once they are.
    number = min(max(-(-job.steps_done // per_batch) - 1, 0), len(batches) - 1)
    first = sum(len(batch) for batch in batches[:number]) + 1
    last = first + len(batches[number]) - 1
    if job.images_done >= last and number + 1 < len(batches):
        first, last = last + 1, last + len(batches[number + 1])
    words = {"first": first, "last": last, "total": max(job.images_total, last)}
    if first == last:
        return gettext("Painting picture %(first)d of %(total)d") % words
    return gettext("Painting pictures %(first)d–%(last)d of %(total)d") % words


def painted_share(job: GenerationJob) -> float:
    """The share of the job's painting done, 0..1: its batches' steps, a hires fix's first-pass steps
    weighed by their smaller size against the second pass's."""
    per_batch = hires.batch_steps(job.options, job.steps)
    if not job.steps_total or not per_batch:
        return 0.0
    batches = max(job.steps_total // per_batch, 1)
    whole, in_batch = divmod(min(job.steps_done, job.steps_total), per_batch)
    fix = hires.for_picture(job.options, job.width, job.height)
    if fix is None:
        return min((whole + in_batch / per_batch) / batches, 1.0)
    first = fix.first_width * fix.first_height / (job.width * job.height)  # a first-pass step against a second-pass one
    second_steps = per_batch - job.steps
    weighed = min(in_batch, job.steps) * first + max(in_batch - job.steps, 0)
    return min((whole + weighed / (job.steps * first + second_steps)) / batches, 1.0)


def share_done(job: GenerationJob, *, finishing: float = FINISHING_SHARE) -> float:
    """The share of the job's time done, 0..1 (the module's docstring), a picture's finishing being
    ``finishing`` of its time: what the admin's percentage shows."""
    if job.status == GenerationJob.Status.SUCCEEDED:
        return 1.0
    total = max(job.images_total, 1)
    stored = min(job.images_done, total) / total
    return round((1 - finishing) * max(painted_share(job), stored) + finishing * stored, 4)


def work(job: GenerationJob) -> float:
    """Megapixel-picture steps of the whole job (a hires fix's second pass counted at the picture's size)."""
    megapixels = job.width * job.height / 1e6
    return hires.batch_steps(job.options, job.steps) * megapixels * max(job.images_total, job.count, 1)


def call_steps(job: GenerationJob) -> int:
    """The steps of all the job's pipeline calls (a call paints a batch of its pictures at once)."""
    return job.steps_total or len(planning.job_batches(job)) * hires.batch_steps(job.options, job.steps)


def _loads_models(job: GenerationJob) -> bool:
    return job.backend == backends.DIFFUSERS  # the procedural painter has nothing to load


@dataclass(frozen=True)
class Speed:
    """A worker's (or a queue's) recent pace: seconds per step of a call whatever its size
    (``per_call_step``) plus seconds per megapixel-picture step (``per_unit``), seconds storing one
    picture, and each model's last load in seconds (newest first)."""

    per_unit: float
    per_picture: float
    loads: dict[str, float] = field(default_factory=dict)
    per_call_step: float = 0.0

    def painting(self, job: GenerationJob) -> float:
        """Seconds of the job's pipeline calls."""
        return self.per_call_step * call_steps(job) + self.per_unit * work(job)

    def finishing_share(self, job: GenerationJob) -> float:
        """A picture's decoding, checking and storing as a share of its whole time at this pace."""
        painting = self.painting(job) / max(job.images_total, job.count, 1)
        return self.per_picture / (painting + self.per_picture) if painting + self.per_picture > 0 else FINISHING_SHARE

    def load(self, model: str) -> float | None:
        """The model's last load here, else the newest load of any model; None: none seen."""
        return self.loads.get(model, next(iter(self.loads.values()), None))

    def whole(self, job: GenerationJob, *, with_load: bool) -> float | None:
        """Seconds for the whole job, its model's load first when ``with_load``."""
        load = self.load(job.model) if with_load else 0.0
        if load is None:
            return None
        return load + self.painting(job) + max(job.images_total, 1) * self.per_picture


# Two call sizes (megapixels per call) this far apart tell a call step's fixed part from its part
# per megapixel; closer, the fit would amplify timing noise.
DISTINCT_SIZES = 1.5
# Until then, a prior: a call step's fixed part costs what this many megapixels in the call cost (a
# UNet step's own overhead, kernel launches and the text conditioning; bench/estimates.py measures it).
PRIOR_FIXED_MEGAPIXELS = 0.05


def fit_pace(painted: list[tuple], *, prior: float = PRIOR_FIXED_MEGAPIXELS) -> tuple[float, float] | None:
    """(seconds per call step, seconds per megapixel-picture step) from the recent jobs' ``(call
    steps, megapixel-picture steps, painting seconds[, weight])``: least squares on relative errors
    (each call weighs alike, a long one does not drown the short ones; a gathered call's mates carry
    the call's whole work and weigh 1/mates each), neither part negative. One call size only: its
    pace split as if the fixed part cost ``prior`` megapixels (None: nothing to fit)."""
    rows = [(row[0], row[1], row[2], row[3] if len(row) > 3 else 1.0) for row in painted]
    rows = [row for row in rows if row[0] > 0 and row[1] > 0 and row[2] > 0 and row[3] > 0]
    if not rows:
        return None
    sizes = [units / steps for steps, units, _, _ in rows]
    # Weighted by weight/seconds²: each row as (steps/seconds, units/seconds) against 1.
    xs = [(steps / seconds, units / seconds, weight) for steps, units, seconds, weight in rows]
    only_units = sum(w * u for _, u, w in xs) / sum(w * u * u for _, u, w in xs)
    if max(sizes) < DISTINCT_SIZES * min(sizes):
        size = sum(w * s for s, (_, _, w) in zip(sizes, xs, strict=True)) / sum(w for _, _, w in xs)
        step = only_units * size  # seconds per call step at the one size seen
        return step * prior / (prior + size), step / (prior + size)
    s11, s22, s12 = (sum(w * a * a for a, _, w in xs), sum(w * b * b for _, b, w in xs), sum(w * a * b for a, b, w in xs))
    s1, s2 = sum(w * a for a, _, w in xs), sum(w * b for _, b, w in xs)
    det = s11 * s22 - s12 * s12
    fixed, per_unit = (s1 * s22 - s2 * s12) / det, (s2 * s11 - s1 * s12) / det
    if fixed < 0 or per_unit < 0:  # the best fit with one part at zero: whichever leaves less unexplained
        only_fixed = s1 / s11
        miss_units = sum(w * (1 - only_units * b) ** 2 for _, b, w in xs)
        miss_fixed = sum(w * (1 - only_fixed * a) ** 2 for a, _, w in xs)
        return (0.0, only_units) if miss_units <= miss_fixed else (only_fixed, 0.0)
    return fixed, per_unit


def _painted_row(job: GenerationJob) -> tuple[float, float, float, float]:
    """A succeeded job's (call steps, work, painting seconds, weight) for fit_pace: a gathered call's
    mate (``timings["gathered"]``: the jobs of its call) stands for the call's work, weighing 1/mates."""
    mates = max(int((job.timings or {}).get("gathered", 1) or 1), 1)
    return call_steps(job), work(job) * mates, float(job.timings["generate"]), 1.0 / mates


class Estimates:
    """Time-left estimates for the jobs of one answer (the admin's list polls up to 100 at once)."""

    def __init__(self, now: datetime | None = None, *, prior: float = PRIOR_FIXED_MEGAPIXELS) -> None:
        self.now = now or timezone.now()
        self.prior = prior  # fit_pace's, for one call size (bench/estimates.py compares it with none)
        self._speeds: dict[tuple[str, ...], Speed | None] = {}
        self._recent: dict[tuple[str, ...], list[GenerationJob]] = {}
        self._lines: dict[str, list[GenerationJob]] = {}
        self._held: dict[str, str] = {}

    def speed(self, job: GenerationJob) -> Speed | None:
        """The pace of the job's worker on the job's backend (its model's where it painted it); before a
        claim, or while that worker has no succeeded job yet, of its queue's workers."""
        own = self._pace(("worker", job.worker), job.backend, job.model) if job.worker else None
        return own or self._pace(("queue", job.queue), job.backend, job.model)

    def _pace(self, where: tuple[str, str], backend: str, model: str) -> Speed | None:
        """The recent pace of the job's model there, else of all its models (and each model's last load)."""
        key = (*where, backend)
        if key not in self._recent:
            recent = GenerationJob.objects.succeeded().filter(backend=backend, **{where[0]: where[1]})
            fields = ("model", "width", "height", "steps", "count", "images_total", "steps_total", "options", "timings")
            self._recent[key] = list(recent.order_by("-created_at").only(*fields)[:RECENT_JOBS])
        done = self._recent[key]
        if (*key, model) not in self._speeds:
            loads: dict[str, float] = {}
            for earlier in done:
                if (earlier.timings or {}).get("load"):  # newest first: the first seen of a model is its last load
                    loads.setdefault(earlier.model, float(earlier.timings["load"]))
            painted = [job for job in done if (job.timings or {}).get("generate")]
            own = [job for job in painted if job.model == model] or painted  # another model's pace only without its own
            fitted = fit_pace([_painted_row(job) for job in own], prior=self.prior)
            stored = sum(job.timings.get("store", 0.0) + job.timings.get("thumbnails", 0.0) for job in own)
            pictures = sum(max(job.images_total, 1) for job in own)
            self._speeds[(*key, model)] = Speed(fitted[1], stored / pictures, loads, fitted[0]) if fitted else None
        return self._speeds[(*key, model)]

    def line(self, queue: str) -> list[GenerationJob]:
        """The queue's unfinished jobs: running (by start), then queued in the order their queue
        positions count (generation.selectors.job_queue_position)."""
        if queue not in self._lines:
            unfinished = GenerationJob.objects.in_flight().filter(queue=queue)
            jobs = list(unfinished.only(*LINE_FIELDS).order_by())
            running = sorted((job for job in jobs if job.status == GenerationJob.Status.RUNNING), key=_started)
            queued = sorted((job for job in jobs if job.status == GenerationJob.Status.QUEUED), key=_in_line)
            self._lines[queue] = [*running, *queued]
        return self._lines[queue]

    def position(self, job: GenerationJob) -> int | None:
        """1 = the next job its queue will start; None when the job is not waiting (as
        job_queue_position counts, from the line this answer reads anyway)."""
        if job.status != GenerationJob.Status.QUEUED:
            return None
        return 1 + sum(other.status == GenerationJob.Status.QUEUED and _in_line(other) < _in_line(job) for other in self.line(job.queue))

    def _held_model(self, queue: str, line: list[GenerationJob]) -> str:
        """The model of the job last started on the queue: what its worker holds now."""
        running = [job for job in line if job.status == GenerationJob.Status.RUNNING]
        if running:
            return running[-1].model
        if queue not in self._held:
            last = GenerationJob.objects.filter(queue=queue, started_at__isnull=False).order_by("-started_at").only("model").first()
            self._held[queue] = last.model if last is not None else ""
        return self._held[queue]

    def left(self, job: GenerationJob) -> float | None:
        """Seconds a running job still needs, counted down from its last written progress."""
        speed = self.speed(job)
        if speed is None:
            return None
        if job.stage == GenerationJob.Stage.LOADING:
            load, whole = speed.load(job.model), speed.whole(job, with_load=False)
            if load is None or whole is None:
                return None
            return max(0.0, load - self._since(job.started_at)) + whole
        done = job.steps_done / job.steps_total if job.steps_total else 0.0
        rest = speed.painting(job) * (1.0 - done) + max(job.images_total - job.images_done, 0) * speed.per_picture
        return max(0.0, rest - self._since(job.progress_at or job.started_at))

    def share(self, job: GenerationJob) -> float:
        """The share of the job's time done (``share_done``) at its worker's recent pace."""
        speed = self.speed(job) if not job.is_finished else None
        return share_done(job, finishing=speed.finishing_share(job) if speed else FINISHING_SHARE)

    def missing(self, job: GenerationJob) -> str:
        """Why an unfinished job has no estimate, in words; "" when it has one (or is finished)."""
        if job.is_finished or self.seconds_left(job) is not None:
            return ""
        speed = self.speed(job)
        if speed is None:
            return gettext("First run on this model: no estimate yet")
        if job.status == GenerationJob.Status.RUNNING:
            return gettext("First load of a model here: no estimate yet")
        return gettext("No estimate yet: a job ahead of it is the first of its kind here")

    def seconds_left(self, job: GenerationJob) -> int | None:
        """Seconds until the job is done; None when finished or unknown."""
        if job.is_finished:
            return None
        if job.status == GenerationJob.Status.RUNNING:
            left = self.left(job)
            return None if left is None else round(left)
        return self._queued(job)

    def _queued(self, job: GenerationJob) -> int | None:
        line = self.line(job.queue)
        running = [other for other in line if other.status == GenerationJob.Status.RUNNING]
        before = [other for other in line if other.status == GenerationJob.Status.QUEUED and _in_line(other) < _in_line(job)]
        lefts = [self.left(other) for other in running]
        wholes = []
        model = None  # read only when a job of a backend that loads models asks
        for other in [*before, job]:  # each loads its model when the job before it painted another
            speed = self.speed(other)
            with_load = False
            if _loads_models(other):
                model = self._held_model(job.queue, line) if model is None else model
                with_load = other.model != model
            wholes.append(speed.whole(other, with_load=with_load) if speed else None)
            model = other.model
        if any(value is None for value in [*lefts, *wholes]):
            return None
        *ahead, own = (value or 0.0 for value in wholes)
        return round((sum(value or 0.0 for value in lefts) + sum(ahead)) / max(len(running), 1) + own)

    def _since(self, moment: datetime | None) -> float:
        return max(0.0, (self.now - moment).total_seconds()) if moment else 0.0


def _in_line(job: GenerationJob) -> tuple:
    return (job.created_at, str(job.id))


def _started(job: GenerationJob) -> datetime:
    return job.started_at or job.created_at


def estimate_seconds(job: GenerationJob, estimates: Estimates | None = None) -> int | None:
    """Seconds until the job is done (``Estimates.seconds_left``); None when finished or unknown."""
    return (estimates or Estimates()).seconds_left(job)
