"""A second machine from the docs alone (docs/deploy.md#several-machines), read as files:
compose.gpu-host.yaml (only the GPU workers, one per card, against the first machine's PostgreSQL,
Redis and bucket), compose.primary.yaml (the first machine's parts published on a private address),
.env.gpu-host.example (the second machine's one .env) and the walk-through's commands and variables.
Compose is not run here; the Redis password is tried on a real redis-server when one is installed."""

from __future__ import annotations

import re
import shlex
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GPU_HOST_TEXT = (ROOT / "compose.gpu-host.yaml").read_text()
GPU_HOST = yaml.safe_load(GPU_HOST_TEXT)
FIRST = yaml.safe_load((ROOT / "compose.yaml").read_text())
PRIMARY = yaml.safe_load((ROOT / "compose.primary.yaml").read_text())
GPU_ENV_EXAMPLE = (ROOT / ".env.gpu-host.example").read_text()
ENV_EXAMPLE = (ROOT / ".env.example").read_text()
DEPLOY = (ROOT / "docs" / "deploy.md").read_text()
WALK_THROUGH = DEPLOY[DEPLOY.index("## Several machines\n") : DEPLOY.index("## Installing a model\n")]
GPU_WORKERS = ("gpu-worker", "gpu-worker-1")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:-default} and ${NAME:?message} (a missing required one raises); $$ is $."""

    def one(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        if op == ":?":
            raise KeyError(f"{name}: {arg}")
        return arg if op == ":-" else ""

    return re.sub(r"(?<!\$)\$\{(\w+)(?:(:[-?])([^}]*))?\}", one, value).replace("$$", "$")


def env_file(text: str) -> dict[str, str]:
    """The NAME=value lines of an env file that are set (not commented out)."""
    return dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", text, re.M))


def gpu_cards(service: dict) -> list[str]:
    (device,) = service["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    assert "count" not in device, "a count reservation gives every worker the first card"
    return device["device_ids"]


# --- compose.gpu-host.yaml ------------------------------------------------------------------------


def test_only_the_gpu_workers_run_on_a_second_machine_on_the_first_machines_image():
    assert set(GPU_HOST["services"]) == {*GPU_WORKERS, "live-worker"}
    for name, service in GPU_HOST["services"].items():
        role = "gpu-worker" if name in GPU_WORKERS else name
        assert service["command"] == FIRST["services"][role]["command"], name
        assert service["image"] == FIRST["services"][role]["image"], name
        # Never built here: a build at another time may install other packages than the first machine's.
        assert "build" not in service, name


def test_a_second_machine_reaches_the_first_ones_services_with_their_passwords():
    for name, service in GPU_HOST["services"].items():
        environment = service["environment"]
        for variable in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "GARDEN_S3_ENDPOINT_URL"):
            assert "${GARDEN_PRIMARY_HOST" in environment[variable], (name, variable)
        for variable in ("CELERY_BROKER_URL", "CACHE_URL"):
            assert environment[variable].startswith("redis://:${REDIS_PASSWORD:?"), (name, variable)
        assert environment["GARDEN_MODELS_STORE"].startswith("${GARDEN_MODELS_STORE:?"), name
        models = [volume for volume in service["volumes"] if "GARDEN_MODELS_DIR" in volume]
        assert models and not models[0].endswith(":ro"), name  # fetches write there
    assert GPU_HOST["services"]["live-worker"]["environment"]["GARDEN_DIFFUSION_MAX_LOADED"] == "1"


def test_one_worker_per_card_each_a_host_of_its_own():
    env = env_file(GPU_ENV_EXAMPLE) | {"GARDEN_HOST_NAME": "b"}
    hosts = {}
    for name in GPU_WORKERS:
        service = GPU_HOST["services"][name]
        (card,) = gpu_cards(service)
        hosts[card] = interpolate(service["environment"]["GARDEN_HOST_NAME"], env)
        assert hosts[card] == f"b-gpu{card}", name
    assert sorted(hosts) == ["0", "1"]
    # One GPU: card 0 runs by default; the second card's worker is the profile the docs name.
    assert "profiles" not in GPU_HOST["services"]["gpu-worker"]
    assert GPU_HOST["services"]["gpu-worker-1"]["profiles"] == ["two-gpus"]
    assert "docker compose -f compose.gpu-host.yaml --profile two-gpus up -d" in WALK_THROUGH
    # The live worker shares card 0, under card 0's host name.
    live = GPU_HOST["services"]["live-worker"]
    assert gpu_cards(live) == ["0"] and interpolate(live["environment"]["GARDEN_HOST_NAME"], env) == "b-gpu0"
    with pytest.raises(KeyError, match="GARDEN_HOST_NAME"):  # never defaulted to one name for every machine
        interpolate(live["environment"]["GARDEN_HOST_NAME"], {})


def test_the_models_cache_is_bounded():
    # 0 is "no bound but the disk" (library.cache.limit_bytes): a second machine fills its disk.
    for name, service in GPU_HOST["services"].items():
        assert float(interpolate(service["environment"]["GARDEN_MODELS_CACHE_GB"], {})) > 0, name
    assert float(env_file(GPU_ENV_EXAMPLE)["GARDEN_MODELS_CACHE_GB"]) > 0


# --- compose.primary.yaml: the first machine's parts, published privately ------------------------


def test_the_first_machine_publishes_its_parts_on_a_private_address_only():
    assert set(PRIMARY["services"]) == {"postgres", "redis", "minio", "gpu-worker", "live-worker"}
    published = {}
    for name in ("postgres", "redis", "minio"):
        (port,) = PRIMARY["services"][name]["ports"]
        address, host_port, container_port = port.rsplit(":", 2)
        assert address.startswith("${GARDEN_PRIVATE_ADDRESS:?"), (name, port)  # no default: never 0.0.0.0
        assert host_port == container_port
        published[name] = int(host_port)
    assert published == {"postgres": 5432, "redis": 6379, "minio": 9000}
    # compose.yaml alone publishes none of them (only the proxy faces out).
    assert [name for name, service in FIRST["services"].items() if "ports" in service] == ["proxy"]
    assert "bypass host" in (ROOT / "compose.primary.yaml").read_text() and "bypass host" in WALK_THROUGH
    # What the second machine dials is what the first publishes.
    wiring = " ".join(GPU_HOST["services"]["gpu-worker"]["environment"].values())
    for port in published.values():
        assert f"${{GARDEN_PRIMARY_HOST}}:{port}" in wiring or f"${{GARDEN_PRIMARY_HOST:?set GARDEN_PRIMARY_HOST in .env}}:{port}" in wiring


def test_the_first_machines_gpu_workers_may_fetch_from_the_store():
    mount = "${GARDEN_MODELS_HOST_DIR:-./models}:${GARDEN_MODELS_DIR:-/models}"
    for name in ("gpu-worker", "live-worker"):
        assert mount + ":ro" in FIRST["services"][name]["volumes"]
        # Same target: the override replaces the read-only mount.
        assert PRIMARY["services"][name]["volumes"] == [mount], name


def test_redis_asks_for_a_password_everywhere_it_is_reached():
    redis = FIRST["services"]["redis"]
    command = redis["command"]
    assert command[command.index("--requirepass") + 1] == "${REDIS_PASSWORD:?set REDIS_PASSWORD in .env}"
    assert re.search(r"^REDIS_PASSWORD=change-me$", ENV_EXAMPLE, re.M)
    assert env_file(GPU_ENV_EXAMPLE)["REDIS_PASSWORD"] == "change-me"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.skipif(shutil.which("redis-server") is None or shutil.which("redis-cli") is None, reason="needs redis-server")
def test_the_wiring_reaches_a_redis_started_as_compose_starts_it(tmp_path):
    """compose.yaml's redis command, run for real: the URLs both compose files give the workers get in,
    the health check says PONG with the password and fails without it, a client without it is refused."""
    import redis as redis_client
    from kombu import Connection

    password = "b7c2d0e8f1a94c3e"
    port = _free_port()
    env = {"REDIS_PASSWORD": password, "GARDEN_PRIMARY_HOST": "127.0.0.1"}
    command = [interpolate(part, env) for part in FIRST["services"]["redis"]["command"]]
    server = subprocess.Popen(
        [*command, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path), "--save", ""],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        check = FIRST["services"]["redis"]["healthcheck"]["test"][1].replace("redis-cli", f"redis-cli -p {port}")
        for _ in range(100):
            if subprocess.run(check, shell=True, env={"REDISCLI_AUTH": password, "PATH": "/usr/bin:/bin"}).returncode == 0:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the health check never passed with the password")
        assert subprocess.run(check, shell=True, env={"REDISCLI_AUTH": "wrong", "PATH": "/usr/bin:/bin"}).returncode != 0
        assert subprocess.run(check, shell=True, env={"PATH": "/usr/bin:/bin"}).returncode != 0

        first = FIRST["services"]["web"]["environment"]
        second = GPU_HOST["services"]["gpu-worker"]["environment"]
        for url in (first["CELERY_BROKER_URL"], first["CACHE_URL"], second["CELERY_BROKER_URL"], second["CACHE_URL"]):
            url = interpolate(url, env).replace("@redis:", "@127.0.0.1:").replace(":6379/", f":{port}/")
            assert redis_client.Redis.from_url(url).ping() is True
            with Connection(url, connect_timeout=5) as connection:
                connection.ensure_connection(max_retries=1)
        with pytest.raises(redis_client.exceptions.AuthenticationError):
            redis_client.Redis.from_url(f"redis://127.0.0.1:{port}/0").ping()
    finally:
        server.terminate()
        server.wait(timeout=10)


# --- the second machine's .env and the walk-through ------------------------------------------------


def test_the_second_machines_env_is_one_file_that_sets_every_required_variable():
    env = env_file(GPU_ENV_EXAMPLE)
    required = set(re.findall(r"\$\{(\w+):\?", GPU_HOST_TEXT))
    assert required <= set(env), sorted(required - set(env))
    # Every secret it needs is one of the first machine's, copied (the admin's MinIO login is not needed).
    for name in ("DJANGO_SECRET_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD", "GARDEN_S3_SECRET_ACCESS_KEY"):
        assert env[name] == "change-me" and re.search(rf"^{name}=change-me$", ENV_EXAMPLE, re.M), name
    assert "MINIO_ROOT_PASSWORD" not in env
    # Each value it shares with the first machine's example is the same there.
    first = env_file(ENV_EXAMPLE)
    for name in set(env) & set(first):
        assert env[name] == first[name], name
    # Its own name is its own: not the first machine's example name, and no card suffix (compose adds it).
    assert env["GARDEN_HOST_NAME"] == "b"
    assert "cp .env.gpu-host.example .env" in GPU_HOST_TEXT and "cp .env.gpu-host.example .env" in WALK_THROUGH
    assert "cp .env.example .env" not in GPU_HOST_TEXT


def test_every_variable_of_the_second_machines_env_is_read():
    from tests.deploy.test_compose import read_by_settings

    known = read_by_settings() | set(re.findall(r"(?<!\$)\$\{(\w+)", GPU_HOST_TEXT))
    named = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", GPU_ENV_EXAMPLE, re.M))
    assert not named - known, sorted(named - known)


def test_every_variable_the_walk_through_sets_is_in_an_example_env_file():
    named = set(re.findall(r"\b([A-Z][A-Z0-9_]{3,})=", WALK_THROUGH))
    examples = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE + GPU_ENV_EXAMPLE, re.M))
    assert {"GARDEN_PRIMARY_HOST", "GARDEN_PRIVATE_ADDRESS", "GARDEN_HOST_NAME", "COMPOSE_FILE"} <= named
    assert not named - examples, sorted(named - examples)
    # COMPOSE_FILE's files are the ones shipped.
    for files in re.findall(r"COMPOSE_FILE=(\S+)", WALK_THROUGH + ENV_EXAMPLE):
        for name in files.split(":"):
            assert (ROOT / name).is_file(), name


def _commands(text: str) -> list[list[str]]:
    """The shell commands of the walk-through's code blocks and inline code, split as a shell would."""
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        lines += [line.split("#", 1)[0] for line in block.splitlines()]
    lines += re.findall(r"`((?:docker|scp|cp|install|sudo) [^`]+)`", text)
    commands = []
    for line in lines:
        lexer = shlex.shlex(line.replace("…", ""), posix=True, punctuation_chars="|&;")
        lexer.whitespace_split = True
        words: list[str] = []
        for word in [*lexer, "&&"]:
            if word in ("|", "&&", ";", "||"):
                if words:
                    commands.append(words)
                words = []
            else:
                words.append(word)
    return commands


def test_the_walk_throughs_commands_name_files_that_exist():
    named = set()
    for words in _commands(WALK_THROUGH) + _commands(GPU_HOST_TEXT.replace("#   ", "")):
        named |= {words[i + 1] for i, word in enumerate(words[:-1]) if word == "-f"}
        if words[0] in ("cp", "scp"):
            named |= {word for word in words[1:-1] if not word.startswith("-")}
    assert {"compose.gpu-host.yaml", ".env.gpu-host.example"} <= named
    for name in named:
        assert (ROOT / name).is_file(), name


def test_the_walk_through_says_how_the_image_gets_there_and_how_to_upgrade():
    assert "docker save" in WALK_THROUGH and "docker load" in WALK_THROUGH and "docker push" in WALK_THROUGH
    assert "--force-recreate" in WALK_THROUGH  # the first machine's containers read the new .env
    assert "install -d -o 10001 -g 10001 models" in WALK_THROUGH and "install -d -o 10001 -g 10001 models" in GPU_HOST_TEXT
    upgrade = WALK_THROUGH[WALK_THROUGH.index("**Upgrades") :]
    # The second machine's workers stop first and start last.
    migrate = upgrade.index("(`migrate` runs first)")
    assert upgrade.index("compose.gpu-host.yaml --profile two-gpus down") < migrate
    assert upgrade.rindex("compose.gpu-host.yaml --profile two-gpus up -d") > migrate
    assert "System status" in WALK_THROUGH


def test_the_first_machines_models_folder_and_both_clocks_are_set_up():
    first = WALK_THROUGH[: WALK_THROUGH.index("**On machine B**")]
    # compose.primary.yaml mounts A's folder writable for its GPU workers: it must be the image user's.
    assert "sudo chown -R 10001:10001 models" in first
    assert first.index("sudo chown -R 10001:10001 models") < first.index("--force-recreate")
    assert "System clock synchronized: yes" in WALK_THROUGH  # presence and stalled uploads compare machines' times


def test_every_setting_a_second_machine_sets_is_documented():
    docs = (ROOT / "docs" / "settings.md").read_text() + DEPLOY
    for service in GPU_HOST["services"].values():
        for variable in service["environment"]:
            assert variable in docs, variable
    table = set(re.findall(r"^\|\s*`(\w+)`\s*\|", DEPLOY, re.M))
    assert {"GARDEN_PRIMARY_HOST", "GARDEN_PRIVATE_ADDRESS", "REDIS_PASSWORD", "COMPOSE_FILE"} <= table
