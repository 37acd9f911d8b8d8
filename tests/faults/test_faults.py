"""Fault suite: each part of a running installation is killed and started again under a bounded
trickle of kiosk traffic and jobs, and the client's own record of what it sent and what came back
is held against the database and the bucket (docs/operations.md#faults).

The installation is the fault suite's own (testkit/faults/stack.py): redis-server, a PostgreSQL
cluster made with initdb, a moto S3 server, gunicorn and a Celery worker, all on loopback ports of
their own. The scenarios run in file order on one installation; each leaves every part running.
Two bring more: headless Chromium kiosk pages (offline_kiosk.py) and a second worker that hangs
(hung_job.py, hanging_worker.py).
"""

from __future__ import annotations

import json
import re

import pytest

from testkit.chromium import chromium_path
from testkit.faults import kiosk, outages, traffic
from testkit.faults.commit_cut import commit_cut
from testkit.faults.hung_job import hung_worker
from testkit.faults.offline_kiosk import offline_spell

pytestmark = [pytest.mark.faults, pytest.mark.slow]


def report(outcome: kiosk.Outcome) -> None:
    """What happened, for `-s` and for failure messages."""
    print(f"\n{outcome.fault} for {outcome.down_seconds} s: calls {dict(outcome.by_status())}, recovered in {outcome.recover_seconds} s")
    for endpoint, answers in outcome.outage_by_endpoint().items():
        print(f"  during the outage {endpoint}: {dict(answers)}")
    if outcome.ledger:
        ledger = outcome.ledger
        print(f"  likes answered 200: {ledger.answered_ok}, lost {len(ledger.lost)}, duplicated {len(ledger.duplicated)}")
    for name, value in outcome.facts.items():
        print(f"  {name}: {str(value)[:300]}")


def server_errors(calls: list[traffic.Call]) -> list[str]:
    """5xx answers and calls that got no answer at all (a dropped connection is no better)."""
    return [call.describe() for call in calls if call.status is None or call.status >= 500]


def check_ledger(outcome: kiosk.Outcome) -> None:
    ledger = outcome.ledger
    assert ledger is not None
    assert not ledger.lost, f"{len(ledger.lost)} likes answered 200 have no row: {[c.describe() for c in ledger.lost[:5]]}"
    assert not ledger.duplicated, (
        f"{len(ledger.duplicated)} likes stored twice, or stored though answered 5xx: {[c.describe() for c in ledger.duplicated[:5]]}"
    )


def test_redis_down_under_kiosk_traffic_no_5xx_and_every_like_once(stack):
    outcome = outages.redis_outage(stack, seconds=15)
    report(outcome)
    assert len(outcome.during_outage()) >= 20, "too little kiosk traffic reached the outage to judge it"
    errors = server_errors(outcome.calls)
    assert not errors, f"{len(errors)} kiosk calls failed with Redis down: {errors[:5]}\n{stack.logs()}"
    check_ledger(outcome)


def test_broker_down_job_creation_answers_202_and_the_job_runs_once_it_is_back(stack):
    outcome = outages.broker_outage(stack, seconds=10, deadline=90)
    report(outcome)
    assert outcome.facts["create_status"] == 202, f"creating a job with the broker down: {outcome.facts['create_body']}\n{stack.logs()}"
    job = outcome.facts["job"]
    assert job["status"] == "succeeded", f"90 s after the broker came back the job is {job}\n{stack.logs()}"
    assert sorted(outcome.facts["image_keys"]) == sorted(outages.planned_keys(job, 1))


def test_worker_killed_mid_job_the_job_finishes_with_exactly_its_planned_images(stack):
    outcome = outages.worker_killed(stack, count=12, deadline=120)
    report(outcome)
    assert outcome.facts["create_status"] == 202, outcome.facts["create_body"]
    at_kill = outcome.facts["killed_at"]
    assert at_kill["status"] == "running" and 0 < at_kill["images_done"] < at_kill["images_total"], (
        f"harness: the worker was not killed mid-job: {at_kill}"
    )
    job = outcome.facts["job"]
    assert job["status"] == "succeeded", f"120 s after the worker was killed (and started again) the job is {job}\n{stack.logs()}"
    planned, keys = outcome.facts["planned"], outcome.facts["image_keys"]
    assert len(keys) == len(set(keys)) == job["images_total"] == job["images_done"] == len(planned), (job, sorted(keys))
    assert set(keys) == planned, f"missing {sorted(planned - set(keys))}, extra {sorted(set(keys) - planned)}"
    assert outcome.facts["image_rows"] == planned, "image rows of this job outside its plan"
    assert planned <= outcome.facts["s3"], f"images without a file: {sorted(planned - outcome.facts['s3'])}"


def test_postgres_down_answers_json_503_with_retry_after_and_recovers_by_itself(stack):
    outcome = outages.postgres_outage(stack, seconds=10)
    report(outcome)
    assert len(outcome.during_outage()) >= 10, "too little kiosk traffic reached the outage to judge it"
    unexpected = [call.describe() for call in outcome.calls if call.status is None or (call.status >= 500 and call.status != 503)]
    assert not unexpected, f"{len(unexpected)} calls answered other than 200 or 503: {unexpected[:5]}\n{stack.logs()}"
    for call in outcome.calls:
        if call.status == 503:
            assert call.headers.get("Content-Type", "").startswith("application/json"), call.describe()
            assert isinstance(json.loads(call.body), dict), call.describe()
            assert call.headers.get("Retry-After"), f"503 without Retry-After: {call.describe()}"
        if not call.ok:
            assert b"<html" not in call.body.lower() and b"Traceback" not in call.body, call.describe()
    check_ledger(outcome)
    # Recovered by itself: the same gunicorn (never restarted) answers everything again.
    assert outcome.facts["web_starts"] == 1
    last = [call for call in outcome.calls if call.started > outcome.calls[-1].started - 5]
    assert last and all(call.ok for call in last), f"still failing at the end: {[c.describe() for c in last if not c.ok][:5]}"
    assert outcome.recover_seconds is not None and outcome.recover_seconds <= 10, f"recovered only after {outcome.recover_seconds} s"


def test_s3_down_fails_the_job_with_a_storage_error_then_retry_succeeds_and_listings_go_on(stack):
    outcome = outages.s3_outage(stack, deadline=120)
    report(outcome)
    assert outcome.facts["create_status"] == 202, outcome.facts["create_body"]
    failed = outcome.facts["failed_job"]
    assert failed["status"] == "failed", f"with S3 down the job is {failed}\n{stack.logs()}"
    assert re.search(r"storage|s3|bucket", failed["error"] or "", re.IGNORECASE), f"not a clear storage error: {failed['error']!r}"
    assert outcome.facts["rows_without_file"] == [], "image rows point at files never written"
    listings = [call for call in outcome.during_outage() if call.endpoint in ("/garden", "/gardenfromDB")]
    assert listings, "no kiosk listing during the S3 outage"
    errors = server_errors(outcome.calls)
    assert not errors, f"kiosk calls failed with S3 down: {errors[:5]}"
    assert all(call.ok for call in listings), [call.describe() for call in listings if not call.ok][:5]
    check_ledger(outcome)
    retry_status, retry_body = outcome.facts["retry"]
    assert retry_status in (200, 202), retry_body
    job = outcome.facts["job"]
    assert job["status"] == "succeeded", f"the retried job is {job}\n{stack.logs()}"
    assert sorted(outcome.facts["image_keys"]) == sorted(outcome.facts["planned"])
    assert outcome.facts["rows_without_file_after"] == [], "image rows point at files never written"


def test_a_like_whose_commit_answer_is_lost_is_stored_once_through_the_kiosks_retry(stack):
    outcome = commit_cut(stack, likes=8)
    report(outcome)
    assert outcome.facts["cuts"] == 8, f"the proxy cut {outcome.facts['cuts']} COMMITs, not 8\n{stack.logs()}"
    assert all(status == 200 for status in outcome.facts["final_status"].values()), outcome.facts["final_status"]
    assert set(outcome.facts["rows_per_like"].values()) == {1}, f"rows per like: {outcome.facts['rows_per_like']}"
    check_ledger(outcome)
    cut = [call for call in outcome.calls if not call.ok]
    assert len(cut) >= 8 and all(call.status == 503 and call.headers.get("Retry-After") for call in cut), [c.describe() for c in cut][:5]


def test_a_kiosk_browser_offline_for_20_s_delivers_every_like_exactly_once(stack):
    if chromium_path() is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")
    outcome = offline_spell(stack, seconds=20)
    report(outcome)
    facts = outcome.facts
    assert all(waiting >= 4 for waiting in facts["waiting_at_end_of_spell"]), f"the outboxes held {facts['waiting_at_end_of_spell']}"
    assert facts["failed_sends"] > 0, "no send failed: the network was not taken away"
    assert facts["errors_shown_offline"] == 0 and facts["errors_shown"] == 0, "the visitor saw an error"
    assert outcome.recover_seconds is not None, f"outboxes not empty: {facts['waiting_after']}\n{stack.logs()}"
    check_ledger(outcome)
    assert facts["rows"] == facts["presses"] and not facts["unexpected_rows"], (facts["presses"], facts["rows"])
    assert not facts["keys_not_stored"], f"keys the pages sent with no stored answer: {facts['keys_not_stored']}"
    assert all(call.status in (None, 200) for call in outcome.calls), [c.describe() for c in outcome.calls if c.status not in (None, 200)]


def test_a_hung_worker_is_noticed_its_job_requeued_with_a_notice_and_finished(stack):
    outcome = hung_worker(stack, deadline=90)
    report(outcome)
    assert outcome.facts["create_status"] == 202, outcome.facts["create_body"]
    assert outcome.facts["images_done_at_hang"] == 2, "the worker did not hang mid-job, after its first batch"
    assert outcome.facts["while_hung"] == {"status": "running", "heartbeat_moved": True, "progress_moved": False}, outcome.facts
    job = outcome.facts["job"]
    assert job["status"] == "succeeded" and job["attempts"] == 2, f"the hung job is {job}\n{stack.logs()}"
    assert outcome.facts["notice"].startswith("Job hung"), outcome.facts["notice"]
    assert not outcome.facts["worker"].startswith("hung@"), "the second attempt ran on the hung worker"
    assert outcome.facts["hung_still_running"], "the hung worker died: this was not a hang"
    keys = outcome.facts["image_keys"]
    assert len(keys) == len(set(keys)) and set(keys) == outcome.facts["planned"], (sorted(keys), sorted(outcome.facts["planned"]))
    after = outcome.facts["after_release"]
    assert after["job"]["status"] == "succeeded" and sorted(after["image_keys"]) == sorted(keys), after
