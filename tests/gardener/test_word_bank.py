"""Prompt mutations from the word bank: the mutation itself, the bank per emotion and favorite, the
admin that edits it, the operators' shares and bred diffusers jobs whose prompts carry its words."""

import random
from collections import Counter

import pytest
from django.urls import reverse

from garden.models import Image
from gardener import breeding, prompts, selectors, services
from gardener.models import GardenerAction, WordBank
from gardener.planning import make_plan
from generation.models import GenerationJob
from tests.gardener.conftest import diffusers_garden

Kind = GardenerAction.Kind
PROMPT = "calm, spring,sunny,day, flowers, fantasy, concept art"
WORDS = ("misty lake", "willow", "lanterns", "dew", "moss")


def phrases(prompt: str) -> list[str]:
    return [part.strip() for part in prompt.split(",")]


# --- the mutation ----------------------------------------------------------------------------------


def test_a_mutation_adds_or_swaps_one_or_two_bank_words_and_keeps_the_rest():
    seen = Counter()
    for seed in range(200):
        mutation = prompts.mutate_prompt(PROMPT, WORDS, random.Random(seed), keep=("calm", "spring", "sunny", "day"))
        assert mutation is not None and 1 <= len(mutation.changes) <= prompts.MAX_CHANGES
        new = phrases(mutation.prompt)
        added = [p for p in new if p not in phrases(PROMPT)]
        assert added and set(added) <= set(WORDS) and len(added) <= 2
        assert [p for p in new if p not in WORDS] == phrases(PROMPT)  # the parent's phrases, in order, untouched
        assert new[0] == "calm"  # never before the first phrase
        assert "spring,sunny,day" in mutation.prompt  # the favorite's own text, separators and all
        seen[len(mutation.changes)] += 1
    assert seen[1] > 50 and seen[2] > 50
    # Deterministic under the rng.
    assert prompts.mutate_prompt(PROMPT, WORDS, random.Random(5)) == prompts.mutate_prompt(PROMPT, WORDS, random.Random(5))


def test_bank_words_already_there_are_swapped_but_never_the_keys_own_words():
    prompt = "calm, willow, sunny, moss, dew, lanterns"  # four bank words: full, so only swaps
    bank = (*WORDS, "sunny", "calm")
    for seed in range(100):
        mutation = prompts.mutate_prompt(prompt, bank, random.Random(seed), keep=("calm", "sunny"))
        assert mutation is not None and all(change.startswith("swapped") for change in mutation.changes)
        new = phrases(mutation.prompt)
        assert len(new) == 6 and new[0] == "calm" and new[2] == "sunny"
        assert "misty lake" in new
    # Every word of the bank already in the prompt: nothing to change.
    assert prompts.mutate_prompt("calm, willow", ("willow", "calm"), random.Random(0)) is None


def test_bank_text_is_split_cleaned_and_checked():
    assert prompts.parse_words("misty lake,  willow\nWillow\n\n dew , ") == ["misty lake", "willow", "dew"]
    assert prompts.word_problems([]) == ["Give at least one word."]
    assert "LoRA tags" in prompts.word_problems(["<lora:ink:1>"])[0]
    assert "at most 60" in prompts.word_problems(["x" * 61])[0]


@pytest.mark.django_db
def test_a_key_draws_from_its_emotion_and_favorite_rows_and_the_general_ones():
    WordBank.objects.create(emotion="calm", words="willow, moss")
    WordBank.objects.create(emotion="calm", favorite="rainy", words="puddles")
    WordBank.objects.create(favorite="spring", words="blossom, Moss")
    WordBank.objects.create(emotion="angry", words="thorns")
    WordBank.objects.create(emotion="calm", favorite="day", words="sunbeams", enabled=False)
    assert selectors.word_bank("calm", "") == ("willow", "moss")
    # Every emotion's rows first; the first spelling of a word wins.
    assert selectors.word_bank("calm", "spring,rainy,day") == ("blossom", "Moss", "willow", "puddles")
    assert selectors.word_bank("happy", "spring,sunny,day") == ("blossom", "Moss")
    assert selectors.word_bank("sad", "") == ()


# --- the admin ---------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("head-gardener", password="pw-garden-1"))
    return client


@pytest.mark.django_db
def test_curators_add_and_edit_the_bank_in_the_admin(admin_client):
    add = reverse("admin:gardener_wordbank_add")
    response = admin_client.post(add, {"emotion": "calm", "favorite": "rainy", "words": "puddles, grey herons\nreeds", "enabled": "on"})
    assert response.status_code == 302, response.content.decode()[:2000]
    row = WordBank.objects.get()
    assert (row.emotion, row.favorite, row.word_list()) == ("calm", "rainy", ["puddles", "grey herons", "reeds"])
    listing = admin_client.get(reverse("admin:gardener_wordbank_changelist")).content.decode()
    assert "Words for Calm · Rainy" in listing  # the emotion's and the word's names (translated)

    change = reverse("admin:gardener_wordbank_change", args=[row.pk])
    assert "grey herons" in admin_client.get(change).content.decode()
    response = admin_client.post(change, {"emotion": "calm", "favorite": "rainy", "words": "puddles, kingfisher", "enabled": "on"})
    assert response.status_code == 302
    assert selectors.word_bank("calm", "autumn,rainy,sunset") == ("puddles", "kingfisher")

    refused = admin_client.post(change, {"emotion": "calm", "favorite": "rainy", "words": "<lora:ink:1>", "enabled": "on"})
    assert refused.status_code == 200 and "LoRA tags are not words" in refused.content.decode()
    twice = admin_client.post(add, {"emotion": "calm", "favorite": "rainy", "words": "again", "enabled": "on"})
    assert twice.status_code == 200 and WordBank.objects.count() == 1  # one row per emotion and favorite word
    assert WordBank.objects.get().word_list() == ["puddles", "kingfisher"]


# --- the operators ---------------------------------------------------------------------------------


def candidates() -> list[breeding.Candidate]:
    return [breeding.Candidate(1, None, 100, 40, generation=2), breeding.Candidate(2, None, 100, 38)]


PAINTERS = {1: breeding.Painter(PROMPT), 2: breeding.Painter("calm, a pond at night")}


def test_a_bank_makes_half_the_children_prompt_mutations_and_the_rest_img2img_repaints_or_variations():
    choices = breeding.Choices(words=WORDS, keep=("calm",))
    children = breeding.breed_diffusers(candidates(), 400, random.Random(3), painters=PAINTERS, choices=choices)
    operators = Counter(child.operator for child in children)
    assert set(operators) == {"prompt", "img2img", "variation"}  # no library: the model share falls back to variations
    assert abs(operators["prompt"] / 400 - breeding.PROMPT_SHARE) < 0.08
    assert abs(operators["img2img"] / 400 - breeding.IMG2IMG_SHARE) < 0.06
    for child in children:
        parent = next(c for c in candidates() if c.image_id == child.parents[0])
        assert child.generation == parent.generation + 1
        if child.operator == "prompt":
            assert child.subseed is None and child.changes
            assert set(phrases(child.prompt)) - set(phrases(PAINTERS[parent.image_id].prompt)) <= set(WORDS)
            assert child.lineage == {"parents": [parent.image_id], "operator": "prompt", "generation": child.generation}
        elif child.operator == "img2img":  # the parent's own picture, a seed of its own, no variation seed
            assert child.prompt is None and child.subseed is None and child.init_image == parent.image_id and child.seed is not None
        else:
            assert child.prompt is None and child.subseed is not None and child.lineage["operator"] == "variation"


def test_without_a_bank_every_child_is_an_img2img_repaint_or_a_variation():
    children = breeding.breed_diffusers(candidates(), 50, random.Random(4), painters=PAINTERS, choices=breeding.Choices())
    assert {child.operator for child in children} == {"img2img", "variation"}
    # A parent of a few-step model (2 steps × 0.35 runs none) is never repainted: a variation instead.
    few_steps = {image_id: breeding.Painter(painter.prompt, steps=2) for image_id, painter in PAINTERS.items()}
    children = breeding.breed_diffusers(candidates(), 50, random.Random(4), painters=few_steps, choices=breeding.Choices())
    assert {child.operator for child in children} == {"variation"}


# --- the real path: bred diffusers jobs ------------------------------------------------------------------


def test_a_diffusers_garden_with_a_bank_breeds_children_whose_prompts_carry_its_words(
    one_key,
    policy,
    diffusers_settings,
    eager_celery,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    parents = diffusers_garden(policy, django_capture_on_commit_callbacks, target=8)
    WordBank.objects.create(emotion="calm", words=", ".join(WORDS))
    WordBank.objects.create(emotion="angry", words="thorns, embers")
    monkeypatch.setattr(breeding, "PROMPT_SHARE", 1.0)  # every child a prompt mutation (no library: no model share)
    monkeypatch.setattr(breeding, "MODEL_SHARE", 0.0)

    with django_capture_on_commit_callbacks(execute=True):
        result = services.tend(seed=11)
    assert result.actions[Kind.BRED] == 2, result.plan.lines()  # two pairs wanted (8 − 4), one job each
    for action in GardenerAction.objects.filter(kind=Kind.BRED):
        job = action.job
        assert job.status == GenerationJob.Status.SUCCEEDED, job.error
        [parent_id] = action.details["parents"]
        parent = Image.objects.get(pk=parent_id)
        assert parent in parents and action.details["operator"] == "prompt" and action.details["changes"]
        added = set(phrases(job.prompt)) - set(phrases(parent.prompt))
        assert added and added <= set(WORDS)  # the bank's words, none of another emotion's
        assert [p for p in phrases(job.prompt) if p not in WORDS] == phrases(parent.prompt)
        # The same picture otherwise: seed, size and steps, and no variation seed.
        assert job.seed == (parent.seed if parent.orientation == "h" else parent.seed - 1)
        assert (job.width, job.height, job.steps, job.count) == (64, 64, parent.steps, 1)
        assert "subseed" not in job.options
        for child in job.images.all():
            assert child.prompt == job.prompt
            assert child.parameters["lineage"] == {"parents": [parent.pk], "operator": "prompt", "generation": 1}


def test_a_diffusers_key_without_a_bank_breeds_variations(
    one_key,
    policy,
    diffusers_settings,
    eager_celery,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    parents = diffusers_garden(policy, django_capture_on_commit_callbacks, target=8)
    WordBank.objects.create(emotion="angry", words="thorns, embers")  # another emotion's words only
    WordBank.objects.create(emotion="calm", words="willow", enabled=False)
    monkeypatch.setattr(breeding, "PROMPT_SHARE", 1.0)
    assert next(k for k in make_plan().keys if k.search_key == "calm").bred == [1, 1]
    with django_capture_on_commit_callbacks(execute=True):
        services.tend(seed=12)
    actions = list(GardenerAction.objects.filter(kind=Kind.BRED))
    assert len(actions) == 2
    for action in actions:
        parent = Image.objects.get(pk=action.details["parents"][0])
        assert parent in parents and action.details["operator"] == "variation" and "changes" not in action.details
        assert action.job.status == GenerationJob.Status.SUCCEEDED, action.job.error
        assert action.job.prompt == parent.prompt
        assert action.job.options["subseed_strength"] == breeding.VARIATION_STRENGTH
        assert action.job.options["lineage"][0]["operator"] == "variation"
