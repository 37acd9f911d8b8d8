"""The gardener's plan for one run: what it would harvest, retire and add. Reads only.

``make_plan`` is what ``tend_garden --dry-run`` prints and what ``gardener.services.tend`` carries
out, so the dry run and the real run can never disagree about the plan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings

from config import clock
from garden.keys import search_key
from garden.models import Image
from gardener import selectors, trials
from gardener.models import PromotionMode
from gardener.retirement import Counts, Verdict, judge, key_median, should_retire
from generation import backends
from recommend.ranking import SEGMENT_ALL

SURPLUS = "surplus"


@dataclass
class Retirement:
    image_id: int
    verdicts: dict[str, Verdict]
    # The other orientation of the same picture (a bulk pair), retired with it unless visitors who
    # saw the twin judged it well: a landscape kiosk never shows portraits, so a portrait twin
    # would otherwise keep a passed-over picture's place in the key for ever.
    twin_id: int | None = None
    # Why: the retirement rule (below the key's median with the policy's probability), or SURPLUS
    # (the key is above its target with bred trials, and this is its weakest judged picture).
    rule: str = "median"
    evidence: dict = field(default_factory=dict)  # SURPLUS: the counts and the median it was judged by

    @property
    def size(self) -> int:
        return 1 + (self.twin_id is not None)

    @property
    def probability(self) -> float:
        return max((v.probability for v in self.verdicts.values()), default=0.0)


@dataclass
class KeyPlan:
    emotion: str
    favorite: str
    serving: int
    target: int
    minimum: int
    pending: int = 0  # images of this key still being made, or made by the gardener and waiting in the pool
    retire: list[Retirement] = field(default_factory=list)
    kept_for_minimum: int = 0  # images the rule would retire, kept so the key stays at its minimum
    jobs: list[int] = field(default_factory=list)  # landscape + portrait pairs per fresh job to start
    bred: list[int] = field(default_factory=list)  # … per bred job (gardener.breeding), trials included
    trial: int = 0  # of those pairs, trials above the target
    skipped: int = 0  # images wanted but not planned: budget or backlog
    paused: bool = False  # a curator undid its job or images today: not filled again today

    @property
    def search_key(self) -> str:
        return search_key(self.emotion, self.favorite)

    @property
    def retiring(self) -> int:
        """Images this plan retires, twins included."""
        return sum(r.size for r in self.retire)

    @property
    def only_trials(self) -> bool:
        """Every pair this plan adds is a trial above the target (none fills the key up to it)."""
        return self.trial > 0 and sum(self.jobs) + sum(self.bred) == self.trial

    @property
    def add(self) -> int:
        return 2 * (sum(self.jobs) + sum(self.bred))

    @property
    def eventful(self) -> bool:
        return bool(self.retire or self.jobs or self.bred or self.skipped or self.kept_for_minimum or self.paused)

    def line(self) -> str:
        parts = [f"{self.search_key}: serving {self.serving}/{self.target} (minimum {self.minimum})"]
        if self.pending:
            parts.append(f"{self.pending} pending")
        surplus = sum(r.size for r in self.retire if r.rule == SURPLUS)
        parts.append(f"retire {self.retiring}" + (f" ({surplus} over the target)" if surplus else ""))
        if self.kept_for_minimum:
            parts.append(f"{self.kept_for_minimum} kept for the minimum")
        parts.append(f"add {self.add} in {len(self.jobs) + len(self.bred)} job(s)")
        if self.bred:
            parts.append(f"{2 * sum(self.bred)} of them bred")
        if self.trial:
            parts.append(f"{2 * self.trial} as trials above the target")
        if self.skipped:
            parts.append(f"skipped {self.skipped} for budget/backlog")
        if self.paused:
            parts.append("not filled today (a curator undid its job)")
        return ", ".join(parts)


@dataclass
class Plan:
    enabled: bool
    keys: list[KeyPlan] = field(default_factory=list)
    harvest: list[str] = field(default_factory=list)  # ids of finished gardener jobs to log as added
    promote: list[int] = field(default_factory=list)  # their pool images, in trusted mode
    held: list[int] = field(default_factory=list)  # trusted mode's pool images the image check did not clear
    budget_left: int = 0
    backlog_room: int = 0
    limited_by: str = ""  # what stopped the filling: "", "image budget", "GPU minutes", "pool backlog"

    @property
    def skipped_keys(self) -> list[str]:
        return [k.search_key for k in self.keys if k.skipped]

    def lines(self) -> list[str]:
        if not self.enabled:
            return ["The gardener is off (GardenerPolicy.enabled, and no emotion override turns it on): nothing to do."]
        lines = [f"Harvest {len(self.harvest)} finished job(s); promote {len(self.promote)} image(s) (trusted mode)."]
        if self.held:
            lines.append(f"Hold back {len(self.held)} image(s) the image check did not clear: they wait in the pool for a curator.")
        lines += [key.line() for key in self.keys if key.eventful]
        quiet = sum(1 for key in self.keys if not key.eventful)
        lines.append(f"{quiet} other key(s): nothing to do.")
        lines.append(f"Budget left today: {self.budget_left} image(s); pool backlog room: {self.backlog_room}.")
        if self.limited_by:
            lines.append(f"Filling limited by the {self.limited_by}.")
        return lines


def _retirements(
    policies: dict[str, selectors.KeyPolicy], stats: selectors.Stats, spared: set[int]
) -> dict[tuple[str, str], list[Retirement]]:
    """Every serving image the rule would retire, per key, worst first (minimum not yet applied)."""
    verdicts: dict[int, dict[str, Verdict]] = {}
    key_of: dict[int, tuple[str, str]] = {}
    for segment, by_key in stats.items():
        for key, counts in by_key.items():
            policy = policies[key[0]]
            if not policy.enabled:
                continue
            median = key_median(list(counts.values()), min_impressions=policy.retire_min_impressions)
            for image_id, image_counts in counts.items():
                verdict = judge(
                    image_counts,
                    segment=segment,
                    median=median,
                    min_impressions=policy.retire_min_impressions,
                    threshold=policy.retire_probability,
                )
                if verdict is not None and image_id not in spared:
                    verdicts.setdefault(image_id, {})[segment] = verdict
                    key_of[image_id] = key
    result: dict[tuple[str, str], list[Retirement]] = {}
    failing = [image_id for image_id, by_segment in verdicts.items() if should_retire(by_segment)]
    twins = selectors.serving_twins(failing)
    for image_id in failing:
        twin = twins.get(image_id)
        if twin is not None and (twin in spared or (twin in verdicts and not should_retire(verdicts[twin]))):
            twin = None
        result.setdefault(key_of[image_id], []).append(Retirement(image_id, verdicts[image_id], twin))
    taken: set[int] = set()
    for retirements in result.values():  # a pair whose two images both fail: retired once, as one
        kept = []
        for r in sorted(retirements, key=lambda r: (-r.probability, r.image_id)):
            if r.image_id in taken:
                continue
            taken.update([r.image_id] if r.twin_id is None else [r.image_id, r.twin_id])
            kept.append(r)
        retirements[:] = kept
    return result


def _surplus(
    key_plan: KeyPlan,
    policy: selectors.KeyPolicy,
    stats: selectors.Stats,
    spared: set[int],
    ended: dict[int, trials.Ending] | None = None,
) -> list[Retirement]:
    """While a key holds more than its target, its weakest judged pictures make room (twins count),
    weakest first, down to the target: judged (at least the policy's impressions among everyone)
    and below the key's median, so a picture visitors like as much as the others is never taken.
    Trials that ended unjudged (``ended``, gardener.trials: unlikely to beat the median, passed over
    by the exploration slot, or past the patience) go first, oldest id first, whatever their counts.
    The rule's own retirements and curators' restorations are left out."""
    room = key_plan.serving - key_plan.retiring - key_plan.target
    counts = stats.get(SEGMENT_ALL, {}).get((key_plan.emotion, key_plan.favorite), {})
    median = key_median(list(counts.values()), min_impressions=policy.retire_min_impressions)
    if room <= 0 or median is None:
        return []
    taken = {r.image_id for r in key_plan.retire} | {r.twin_id for r in key_plan.retire if r.twin_id is not None}
    weak = sorted(
        (c.posterior_mean, image_id)
        for image_id, c in counts.items()
        if c.impressions >= policy.retire_min_impressions and c.posterior_mean < median and image_id not in taken | spared
    )
    ended = ended or {}
    # Ended trials first (a rank below any posterior mean), whatever their counts.
    weak = [(-1.0, image_id) for image_id in sorted(set(ended) - taken - spared)] + weak
    twins = selectors.serving_twins([image_id for _, image_id in weak])

    def judged_well(twin_counts: Counts | None) -> bool:
        return twin_counts is not None and twin_counts.impressions >= policy.retire_min_impressions and twin_counts.posterior_mean >= median

    chosen: list[Retirement] = []
    for _, image_id in weak:
        if image_id in taken:  # the twin of one already chosen
            continue
        twin = twins.get(image_id)
        if twin is not None and (twin in taken | spared or judged_well(counts.get(twin))):
            twin = None  # a twin that visitors judged well, or that a curator restored, stays
        c = counts.get(image_id, Counts(impressions=0, likes=0))
        evidence: dict[str, object] = {"impressions": c.impressions, "likes": c.likes, "posterior_mean": round(c.posterior_mean, 4)}
        evidence["key_median"] = round(median, 4)
        if image_id in ended:
            evidence |= {"trial_rule": ended[image_id].rule, "stalled": ended[image_id].describe(), **ended[image_id].evidence}
        retirement = Retirement(
            image_id, {}, twin, rule=SURPLUS, evidence=evidence | {"serving": key_plan.serving, "target": key_plan.target}
        )
        if retirement.size > room:
            break
        chosen.append(retirement)
        taken.update([image_id] if twin is None else [image_id, twin])
        room -= retirement.size
    return chosen


def _ended_trials(
    unjudged: list[trials.Trial], policies: dict[str, selectors.KeyPolicy], stats: selectors.Stats, now: datetime | None
) -> dict[tuple[str, str], dict[int, trials.Ending]]:
    """Per key, its trials that count as judged-weak (gardener.trials), against the key's median among everyone."""
    counts = stats.get(SEGMENT_ALL, {})
    medians: dict[tuple[str, str], float | None] = {}
    for t in unjudged:
        medians[t.key] = key_median(list(counts.get(t.key, {}).values()), min_impressions=policies[t.emotion].retire_min_impressions)
    rules = {emotion: (p.retire_min_impressions, p.retire_probability) for emotion, p in policies.items()}
    return trials.endings(unjudged, medians=medians, rules=rules, now=now or clock.now())


def _within_minimum(candidates: list[Retirement], allowed: int) -> list[Retirement]:
    """The worst candidates first, as many as keep the key at its minimum (twins count)."""
    chosen, used = [], 0
    for retirement in candidates:
        if used + retirement.size > allowed:
            break
        chosen.append(retirement)
        used += retirement.size
    return chosen


def _pairs_per_job(pairs: int, per_job: int) -> list[int]:
    return [min(per_job, pairs - start) for start in range(0, pairs, per_job)]


def make_plan(now: datetime | None = None) -> Plan:
    policy = selectors.global_policy()
    policies = selectors.key_policies(policy)
    if not selectors.any_enabled(policies):
        return Plan(enabled=False)
    plan = Plan(enabled=True)
    for job in selectors.unharvested_jobs().prefetch_related("images"):
        if not policies[job.emotion].enabled:
            continue
        plan.harvest.append(str(job.pk))
        if policies[job.emotion].promotion_mode == PromotionMode.TRUSTED:
            # Only pictures the image check passed (or a curator released): flagged and unchecked wait.
            pool = [image for image in job.images.all() if image.status == Image.Status.POOL]
            plan.promote += sorted(image.pk for image in pool if image.cleared)
            plan.held += sorted(image.pk for image in pool if not image.cleared)
    promoted_into = selectors.key_counts_of(plan.promote)

    serving = selectors.serving_counts()
    stats, spared = selectors.serving_stats(), selectors.spared_images()
    retirements = _retirements(policies, stats, spared)
    keys = set(selectors.kiosk_keys()) | set(retirements)
    pending = selectors.pending_counts(exclude_ids=plan.promote)
    # One read of the unjudged bred pictures serves the ended ones here and the trials' count below.
    unjudged = selectors.trials(policies) if policy.trial_pairs and policy.bred_share else None
    ended = _ended_trials(unjudged, policies, stats, now) if unjudged is not None else {}
    for emotion, favorite in sorted(keys):
        p = policies[emotion]
        if not p.enabled:
            continue
        key = (emotion, favorite)
        count = serving.get(key, 0) + promoted_into.get(key, 0)
        candidates = retirements.get(key, [])
        chosen = _within_minimum(candidates, max(0, count - p.minimum))
        plan.keys.append(
            KeyPlan(
                emotion,
                favorite,
                serving=count,
                target=p.target,
                minimum=p.minimum,
                pending=pending.get(key, 0),
                retire=chosen,
                kept_for_minimum=len(candidates) - len(chosen),
            )
        )
        if policy.trial_pairs and policy.bred_share:  # trials are bred: without breeding, no contest
            plan.keys[-1].retire += _surplus(plan.keys[-1], p, stats, spared, ended.get(key))

    used = selectors.budget_used_today(now)
    plan.budget_left = max(0, policy.daily_image_budget - used.images)
    plan.backlog_room = max(0, policy.pool_backlog_limit - selectors.backlog_size())
    room = min(plan.budget_left, plan.backlog_room)
    limit = "image budget" if plan.budget_left <= plan.backlog_room else "pool backlog"
    if settings.GARDEN_GENERATOR_BACKEND == backends.DIFFUSERS and used.gpu_minutes >= policy.daily_gpu_minutes:
        room, limit = 0, "GPU minutes"
    # Emptiest keys first: the budget goes where visitors see the fewest images.
    kiosk = set(selectors.kiosk_keys())
    breedable = selectors.breedable_keys(settings.GARDEN_GENERATOR_BACKEND)
    per_job = min(policy.images_per_job, settings.GARDEN_MAX_COUNT)
    paused = selectors.keys_paused_today(now)
    open_trials = trials.open_pairs(unjudged, ended) if unjudged is not None else None
    for key_plan in sorted(plan.keys, key=lambda k: (k.serving - k.retiring + k.pending, k.search_key)):
        key = (key_plan.emotion, key_plan.favorite)
        if key not in kiosk:
            continue
        wanted = key_plan.target - (key_plan.serving - key_plan.retiring) - key_plan.pending
        trial = 0
        if open_trials is not None and key in breedable and wanted <= 0:
            # Trials, once a key is at its target: bred pairs above it, up to trial_pairs of them
            # unjudged, and the key no more than that above its target (pending images count).
            trial = max(0, policy.trial_pairs - max(open_trials.get(key, 0), math.ceil(-wanted / 2)))
        if wanted <= 0 and trial == 0:
            continue
        if key_plan.search_key in paused:
            key_plan.paused = True
            continue
        fill_wanted = math.ceil(max(0, wanted) / 2)
        pairs = min(fill_wanted + trial, room // 2)
        fill = min(fill_wanted, pairs)  # the target before trials, when the budget is short
        if pairs > 0:
            # A job may not ask for more than GARDEN_MAX_COUNT pairs (generation.requests refuses it).
            key_plan.trial = pairs - fill
            bred = key_plan.trial + (round(fill * policy.bred_share) if key in breedable else 0)
            # A diffusers variation repeats one parent's prompt and seed: one pair per job.
            key_plan.bred = [1] * bred if settings.GARDEN_GENERATOR_BACKEND == backends.DIFFUSERS else _pairs_per_job(bred, per_job)
            key_plan.jobs = _pairs_per_job(pairs - bred, per_job)
            room -= 2 * pairs
        key_plan.skipped = max(0, wanted - 2 * fill)
        if key_plan.skipped:
            plan.limited_by = limit
    return plan
