"""Reads for the gardener: the effective policy, the keys it tends, counts, stats and budget use."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time
from itertools import product

from django.conf import settings
from django.db.models import Count, Q, QuerySet

from config import clock
from garden import keys
from garden.models import Image
from garden.queries import serving_through
from gardener import surrogate
from gardener.breeding import MIN_CANDIDATES, Candidate
from gardener.models import EmotionPolicy, GardenerAction, GardenerPolicy, WordBank
from gardener.retirement import Counts
from gardener.trials import Trial
from generation import backends
from generation.backends import recipes
from generation.models import GenerationJob
from generation.querysets import GenerationJobQuerySet
from generation.requests import LORA_FAMILIES
from library import selectors as library
from recommend.models import ImageStat, Recommendation
from recommend.ranking import SEGMENT_ALL

GLOBAL_POLICY_PK = 1
# The kiosk's favorites, from the one definition garden.keys holds (the kiosk picker offers exactly
# these, and insights' coverage grid enumerates the same): "" (Any) and every season × weather × time.
KIOSK_FAVORITES: tuple[str, ...] = ("", *(",".join(parts) for parts in product(*(words for _, words in keys.FAVORITE_PARTS))))
# Counts of serving images: segment → (emotion, favorite) → image id → counts.
Stats = dict[str, dict[tuple[str, str], dict[int, Counts]]]


@dataclass(frozen=True)
class KeyPolicy:
    """The policy for one emotion's keys: the global values with that emotion's overrides applied."""

    emotion: str
    enabled: bool
    target: int
    minimum: int
    promotion_mode: str
    retire_min_impressions: int
    retire_probability: float


def global_policy() -> GardenerPolicy:
    policy, _ = GardenerPolicy.objects.get_or_create(pk=GLOBAL_POLICY_PK)
    return policy


def key_policies(policy: GardenerPolicy | None = None) -> dict[str, KeyPolicy]:
    """One KeyPolicy per emotion (two queries)."""
    policy = policy or global_policy()
    overrides = {row.emotion: row for row in EmotionPolicy.objects.all()}
    result = {}
    for emotion in keys.EMOTIONS:
        o = overrides.get(emotion)

        def pick(name: str, o=o):
            value = getattr(o, name) if o is not None else None
            return getattr(policy, name) if value is None or value == "" else value

        target = pick("target_per_key")
        result[emotion] = KeyPolicy(
            emotion=emotion,
            enabled=bool(pick("enabled")),
            target=target,
            minimum=min(pick("minimum_per_key"), target),
            promotion_mode=pick("promotion_mode"),
            retire_min_impressions=pick("retire_min_impressions"),
            retire_probability=float(pick("retire_probability")),
        )
    return result


def kiosk_keys() -> list[tuple[str, str]]:
    """Every (emotion, favorite) a kiosk can ask for, or only GARDEN_GARDENER_FAVORITES' favorites."""
    favorites = (
        [f for f in KIOSK_FAVORITES if f in settings.GARDEN_GARDENER_FAVORITES] if settings.GARDEN_GARDENER_FAVORITES else KIOSK_FAVORITES
    )
    return [(emotion, favorite) for emotion in keys.EMOTIONS for favorite in favorites]


def serving_counts() -> dict[tuple[str, str], int]:
    rows = Image.objects.serving().order_by().values_list("emotion", "favorite").annotate(n=Count("id"))
    return {(e, f): n for e, f, n in rows}


def in_flight_counts() -> dict[tuple[str, str], int]:
    """Images still to be made by queued or running text-to-image jobs (anyone's; not edits), per key."""
    result: dict[tuple[str, str], int] = defaultdict(int)
    jobs = GenerationJob.objects.in_flight().filter(kind__in=GenerationJob.Kind.values)
    for emotion, favorite, total, done in jobs.values_list("emotion", "favorite", "images_total", "images_done"):
        result[(emotion, favorite)] += max(0, total - done)
    return dict(result)


def key_counts_of(image_ids: list[int]) -> dict[tuple[str, str], int]:
    rows = Image.objects.with_ids(image_ids).order_by().values_list("emotion", "favorite").annotate(n=Count("id"))
    return {(e, f): n for e, f, n in rows}


def pending_counts(*, exclude_ids: Sequence[int] = ()) -> dict[tuple[str, str], int]:
    """Images on their way into a key: still being made by any image job, or made by the gardener
    and waiting in the pool (for a curator in review mode). Retired images in the pool are not on
    their way back, and ``exclude_ids`` (this run's promotions) are counted as serving instead."""
    result: dict[tuple[str, str], int] = defaultdict(int, in_flight_counts())
    waiting = (
        Image.objects.pool()
        .filter(generation_jobs__in=gardener_jobs())
        .exclude(gardener_actions__kind=GardenerAction.Kind.RETIRED)
        .exclude(pk__in=list(exclude_ids))
        .order_by()
        .values_list("emotion", "favorite")
        .annotate(n=Count("id", distinct=True))
    )
    for emotion, favorite, n in waiting:
        result[(emotion, favorite)] += n
    return dict(result)


def backlog_size() -> int:
    """The pool now plus every image still to be made: what the backlog limit bounds.

    Images the gardener retired are not counted: they wait for nobody (in trusted mode no curator
    looks at the pool), and counting them would let retirements alone stop the filling for good.
    """
    pool = Image.objects.pool().exclude(gardener_actions__kind=GardenerAction.Kind.RETIRED)
    return pool.count() + sum(in_flight_counts().values())


def day_start(now: datetime | None = None) -> datetime:
    """Midnight UTC of today: the daily budget's day."""
    now = clock.now() if now is None else now
    return datetime.combine(now.astimezone(UTC).date(), time.min, tzinfo=UTC)


JOB_KINDS = (GardenerAction.Kind.PLANNED, GardenerAction.Kind.BRED)


def gardener_jobs() -> GenerationJobQuerySet:
    """Jobs the gardener started (a "planned" or "bred" action names them)."""
    return GenerationJob.objects.filter(gardener_actions__kind__in=JOB_KINDS).distinct()


@dataclass(frozen=True)
class BudgetUse:
    images: int
    gpu_minutes: float


def budget_used_today(now: datetime | None = None) -> BudgetUse:
    """Images of today's gardener jobs (made, or still to be made) and their diffusers GPU minutes.

    A cancelled or failed job counts only the images it made. GPU minutes come from the finished
    jobs' timings (load + generate seconds); a job still running has no timings yet.
    """
    images, seconds = 0, 0.0
    jobs = gardener_jobs().filter(created_at__gte=day_start(now))
    for job in jobs.only("status", "images_total", "images_done", "backend", "timings"):
        images += job.images_done if job.status in GenerationJob.FINISHED else job.images_total
        if job.backend == backends.DIFFUSERS and isinstance(job.timings, dict):
            seconds += float(job.timings.get("load", 0.0)) + float(job.timings.get("generate", 0.0))
    return BudgetUse(images=images, gpu_minutes=seconds / 60.0)


def unharvested_jobs() -> GenerationJobQuerySet:
    """Gardener jobs that succeeded and whose images have not been logged as added yet."""
    harvested = GardenerAction.objects.filter(kind=GardenerAction.Kind.ADDED, job__isnull=False).values("job_id")
    return gardener_jobs().succeeded().exclude(pk__in=harvested).order_by("created_at")


def serving_stats() -> Stats:
    """Counts of serving images per segment → key → image id, for segments where anything was seen.

    Only rows with at least one impression are read: an unseen image has nothing to say.
    """
    rows = (
        ImageStat.objects.filter(serving_through("image"), impressions__gt=0)
        .order_by()
        .values_list("segment", "image_id", "image__emotion", "image__favorite", "impressions", "likes", "dislikes")
    )
    result: dict[str, dict[tuple[str, str], dict[int, Counts]]] = defaultdict(lambda: defaultdict(dict))
    for segment, image_id, emotion, favorite, impressions, likes, dislikes in rows.iterator():
        result[segment][(emotion, favorite)][image_id] = Counts.of(impressions=impressions, likes=likes, dislikes=dislikes)
    return result


def trials(policies: dict[str, KeyPolicy]) -> list[Trial]:
    """Serving bred pictures that visitors have not judged yet (fewer than the policy's impressions
    among everyone, the picture and its twin together), one per pair, with the pair's counts among
    everyone and the screens of its key since its promotion (gardener.trials)."""
    bred = list(Image.objects.serving().bred().values_list("id", "emotion", "favorite", "promoted_at"))
    ids = [row[0] for row in bred]
    twins = serving_twins(ids)
    rows = ImageStat.objects.filter(segment=SEGMENT_ALL, image_id__in=[*ids, *twins.values()])
    columns = ("image_id", "impressions", "likes", "dislikes")
    counts = {i: Counts.of(impressions=n, likes=likes, dislikes=d) for i, n, likes, d in rows.values_list(*columns)}
    unjudged = []
    for image_id, emotion, favorite, promoted_at in bred:
        twin = twins.get(image_id)
        if twin is not None and twin < image_id:  # the pair was counted at its twin
            continue
        mine, theirs = counts.get(image_id, Counts(0, 0)), counts.get(twin, Counts(0, 0)) if twin is not None else Counts(0, 0)
        pair = Counts(mine.impressions + theirs.impressions, mine.likes + theirs.likes)
        if pair.impressions < policies[emotion].retire_min_impressions:
            unjudged.append(Trial(image_id, emotion, favorite, promoted_at, pair))
    return _with_screens(unjudged)


def _with_screens(unjudged: list[Trial], batch: int = 200) -> list[Trial]:
    """Each trial with the /garden answers for its key since its promotion: one counting query per
    ``batch`` trials (a filtered count each), over the rows since the oldest promotion among them."""
    dated = [t for t in unjudged if t.promoted_at is not None]
    screens: dict[int, int] = {}
    for start in range(0, len(dated), batch):
        chunk = dated[start : start + batch]
        since = {t.image_id: (keys.search_key(t.emotion, t.favorite), t.promoted_at) for t in chunk if t.promoted_at is not None}
        counted = Recommendation.objects.filter(
            created_at__gte=min(at for _, at in since.values()), search_key__in={k for k, _ in since.values()}
        ).aggregate(**{f"t{i}": Count("id", filter=Q(search_key=k, created_at__gte=at)) for i, (k, at) in since.items()})
        screens.update((i, counted[f"t{i}"] or 0) for i in since)
    return [replace(t, screens=screens.get(t.image_id, 0)) for t in unjudged]


def spared_images() -> set[int]:
    """Images whose retirement a curator undid: the curator's word stands, the rule leaves them be."""
    undone = GardenerAction.objects.filter(kind=GardenerAction.Kind.RETIRED, undone_at__isnull=False, image__isnull=False)
    return set(undone.values_list("image_id", flat=True))


def keys_paused_today(now: datetime | None = None) -> set[str]:
    """Search keys whose gardener job or added images a curator undid today: not filled again
    until the next UTC day (else the next run, minutes later, would plan the same job again)."""
    kinds = [*JOB_KINDS, GardenerAction.Kind.ADDED]
    undone = GardenerAction.objects.filter(kind__in=kinds, undone_at__gte=day_start(now))
    return set(undone.values_list("search_key", flat=True))


def last_skipped_keys(now: datetime | None = None) -> list[str] | None:
    """The keys of today's latest "skipped for budget" entry (to avoid logging the same one every run)."""
    row = GardenerAction.objects.filter(kind=GardenerAction.Kind.SKIPPED_BUDGET, created_at__gte=day_start(now)).first()
    return None if row is None else list(row.details.get("keys", []))


def any_enabled(policies: dict[str, KeyPolicy]) -> bool:
    return any(p.enabled for p in policies.values())


def _parents(generator: str):
    """Serving pictures that can be parents on ``generator``: diffusers ones need their seed.
    Never a quarantined one (the constraint keeps them from serving; this keeps it so here too)."""
    images = Image.objects.serving().made_by(generator).not_quarantined()
    return images.filter(seed__isnull=False) if generator == backends.DIFFUSERS else images


def breeding_candidates(emotion: str, favorite: str, generator: str = backends.PROCEDURAL) -> list[Candidate]:
    """The key's serving pictures of ``generator`` as parents, with their counts among everyone
    (segment "*") and their generation. Procedural ones carry their recipe (stored, or derived from
    emotion, favorite and seed for pictures painted before recipes were stored); diffusers ones none.

    Procedural keys with parents enough also get the key's pictures that no longer serve (retired,
    rejected) but that visitors saw, the newest surrogate.MAX_HISTORY of them, as ``serving=False``
    candidates: never parents, but their likes teach the surrogate which children to breed."""
    images = _parents(generator).filter(emotion=emotion, favorite=favorite)
    candidates = _candidates(images, emotion, favorite, generator)
    if generator == backends.PROCEDURAL and len(candidates) >= MIN_CANDIDATES:
        seen = ImageStat.objects.filter(segment=SEGMENT_ALL, impressions__gt=0).values("image_id")
        gone = (
            Image.objects.made_by(generator)
            .filter(emotion=emotion, favorite=favorite, pk__in=seen)
            .not_serving()
            .not_quarantined()
            .order_by("-id")
            .values_list("id", flat=True)[: surrogate.MAX_HISTORY]
        )
        history = _candidates(Image.objects.with_ids(list(gone)), emotion, favorite, generator)
        candidates += [replace(c, serving=False) for c in history]
    return candidates


def _candidates(images: QuerySet[Image], emotion: str, favorite: str, generator: str) -> list[Candidate]:
    stats = {
        image_id: Counts.of(impressions=impressions, likes=likes, dislikes=dislikes)
        for image_id, impressions, likes, dislikes in ImageStat.objects.filter(segment=SEGMENT_ALL, image__in=images).values_list(
            "image_id", "impressions", "likes", "dislikes"
        )
    }
    candidates = []
    for image_id, seed, parameters in images.order_by("id").values_list("id", "seed", "parameters"):
        parameters = parameters if isinstance(parameters, dict) else {}
        recipe = None
        if generator == backends.PROCEDURAL:
            try:
                stored = parameters.get("recipe")
                recipe = recipes.Recipe.from_dict(stored) if stored else recipes.recipe_for(emotion, favorite, seed or 0)
            except ValueError:  # a recipe from an older painter, or an emotion it does not know: not a parent
                continue
        counts = stats.get(image_id, Counts(0, 0))
        generation = int((parameters.get("lineage") or {}).get("generation", 0))
        candidates.append(Candidate(image_id, recipe, counts.impressions, counts.likes, generation))
    return candidates


def breedable_keys(generator: str = backends.PROCEDURAL) -> set[tuple[str, str]]:
    """Keys with enough serving pictures of ``generator`` to breed from (breeding.MIN_CANDIDATES)."""
    rows = _parents(generator).order_by().values_list("emotion", "favorite").annotate(n=Count("id"))
    return {(e, f) for e, f, n in rows if n >= MIN_CANDIDATES}


@dataclass(frozen=True)
class ParentPicture:
    """What a variation of a diffusers picture repeats: its prompt, seed, size and sampling, and its
    job's model and LoRAs."""

    image: Image
    model: str
    loras: tuple[tuple[str, float], ...]
    options: dict


def parent_pictures(image_ids: Sequence[int]) -> dict[int, ParentPicture]:
    result = {}
    # An img2img child starts from its parent's picture: a quarantined one is never a parent.
    for image in Image.objects.with_ids(list(image_ids)).not_quarantined().prefetch_related("generation_jobs"):
        job = next(iter(image.generation_jobs.all()), None)
        loras = tuple((lora["name"], float(lora["weight"])) for lora in (job.loras if job else []) or [])
        options = {k: v for k, v in ((job.options or {}) if job else {}).items() if k in ("sampler", "clip_skip")}
        result[image.pk] = ParentPicture(image, job.model if job else "", loras, options)
    return result


def word_bank(emotion: str, favorite: str) -> tuple[str, ...]:
    """The words a key's prompt mutations draw from: every enabled row of its emotion (or of every
    emotion) whose favorite word is one of the key's favorite's (or empty), in a stable order."""
    parts = [""] + [part.strip() for part in favorite.split(",") if part.strip()]
    rows = WordBank.objects.filter(enabled=True, emotion__in=["", emotion], favorite__in=parts).order_by("emotion", "favorite", "id")
    words: dict[str, str] = {}
    for row in rows:
        for word in row.word_list():
            words.setdefault(word.casefold(), word)
    return tuple(words.values())


def library_choices() -> tuple[dict[str, str], dict[str, str]]:
    """The model library's usable pipelines and LoRAs (found by its last scan), name → family; two
    empty dicts without a library."""
    # Only families whose pipelines and LoRAs fit one another's: a turbo or unknown model is never
    # swapped in or out.
    pipelines = dict(library.pipelines().filter(family__in=LORA_FAMILIES).values_list("name", "family"))
    loras = dict(library.loras().filter(family__in=LORA_FAMILIES).values_list("name", "family"))
    return pipelines, loras


def serving_twins(image_ids: Sequence[int]) -> dict[int, int]:
    """image id → the serving image of the same picture in the other orientation (a bulk pair's twin)."""
    twin_keys: dict[str, int] = {}
    for image_id, key in Image.objects.with_ids(list(image_ids)).values_list("id", "key"):
        try:
            twin_keys[keys.twin_key(key)] = image_id
        except keys.InvalidKey:
            continue
    rows = Image.objects.serving().with_keys(list(twin_keys)).values_list("key", "id")
    return {twin_keys[key]: twin_id for key, twin_id in rows}
