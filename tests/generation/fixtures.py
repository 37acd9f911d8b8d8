"""Fixtures for generation, retouch and A1111 tests: the tiny pipeline (built once per session) and
settings for it. A plugin of tests/conftest.py, so that tests/retouch and tests/a1111 share them."""

from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from testkit.tiny_pipeline import save_tiny_pipeline


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A saved random-weight Stable Diffusion pipeline, loaded like any local model folder."""
    return save_tiny_pipeline(tmp_path_factory.mktemp("models") / "tiny-sd")


@pytest.fixture
def diffusers_settings(settings, tiny_model_dir):
    settings.GARDEN_GENERATOR_BACKEND = "diffusers"
    settings.GARDEN_DIFFUSION_MODEL = str(tiny_model_dir)
    settings.GARDEN_DIFFUSION_DEVICE = "cpu"
    settings.GARDEN_DIFFUSION_SCHEDULER = "default"
    settings.GARDEN_DIFFUSION_COMPILE = False
    settings.GARDEN_DIFFUSION_BATCH_SIZE = 4
    settings.GARDEN_HF_OFFLINE = True
    settings.GARDEN_DEFAULT_STEPS = 2
    return settings


@pytest.fixture
def token_client(api_client, django_user_model):
    user = django_user_model.objects.create_user("kiosk-operator")
    token = Token.objects.create(user=user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    api_client.user = user
    return api_client


@pytest.fixture
def staff_client(django_user_model):
    from rest_framework.test import APIClient

    api_client = APIClient()
    user = django_user_model.objects.create_user("curator", password="pw-curator-1", is_staff=True)
    api_client.force_login(user)
    api_client.user = user
    return api_client


# --- retouching: tiny models (tests/retouch/tiny_retouch.py), built once per session ------------


@pytest.fixture(scope="session")
def retouch_models(tmp_path_factory, tiny_model_dir) -> dict[str, Path]:
    from tests.retouch import tiny_retouch

    root = tmp_path_factory.mktemp("retouch-models")
    return {
        "inpaint": tiny_retouch.save_inpaint_pipeline(root / "tiny-inpaint"),
        "lineart": tiny_retouch.save_controlnet(root / "tiny-lineart"),
        "other_family": tiny_retouch.save_controlnet(root / "tiny-controlnet-48", cross_attention_dim=48),
        "ip_adapter": tiny_retouch.save_ip_adapter(root / "tiny-ip-adapter"),
        "tagger": tiny_retouch.save_tagger(root / "tiny-tagger"),
    }


@pytest.fixture
def retouch_settings(diffusers_settings):
    """Retouching on the tiny text-to-image model (from_pipe), no optional model configured."""
    for name in (
        "GARDEN_RETOUCH_INPAINT_MODEL",
        "GARDEN_RETOUCH_LINEART_CONTROLNET",
        "GARDEN_RETOUCH_CANNY_CONTROLNET",
        "GARDEN_RETOUCH_IP_ADAPTER",
        "GARDEN_RETOUCH_IMAGE_ENCODER",
        "GARDEN_RETOUCH_TAGGER_MODEL",
    ):
        setattr(diffusers_settings, name, "")
    diffusers_settings.GARDEN_DEFAULT_STEPS = 4
    return diffusers_settings
