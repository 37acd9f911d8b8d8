"""The one wait for a job: the kiosk's long poll (live.selectors), A1111's ``txt2img``/``img2img``
(a1111.waits), the legacy ``/text2image`` and ``manage.py generate`` all wait here.

The wait reads the job, then sleeps until the job's next announcement (generation.changes: a live
job's start, every job's end and requeue) and reads it again: one read per change, not one every
fifth of a second. The watch begins before the first read, so a change committed right after that
read is not missed. An announcement lost (Redis away, a listener reconnecting) costs at most
``reread`` seconds: the row is read at least that often whatever is heard.

In the web server the whole wait is inside ``web_threads.waiting()``: the waiting request holds its
thread, but the server's pool runs another in its place, so waiters take no thread from the other
requests (outside the web server, a management command, it changes nothing).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from config import web_threads
from generation import changes
from generation.models import GenerationJob

REREAD_SECONDS = 2.0  # the longest a lost announcement delays an answer (a1111, /text2image)


def wait_for_job(
    job_id,
    *,
    seconds: float | None,
    reread: float | None = REREAD_SECONDS,
    first_change: bool = False,
    give_up: Callable[[GenerationJob], bool] | None = None,
    find: Callable[[], GenerationJob | None] | None = None,
    seen: Callable[[GenerationJob], None] | None = None,
) -> GenerationJob | None:
    """The job once it finishes, or ``seconds`` pass (None: no limit), read at each announcement of
    it and at least every ``reread`` seconds (None: only when announced, and once at the end).
    None when there is no such job.

    ``first_change``: return after the first announcement (the kiosk asks again itself);
    ``give_up(job)``: asked after each read, True ends the wait (A1111: no worker present);
    ``find()``: the first read (default: the job's row; the kiosk finds only live jobs);
    ``seen(job)``: told each read (`manage.py generate`'s progress bar).
    """
    deadline = None if seconds is None else time.monotonic() + seconds
    with changes.watching(job_id) as watch:
        job = find() if find is not None else GenerationJob.objects.filter(pk=job_id).first()  # after the watch began
        if job is None or job.is_finished:
            return job
        with web_threads.waiting():  # the web server runs another thread meanwhile
            while not job.is_finished and not (give_up is not None and give_up(job)):
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                heard = watch.wait(_bound(left, reread))
                job.refresh_from_db()
                if seen is not None:
                    seen(job)
                if heard and first_change:
                    break
    return job


def _bound(left: float | None, reread: float | None) -> float:
    """How long one sleep of the wait lasts: to the deadline or the next reread, whichever comes first."""
    bounds = [bound for bound in (left, reread) if bound is not None]
    return min(bounds) if bounds else REREAD_SECONDS
