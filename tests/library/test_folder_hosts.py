"""Issue 87's aim with real processes: a diffusers folder and a LoRA copied into host a's folder paint
on host b with the LoRA applied while host a is stopped; a second folder sharing a component stores
it once. Runs bench/library_folder_hosts.py at smoke size (two real Celery workers, moto's S3 server,
a PostgreSQL database of its own, Redis) and reads what it proved from its output; the bench
itself asserts each step and exits non-zero when one fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import _smoke
from tests.local_services import reachable

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_a_folder_and_a_lora_paint_on_host_b_after_host_a_stopped(tmp_path):
    if not _smoke.is_postgres(os.environ.get("DATABASE_URL", "")):
        pytest.skip("needs PostgreSQL: the two workers share one database (CI's first pass)")
    if not reachable(_smoke.cache_url("redis://127.0.0.1:6379", "")):
        pytest.skip("needs Redis: CACHE_URL's, else 127.0.0.1:6379")
    env = {
        **os.environ,
        "GARDEN_VAR_DIR": str(tmp_path / "var"),
        "BENCH_FOLDER_HOSTS_DATABASE_URL": _smoke.database_url("library_folder_hosts_test", "", ""),
    }
    try:
        done = subprocess.run(
            [sys.executable, "bench/library_folder_hosts.py", "--smoke"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
        )
    finally:
        _smoke.drop_database(env["BENCH_FOLDER_HOSTS_DATABASE_URL"])
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    assert "(9 shared files" in output and "stored once" in output
    assert "host A stopped by SIGTERM: exit 0" in output and "gone from presence: True" in output
    assert "(LoRA applied: True)" in output
    assert "host B's log: fetched tiny-sd-a (10 files" in output and "host B's log: fetched tiny-ink" in output
