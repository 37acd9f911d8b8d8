"""Every benchmark under bench/ starts and gets through its real path: ``python bench/X.py --smoke``.

The benches are found here, not listed: a new bench is covered the day it lands, and one without
``--smoke`` fails. A bench says what its smoke run needs in a module-level ``SMOKE_NEEDS`` tuple
(read from its source, not imported): "postgresql" (it runs when the test run's DATABASE_URL is
PostgreSQL, on a database of its own beside it: testkit/smoke.py, dropped afterwards), "redis"
(CACHE_URL's Redis, else 127.0.0.1:6379, answers), "chromium" (marked ``browser``), "faults"
(marked ``faults``: the fault installation takes a minute or more to start, so it runs with
`pytest -m faults`, in CI's fault-suite step, and is skipped otherwise). A bench
without "postgresql" runs on its own throw-away SQLite database and files whatever the test run's
database is, so it runs once, in the pass on the embedded defaults (marked ``embedded_only``: CI runs
`make test-all` on PostgreSQL, then the browser, ``backend_free`` and ``embedded_only``
tests on SQLite: .ci/run). All are ``slow``: `make test` leaves them out, `make
test-all` runs them. Benches that take a Redis for a worker round when one answers (generation,
live) run that round too.
"""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testkit import smoke
from testkit.local_services import reachable

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(path for path in (ROOT / "bench").glob("*.py") if not path.name.startswith("_") and path.name != "run_all.py")
TIMEOUT_S = 300  # a smoke run takes seconds to a minute or two (servers, a worker, Chromium); this is for a loaded CI machine


def smoke_needs(script: Path) -> tuple[str, ...]:
    for node in ast.parse(script.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(target, "id", None) == "SMOKE_NEEDS" for target in node.targets):
            return tuple(ast.literal_eval(node.value))
    return ()


def params():
    for script in SCRIPTS:
        marks = [pytest.mark.slow]
        if "chromium" in smoke_needs(script):
            marks.append(pytest.mark.browser)
        if "postgresql" in smoke_needs(script):
            marks.append(pytest.mark.postgres)
        if "faults" in smoke_needs(script):
            marks.append(pytest.mark.faults)
        if not {"postgresql", "faults", "chromium"} & set(smoke_needs(script)):
            marks.append(pytest.mark.embedded_only)  # its own SQLite whatever the run's database: CI's last pass
        yield pytest.param(script, id=script.stem, marks=marks)


def test_every_bench_is_found():
    assert {"serving", "recommend", "fleet"} <= {script.stem for script in SCRIPTS}


@pytest.mark.parametrize("script", list(params()))
def test_bench_smoke(script: Path, tmp_path, request):
    source = script.read_text()
    # its own flag, or the harness's command line (bench.harness.parser), which has it
    has_smoke = '"--smoke"' in source or "parser(__doc__)" in source
    assert has_smoke, f"{script.name} has no --smoke flag: give it one (bench.harness.parser, docs/benchmarks.md)"
    needs = smoke_needs(script)
    on_postgres = smoke.is_postgres(os.environ.get("DATABASE_URL", ""))
    env = {**os.environ, "GARDEN_VAR_DIR": str(tmp_path / "var"), "PYTHONUNBUFFERED": "1"}
    if "faults" in needs and "faults" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("starts the fault suite's installation (a minute or more): runs with `pytest -m faults`, as CI's fault step does")
    if "postgresql" in needs and not on_postgres:
        pytest.skip("needs PostgreSQL: runs when DATABASE_URL is PostgreSQL (CI's first pass)")
    if "postgresql" not in needs and on_postgres:
        pytest.skip("runs on its own SQLite database: once, in the pass on the embedded defaults")
    if "redis" in needs and not reachable(smoke.cache_url("redis://127.0.0.1:6379", "")):
        pytest.skip("needs Redis: CACHE_URL's, else 127.0.0.1:6379")
    started = time.monotonic()
    # A session of its own: on a timeout, Ctrl-C for the whole group lets the bench stop the servers
    # it started (its finally blocks run); what is left after 30 s is killed.
    bench = subprocess.Popen(
        [sys.executable, str(script), "--smoke"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        output, _ = bench.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(bench.pid, signal.SIGINT)
        try:
            output, _ = bench.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(bench.pid, signal.SIGKILL)
            output, _ = bench.communicate()
        pytest.fail(f"{script.name} --smoke ran past {TIMEOUT_S} s:\n{output[-3000:]}")
    finally:
        if "postgresql" in needs:
            smoke.drop_database(smoke.database_url(script.stem, "", ""))
    seconds = time.monotonic() - started
    assert bench.returncode == 0, f"{script.name} --smoke exited {bench.returncode} after {seconds:.1f} s:\n{output[-6000:]}"
