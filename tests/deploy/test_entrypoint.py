"""deploy/entrypoint.py without containers: usage, the command line of each role, and a real
`manage check` from this checkout (the script finds the app beside its own folder)."""

from __future__ import annotations

import importlib.util
import os
import re
import runpy
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

# Depends on no database, cache or broker of the run: CI runs it once, in the pass on the embedded defaults.
pytestmark = pytest.mark.backend_free

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "entrypoint.py"


@pytest.fixture
def entrypoint(monkeypatch, tmp_path):
    """The script as a module, with exec replaced by a recorder and a clean environment."""
    spec = importlib.util.spec_from_file_location("garden_entrypoint", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    calls = []
    monkeypatch.setattr(module.os, "execv", lambda path, argv: calls.append(argv))
    monkeypatch.setattr(module.os, "chdir", lambda path: None)
    for name in list(os.environ):
        if name.startswith(("GARDEN_", "PROMETHEUS_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GARDEN_VAR_DIR", str(tmp_path / "data"))
    module.calls = calls
    return module


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=120)


def option(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_an_unknown_role_exits_2_with_the_usage():
    result = run("serve")
    assert result.returncode == 2
    assert "unknown role: serve" in result.stderr and "usage: entrypoint.py ROLE" in result.stderr
    for role in ("web", "worker", "gpu-worker", "live-worker", "beat", "migrate", "manage"):
        assert f"  {role}" in result.stderr


def test_no_role_exits_2_and_help_exits_0():
    assert run().returncode == 2
    helped = run("--help")
    assert helped.returncode == 0 and "usage:" in helped.stdout


@pytest.mark.slow
def test_manage_runs_manage_py_of_this_checkout(tmp_path):
    result = run("manage", "check", GARDEN_VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_web_runs_gunicorn_with_the_procfile_flags(entrypoint, tmp_path, monkeypatch):
    metrics = tmp_path / "prometheus"
    metrics.mkdir()
    (metrics / "counter_1.db").write_text("stale")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics))
    monkeypatch.setenv("GARDEN_BIND", "0.0.0.0:8000")
    monkeypatch.setenv("GARDEN_WEB_WORKERS", "5")
    assert entrypoint.main(["web"]) == 0
    (argv,) = entrypoint.calls
    assert Path(argv[0]).name == "gunicorn" and argv[1] == "config.wsgi"
    assert option(argv, "--bind") == "0.0.0.0:8000" and option(argv, "--workers") == "5"
    assert option(argv, "--config") == str(ROOT / "deploy" / "gunicorn.conf.py")
    # The same application, settings file, worker class, access log and format as the Procfile's web line.
    procfile = shlex.split(next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")))
    assert argv[1] == procfile[2] == "config.wsgi"
    assert Path(option(procfile, "--config")) == Path("deploy/gunicorn.conf.py")
    for flag in ("--worker-class", "--access-logfile", "--access-logformat"):
        expected = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", option(procfile, flag))
        assert option(argv, flag) == expected, flag
    # Multiprocess metrics start from an empty folder; local media exists before the first image.
    assert metrics.is_dir() and not any(metrics.iterdir())
    assert (tmp_path / "data" / "media").is_dir()


def test_web_defaults_outside_the_image(entrypoint):
    entrypoint.main(["web"])
    (argv,) = entrypoint.calls
    assert option(argv, "--bind") == "127.0.0.1:8000" and option(argv, "--workers") == "2"
    assert option(argv, "--worker-class") == "config.web_threads.Worker"  # gthread; a waiting long poll's thread is replaced


def test_the_web_server_runs_garden_web_threads_threads(monkeypatch):
    conf = ROOT / "deploy" / "gunicorn.conf.py"
    monkeypatch.setenv("GARDEN_WEB_THREADS", "3")
    monkeypatch.setenv("GARDEN_LIVE_WAIT_SLOTS", "5")
    assert runpy.run_path(str(conf))["threads"] == 3  # the long polls' threads come and go (config/web_threads.py)
    monkeypatch.delenv("GARDEN_WEB_THREADS")
    assert runpy.run_path(str(conf))["threads"] == 16  # the setting's default


def test_worker_serves_the_default_queue(entrypoint, monkeypatch):
    monkeypatch.setenv("GARDEN_WORKER_CONCURRENCY", "3")
    monkeypatch.setenv("GARDEN_LOG_LEVEL", "WARNING")
    entrypoint.main(["worker"])
    (argv,) = entrypoint.calls
    assert argv[1:4] == ["-A", "config", "worker"]
    assert option(argv, "--queues") == "default" and option(argv, "--concurrency") == "3" and option(argv, "--loglevel") == "WARNING"


def test_gpu_worker_serves_the_gpu_queue_one_process(entrypoint, monkeypatch):
    monkeypatch.setenv("GARDEN_WORKER_CONCURRENCY", "8")  # not for GPUs: one process per card
    entrypoint.main(["gpu-worker", "--hostname", "gpu0@%h"])
    (argv,) = entrypoint.calls
    assert option(argv, "--queues") == "gpu" and option(argv, "--concurrency") == "1"
    assert argv[-2:] == ["--hostname", "gpu0@%h"]  # extra arguments pass through


def test_live_worker_serves_the_live_queue_one_process(entrypoint, monkeypatch):
    monkeypatch.setenv("GARDEN_LIVE_QUEUE", "live-a")
    entrypoint.main(["live-worker"])
    (argv,) = entrypoint.calls
    assert option(argv, "--queues") == "live-a" and option(argv, "--concurrency") == "1" and option(argv, "--pool") == "solo"


def test_beat_keeps_its_schedule_in_the_data_volume(entrypoint, tmp_path):
    entrypoint.main(["beat"])
    (argv,) = entrypoint.calls
    assert argv[1:4] == ["-A", "config", "beat"]
    assert option(argv, "--schedule") == str(tmp_path / "data" / "celerybeat-schedule")


def test_manage_passes_its_arguments_to_manage_py(entrypoint):
    entrypoint.main(["manage", "createsuperuser", "--username", "ada"])
    (argv,) = entrypoint.calls
    assert argv[1:] == [str(ROOT / "manage.py"), "createsuperuser", "--username", "ada"]
