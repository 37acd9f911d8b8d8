"""Finishing one gathered call's pictures: each rendered as every generated picture is (safety
check, watermark, JPEG with its metadata and provenance), then, in ONE transaction for the call,
each file and row with its verdict and its job's success (generation.worker.attempt.Attempt.succeed:
a savepoint per picture), announced once the transaction commits.

It runs wherever the call's run puts it (generation.worker.finishing_processes: a finishing process, or
inline), so it takes and returns plain picklable values: each job's ``Outcome``. Requeueing and
re-sending are left to the run that claimed the jobs (generation.worker.gathered_run). A job
succeeds only in the transaction that stores its picture with its verdict: no picture is shown
unchecked.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, transaction

from garden.services import StorageError
from generation.backends import TransientBackendError
from generation.models import GenerationJob
from generation.planning import ImageSpec
from generation.worker.attempt import Attempt
from generation.worker.rendered import Rendered
from generation.worker.storing import render_generated_image, save_rendered_image, stored_image
from generation.worker.toolbox import error_text, make_thumbnail

log = logging.getLogger(__name__)

TRANSIENT = (TransientBackendError, StorageError, DatabaseError)
STORED, TRANSIENT_FAILURE, FAILED = "stored", "transient", "failed"


@dataclass
class Item:
    """One picture of a call and the job it was painted for."""

    job: GenerationJob
    spec: ImageSpec
    picture: Any  # a PIL image; None when ``rendered`` (bytes and verdict made on the card)
    flag: bool | None  # the model's own checker, if it ships one (recorded only)
    rendered: Rendered | None = None


@dataclass(frozen=True)
class Outcome:
    job_id: Any
    kind: str  # STORED, TRANSIENT_FAILURE or FAILED
    error: str = ""


def finish_call(items: list[Item], description: dict, timings: dict) -> list[Outcome]:
    """Store one call's pictures and finish their jobs; each job's outcome. Rendering (the CPU work)
    comes first, outside the transaction, so the transaction holds only the files and rows."""
    outcomes: dict = {}
    ready = []
    for item in items:
        started = time.perf_counter()
        try:
            rendered = _render(item, description)
        except Exception as exc:
            outcomes[item.job.pk] = _failure(item.job, exc)
        else:
            ready.append((item, rendered, time.perf_counter() - started))
    try:
        with transaction.atomic():
            for item, rendered, spent in ready:
                outcomes[item.job.pk] = _save(item, rendered, description, timings, spent)
    except TRANSIENT as exc:  # the call's transaction did not commit: none of its rows are stored
        log.warning("gathered call of %d: its transaction failed: %s", len(items), exc)
        for item, _rendered, _spent in ready:
            outcomes[item.job.pk] = Outcome(item.job.pk, TRANSIENT_FAILURE, f"{type(exc).__name__}: {exc}")
    return [outcomes[item.job.pk] for item in items]


def _render(item: Item, description: dict) -> Rendered | None:
    """The picture rendered; None when an earlier attempt stored it already."""
    if stored_image(job=item.job, spec=item.spec) is not None:
        return None
    if item.rendered is not None:  # finished on the card: its EXIF/XMP are spliced in when it is saved
        return item.rendered
    job = item.job
    return render_generated_image(
        job=job, spec=item.spec, picture=item.picture, description=description, diffusers_nsfw=item.flag, quick=job.live
    )


def _failure(job: GenerationJob, exc: Exception) -> Outcome:
    if isinstance(exc, TRANSIENT):
        return Outcome(job.pk, TRANSIENT_FAILURE, f"{type(exc).__name__}: {exc}")
    log.exception("generation job %s: its picture could not be stored", job.pk)
    return Outcome(job.pk, FAILED, error_text(exc))


def _save(item: Item, rendered: Rendered | None, description: dict, timings: dict, spent: float) -> Outcome:
    job, started = item.job, time.perf_counter()
    try:
        with transaction.atomic():  # a savepoint: one picture's failure leaves the others' rows
            if rendered is None:
                image = stored_image(job=job, spec=item.spec)
                if image is None:  # removed since it was found: the retry paints it again
                    raise DatabaseError("its picture, stored by an earlier attempt, was removed meanwhile")
            else:
                image = save_rendered_image(job=job, spec=item.spec, rendered=rendered, description=description)
                if not job.live:  # as the ordinary path: the review pages never show a picture without one
                    make_thumbnail(image=image, content=rendered.content if not rendered.bare else None)
            job.images.add(image)
            counted = job.images.count()  # counted, not incremented: a retried store is not off by one
            seconds = dict(job.timings or {})
            seconds["load"] = round(timings.get("load", 0.0), 3)
            for name, value in (("generate", timings.get("generate", 0.0)), ("store", spent + time.perf_counter() - started)):
                seconds[name] = round(seconds.get(name, 0.0) + value, 3)
            Attempt([job]).succeed(timings=seconds, counted=counted)
    except Exception as exc:
        return _failure(job, exc)
    return Outcome(job.pk, STORED)
