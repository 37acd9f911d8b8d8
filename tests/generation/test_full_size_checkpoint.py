"""A full-size SD 1.5-architecture checkpoint in the original single-file layout (random weights, about
2.1 GB in fp16), as a venue downloads it: classified from its header, loaded offline with the configs
the project ships (no config beside it), from the library and as GARDEN_DIFFUSION_MODEL, painting
exactly what its diffusers folder twin paints through a real job and through A1111's txt2img.

Backend-free: what it proves is the loading, the same on any database; CI runs it once (its
embedded-defaults pass), not twice, for time (building and loading 4 GB of weights takes minutes).
"""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image
from rest_framework.test import APIClient

from generation.backends import checkpoints as loader
from library import checkpoints
from library.models import LibraryEntry
from library.services import entries as library_services
from testkit.single_file import build_from_configs, save_single_file
from tests.library.test_library import pixels, run_job

pytestmark = [pytest.mark.django_db, pytest.mark.slow, pytest.mark.backend_free]


@pytest.fixture(scope="module")
def full_size_library(tmp_path_factory):
    import torch

    root = tmp_path_factory.mktemp("full-size")
    pipeline = build_from_configs(loader.prepared_config(checkpoints.CONFIGS / "sd1"), seed=15).to(torch.float16)
    pipeline.save_pretrained(str(root / "sd15-twin"))
    save_single_file(pipeline, root / "sd15-single.safetensors")  # configs: the shipped sd1 ones
    del pipeline
    return root


@pytest.mark.django_db(transaction=True)  # the job is sent on commit and run eagerly
def test_a_full_size_single_file_paints_what_its_folder_twin_paints(diffusers_settings, full_size_library, django_user_model, eager_celery):
    path = full_size_library / "sd15-single.safetensors"
    assert 2.0e9 < path.stat().st_size < 2.3e9
    assert not path.with_name("sd15-single.config").exists()
    diffusers_settings.GARDEN_MODELS_DIR = str(full_size_library)
    diffusers_settings.GARDEN_DIFFUSION_MAX_LOADED = 2
    library_services.scan()
    entry = LibraryEntry.objects.get(kind="pipeline", name="sd15-single")
    assert (entry.family, entry.usable, entry.details["config"], entry.default_width) == ("sd1", True, "sd1", 512)
    assert len(entry.sha256) == 64 and entry.short_hash == entry.sha256[:10]

    # fp32 on the CPU, 64x64, 2 steps: the same pixels, to the bit.
    twin = pixels(run_job(model="sd15-twin", guidance=7.0))[0]
    single = pixels(run_job(model="sd15-single", guidance=7.0))[0]
    assert np.abs(twin - single).max() == 0
    assert twin.std() > 0  # random weights paint noise, not a blank

    # A1111: the model list carries the hash in the title, and txt2img paints with the file.
    django_user_model.objects.create_user("a1111", password="pw-a1111-1", is_staff=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"a1111:pw-a1111-1").decode())
    titles = [model["title"] for model in client.get("/sdapi/v1/sd-models").json()]
    assert f"sd15-single [{entry.short_hash}]" in titles

    def txt2img(title: str) -> np.ndarray:
        body = {
            "prompt": "a red flower",
            "seed": 42,
            "steps": 2,
            "width": 64,
            "height": 64,
            "override_settings": {"sd_model_checkpoint": title},
        }
        answer = client.post("/sdapi/v1/txt2img", body, format="json")
        assert answer.status_code == 200, answer.content
        info = json.loads(answer.json()["info"])
        assert info["sd_model_name"] == title.split(" [")[0]
        return np.asarray(Image.open(io.BytesIO(base64.b64decode(answer.json()["images"][0]))).convert("RGB"), dtype=np.int16)

    single_png = txt2img(f"sd15-single [{entry.short_hash}]")
    assert np.array_equal(single_png, txt2img("sd15-twin"))

    # Without a library: the same file as GARDEN_DIFFUSION_MODEL.
    diffusers_settings.GARDEN_MODELS_DIR = ""
    diffusers_settings.GARDEN_DIFFUSION_MODEL = str(path)
    assert np.array_equal(pixels(run_job(guidance=7.0))[0], twin)
