"""bench/gardener.py is reproducible: the same command gives the same figures and the same trace
digest, idle or pinned to a core another process keeps busy (docs/gardener.md, "The simulation").

Its smoke run (one seed, two gardener rounds: rebuilds, retirement, bred jobs painted and
harvested, /garden's exploration) is the short simulation run twice here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.backend_free]


def smoke(tmp_path: Path, *, prefix: tuple[str, ...] = ()) -> list[str]:
    """The smoke run's table and trace digest (the per-run line holds its seconds: left out)."""
    env = {**os.environ, "GARDEN_VAR_DIR": str(tmp_path / "var"), "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        [*prefix, sys.executable, "bench/gardener.py", "--smoke"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Share of the way"))
    kept = [line for line in lines[start:] if line.strip()]
    assert any(line.startswith("trace digest") for line in kept), done.stdout
    return kept


def test_the_same_run_twice_gives_the_same_figures_and_trace(tmp_path):
    first, second = smoke(tmp_path), smoke(tmp_path)
    assert first == second
    assert any("60 likes" in line for line in first)  # two rounds were scored


@pytest.mark.skipif(shutil.which("taskset") is None or not hasattr(os, "sched_getaffinity"), reason="needs taskset (util-linux)")
def test_the_same_run_on_a_busy_core_gives_the_same_figures_and_trace(tmp_path):
    idle = smoke(tmp_path)
    core = str(min(os.sched_getaffinity(0)))
    spinner = subprocess.Popen(["taskset", "-c", core, sys.executable, "-c", "while True: pass"])
    try:
        busy = smoke(tmp_path, prefix=("taskset", "-c", core))
    finally:
        spinner.kill()
        spinner.wait()
    assert busy == idle
