"""Retouch jobs apply the library's LoRAs (asked, or as A1111 <lora:…> tags in an img2img prompt),
for their own call only: the text-to-image pipeline they share a UNet with paints without them next."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from generation.models import GenerationJob
from library.services import entries as library_services
from testkit.tiny_library import LORA, build_models_folder
from tests.a1111.test_a1111 import basic_client, img2img_body  # noqa: F401 (fixture)
from tests.retouch.retouch_support import box_mask, outside_feather

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def models_folder(tmp_path_factory):
    return build_models_folder(tmp_path_factory.mktemp("retouch-library"))


@pytest.fixture
def library_retouch(retouch_settings, models_folder):
    retouch_settings.GARDEN_MODELS_DIR = str(models_folder)
    library_services.scan()
    return retouch_settings


def painted(client, **fields) -> tuple[np.ndarray, GenerationJob]:
    response = client.post("/sdapi/v1/img2img", img2img_body(**fields), format="json")
    assert response.status_code == 200, response.content
    answer = response.json()
    job = GenerationJob.objects.get(pk=json.loads(answer["info"])["job_id"])
    with Image.open(io.BytesIO(base64.b64decode(answer["images"][0]))) as picture:
        return np.asarray(picture.convert("RGB"), dtype=np.int16), job


def test_an_img2img_lora_tag_changes_the_repainted_area_for_that_job_only(basic_client, library_retouch, eager_celery):  # noqa: F811
    plain, _ = painted(basic_client, prompt="garden")
    inked, job = painted(basic_client, prompt=f"garden <lora:{LORA}:1>")
    again, _ = painted(basic_client, prompt="garden")

    assert job.loras == [{"name": LORA, "weight": 1.0}] and job.prompt == "garden"
    outside = outside_feather(job.retouch_job.options, box_mask())
    assert np.array_equal(inked[outside], plain[outside])  # the kept area is the source's, LoRA or not
    assert np.abs(inked - plain)[~outside].max() > 10  # the repainted area moved
    assert np.array_equal(again, plain)  # the adapter was switched off after its call


def test_an_unknown_lora_in_an_img2img_prompt_is_a_400_naming_it(basic_client, library_retouch, no_enqueue):  # noqa: F811
    response = basic_client.post("/sdapi/v1/img2img", img2img_body(prompt="garden <lora:sd-9000:1>"), format="json")
    assert response.status_code == 400, response.content
    assert "sd-9000" in json.dumps(response.json())
