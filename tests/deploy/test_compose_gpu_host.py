"""compose.gpu-host.yaml, read as a file: a GPU machine joining a running stack runs only its GPU
workers, against the first machine's PostgreSQL, Redis and bucket, with its own host name, the
venue's model store and a writable models folder (its cache). Compose is not run here."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
GPU_HOST = yaml.safe_load((ROOT / "compose.gpu-host.yaml").read_text())
FIRST = yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_only_the_gpu_workers_run_on_a_second_machine():
    assert set(GPU_HOST["services"]) == {"gpu-worker", "live-worker"}
    for name, service in GPU_HOST["services"].items():
        assert service["command"] == FIRST["services"][name]["command"], name
        assert service["image"] == FIRST["services"][name]["image"], name


def test_a_second_machine_reaches_the_first_ones_services_and_names_itself():
    for name, service in GPU_HOST["services"].items():
        environment = service["environment"]
        for variable in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "GARDEN_S3_ENDPOINT_URL"):
            assert "${GARDEN_PRIMARY_HOST" in environment[variable], (name, variable)
        assert environment["GARDEN_HOST_NAME"].startswith("${GARDEN_HOST_NAME:?"), name
        assert environment["GARDEN_MODELS_STORE"].startswith("${GARDEN_MODELS_STORE:?"), name
        assert "GARDEN_MODELS_CACHE_GB" in environment, name
        models = [volume for volume in service["volumes"] if "GARDEN_MODELS_DIR" in volume]
        assert models and not models[0].endswith(":ro"), name  # fetches write there
    assert GPU_HOST["services"]["live-worker"]["environment"]["GARDEN_DIFFUSION_MAX_LOADED"] == "1"


def test_every_setting_a_second_machine_sets_is_documented():
    docs = (ROOT / "docs" / "settings.md").read_text() + (ROOT / "docs" / "deploy.md").read_text()
    environment = GPU_HOST["services"]["gpu-worker"]["environment"]
    for variable in environment:
        assert variable in docs, variable
    assert "GARDEN_PRIMARY_HOST" in (ROOT / "docs" / "deploy.md").read_text()
