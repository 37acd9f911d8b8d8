"""Dead workers (issue 19, item 4): a job whose worker died resumes within about two minutes, without
beat, and finishes with exactly the images its plan names (none twice, none missing).

Real prefork workers on a Redis server of the test's own, procedural jobs slowed by
``tests.generation.slow_worker`` so that the kill lands mid-job. Run with ``-s`` to see the timings.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from tests.generation.outage_support import RedisServer, installation, planned_bulk_keys

pytestmark = pytest.mark.slow


def _wait_ready(garden, worker, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    log = garden.folder / f"{worker.name}.log"
    while time.monotonic() < deadline:
        if log.exists() and " ready." in log.read_text():
            return
        if worker.poll() is not None:
            raise AssertionError(f"worker {worker.name} exited\n{garden.logs()}")
        time.sleep(0.2)
    raise AssertionError(f"worker {worker.name} not ready\n{garden.logs()}")


def _since(moment: datetime, value) -> float:
    """Seconds from ``moment`` to a timestamp read from the row (SQLite gives naive UTC text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - moment).total_seconds()


def _check_exact_plan(garden, job_id: str) -> dict:
    job = garden.job(job_id)
    planned = planned_bulk_keys(job)
    assert (job["status"], job["images_done"], job["images_total"]) == ("succeeded", len(planned), len(planned)), job
    assert garden.job_keys(job_id) == planned  # every planned image, once
    assert garden.all_keys() == planned  # no stray rows
    assert garden.media_keys() == planned  # no stray or missing files
    return job


def test_a_killed_pool_process_is_resumed_at_once_by_its_worker(tmp_path):
    """SIGKILL of the pool process: the worker's main process requeues the job before redelivering
    the message (JobTaskRequest.on_failure), so it resumes in seconds, not after the 60 s lease."""
    redis = RedisServer(tmp_path)
    redis.start()
    try:
        with installation(tmp_path / "garden", redis.url) as garden:
            worker = garden.start_worker("w1", GARDEN_TEST_PAINT_DELAY="0.25")
            _wait_ready(garden, worker)
            job_id = garden.submit("--emotion", "calm/spring,cloudy,day", "--bulk", "--count", "10", "--width", "64", "--height", "64")
            garden.wait_for(job_id, lambda job: job["status"] == "running" and job["images_done"] >= 4, timeout=120)
            (child,) = garden.pool_children(worker)
            import os
            import signal

            killed = datetime.now(UTC)
            os.kill(child, signal.SIGKILL)
            job = garden.wait_for(job_id, lambda job: job["status"] in ("succeeded", "failed"), timeout=180)
            resumed_after, done_after = _since(killed, job["started_at"]), _since(killed, job["finished_at"])
            print(f"\npool process SIGKILL → resumed (claimed again) {resumed_after:.1f} s → succeeded {done_after:.1f} s")
            assert resumed_after < 20, job  # the lease is 60 s: this is the worker's own requeue
            assert job["attempts"] == 2 and "Worker lost" in job["notice"] and "SIGKILL" in job["notice"], job
            assert "resumed (attempt 2 of 3)" in job["notice"]
            _check_exact_plan(garden, job_id)
    finally:
        redis.stop()


def test_a_whole_dead_worker_is_resumed_by_another_workers_sweep_without_beat(tmp_path):
    """SIGKILL of the worker and its pool together: nothing notices, the heartbeat stops, and the other
    live worker's periodic sweep (GARDEN_JOB_SWEEP_SECONDS, no beat) resumes the job once the lease expires.
    The heartbeat thread keeps the lease alive through a "model load" longer than the lease."""
    redis = RedisServer(tmp_path)
    redis.start()
    settings = {"GARDEN_JOB_LEASE_SECONDS": "6", "GARDEN_JOB_HEARTBEAT_SECONDS": "1", "GARDEN_JOB_SWEEP_SECONDS": "1"}
    try:
        with installation(tmp_path / "garden", redis.url, **settings) as garden:
            slow = {"GARDEN_TEST_PAINT_DELAY": "0.3", "GARDEN_TEST_LOAD_DELAY": "9"}  # the load outlasts the lease
            workers = [garden.start_worker("w1", **slow), garden.start_worker("w2", **slow)]
            for worker in workers:
                _wait_ready(garden, worker)
            job_id = garden.submit("--emotion", "happy/summer,sunny,day", "--bulk", "--count", "8", "--width", "64", "--height", "64")
            job = garden.wait_for(job_id, lambda job: job["status"] == "running" and job["images_done"] >= 3, timeout=120)
            # 9 s of loading without a step, under a 6 s lease, with the other worker sweeping every second:
            assert (job["attempts"], job["notice"]) == (1, ""), job  # the heartbeat thread kept the lease
            (running,) = [worker for worker in workers if job["worker"].startswith(f"{worker.name}@")]
            killed = datetime.now(UTC)
            garden.kill_whole_worker(running)
            job = garden.wait_for(job_id, lambda job: job["status"] in ("succeeded", "failed"), timeout=180)
            # enqueued_at: when the sweep requeued it and re-sent its message; started_at: the new claim.
            requeued_after, resumed_after = _since(killed, job["enqueued_at"]), _since(killed, job["started_at"])
            done_after = _since(killed, job["finished_at"])
            timeline = f"requeued {requeued_after:.1f} s → claimed {resumed_after:.1f} s → succeeded {done_after:.1f} s"
            print(f"\nwhole worker SIGKILL (lease 6 s) → {timeline}")
            assert requeued_after + 1 >= 6 and requeued_after < 6 + 10, job  # once the 6 s lease has expired
            assert job["attempts"] == 2 and "Worker lost (no heartbeat for 6s" in job["notice"], job
            assert "resumed (attempt 2 of 3)" in job["notice"]
            _check_exact_plan(garden, job_id)
    finally:
        redis.stop()
