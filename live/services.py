"""Asking for a live picture, cancelling it, and forgetting the visitor it was painted for.

A live picture is an ordinary generation job (``kind="images"``, one picture, square
GARDEN_LIVE_SIZE, ``live``) on GARDEN_LIVE_QUEUE, and a ``LiveRequest`` row of this app that
says who asked for it and from which key (docs/live.md). Its prompt is composed here from the curated template
(generation.requests.compose_prompt) and the gardener's word bank, never from what the visitor
sent. The limits (one job per visitor, GARDEN_LIVE_MAX_QUEUED, GARDEN_LIVE_DAILY_BUDGET) are
checked under one lock, so two kiosks asking at once cannot both pass a limit that fits one.
"""

from __future__ import annotations

import random

from django.conf import settings
from django.db import connection, transaction
from django.utils.translation import gettext

from config import chance
from config.errors import Conflict, Unavailable
from garden import keys
from gardener.prompts import mutate_prompt
from gardener.selectors import word_bank
from generation import backends, clip_tokens
from generation.models import GenerationJob
from generation.requests import DEFAULT_OTHERS, SEED_LIMIT, JobParameterError, JobRequest, compose_prompt
from generation.services.jobs import cancel_job, create_valid_job
from library import selectors as library
from live import selectors
from live.models import LiveRequest
from safety.selectors import live_pictures_withheld

# PostgreSQL advisory lock (transaction-scoped) held while a live job is checked and stored.
LIVE_LOCK_ID = 0x6C6976  # "liv"
# Draws of the word bank's mutation before a live prompt goes without one (each too long for a window).
MUTATION_TRIES = 4


class LiveUnavailable(Unavailable):
    """No live picture can be painted now (a 503 with Retry-After, and the reason as a code)."""

    expected = True  # a site without a live worker answers this to every visitor: not a server error

    def __init__(self, reason: str, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_after = retry_after

    def as_body(self) -> dict:
        return {"detail": self.message, "reason": self.reason}


class LiveWithheld(Conflict):
    """Every live picture painted now would be withheld (the image check is off): a 409 with the
    reason as a code, not a 503, since no part is down and asking again will not help."""

    expected = True  # a site set up this way answers it to every visitor: not a server error

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.reason = "image_check_off"

    def as_body(self) -> dict:
        return {"detail": self.message, "reason": self.reason}


def _off() -> LiveUnavailable:
    return LiveUnavailable("off", gettext("Live pictures are turned off on this site (docs/live.md, Settings)."), retry_after=3600)


def _no_live_model() -> LiveUnavailable:
    """What the operator must do, said to whoever reads the answer (the kiosk's console, curl)."""
    why = library.live_state().problem or gettext("No model of the library is marked for live pictures.")
    return LiveUnavailable("no_live_model", why, retry_after=300)


def _no_worker() -> LiveUnavailable:
    return LiveUnavailable(
        "no_worker",
        gettext("No worker is painting live pictures right now."),
        retry_after=max(1, round(settings.GARDEN_WORKER_PRESENCE_SECONDS)),
    )


def _queue_full() -> LiveUnavailable:
    return LiveUnavailable("queue_full", gettext("Too many live pictures are being painted; try again in a moment."), retry_after=2)


def _budget_spent() -> LiveUnavailable:
    return LiveUnavailable(
        "budget_spent", gettext("Today's live pictures are all painted; more tomorrow."), retry_after=selectors.seconds_to_tomorrow()
    )


def live_prompt(*, emotion: str, favorite: str, seed: int) -> str:
    """The curated template (the emotion, the favorite, the original's style words) with one or two
    words of the key's word bank, chosen by the job's seed, composed to fit one CLIP window
    (clip_tokens.WINDOW_TOKENS): every painter reads all of it and none is cut (a longer prompt
    would miss the live worker's lean call, and a Flux or SD 3 model's CLIP encoder reads 77 tokens
    only). So the template's last style words go when the template alone is too long, and a
    mutation that does not fit is drawn again (MUTATION_TRIES), else left out."""
    template = _fitting_template(emotion, favorite)
    words = word_bank(emotion, favorite)
    rng = random.Random(seed)
    for _ in range(MUTATION_TRIES if words else 0):
        mutation = mutate_prompt(template, words, rng, keep=(emotion, *favorite.split(",")))
        if mutation is None:
            break
        if clip_tokens.count(mutation.prompt) <= clip_tokens.WINDOW_TOKENS:
            return mutation.prompt
    return template


def _fitting_template(emotion: str, favorite: str) -> str:
    """compose_prompt's template, less its last style words while it is longer than one window."""
    style = [word.strip() for word in DEFAULT_OTHERS.split(",")]
    prompt = compose_prompt(emotion_text=emotion, favorite=favorite)
    while style and clip_tokens.count(prompt) > clip_tokens.WINDOW_TOKENS:
        style.pop()
        prompt = compose_prompt(emotion_text=emotion, favorite=favorite, others=", ".join(style))
    return prompt


def img2img_steps(steps: int, strength: float) -> int:
    """Steps such that ``steps × strength`` runs at least one (diffusers runs int(steps × strength))."""
    while steps * strength < 1:
        steps += 1
    return steps


def live_request(*, painter: selectors.Painter, search_key: str, source_id: int | None) -> JobRequest:
    emotion, favorite = keys.parse_search_key(search_key)
    seed = chance.randbelow(SEED_LIMIT)
    steps = painter.steps
    img2img = source_id is not None and painter.backend == backends.DIFFUSERS
    strength = settings.GARDEN_LIVE_STRENGTH
    if img2img:
        steps = img2img_steps(steps or settings.GARDEN_DEFAULT_STEPS, strength)
    return JobRequest(
        kind=GenerationJob.Kind.IMAGES,
        prompt=live_prompt(emotion=emotion, favorite=favorite, seed=seed),
        emotion=search_key,
        width=settings.GARDEN_LIVE_SIZE,
        height=settings.GARDEN_LIVE_SIZE,
        steps=steps,
        guidance=painter.guidance,
        seed=seed,
        count=1,
        backend=painter.backend,
        model=painter.model or None,
        # The procedural painter has no img2img: it paints the key afresh (the source is recorded).
        init_image=source_id if img2img else None,
        denoising_strength=strength if img2img else None,
    )


def request_live_picture(*, visitor_id: str, search_key: str, from_key: str = "") -> GenerationJob:
    """Queue one live picture for ``visitor_id``; their unfinished one, if any, is cancelled.

    Raises LiveUnavailable (503: off, no live model, no worker, queue full, budget spent),
    LiveWithheld (409: the picture would never be shown) or JobParameterError (400: an emotion or
    favorite kiosks do not paint, an unknown ``from``).
    """
    if not settings.GARDEN_LIVE_ENABLED:
        raise _off()
    withheld = live_pictures_withheld()
    if withheld:  # nothing is painted that nobody will see
        raise LiveWithheld(withheld)
    painter = selectors.live_painter()
    if painter is None:
        raise _no_live_model()
    source_id = None
    if from_key:
        source = selectors.source_image(from_key)
        if source is None:
            raise JobParameterError(fields={"from": gettext("No garden picture has the key %(key)s.") % {"key": from_key}})
        source_id = source.pk
    request = live_request(painter=painter, search_key=search_key, source_id=source_id)
    valid = request.validate()  # a 400 before anything is cancelled or counted
    if not selectors.live_worker_present():
        raise _no_worker()
    with transaction.atomic():
        _serialise()
        for previous in selectors.visitor_jobs_in_flight(visitor_id):
            cancel_job(job=previous)  # one live picture per visitor: the newest wins
        for abandoned in selectors.abandoned_jobs():
            cancel_job(job=abandoned)  # its kiosk reset long ago: it must not hold a place in the queue
        if selectors.in_flight_count() >= settings.GARDEN_LIVE_MAX_QUEUED:
            raise _queue_full()
        budget = settings.GARDEN_LIVE_DAILY_BUDGET
        if budget > 0 and selectors.used_today() >= budget:
            raise _budget_spent()
        job = create_valid_job(valid=valid, queue=settings.GARDEN_LIVE_QUEUE, live=True)
        LiveRequest.objects.create(
            job=job, visitor_id=visitor_id, search_key=keys.search_key(valid.emotion, valid.favorite), from_key=from_key
        )
        return job


def _serialise() -> None:
    """One live request at a time between its checks and its row (SQLite's IMMEDIATE transactions
    already serialise writers; PostgreSQL takes a transaction-scoped advisory lock)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LIVE_LOCK_ID])


def cancel_live_picture(*, job: GenerationJob) -> GenerationJob:
    """The visitor left: a queued job never starts, a running one stops at its next step. Idempotent."""
    if job.is_finished:
        return job
    return cancel_job(job=job)


def forget_live_requests(*, visitor_id: str | None) -> int:
    """Registered with garden.forgetting. A deletion request (``visitor_id``): the visitor's live
    requests are deleted, their unfinished jobs cancelled first. Retention (None): the visitor id of
    every finished job's request is cleared (the link is only needed while the job is in flight; the
    row, which then names nobody, keeps the job a live picture). The jobs and pictures
    stay: they were painted from an emotion and a favorite, not from the visitor. Rows changed."""
    if visitor_id is None:
        finished = LiveRequest.objects.filter(job__in=GenerationJob.objects.finished()).exclude(visitor_id="")
        return finished.update(visitor_id="")
    for job in selectors.visitor_jobs_in_flight(visitor_id):
        cancel_job(job=job)
    deleted, _ = LiveRequest.objects.filter(visitor_id=visitor_id).delete()
    return deleted
