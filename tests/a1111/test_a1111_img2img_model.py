"""img2img and inpaint with another library model: ``override_settings.sd_model_checkpoint`` or the
caller's POST /options choice paints with that model (A1111's process_images reloads the checkpoint
named and inpaints with it), on the very pipeline text-to-image jobs load for it."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from generation import backends
from generation.models import GenerationJob
from library import selectors as library
from library.services import entries as library_services
from testkit.tiny_library import PIPELINES, build_models_folder
from tests.a1111.test_a1111 import basic_client, img2img_body  # noqa: F401 (fixture)
from tests.retouch.retouch_support import box_mask, outside_feather

pytestmark = pytest.mark.django_db(transaction=True)
FIRST, SECOND = PIPELINES


@pytest.fixture(scope="module")
def models_folder(tmp_path_factory):
    return build_models_folder(tmp_path_factory.mktemp("img2img-library"))


@pytest.fixture
def library_retouch(retouch_settings, models_folder, monkeypatch):
    """Retouch's own model is the tiny text-to-image one (GARDEN_DIFFUSION_MODEL); the library has two others."""
    from retouch.engine import RetouchEngine

    retouch_settings.GARDEN_MODELS_DIR = str(models_folder)
    library_services.scan()
    painters = []  # per call: the UNet that painted, and the engine's model
    paint = RetouchEngine.paint

    def spy(self, request, **kwargs):
        self.load()
        painters.append((self.base.unet, self.model_id))
        return paint(self, request, **kwargs)

    monkeypatch.setattr(RetouchEngine, "paint", spy)
    return painters


def painted(client, **fields) -> tuple[np.ndarray, GenerationJob, dict]:
    response = client.post("/sdapi/v1/img2img", img2img_body(**fields), format="json")
    assert response.status_code == 200, response.content
    answer = response.json()
    info = json.loads(answer["info"])
    with Image.open(io.BytesIO(base64.b64decode(answer["images"][0]))) as picture:
        return np.asarray(picture.convert("RGB"), dtype=np.int16), GenerationJob.objects.get(pk=info["job_id"]), info


def library_unet(name: str):
    """The UNet the worker's LRU holds for a library model (what its text-to-image jobs paint with)."""
    entry = library.resolve_model(name)
    held = [model for model in backends.loaded_pipelines.models if model.rstrip("/").endswith(entry.name)]
    assert held, backends.loaded_pipelines.models
    return backends.loaded_pipelines.get(held[0], dtype=entry.dtype, offload=entry.offload).pipeline.unet


def test_override_settings_paints_with_the_library_model_named(basic_client, library_retouch, eager_celery):  # noqa: F811
    own, own_job, _ = painted(basic_client, prompt="garden")
    first, first_job, first_info = painted(basic_client, prompt="garden", override_settings={"sd_model_checkpoint": FIRST})
    # A1111's title ("name [hash]", as GET /sd-models lists it) names the model as well.
    title = next(model["title"] for model in basic_client.get("/sdapi/v1/sd-models").json() if model["model_name"] == SECOND)
    assert title != SECOND
    second, second_job, second_info = painted(basic_client, prompt="garden", override_settings={"sd_model_checkpoint": title})

    assert (own_job.model, first_job.model, second_job.model) == ("", FIRST, SECOND)
    assert (first_info["sd_model_name"], second_info["sd_model_name"]) == (FIRST, SECOND)
    # The UNet that painted each job is the one the worker's LRU holds for the model asked.
    unets = [unet for unet, _ in library_retouch]
    assert unets[1] is library_unet(FIRST) and unets[2] is library_unet(SECOND) and unets[0] is not unets[1]
    assert FIRST in library_retouch[1][1] and SECOND in library_retouch[2][1]
    assert second_job.images.get().parameters["model"] == SECOND  # the picture's own record names it
    outside = outside_feather(first_job.retouch_job.options, box_mask())
    for a, b in ((first, second), (own, second)):
        assert np.array_equal(a[outside], b[outside])  # the kept area is the source's whatever the model
        assert np.abs(a - b)[~outside].max() > 10  # another model repainted the masked area otherwise
    # The retouch model here (GARDEN_DIFFUSION_MODEL) has tiny-sd-a's weights (seed 0), loaded apart: the same picture.
    assert np.array_equal(own, first)


def test_the_options_choice_paints_as_the_override_does(basic_client, library_retouch, eager_celery):  # noqa: F811
    asked, _, _ = painted(basic_client, prompt="garden", override_settings={"sd_model_checkpoint": SECOND})
    assert basic_client.post("/sdapi/v1/options", {"sd_model_checkpoint": SECOND}, format="json").status_code == 200
    chosen, job, info = painted(basic_client, prompt="garden")
    assert job.model == SECOND and info["sd_model_name"] == SECOND
    assert np.array_equal(asked, chosen)  # same model, seed and inputs: the same picture
    # A body's own override still wins over the caller's choice.
    _, overridden, _ = painted(basic_client, prompt="garden", override_settings={"sd_model_checkpoint": FIRST})
    assert overridden.model == FIRST


def test_unknown_models_are_refused_naming_the_model_not_a_path(basic_client, library_retouch, no_enqueue, models_folder):  # noqa: F811
    response = basic_client.post("/sdapi/v1/img2img", img2img_body(override_settings={"sd_model_checkpoint": "sd-9000"}), format="json")
    text = response.content.decode()
    assert response.status_code == 400 and "sd-9000" in response.json()["override_settings.sd_model_checkpoint"][0]
    assert str(models_folder) not in text and not GenerationJob.objects.exists()


def test_pixart_models_are_refused_before_a_job(basic_client, library_retouch, no_enqueue):  # noqa: F811
    from library.models import LibraryEntry

    LibraryEntry.objects.filter(name=SECOND).update(family=LibraryEntry.Family.PIXART)
    response = basic_client.post("/sdapi/v1/img2img", img2img_body(override_settings={"sd_model_checkpoint": SECOND}), format="json")
    assert response.status_code == 400 and "no inpainting pipeline" in response.json()["override_settings.sd_model_checkpoint"][0]
    assert not GenerationJob.objects.exists()
