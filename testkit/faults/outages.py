"""The fault scenarios: each breaks one part of the running installation (testkit/faults/stack.py)
under kiosk traffic and puts it back; the tests judge what they record, the bench prints it."""

from __future__ import annotations

import signal
import time

from testkit.faults.kiosk import Kiosk, Outcome, like_ledger, recovery_seconds
from testkit.faults.stack import Stack


def redis_outage(stack: Stack, *, seconds: float = 15) -> Outcome:
    """Redis (cache and broker) killed for ``seconds`` under kiosk traffic, then started again empty."""
    with Kiosk(stack, "redis").running(seconds + 40) as kiosk:
        time.sleep(3)
        down = kiosk.now()
        stack.redis.kill()
        try:
            time.sleep(seconds)
        finally:
            stack.redis.start()
        up = kiosk.now()
        time.sleep(8)
    outcome = Outcome("Redis (cache + broker) down", kiosk.calls, like_ledger(stack, kiosk), recovery_seconds(kiosk.calls, up), (down, up))
    outcome.down_seconds = round(up - down, 1)
    return outcome


def new_job(stack: Stack, **body) -> tuple[int | None, dict | str]:
    request = {"kind": "bulk", "emotion": "calm/spring,cloudy,day", "backend": "procedural", "count": 1, "width": 256, "height": 256,
               "seed": 7, **body}  # fmt: skip
    return stack.api("POST", "/api/v1/jobs", request)


def planned_keys(job: dict, count: int) -> set[str]:
    folder = f"imgPool/{job['emotion']}/{job['favorite']}" if job["favorite"] else f"imgPool/{job['emotion']}"
    return {f"{folder}/img_{job['timestr']}_{index}{side}.jpeg" for index in range(count) for side in "hv"}


def broker_outage(stack: Stack, *, seconds: float = 10, deadline: float = 90) -> Outcome:
    """A job created while the broker (Redis) is down; Redis comes back empty, the job must run."""
    outcome = Outcome("broker down, job created")
    stack.redis.kill()
    down = time.monotonic()
    try:
        time.sleep(1)
        status, body = new_job(stack, count=1)
        outcome.facts.update(create_status=status, create_body=body)
        time.sleep(seconds)
    finally:
        stack.redis.start()
    outcome.down_seconds = round(time.monotonic() - down, 1)
    if not isinstance(body, dict) or "id" not in body:
        return outcome
    job, took = stack.wait_for_job(body["id"], {"succeeded", "failed", "cancelled"}, deadline)
    outcome.facts.update(job=job, job_id=body["id"], image_keys=stack.job_image_keys(body["id"]))
    outcome.recover_seconds = round(took, 1) if job["status"] == "succeeded" else None
    return outcome


def worker_killed(stack: Stack, *, count: int = 12, deadline: float = 120) -> Outcome:
    """SIGKILL to the worker's whole process group mid-job; started again at once (as a supervisor
    would), no beat. The job must finish with exactly its planned images."""
    outcome = Outcome("worker SIGKILLed mid-job")
    status, body = new_job(stack, count=count, width=1280, height=800, seed=11)
    outcome.facts.update(create_status=status, create_body=body)
    if status != 202 or not isinstance(body, dict):
        return outcome
    job_id = body["id"]
    started = time.monotonic()
    while time.monotonic() - started < 60:
        job = stack.job(job_id)
        if job["images_done"] >= 2 or job["status"] not in ("queued", "running"):
            break
        time.sleep(0.1)
    outcome.facts["killed_at"] = dict(job)
    stack.worker.kill(signal.SIGKILL)
    killed = time.monotonic()
    stack.worker.start()
    outcome.down_seconds = round(time.monotonic() - killed, 1)
    outcome.facts["restarted_within_lease"] = outcome.down_seconds < float(stack.env["GARDEN_JOB_LEASE_SECONDS"])
    job, _ = stack.wait_for_job(job_id, {"succeeded", "failed", "cancelled"}, deadline - (time.monotonic() - killed))
    took = time.monotonic() - killed
    keys = stack.job_image_keys(job_id)
    planned = planned_keys(job, count)
    stored = {key for (key,) in stack.sql("SELECT key FROM garden_image WHERE key LIKE %s", (f"%img_{job['timestr']}_%",))}
    outcome.facts.update(job=job, job_id=job_id, image_keys=keys, planned=planned, image_rows=stored,
                         s3=stack.s3_keys(f"imgPool/{job['emotion']}/"))  # fmt: skip
    outcome.recover_seconds = round(took, 1) if job["status"] == "succeeded" else None
    return outcome


def postgres_outage(stack: Stack, *, seconds: float = 10) -> Outcome:
    """``pg_ctl stop -m immediate`` under kiosk traffic, started again after ``seconds``; the web
    processes are not restarted."""
    with Kiosk(stack, "postgres").running(seconds + 50) as kiosk:
        time.sleep(3)
        down = kiosk.now()
        stack.postgres.stop("immediate")
        try:
            time.sleep(seconds)
        finally:
            stack.postgres.start()
        up = kiosk.now()
        time.sleep(15)
    outcome = Outcome("PostgreSQL down", kiosk.calls, like_ledger(stack, kiosk), recovery_seconds(kiosk.calls, up), (down, up))
    outcome.down_seconds = round(up - down, 1)
    outcome.facts["web_starts"] = stack.web.starts
    return outcome


def s3_outage(stack: Stack, *, deadline: float = 120) -> Outcome:
    """The S3 server killed: a job fails with a storage error while kiosk traffic goes on; S3 comes
    back (moto keeps nothing, so the bucket is made again) and the failed job is retried."""
    outcome = Outcome("S3 down, job created")
    before = stack.s3_keys()
    with Kiosk(stack, "s3").running(deadline + 30) as kiosk:
        time.sleep(2)
        down = kiosk.now()
        stack.moto.kill()
        try:
            status, body = new_job(stack, count=1, seed=23)
            outcome.facts.update(create_status=status, create_body=body)
            if isinstance(body, dict) and "id" in body:
                job, took = stack.wait_for_job(body["id"], {"succeeded", "failed", "cancelled"}, deadline)
                outcome.facts.update(job_id=body["id"], failed_job=job, failed_after=round(took, 1))
            # Every image row made while S3 was down must point at a file written before the outage.
            outcome.facts["rows_without_file"] = sorted(key for (key,) in stack.sql("SELECT key FROM garden_image") if key not in before)
        finally:
            stack.moto.start()
            stack.make_bucket()
        up = kiosk.now()
        time.sleep(3)
    outcome.calls, outcome.ledger, outcome.outage = kiosk.calls, like_ledger(stack, kiosk), (down, up)
    outcome.down_seconds = round(up - down, 1)
    job_id = outcome.facts.get("job_id")
    if job_id and outcome.facts["failed_job"]["status"] == "failed":
        retried = time.monotonic()
        outcome.facts["retry"] = stack.api("POST", f"/api/v1/jobs/{job_id}/retry")
        job, _ = stack.wait_for_job(job_id, {"succeeded", "failed", "cancelled"}, deadline)
        after = stack.s3_keys()
        outcome.facts.update(job=job, image_keys=stack.job_image_keys(job_id), planned=planned_keys(job, 1))
        outcome.facts["rows_without_file_after"] = sorted(
            key for (key,) in stack.sql("SELECT key FROM garden_image") if key not in before | after
        )
        outcome.recover_seconds = round(time.monotonic() - retried, 1) if job["status"] == "succeeded" else None
    return outcome
