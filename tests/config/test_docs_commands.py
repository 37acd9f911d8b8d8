"""The production commands in docs/operations.md are the ones the Procfile runs (make run, the
tests), and the web line really serves: it is run here as written, on a port of its own."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from testkit.servers import BIN, ROOT, free_port

OPERATIONS = ROOT / "docs" / "operations.md"


def production_lines() -> list[list[str]]:
    """The shell block of "Running against PostgreSQL, Redis and S3", one token list per command."""
    text = OPERATIONS.read_text()
    section = text[text.index("## Running against PostgreSQL, Redis and S3") :]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    lines = []
    for line in block.splitlines():
        tokens = shlex.split(line, comments=True)
        if tokens and tokens[0] != "export":
            lines.append(tokens)
    return lines


def procfile() -> dict[str, list[str]]:
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, command = line.split(":", 1)
        expanded = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", command)  # ${GARDEN_BIND:-127.0.0.1:8000} → its default
        entries[name] = shlex.split(expanded)
    return entries


def options(tokens: list[str]) -> dict[str, str]:
    """--flag value pairs (a flag followed by another flag has the value "")."""
    found = {}
    for index, token in enumerate(tokens):
        if token.startswith("--"):
            following = tokens[index + 1] if index + 1 < len(tokens) else ""
            found[token] = "" if following.startswith("--") else following
    return found


def command(name: str, *words: str) -> list[list[str]]:
    """The documented lines that run ``name`` (after any VAR=value prefixes) with these words."""
    found = []
    for tokens in production_lines():
        while tokens and re.match(r"^\w+=", tokens[0]):
            tokens = tokens[1:]
        if tokens and tokens[0].endswith(name) and all(word in tokens for word in words):
            found.append(tokens)
    return found


def test_the_documented_web_server_uses_the_procfile_flags():
    (gunicorn,) = command("gunicorn")
    documented, procfile_web = options(gunicorn), options(procfile()["web"])
    assert gunicorn[1] == procfile()["web"][1]  # the application: config.wsgi
    for flag in ("--worker-class", "--access-logfile", "--access-logformat"):
        assert documented.get(flag) == procfile_web[flag], flag


def test_the_documented_workers_and_beat_log_and_keep_their_schedule_outside_the_checkout():
    workers = command("celery", "worker")
    assert len(workers) == 3  # light tasks, one per GPU, and the live pictures' GPU
    for worker in workers:
        assert options(worker)["--loglevel"] == options(procfile()["worker"])["--loglevel"]
    (beat,) = command("celery", "beat")
    schedule = Path(options(beat)["--schedule"])
    assert schedule.is_absolute() and ROOT not in schedule.parents
    assert options(beat)["--loglevel"]


def test_the_production_steps_create_an_administrator():
    assert command("python", "createsuperuser")
    assert command("python", "migrate")


@pytest.mark.slow
def test_the_documented_web_line_serves_and_logs_each_request(tmp_path):
    (gunicorn,) = command("gunicorn")
    port = free_port()
    tokens = [str(BIN / "gunicorn"), *gunicorn[1:]]
    tokens[tokens.index("--bind") + 1] = f"127.0.0.1:{port}"
    tokens[tokens.index("--workers") + 1] = "1"
    env = {**os.environ, "GARDEN_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run([str(BIN / "python"), "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=300)
    with open(tmp_path / "web.log", "wb") as log:
        process = subprocess.Popen(tokens, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            for _ in range(150):
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                        assert response.status == 200
                    break
                except OSError:
                    assert process.poll() is None, (tmp_path / "web.log").read_text()[-2000:]
                    time.sleep(0.2)
            request = urllib.request.Request(f"http://127.0.0.1:{port}/gardenfromDB", data=b'{"emotion": "calm"}', method="POST")
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200
        finally:
            process.terminate()
            process.wait(timeout=20)
    logged = (tmp_path / "web.log").read_text()
    assert re.search(r'"POST /gardenfromDB HTTP/1\.1" 200 \d+ \d+ms', logged), logged[-2000:]
