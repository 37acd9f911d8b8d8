"""Breeding: parents by Thompson sampling, children's recipes and lineage, bred jobs that paint
exactly their recipes, lineage in the admin and the review page, undo."""

import io
import json
import random
import re
from collections import Counter
from unittest import mock

import numpy as np
import pytest
from django.contrib.auth.models import Permission
from django.core.files.storage import default_storage
from PIL import Image as PILImage

from garden.models import Image, ImageParent
from gardener import breeding, services
from gardener.models import EmotionPolicy, GardenerAction, PromotionMode
from gardener.planning import make_plan
from generation.backends import procedural, recipes
from generation.models import GenerationJob
from generation.requests import JobParameterError, JobRequest
from tests.gardener.conftest import serving_with_stats

Kind = GardenerAction.Kind


def candidate(image_id: int, likes: int, impressions: int = 200, generation: int = 0, seed: int = 0) -> breeding.Candidate:
    return breeding.Candidate(image_id, recipes.recipe_for("calm", "", seed), impressions, likes, generation)


def test_thompson_sampling_breeds_mostly_from_the_liked_parent():
    loved, passed_over, unseen = candidate(1, likes=60), candidate(2, likes=2, seed=1), candidate(3, likes=0, impressions=0, seed=2)
    children = breeding.breed([loved, passed_over, unseen], 400, random.Random(7))
    first_parents = Counter(child.parents[0] for child in children)
    assert first_parents[1] > 300 and first_parents[2] < 10
    assert 0 < first_parents[3] < 100  # the unseen one is tried now and then


def test_children_are_new_recipes_near_their_parents_with_their_lineage():
    parents = [candidate(1, likes=30, generation=2), candidate(2, likes=30, generation=0, seed=5), candidate(3, likes=28, seed=9)]
    children = breeding.breed(parents, 80, random.Random(3))
    operators = Counter(child.operator for child in children)
    assert set(operators) == {"blend", "mutate", "crossover"} and operators["blend"] > 40  # BLEND_SHARE of them
    for child in children:
        assert child.recipe not in [parent.recipe for parent in parents]
        nearest = min(recipes.distance(child.recipe, parent.recipe) for parent in parents)
        assert nearest < 0.2
        assert len(child.parents) == {"blend": 3, "crossover": 2, "mutate": 1}[child.operator]
        assert child.generation == 1 + max(p.generation for p in parents if p.image_id in child.parents)
        assert child.lineage == {"parents": list(child.parents), "operator": child.operator, "generation": child.generation}


def test_a_blend_steps_from_its_parents_weighted_mean_toward_the_best_liked():
    # Three parents far apart; the best-liked one (by far, so it ranks first in every draw) weighs most.
    best, middle, worst = (
        breeding.Candidate(n, recipe, 400, likes, 0)
        for n, (recipe, likes) in enumerate(
            [
                (recipes.recipe_for("calm", "", 1), 160),
                (recipes.recipe_for("sad", "winter,rainy", 2), 80),
                (recipes.recipe_for("angry", "", 3), 8),
            ],
            start=1,
        )
    )
    blends = [c for c in breeding.breed([worst, middle, best], 200, random.Random(5)) if c.operator == "blend"]
    assert blends and all(child.parents == (1, 2, 3) for child in blends)
    mean = recipes.blend([best.recipe, middle.recipe, worst.recipe], breeding.BLEND_WEIGHTS)
    for child in blends:  # moved from the weighted mean by a mutation of BLEND_STRENGTH, and nearest the best parent
        assert recipes.distance(child.recipe, mean) < 0.15
        assert recipes.distance(child.recipe, best.recipe) < min(recipes.distance(child.recipe, p.recipe) for p in (middle, worst))
    assert breeding.BLEND_WEIGHTS[0] > breeding.BLEND_WEIGHTS[1] > breeding.BLEND_WEIGHTS[2] > 0
    # With two candidates a blend has two parents.
    two = [c for c in breeding.breed([best, middle], 40, random.Random(6)) if c.operator == "blend"]
    assert two and all(set(child.parents) == {1, 2} for child in two)


def test_breeding_needs_two_candidates():
    with pytest.raises(ValueError, match="at least 2"):
        breeding.breed([candidate(1, likes=3)], 1, random.Random(0))


@pytest.mark.django_db
def test_bred_requests_are_checked(settings):
    recipe = recipes.recipe_for("calm").to_dict()
    lineage = {"parents": [1], "operator": "mutate", "generation": 1}
    bulk = {"kind": GenerationJob.Kind.BULK, "emotion": "calm", "count": 1}
    valid = JobRequest(**bulk, backend="procedural", recipes=(recipe,), lineage=(lineage,)).validate()
    assert valid.options == {"recipes": [recipe], "lineage": [lineage]}
    with pytest.raises(JobParameterError) as wrong_backend:
        JobRequest(**bulk, backend="diffusers", recipes=(recipe,)).validate()
    assert "procedural" in wrong_backend.value.fields["recipes"]
    with pytest.raises(JobParameterError) as wrong_count:
        JobRequest(**bulk, backend="procedural", recipes=(recipe, recipe)).validate()
    assert "one recipe per index (1)" in wrong_count.value.fields["recipes"]
    with pytest.raises(JobParameterError) as bad_recipe:
        JobRequest(**bulk, backend="procedural", recipes=(recipe | {"petals": 40},)).validate()
    assert "petals" in bad_recipe.value.fields["recipes"]
    with pytest.raises(JobParameterError) as bad_lineage:
        JobRequest(**bulk, backend="procedural", lineage=(lineage | {"operator": "clone"},)).validate()
    assert "operator" in bad_lineage.value.fields["lineage"]
    blend = {"parents": [1, 2, 3], "operator": "blend", "generation": 2}
    assert JobRequest(**bulk, backend="procedural", lineage=(blend,)).validate().options == {"lineage": [blend]}
    with pytest.raises(JobParameterError) as four_parents:
        JobRequest(**bulk, backend="procedural", lineage=(blend | {"parents": [1, 2, 3, 4]},)).validate()
    assert "1–3 parent" in four_parents.value.fields["lineage"]


def bred_calm(policy, **fields):
    policy.enabled = False
    for name, value in {"daily_image_budget": 4, "bred_share": 1.0, "images_per_job": 2, **fields}.items():
        setattr(policy, name, value)
    policy.save()
    EmotionPolicy.objects.create(emotion="calm", enabled=True, target_per_key=7, minimum_per_key=1)


def test_a_bred_job_paints_its_recipes_and_keeps_the_lineage(one_key, policy, eager_celery, django_capture_on_commit_callbacks):
    bred_calm(policy, promotion_mode=PromotionMode.TRUSTED)
    loved, liked, passed_over = serving_with_stats([40, 30, 1], impressions=100)
    # "calm" has 3 of its 7: 2 pairs wanted, all bred (bred_share 1).
    calm = next(k for k in make_plan().keys if k.search_key == "calm")
    assert calm.bred == [2] and calm.jobs == []
    with django_capture_on_commit_callbacks(execute=True):
        result = services.tend(seed=1)
    assert result.actions[Kind.BRED] == 1
    action = GardenerAction.objects.get(kind=Kind.BRED)
    job = action.job
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error
    assert (job.emotion, job.favorite, job.backend) == ("calm", "", "procedural")
    assert set(action.details["parents"]) <= {loved.pk, liked.pk, passed_over.pk}
    images = list(job.images.order_by("key"))
    assert len(images) == 4
    for image in images:
        index = image.parameters["index"]
        assert image.parameters["recipe"] == job.options["recipes"][index]
        assert image.parameters["lineage"] == job.options["lineage"][index]
        assert image.parameters["lineage"]["generation"] == 1
        # Its parents are linked to it, for the recommender's head start (recommend.lineage).
        linked = set(ImageParent.objects.filter(child=image).values_list("parent_id", flat=True))
        assert linked == set(image.parameters["lineage"]["parents"])
        # The stored picture is the recipe's picture (JPEG-compressed): compare with a fresh painting.
        painted = procedural.paint_recipe(recipes.Recipe.from_dict(image.parameters["recipe"]), width=image.width, height=image.height)
        with default_storage.open(image.key) as handle:
            stored = PILImage.open(io.BytesIO(handle.read())).convert("RGB")
        assert np.abs(np.asarray(stored, np.int16) - np.asarray(painted, np.int16)).mean() < 4
    # Landscape and portrait of an index share one recipe; the two indexes differ.
    by_index = {image.parameters["index"]: image.parameters["recipe"] for image in images}
    assert by_index[0] != by_index[1]

    services.tend(seed=2)  # harvest: trusted mode promotes them
    assert set(Image.objects.filter(pk__in=[i.pk for i in images]).values_list("status", flat=True)) == {Image.Status.SERVING}


def test_fresh_pictures_without_stored_recipes_breed_from_their_derived_recipe(
    one_key, policy, no_enqueue, django_capture_on_commit_callbacks
):
    bred_calm(policy)
    serving_with_stats([40, 30, 1], impressions=100)
    with django_capture_on_commit_callbacks(execute=True):
        services.tend(seed=4)
    job = GardenerAction.objects.get(kind=Kind.BRED).job
    parents = Image.objects.filter(pk__in=[p for entry in job.options["lineage"] for p in entry["parents"]])
    derived = [recipes.recipe_for("calm", "", parent.seed or 0) for parent in parents]
    for data in job.options["recipes"]:
        assert min(recipes.distance(recipes.Recipe.from_dict(data), recipe) for recipe in derived) < 0.2


def test_keys_without_parents_of_the_backend_are_filled_fresh(one_key, policy, settings):
    bred_calm(policy)
    serving_with_stats([5])  # one serving picture: too few to breed from
    calm = next(k for k in make_plan().keys if k.search_key == "calm")
    assert calm.bred == [] and sum(calm.jobs) == 2
    serving_with_stats([5])
    settings.GARDEN_GENERATOR_BACKEND = "diffusers"
    calm = next(k for k in make_plan().keys if k.search_key == "calm")
    assert calm.bred == []  # two procedural pictures, but a diffusers garden breeds only from diffusers ones


def test_bred_share_splits_the_new_pairs(one_key, policy):
    bred_calm(policy, bred_share=0.5, daily_image_budget=100)
    EmotionPolicy.objects.filter(emotion="calm").update(target_per_key=11)
    serving_with_stats([5, 6, 7])
    calm = next(k for k in make_plan().keys if k.search_key == "calm")
    assert sum(calm.bred) == 2 and sum(calm.jobs) == 2 and "add 8 in 2 job(s), 4 of them bred" in calm.line()


def test_a_bred_job_is_undone_like_a_planned_one(one_key, policy, no_enqueue, django_capture_on_commit_callbacks):
    bred_calm(policy)
    serving_with_stats([40, 30, 1])
    with django_capture_on_commit_callbacks(execute=True):
        services.tend(seed=5)
    action = GardenerAction.objects.get(kind=Kind.BRED)
    services.undo(action=action)
    action.job.refresh_from_db()
    assert action.job.status == GenerationJob.Status.CANCELLED


def test_lineage_shows_in_the_admin_and_the_review_page(
    one_key, policy, eager_celery, django_capture_on_commit_callbacks, client, django_user_model
):
    bred_calm(policy)
    serving_with_stats([40, 30, 1])
    with django_capture_on_commit_callbacks(execute=True):
        services.tend(seed=6)
    child = GardenerAction.objects.get(kind=Kind.BRED).job.images.order_by("key").first()
    lineage = child.parameters["lineage"]
    curator = django_user_model.objects.create_user("curator", is_staff=True)
    curator.user_permissions.add(*Permission.objects.filter(content_type__app_label="garden", codename__in=["view_image", "change_image"]))
    client.force_login(curator)
    page = client.get(f"/admin/garden/image/{child.pk}/change/").content.decode()
    assert f"generation {lineage['generation']}" in page
    for parent in lineage["parents"]:
        assert f'href="/admin/garden/image/{parent}/change/"' in page
    # The review page (pool images, as the gardener's wait in review mode) hands its items to its script.
    response = client.get("/curation/review/")
    items = json.loads(re.search(r'<script id="review-items" type="application/json">(.*?)</script>', response.content.decode(), re.S)[1])
    operator = {"crossover": "crossover of", "blend": "blend of", "mutate": "mutation of"}[lineage["operator"]]
    shown = {item["id"]: item["lineage"] for item in items}
    assert shown[child.pk] == f"generation {lineage['generation']} · {operator} " + " × ".join(f"#{p}" for p in lineage["parents"])


def pixels(image) -> np.ndarray:
    with default_storage.open(image.key) as handle:
        return np.asarray(PILImage.open(io.BytesIO(handle.read())).convert("RGB"), np.int16)


def test_a_diffusers_garden_breeds_variations_of_its_liked_pictures(
    one_key,
    policy,
    diffusers_settings,
    eager_celery,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    from garden import services as garden_services
    from generation import services as generation_services
    from recommend.models import ImageStat

    monkeypatch.setattr(breeding, "IMG2IMG_SHARE", 0.0)  # no word bank, no library: every child a variation
    with django_capture_on_commit_callbacks(execute=True):
        made = generation_services.create_job(
            request=JobRequest(kind=GenerationJob.Kind.BULK, emotion="calm", count=2, width=64, height=64, seed=7, prompt="a calm pond")
        )
    made.refresh_from_db()
    assert made.status == GenerationJob.Status.SUCCEEDED, made.error
    parents = list(made.images.order_by("key"))
    for image, likes in zip(parents, (40, 38, 36, 34), strict=True):  # none so bad as to be retired
        garden_services.promote_image(image=image)
        ImageStat.objects.create(image=image, segment="*", impressions=100, likes=likes)
    bred_calm(policy, daily_image_budget=4)
    EmotionPolicy.objects.filter(emotion="calm").update(target_per_key=6)

    with django_capture_on_commit_callbacks(execute=True):
        result = services.tend(seed=8)
    assert result.actions[Kind.BRED] == 1, result.plan.lines()  # one pair wanted (6 − 4), one variation job
    job = GardenerAction.objects.get(kind=Kind.BRED).job
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error
    [parent_id] = job.options["lineage"][0]["parents"]
    parent = Image.objects.get(pk=parent_id)
    assert (job.backend, job.prompt, job.width, job.height, job.count) == ("diffusers", "a calm pond", 64, 64, 1)
    assert job.options["subseed_strength"] == breeding.VARIATION_STRENGTH and "subseed" in job.options
    assert job.seed == (parent.seed if parent.orientation == "h" else parent.seed - 1)
    child = job.images.get(key__endswith=f"0{parent.orientation}.jpeg")
    assert child.parameters["lineage"] == {"parents": [parent.pk], "operator": "variation", "generation": 1}
    # The child is its parent moved a little: nearer to it than the pair's other picture (another seed).
    other = next(image for image in parents if image.orientation == parent.orientation and image.pk != parent.pk)
    to_parent = np.abs(pixels(child) - pixels(parent)).mean()
    assert 0 < to_parent < np.abs(pixels(other) - pixels(parent)).mean()


def test_parents_gone_since_the_plan_means_fresh_jobs_not_a_failed_run(one_key, policy, no_enqueue, django_capture_on_commit_callbacks):
    from garden import services as garden_services

    bred_calm(policy)
    parents = serving_with_stats([40, 30, 1])
    plan = make_plan()
    assert next(k for k in plan.keys if k.search_key == "calm").bred == [2]
    for image in parents[:2]:  # a curator demotes two of them between planning and starting the jobs
        garden_services.demote_image(image=image)
    # The run carries out the plan made before the demotions (as a run that was planning meanwhile would).
    with mock.patch.object(services, "make_plan", return_value=plan), django_capture_on_commit_callbacks(execute=True):
        result = services.tend(seed=9)
    assert Kind.BRED not in result.actions and result.actions[Kind.PLANNED] == 1
    job = GardenerAction.objects.get(kind=Kind.PLANNED).job
    assert (job.count, "recipes" in job.options) == (2, False)
