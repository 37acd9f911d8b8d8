"""img2img children of diffusers pictures: the parent's own picture repainted at a low denoising
strength from a new seed (gardener.breeding, generation.init_image), through bred jobs that the tiny
pipeline paints."""

import io

import numpy as np
from django.core.files.storage import default_storage
from PIL import Image as PILImage

from garden.models import Image
from gardener import breeding, services
from gardener.models import GardenerAction
from generation import lineage
from generation.models import GenerationJob
from tests.gardener.conftest import diffusers_garden

Kind = GardenerAction.Kind


def pixels(image: Image) -> np.ndarray:
    with default_storage.open(image.key) as handle:
        return np.asarray(PILImage.open(io.BytesIO(handle.read())).convert("RGB"), np.int16)


def test_an_img2img_child_repaints_its_parents_picture_with_a_seed_of_its_own(
    one_key,
    policy,
    diffusers_settings,
    eager_celery,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    diffusers_settings.GARDEN_DEFAULT_STEPS = 6  # 35 % of them: two steps run
    parents = diffusers_garden(policy, django_capture_on_commit_callbacks, target=6)
    monkeypatch.setattr(breeding, "MODEL_SHARE", 0.0)
    monkeypatch.setattr(breeding, "PROMPT_SHARE", 0.0)
    monkeypatch.setattr(breeding, "IMG2IMG_SHARE", 1.0)

    with django_capture_on_commit_callbacks(execute=True):
        result = services.tend(seed=5)
    assert result.actions[Kind.BRED] == 1, result.plan.lines()  # one pair wanted (6 − 4)
    action = GardenerAction.objects.get(kind=Kind.BRED)
    job = action.job
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error
    [parent_id] = action.details["parents"]
    parent = Image.objects.get(pk=parent_id)
    assert parent in parents
    assert action.details["operator"] == "img2img"
    assert action.details["changes"] == [f"repainted at denoising strength {breeding.IMG2IMG_STRENGTH:g}"]
    assert (job.options["init_image"], job.options["denoising_strength"]) == (parent.pk, breeding.IMG2IMG_STRENGTH)
    assert "subseed" not in job.options and job.prompt == parent.prompt and (job.width, job.height, job.count) == (64, 64, 1)
    assert job.seed not in (parent.seed, parent.seed - 1)  # noise of its own
    child = job.images.get(key__endswith=f"0{parent.orientation}.jpeg")
    assert child.parameters["lineage"] == {"parents": [parent.pk], "operator": "img2img", "generation": 1}
    assert lineage.describe(child.parameters["lineage"]) == f"generation 1 · img2img variation of #{parent.pk}"
    # The child keeps its parent's picture: nearer to it than the pair's other picture (another seed).
    other = next(image for image in parents if image.orientation == parent.orientation and image.pk != parent.pk)
    to_parent = np.abs(pixels(child) - pixels(parent)).mean()
    assert 0 < to_parent < np.abs(pixels(other) - pixels(parent)).mean()
