"""Model choices for diffusers children: another pipeline of the parent's family or one more LoRA
from the model library (generation.models.LibraryEntry), through bred jobs that workers paint."""

import random
from collections import Counter

import pytest

from garden.models import Image
from gardener import breeding, selectors, services
from gardener.models import GardenerAction
from generation.models import GenerationJob
from library.models import LibraryEntry
from library.services import entries as library_services
from testkit.tiny_library import LORA, PIPELINES, build_models_folder
from tests.gardener.conftest import diffusers_garden

Kind = GardenerAction.Kind
MODEL_A, MODEL_B = PIPELINES
PIPELINE_FAMILIES = {MODEL_A: "sd1", MODEL_B: "sd1", "big-xl": "sdxl"}
LORA_FAMILIES = {LORA: "sd1", "xl-ink": "sdxl"}


def children(painter: breeding.Painter, count: int = 200, seed: int = 0) -> list[breeding.Child]:
    parents = [breeding.Candidate(1, None, 100, 40, generation=3), breeding.Candidate(2, None, 100, 40)]
    choices = breeding.Choices(pipelines=PIPELINE_FAMILIES, loras=LORA_FAMILIES)
    return breeding.breed_diffusers(parents, count, random.Random(seed), painters={1: painter, 2: painter}, choices=choices)


def test_a_model_child_takes_another_pipeline_or_one_more_lora_of_its_parents_family():
    bred = children(breeding.Painter("calm", MODEL_A, (("other-lora", 0.5),)))
    operators = Counter(child.operator for child in bred)
    assert set(operators) == {"model", "img2img", "variation"}  # no word bank: no prompt mutations
    assert abs(operators["model"] / len(bred) - breeding.MODEL_SHARE) < 0.07
    changes = Counter()
    for child in (child for child in bred if child.operator == "model"):
        assert child.subseed is None and child.prompt is None
        assert child.lineage["operator"] == "model" and child.generation == (4 if child.parents == (1,) else 1)
        if child.model is not None:  # the other SD 1.x pipeline, never the SDXL one; the LoRAs kept
            assert child.model == MODEL_B and child.loras is None and child.changes == (f"model {MODEL_B}",)
        else:  # the SD 1.x LoRA added to the parent's
            assert child.loras == (("other-lora", 0.5), (LORA, breeding.LORA_WEIGHT))
        changes[child.model or "lora"] += 1
    assert set(changes) == {MODEL_B, "lora"}


def test_no_library_pipeline_or_nothing_to_change_means_a_variation(monkeypatch):
    monkeypatch.setattr(breeding, "IMG2IMG_SHARE", 0.0)  # the one operator that always has something to change
    assert {child.operator for child in children(breeding.Painter("calm", ""), 50)} == {"variation"}
    # MODEL_B's family has no other pipeline once MODEL_A is its parent… and the LoRA is there already.
    only_b = breeding.Choices(pipelines={MODEL_B: "sd1"}, loras={LORA: "sd1"})
    parents = [breeding.Candidate(1, None), breeding.Candidate(2, None)]
    painter = breeding.Painter("calm", MODEL_B, ((LORA, 1.0),))
    bred = breeding.breed_diffusers(parents, 50, random.Random(1), painters={1: painter, 2: painter}, choices=only_b)
    assert {child.operator for child in bred} == {"variation"}


@pytest.fixture(scope="session")
def models_folder(tmp_path_factory):
    return build_models_folder(tmp_path_factory.mktemp("gardener-library"))


@pytest.fixture
def library_settings(diffusers_settings, models_folder):
    diffusers_settings.GARDEN_MODELS_DIR = str(models_folder)
    library_services.scan()
    # The tiny LoRA has no kohya metadata, so the scan says "other"; a real SD 1.5 LoRA says sd1.
    assert LibraryEntry.objects.get(name=LORA).family == LibraryEntry.Family.OTHER
    LibraryEntry.objects.filter(name=LORA).update(family=LibraryEntry.Family.SD1)
    return diffusers_settings


@pytest.mark.django_db
def test_only_present_entries_of_known_families_are_choices(library_settings, settings):
    assert selectors.library_choices() == ({MODEL_A: "sd1", MODEL_B: "sd1"}, {LORA: "sd1"})
    LibraryEntry.objects.filter(name=MODEL_B).update(present=False)
    LibraryEntry.objects.filter(name=LORA).update(family=LibraryEntry.Family.OTHER)  # a LoRA of unknown base
    assert selectors.library_choices() == ({MODEL_A: "sd1"}, {})
    settings.GARDEN_MODELS_DIR = ""  # no library at all
    assert selectors.library_choices() == ({}, {})


def test_a_library_garden_breeds_children_on_another_model_or_with_a_lora(
    one_key, policy, library_settings, eager_celery, django_capture_on_commit_callbacks, monkeypatch
):
    parents = diffusers_garden(policy, django_capture_on_commit_callbacks, target=10, model=MODEL_A)
    monkeypatch.setattr(breeding, "MODEL_SHARE", 1.0)  # every child a model choice

    with django_capture_on_commit_callbacks(execute=True):
        result = services.tend(seed=21)
    assert result.actions[Kind.BRED] == 3, result.plan.lines()
    seen = set()
    for action in GardenerAction.objects.filter(kind=Kind.BRED):
        job = action.job
        assert job.status == GenerationJob.Status.SUCCEEDED, job.error
        parent = Image.objects.get(pk=action.details["parents"][0])
        assert parent in parents and action.details["operator"] == "model"
        assert job.prompt == parent.prompt and "subseed" not in job.options
        if job.model == MODEL_B:
            assert job.loras == [] and action.details["changes"] == [f"model {MODEL_B}"]
            seen.add("model")
        else:
            assert job.model == MODEL_A and job.loras == [{"name": LORA, "weight": breeding.LORA_WEIGHT}]
            seen.add("lora")
        for child in job.images.all():
            assert child.parameters["lineage"] == {"parents": [parent.pk], "operator": "model", "generation": 1}
    assert seen == {"model", "lora"}
