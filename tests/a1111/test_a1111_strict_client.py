"""A client that validates A1111's answers strictly, from its own package: sd-backend-client 0.5.0
(PyPI; IntraPaint's `src/api` extracted, pydantic models of A1111's answers, `A1111Webservice` in
`sd_backend_client/api/a1111_webservice.py`). Its own txt2img, inpaint and options calls against a live
server on the tiny models; jobs run eagerly inside the server's request (no broker), as in
test_a1111_client.py. Its model choice (``set_config``) paints txt2img and inpaint with that library model.
"""

from __future__ import annotations

import pytest
from PIL import Image

from generation.dispatch.beacon import record_presence
from generation.models import GenerationJob
from library.services import entries as library_services
from testkit.tiny_library import PIPELINES, build_models_folder
from tests.retouch.retouch_support import MASK_BOX, noise

sd_backend_client = pytest.importorskip("sd_backend_client")
pytestmark = pytest.mark.django_db(transaction=True)
USER, PASSWORD = "intrapaint", "pw-intrapaint-secret"


@pytest.fixture(scope="module")
def models_folder(tmp_path_factory):
    return build_models_folder(tmp_path_factory.mktemp("strict-client-library"))


@pytest.fixture
def backend(live_server, django_user_model, eager_celery, retouch_settings, models_folder):
    retouch_settings.GARDEN_MODELS_DIR = str(models_folder)
    library_services.scan()
    django_user_model.objects.create_user(USER, password=PASSWORD, is_staff=True)
    client = sd_backend_client.A1111Webservice(live_server.url, credentials_provider=lambda: (USER, PASSWORD))
    client.set_auth((USER, PASSWORD))
    return client


def params(**fields):
    return sd_backend_client.DiffusionParams(prompt="a red flower", steps=2, width=64, height=64, seed=42, **fields)


def job_of(result) -> GenerationJob:
    """The job behind a result: its ``info`` parsed by the client's own pydantic model (GenerationInfoData)."""
    assert type(result.raw_info).__name__ == "GenerationInfoData"  # the strict model accepted our info
    return GenerationJob.objects.order_by("-created_at").first()


def test_its_txt2img_inpaint_and_model_choice(backend, settings):
    result = backend.submit_txt2img(params()).wait(timeout=300)
    assert len(result.images) == 1 and result.images[0].size == (64, 64) and result.seeds == [42]
    assert job_of(result).status == GenerationJob.Status.SUCCEEDED

    source = noise()
    mask = Image.new("L", source.size, 0)
    mask.paste(255, MASK_BOX)
    inpainted = backend.submit_inpaint(params(init_images=[source], mask=mask, denoising_strength=0.6)).wait(timeout=300)
    assert inpainted.images[0].size == source.size and job_of(inpainted).kind == "retouch"  # only masked: the source's size, as A1111

    # Its options: read, and a library model chosen for its later calls (txt2img and inpaint paint with it).
    chosen = PIPELINES[1]
    titles = {model.model_name: model.title for model in backend.get_models()}
    assert chosen in titles
    record_presence(name="gpu@box", queues=[settings.GARDEN_GPU_QUEUE], details={})  # GET options is the health probe
    backend.set_config({"sd_model_checkpoint": titles[chosen]})
    assert backend.get_config()["sd_model_checkpoint"] == chosen
    assert job_of(backend.submit_txt2img(params()).wait(timeout=300)).model == chosen
    assert job_of(backend.submit_inpaint(params(init_images=[source], mask=mask, denoising_strength=0.6)).wait(timeout=300)).model == chosen
