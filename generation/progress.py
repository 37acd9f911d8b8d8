"""What a job's progress tells people: its stage and an estimate of the time left.

The stage: ``queued``; ``loading`` while its worker loads the model (the runner writes it, and
``painting`` with the first step); ``finishing`` once the last step is done (decoding, checking and
storing the pictures, which "100 %" alone would hide); then the job's final status.

The estimate: seconds per step per megapixel-picture of the worker's recent jobs (of any worker on
the job's queue before one claims it), times the work left, plus the recent storing time per picture.
``Speeds`` reads each worker's recent jobs once per answer (a job list asks once per worker).
"""

from __future__ import annotations

from django.utils.translation import gettext

from generation.backends import hires
from generation.models import GenerationJob

RECENT_JOBS = 20  # the worker's last jobs that make its speed


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
        return gettext("Painting")
    return str(GenerationJob.Status(now).label) if now in GenerationJob.Status.values else now


def work(job: GenerationJob) -> float:
    """Megapixel-picture steps of the whole job (a hires fix's second pass counted at the picture's size)."""
    megapixels = job.width * job.height / 1e6
    return hires.batch_steps(job.options, job.steps) * megapixels * max(job.images_total, job.count, 1)


class Speeds:
    """(seconds per megapixel-picture step, seconds storing one picture) of recent succeeded jobs,
    per worker (or queue), read once each."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], tuple[float, float] | None] = {}

    def of(self, job: GenerationJob) -> tuple[float, float] | None:
        key = ("worker", job.worker) if job.worker else ("queue", job.queue)
        if key not in self._known:
            recent = GenerationJob.objects.filter(status=GenerationJob.Status.SUCCEEDED, backend=job.backend, **{key[0]: key[1]})
            done = recent.order_by("-created_at").only("width", "height", "steps", "count", "images_total", "options", "timings")
            painted = stored = units = pictures = 0.0
            for earlier in done[:RECENT_JOBS]:
                timings = earlier.timings or {}
                if timings.get("generate"):
                    painted += timings["generate"]
                    stored += timings.get("store", 0.0) + timings.get("thumbnails", 0.0)
                    units += work(earlier)
                    pictures += max(earlier.images_total, 1)
            self._known[key] = (painted / units, stored / pictures) if units and pictures else None
        return self._known[key]


def estimate_seconds(job: GenerationJob, speeds: Speeds | None = None) -> int | None:
    """Seconds until the job is done at its worker's recent speed; None when finished or unknown."""
    if job.is_finished:
        return None
    speed = (speeds or Speeds()).of(job)
    if speed is None:
        return None
    per_unit, per_picture = speed
    left = 1.0 - (job.steps_done / job.steps_total if job.steps_total else 0.0)
    return round(work(job) * left * per_unit + max(job.images_total - job.images_done, 0) * per_picture)
