"""The hung-job scenario: a real worker whose pipeline stops making progress while its heartbeat
goes on (testkit/faults/hanging_worker.py). The sweeper (GARDEN_JOB_HUNG_*, shortened in
harness.FAST_SETTINGS) must end the attempt and requeue the job with a notice; the suite's ordinary
worker runs the second attempt to the end, with exactly the job's planned images. When the hung
call finally returns, its attempt finds the job no longer its own and writes nothing."""

from __future__ import annotations

import signal
import time

from testkit.faults.kiosk import Outcome
from testkit.faults.outages import new_job, planned_keys
from testkit.faults.processes import HarnessError, Part, procfile_argv, wait_until
from testkit.faults.stack import Stack

PROGRESS = "SELECT status, attempts, heartbeat_at, progress_at, notice, worker FROM generation_generationjob WHERE id = %s"


def _progress(stack: Stack, job_id: str) -> dict:
    row = stack.sql(PROGRESS, (job_id,))[0]
    return dict(zip(("status", "attempts", "heartbeat_at", "progress_at", "notice", "worker"), row, strict=True))


def hanging_worker(stack: Stack, hang_file) -> Part:
    env = {**stack.env, "GARDEN_FAULTS_HANG_FILE": str(hang_file)}
    argv = procfile_argv("worker", env)
    argv[argv.index("-A") + 1] = "testkit.faults.hanging_worker"
    worker = Part("hung worker", [*argv, "-n", "hung@%h"], env=env, log=stack.folder / "hung-worker.log",
                  ready=lambda: " ready." in worker.since_start(), ready_seconds=90)  # fmt: skip
    return worker


def hung_worker(stack: Stack, *, deadline: float = 90) -> Outcome:
    """Facts: the job as the hang was seen (heartbeat moving, progress not), the requeue's notice,
    the finished job and its images, and the job again after the hung call returned."""
    outcome = Outcome("worker hung mid-job, heartbeat on")
    hang = stack.folder / "hang"
    reached = hang.with_name(hang.name + ".reached")
    reached.unlink(missing_ok=True)
    hang.touch()
    hung = hanging_worker(stack, hang)
    stack.worker.kill(signal.SIGTERM)  # the job must reach the hanging worker
    try:
        hung.start()
        status, body = new_job(stack, count=2, steps=4, seed=31, width=320, height=256)  # two sizes: two pipeline calls
        outcome.facts.update(create_status=status, create_body=body)
        if status != 202 or not isinstance(body, dict):
            return outcome
        job_id = body["id"]
        # Blocked in its second pipeline call: no progress can be written from here on.
        wait_until(reached.exists, seconds=60, what="the worker hanging after its first batch")
        outcome.facts["images_done_at_hang"] = stack.job(job_id)["images_done"]
        first = _progress(stack, job_id)
        time.sleep(3)
        second = _progress(stack, job_id)
        outcome.facts["while_hung"] = {"status": second["status"], "heartbeat_moved": second["heartbeat_at"] > first["heartbeat_at"],
                                       "progress_moved": second["progress_at"] != first["progress_at"]}  # fmt: skip
        stack.worker.start()
        try:
            wait_until(lambda: _progress(stack, job_id)["attempts"] >= 2, seconds=deadline, what="the hung job requeued")
        except HarnessError:
            outcome.facts["job"] = stack.job(job_id)
            return outcome
        requeued = time.monotonic()
        # Seconds without progress until the second attempt started (the database's clock).
        [(idle,)] = stack.sql("SELECT extract(epoch FROM now() - %s)", (second["progress_at"],))
        outcome.down_seconds = round(float(idle), 1)
        job, _ = stack.wait_for_job(job_id, {"succeeded", "failed", "cancelled"}, deadline)
        outcome.recover_seconds = round(time.monotonic() - requeued, 1) if job["status"] == "succeeded" else None
        finished = _progress(stack, job_id)
        keys = stack.job_image_keys(job_id)
        outcome.facts.update(job=job, job_id=job_id, notice=finished["notice"], worker=finished["worker"], image_keys=keys,
                             planned=planned_keys(job, 2), hung_still_running=hung.running)  # fmt: skip
        # The hung call returns at last: its attempt must find the job gone and leave it as it is.
        hang.unlink()
        wait_until(lambda: "lost its lease" in hung.since_start(), seconds=30, what="the hung attempt giving up")
        outcome.facts["after_release"] = {"job": stack.job(job_id), "image_keys": stack.job_image_keys(job_id)}
        return outcome
    finally:
        hang.unlink(missing_ok=True)
        hung.kill(signal.SIGKILL)
        if not stack.worker.running:
            stack.worker.start()
