"""`make run` (bin/garden-up) stays quiet: the demo gardener's plan goes to a log file and one
summary line, and the last lines before the servers' are the URL, the admin login and where its
password is kept."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Runs `make run` on the embedded defaults whatever the run's settings: CI runs it once, in that pass.
pytestmark = [pytest.mark.slow, pytest.mark.backend_free]


def _run(env: dict, *args: str) -> str:
    result = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_make_run_ends_with_the_url_and_the_login(tmp_path):
    env = {name: value for name, value in os.environ.items() if name not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL"}}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(GARDEN_VAR_DIR=str(tmp_path), GARDEN_STATIC_ROOT=str(tmp_path / "static"), GARDEN_BIND="127.0.0.1:8123")
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

    out = _run(env, "bin/garden-up", "--prepare-only")

    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) <= 8, out
    log = tmp_path / "log" / "demo-gardener.log"
    assert len(log.read_text().splitlines()) > 50  # the plan: a line per search key
    assert any(line.startswith("Gardener: planned ") and str(log) in line for line in lines), out
    password = (tmp_path / "admin-password").read_text().strip()
    assert f"Created admin login 'admin' with password: {password}" in out
    assert lines[-2] == "Emotion Garden: http://127.0.0.1:8123/ (the kiosk), http://127.0.0.1:8123/admin/ (the admin)"
    assert lines[-1] == f"Admin login: admin; its first password is kept in {tmp_path / 'admin-password'}. Ctrl-C stops every process."

    again = _run(env, "bin/garden-up", "--prepare-only").splitlines()
    assert password not in "\n".join(again)  # printed once only
    assert again[-1] == lines[-1]
