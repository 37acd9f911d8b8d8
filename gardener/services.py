"""The gardener's writes: carry out a plan, and undo any of its actions.

Every automatic change is one GardenerAction row written in the same place as the change, so the
log is complete whichever door (beat task, command) ran the gardener. Images move through
garden.services (promote_image / demote_image), the same functions curation's buttons use.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field, replace
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import translation

from config import caches, chance, clock
from config.errors import Conflict, DomainError
from garden import services as garden_services
from garden.keys import search_key
from garden.models import Image
from gardener import reasons, selectors, trials
from gardener.bred_jobs import bred_requests
from gardener.models import GardenerAction, GardenerPolicy, PromotionMode
from gardener.planning import SURPLUS, KeyPlan, Plan, make_plan
from generation import backends
from generation import services as generation_services
from generation.models import GenerationJob
from generation.requests import JobParameterError, JobRequest

log = logging.getLogger(__name__)

RETIRE_REASON, SURPLUS_REASON, STALLED_REASON = reasons.RETIRED, reasons.RETIRED_SURPLUS, reasons.RETIRED_STALLED
WEAK_TRIAL_REASON = reasons.RETIRED_WEAK_TRIAL
Kind = GardenerAction.Kind


LOCK_KEY = "gardener:tend"
LOCK_SECONDS = 600  # longer than any run; released at the end of each
_lock = caches.shared(
    owner=__name__,
    name="_lock",
    prefix=LOCK_KEY,
    ttl=LOCK_SECONDS,
    kind=caches.LOCK,
    key="one key: held while a run tends the garden",
    fresh="deleted by the run that holds it",
)


class Busy(Conflict):
    """Another gardener run is going on."""


class NotUndoable(Conflict):
    """This action cannot be undone (already undone, an undo itself, or its object moved on)."""


@dataclass
class RunResult:
    plan: Plan
    actions: dict[str, int] = field(default_factory=dict)
    left_demo: bool = False  # the demo's trusted mode turned to review before this run (leave_demo)

    def count(self, kind: str) -> None:
        self.actions[kind] = self.actions.get(kind, 0) + 1

    def summary(self) -> str:
        left = "a real model is configured: the demo's trusted mode is now review (pictures wait for a curator); " if self.left_demo else ""
        if not self.plan.enabled:
            return left + "gardener off"
        return left + (", ".join(f"{kind} {n}" for kind, n in sorted(self.actions.items())) or "nothing to do")


def tend(*, dry_run: bool = False, now: datetime | None = None, seed: int | None = None) -> RunResult:
    """Plan one run and, unless ``dry_run``, carry it out. Nothing at all happens while it is off.

    ``seed`` makes breeding's draws repeatable (tests, the simulation bench); by default they are not.
    """
    if dry_run:
        return RunResult(plan=make_plan(now))
    # Two runs at once (beat and a command) would both see the same thin key and both fill it.
    if not _lock.add(LOCK_KEY, "1"):
        raise Busy()
    try:
        left_demo = leave_demo()  # before the plan: the demo's trusted mode must not promote a real model's pictures
        plan = make_plan(now)
        result = RunResult(plan=plan, left_demo=left_demo)
        if not plan.enabled:
            return result
        _harvest(plan, result)
        for key_plan in plan.keys:
            _retire(key_plan, result)
        rng = random.Random(seed) if seed is not None else chance.rng()
        for key_plan in plan.keys:
            _start_jobs(key_plan, result, rng)
        _log_skipped(plan, result, now)
        return result
    finally:
        _lock.delete(LOCK_KEY)


def _log(kind: str, result: RunResult | None = None, **fields) -> GardenerAction:
    action = GardenerAction.objects.create(kind=kind, created_at=clock.now(), **fields)
    if result is not None:
        result.count(kind)
    return action


def _harvest(plan: Plan, result: RunResult) -> None:
    """Log each finished gardener job's images as added; in trusted mode, promote them."""
    promote = set(plan.promote)
    for job in GenerationJob.objects.filter(pk__in=plan.harvest).prefetch_related("images"):
        images = list(job.images.all())
        key = search_key(job.emotion, job.favorite)
        details = {"images": [i.pk for i in images]}
        reason = reasons.JOB_FINISHED
        if held := [i.pk for i in images if i.pk in plan.held]:
            details["held"] = held
            reason = reasons.JOB_FINISHED_HELD % {"held": len(held)}
        _log(Kind.ADDED, result, job=job, search_key=key, reason=reason, details=details)
        for image in images:
            if image.pk not in promote or not image.cleared:  # never a quarantined or unchecked one
                continue
            try:
                garden_services.promote_image(image=image)
            except Exception:  # a storage failure on one image must not stop the run; it stays in the pool
                log.warning("gardener: could not promote %s", image.key, exc_info=True)
                continue
            _log(Kind.PROMOTED, result, image=image, job=job, search_key=key, reason=reasons.PROMOTED_TRUSTED)


def _retire(key_plan: KeyPlan, result: RunResult) -> None:
    ids = [r.image_id for r in key_plan.retire] + [r.twin_id for r in key_plan.retire if r.twin_id is not None]
    images = {i.pk: i for i in Image.objects.serving().with_ids(ids)}
    for retirement in key_plan.retire:
        image = images.get(retirement.image_id)
        if image is None:  # moved by a curator since the plan was made
            continue
        details = {"verdicts": [v.as_json() for v in retirement.verdicts.values()], "rule": retirement.rule, **retirement.evidence}
        reason = SURPLUS_REASON if retirement.rule == SURPLUS else RETIRE_REASON
        if "stalled" in retirement.evidence:
            reason = WEAK_TRIAL_REASON if retirement.evidence.get("trial_rule") == trials.BELOW_MEDIAN else STALLED_REASON
        if not _retire_one(image, key_plan, result, details, reason):
            continue
        twin = images.get(retirement.twin_id) if retirement.twin_id is not None else None
        if twin is not None:
            _retire_one(twin, key_plan, result, details | {"twin_of": image.pk}, reason)


def _retire_one(image: Image, key_plan: KeyPlan, result: RunResult, details: dict, reason: str) -> bool:
    try:
        garden_services.demote_image(image=image)
    except Exception:
        log.warning("gardener: could not retire %s", image.key, exc_info=True)
        return False
    _log(Kind.RETIRED, result, image=image, search_key=key_plan.search_key, reason=reason, details=details)
    return True


def _start_jobs(key_plan: KeyPlan, result: RunResult, rng: random.Random) -> None:
    base = {"serving": key_plan.serving, "target": key_plan.target}
    jobs_base = JobRequest(kind=GenerationJob.Kind.BULK, emotion=key_plan.emotion, favorite=key_plan.favorite)
    jobs: list[tuple[JobRequest, str, dict]] = [(replace(jobs_base, count=pairs), Kind.PLANNED, {}) for pairs in key_plan.jobs]
    bred = bred_requests(key_plan, rng)
    if bred is None:  # the parents went since the plan (a curator moved them, a recipe unreadable): fresh ones
        bred = []
        jobs += [(replace(jobs_base, count=pairs), Kind.PLANNED, {}) for pairs in key_plan.bred]
    jobs += [(request, Kind.BRED, details) for request, details in bred]
    for request, kind, details in jobs:
        reason = reasons.BELOW_TARGET_BRED if kind == Kind.BRED else reasons.BELOW_TARGET
        if kind == Kind.BRED and key_plan.only_trials:
            reason = reasons.TRIAL_BRED
        details = {"images": 2 * request.count, **base, **details}
        try:
            with transaction.atomic():
                job = start_job(request)
                _log(kind, result, job=job, search_key=key_plan.search_key, reason=reason, details=details | {"queue": job.queue})
        except JobParameterError as exc:  # e.g. screening refused a bred prompt (a blocked term): logged, the others still run
            log.warning("gardener: job refused for %s: %s", key_plan.search_key, exc)
            _log(Kind.REFUSED, result, search_key=key_plan.search_key, reason=_refusal(exc), details=details | {"fields": exc.fields})
        except DomainError as exc:  # a refused request (a setting changed under it): the other keys still fill
            log.warning("gardener: no job for %s: %s", key_plan.search_key, exc)
            result.count("job refused")


def _refusal(exc: JobParameterError) -> str:
    limit = GardenerAction._meta.get_field("reason").max_length
    return (reasons.JOB_REFUSED % {"message": exc.message})[:limit]


def start_job(request: JobRequest) -> GenerationJob:
    """A background job (below staff and kiosk jobs on Redis, generation.dispatch.enqueue), on
    GARDEN_GARDENER_QUEUE when that is set (a queue its workers drain beside the others), else on
    the job's normal queue. Sent once the caller's transaction commits."""
    return generation_services.create_job(request=request, background=True, queue=settings.GARDEN_GARDENER_QUEUE)


def _log_skipped(plan: Plan, result: RunResult, now: datetime | None) -> None:
    """One entry per change in what was skipped today, not one per run (beat runs every few minutes)."""
    skipped = plan.skipped_keys
    if not skipped or selectors.last_skipped_keys(now) == skipped:
        return
    wanted = {k.search_key: k.skipped for k in plan.keys if k.skipped}
    reason = reasons.LIMITED % {"limit": plan.limited_by, "keys": len(skipped)}
    _log(Kind.SKIPPED_BUDGET, result, reason=reason, details={"keys": skipped, "images": wanted})


# --- Undo (the admin's "Undo" action) ---------------------------------------------------------------


def undo(*, action: GardenerAction, user=None) -> GardenerAction:
    """Reverse one action and log the undo; NotUndoable (a 409 / an admin message) when it cannot be.

    retired → promoted back; promoted → demoted; planned → its job cancelled if it has not started;
    added → its images still in the pool rejected (restorable from the rejected list).
    """
    with transaction.atomic():
        action = GardenerAction.objects.select_for_update().get(pk=action.pk)
        if action.undone_at is not None:
            raise NotUndoable(f"Already undone on {action.undone_at:%Y-%m-%d %H:%M}.")
        detail = _reverse(action)
        action.undone_at, action.undone_by = clock.now(), user if getattr(user, "is_authenticated", False) else None
        action.save(update_fields=["undone_at", "undone_by"])
        return _log(
            Kind.UNDONE,
            image=action.image,
            job=action.job,
            search_key=action.search_key,
            reason=undid(action),
            details={"detail": detail, "by": getattr(user, "username", "")},
            undoes=action,
        )


def undid(action: GardenerAction) -> str:
    """The undo's reason, in English whoever clicked (the admin words it in its reader's language)."""
    with translation.override("en"):
        return reasons.UNDID % {"kind": action.get_kind_display()}


def _reverse(action: GardenerAction) -> str:
    image, job = action.image, action.job
    if action.kind == Kind.RETIRED:
        if image is None or image.status != Image.Status.POOL:
            raise NotUndoable("The retired image is no longer in the pool (a curator moved or purged it).")
        garden_services.promote_image(image=image)
        return "promoted back to serving"
    if action.kind == Kind.PROMOTED:
        if image is None or image.status != Image.Status.SERVING:
            raise NotUndoable("The promoted image is no longer serving.")
        garden_services.demote_image(image=image)
        return "demoted to the pool"
    if action.kind in (Kind.PLANNED, Kind.BRED):
        if job is None or job.status != GenerationJob.Status.QUEUED:
            raise NotUndoable("The job has already started or finished: cancel or reject its images by hand.")
        generation_services.cancel_job(job=job)
        return "job cancelled"
    if action.kind == Kind.ADDED:
        rejected = 0
        for added in Image.objects.pool().with_ids(action.details.get("images", [])):
            garden_services.reject_image(image=added)
            rejected += 1
        return f"rejected {rejected} pool image(s)"
    raise NotUndoable(f"A '{action.get_kind_display()}' entry has nothing to undo.")


def enable_for_demo() -> bool:
    """The demo (``make run``): on an install whose policy row does not exist yet, turn the gardener
    on with the default trial pairs: in trusted mode while the procedural painter paints (the demo's garden
    fills itself), in review mode with a real model (leave_demo). A policy that exists (on or off)
    is left as it is, so a curator who turned it off keeps it off. True when it was turned on."""
    mode = PromotionMode.TRUSTED if settings.GARDEN_GENERATOR_BACKEND == backends.PROCEDURAL else PromotionMode.REVIEW
    _, created = GardenerPolicy.objects.get_or_create(
        pk=selectors.GLOBAL_POLICY_PK, defaults={"enabled": True, "promotion_mode": mode, "set_by_demo": True}
    )
    return created


def leave_demo() -> bool:
    """A real model is configured (GARDEN_GENERATOR_BACKEND is not procedural): the demo's trusted
    gardener turns to review mode, so that what it paints with that model waits for a curator instead
    of reaching the kiosks unseen (docs/gardener.md#the-demos-gardener). A policy a curator saved is
    theirs and left alone. True when it changed."""
    if settings.GARDEN_GENERATOR_BACKEND == backends.PROCEDURAL:
        return False
    demo = GardenerPolicy.objects.filter(pk=selectors.GLOBAL_POLICY_PK, set_by_demo=True)
    changed = demo.filter(promotion_mode=PromotionMode.TRUSTED).update(promotion_mode=PromotionMode.REVIEW, updated_at=clock.now())
    demo.update(set_by_demo=False)
    return bool(changed)


def enable(*, mode: str) -> None:
    """Turn the global policy on in ``mode`` (the demo setup: ``tend_garden --enable trusted``)."""
    policy = selectors.global_policy()
    policy.enabled, policy.promotion_mode = True, mode
    policy.full_clean()
    policy.save()
