"""The bench harness (bench/harness/): its venue and its comparison of two revisions, through its command line.

The tests import nothing from bench/ (pyproject.toml's import-linter contract): the harness is run as
a bench is, ``python -m bench.harness check`` and ``compare``. Its workers, PostgreSQL and S3 store
are exercised by the smoke runs of the benches on it (test_smoke.py: library_routing,
library_hosts, library_two_hosts, library_folder_hosts, dispatch_frozen_host, foreground_wait).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIGURE = "pages.review page, 100 images.queries"  # curation's --json: the review page's queries, the same at one revision


@pytest.mark.slow
@pytest.mark.embedded_only  # the venue's own SQLite whatever the run's database: CI's last pass
def test_a_venue_has_a_migrated_database_a_store_and_a_web_over_them():
    run = subprocess.run([sys.executable, "-m", "bench.harness", "check"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    answers = json.loads(run.stdout.strip().splitlines()[-1])
    assert answers == {"database": "sqlite", "migrated": True, "store": True, "web_schema_status": 200, "users_seen_by_another_process": 1}


def test_compare_needs_a_revision_a_bench_and_a_figure():
    run = subprocess.run([sys.executable, "-m", "bench.harness", "compare", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 2
    assert "the following arguments are required: b, bench, --figure" in run.stderr


@pytest.mark.slow
@pytest.mark.embedded_only  # curation's smoke on its own SQLite: CI's last pass
def test_two_revisions_alternate_and_compare_one_figure(tmp_path):
    """HEAD against itself, curation's smoke run (SQLite, seconds): each revision's figure from its own
    checkout, round after round, the machine's load beside them, and B ÷ A of the medians."""
    if subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True).returncode:
        pytest.skip("not a git checkout: nothing to compare")
    out = tmp_path / "compare.json"
    command = [sys.executable, "-m", "bench.harness", "compare", "HEAD", "HEAD", "curation", "--figure", FIGURE]
    command += ["--rounds", "2", "--out", str(out), "--", "--smoke"]
    embedded = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}  # curation's smoke on its own SQLite
    run = subprocess.run(command, cwd=ROOT, env=embedded, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.stdout.count("round ") == 4 and "load average" in run.stdout
    document = json.loads(out.read_text())
    assert document["args"]["revisions"] == ["HEAD", "HEAD"]
    assert document["results"]["a"]["n"] == document["results"]["b"]["n"] == 2
    assert document["results"]["b_over_a_median"] == 1.0
    assert {"load_average", "cores", "revision"} <= set(document["machine"]["start"])
    leftover = subprocess.run(["git", "worktree", "list"], cwd=ROOT, capture_output=True, text=True).stdout
    assert "bench-compare-" not in leftover
