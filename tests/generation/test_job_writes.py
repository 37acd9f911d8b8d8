"""The job table is written only by lifecycle's verbs (generation.worker.lifecycle: the insert, the
claim, the web's cancel and retry, the sweeper's re-send, a refused send's mark) and, once claimed,
by the job's Attempt (generation.worker.attempt): every painting path and every job kind an app above
registers (generation.kinds) gets one, never the rows.

Each statement that writes the job table is attributed to the code that issued it (the innermost
frame outside Django); a path whose writes come from anywhere but lifecycle and the Attempt fails.
A kind and a web cancel planted here that write the rows by hand are caught, so the check can fail;
the apps' source is read for the same rule.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import re
import traceback
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import django
import pytest
from django.db import connection
from django.utils import timezone

from generation import kinds, services
from generation.dispatch import enqueue
from generation.models import GenerationJob
from generation.worker import attempt, lifecycle, runner, sweeper
from tests.project_apps import APPS, ROOT
from tests.retouch.retouch_support import encoded, mask_png, noise, upload

pytestmark = pytest.mark.django_db

TABLE = GenerationJob._meta.db_table
DJANGO = str(Path(django.__file__).parent)
HERE = __file__
# The modules that may write the job table: lifecycle's verbs, and the Attempt.
LIFECYCLE, ATTEMPT = "generation/worker/lifecycle.py", "generation/worker/attempt.py"
WRITERS = frozenset({LIFECYCLE, ATTEMPT})
WRITE_VERBS = frozenset({"save", "delete", "update", "create", "bulk_create", "bulk_update", "get_or_create", "update_or_create"})


def _writer() -> str:
    """The repository path (or the file) of the innermost frame outside Django and this module."""
    root = str(Path(django.conf.settings.BASE_DIR)) + "/"
    for frame in reversed(traceback.extract_stack()[:-1]):  # [:-1]: this function
        if frame.filename.startswith(DJANGO) or (frame.filename == HERE and frame.name == "record") or "/contextlib.py" in frame.filename:
            continue
        return frame.filename.removeprefix(root)
    return "?"


@contextlib.contextmanager
def job_writes() -> Iterator[list[str]]:
    """The writer of every UPDATE, INSERT or DELETE on the job table in the block."""
    writers: list[str] = []

    def record(execute, sql, params, many, context):
        target = re.match(r'\s*(?:UPDATE|INSERT INTO|DELETE FROM)\s+"([^"]+)"', sql, re.IGNORECASE)
        if target is not None and target.group(1) == TABLE:
            writers.append(_writer())
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield writers


def test_a_text_to_image_job_is_written_only_by_its_claim_and_attempt(settings, no_enqueue):
    settings.GARDEN_JOB_HEARTBEAT_SECONDS = 0
    job = services.create_job(request=services.JobRequest(emotion="calm", count=2, width=64, height=64, steps=2, seed=3), enqueue=False)
    with job_writes() as writers:
        done = runner.execute_job(job_id=job.pk, worker="w")
    assert done.status == GenerationJob.Status.SUCCEEDED, done.error
    assert writers and set(writers) <= WRITERS, writers


def test_a_retouch_job_is_written_only_by_its_claim_and_attempt(staff_client, retouch_settings, no_enqueue):
    body = {"kind": "retouch", "work_size": 64, "seed": 7, "padding": 8, "prompt": "a red flower"}
    body |= {"image": upload(encoded(noise()), "image.bin"), "mask": upload(mask_png(), "mask.bin")}
    response = staff_client.post("/api/v1/jobs", body, format="multipart")
    assert response.status_code == 202, response.content
    with job_writes() as writers:
        done = runner.execute_job(job_id=response.json()["id"], worker="w")
    assert done.status == GenerationJob.Status.SUCCEEDED, done.error
    assert "generation/worker/attempt.py" in writers and set(writers) <= WRITERS, writers


def _rogue_run(*, job, attempt, timings):  # writes its job's row by hand: what the checks catch
    GenerationJob.objects.filter(pk=job.pk).update(notice="painted by hand")


@pytest.fixture
def rogue_kind():
    retouch = kinds.get("retouch")
    assert retouch is not None
    rogue = type(retouch)(**{**vars(retouch), "run": _rogue_run})
    kinds.register("rogue", rogue)
    yield rogue
    kinds.unregister("rogue")


def test_a_kind_that_writes_its_job_row_by_hand_is_caught(rogue_kind, settings, no_enqueue):
    settings.GARDEN_JOB_HEARTBEAT_SECONDS = 0
    job = services.create_job(request=services.JobRequest(emotion="calm", width=64, height=64, steps=2, seed=3), enqueue=False)
    GenerationJob.objects.filter(pk=job.pk).update(kind="rogue")
    with job_writes() as writers:
        runner.execute_job(job_id=job.pk, worker="w")
    assert set(writers) - WRITERS == {"tests/generation/test_job_writes.py"}  # the run's own writes are the Attempt's
    rogue_line = f"{__name__}:{_rogue_run.__code__.co_firstlineno + 1}: GenerationJob.objects.filter(pk=job.pk).update"
    assert rogue_line in offences(inspect.getmodule(_rogue_run))  # the source check finds it too


# --- the web's cancel and retry, the sweeper's re-sends, a refused send: lifecycle's verbs --------


def small_job(**fields) -> GenerationJob:
    job = services.create_job(request=services.JobRequest(emotion="calm", width=64, height=64, steps=2, seed=3), enqueue=False)
    if fields:
        GenerationJob.objects.filter(pk=job.pk).update(**fields)
    return job


def test_cancels_and_retries_from_the_api_and_the_admin_are_written_by_lifecycle(staff_client, admin_client, no_enqueue):
    queued, running = small_job(), small_job(status="running", attempts=1, heartbeat_at=timezone.now())
    with job_writes() as writers:
        assert staff_client.post(f"/api/v1/jobs/{queued.pk}/cancel").status_code == 200  # queued: cancelled at once
        assert admin_client.post(f"/admin/generation/generationjob/{running.pk}/cancel/").status_code == 302  # running: asked
        assert staff_client.post(f"/api/v1/jobs/{queued.pk}/retry").status_code == 202
        assert admin_client.post(f"/admin/generation/generationjob/{queued.pk}/cancel/").status_code == 302
        assert admin_client.post(f"/admin/generation/generationjob/{queued.pk}/retry/").status_code == 302
    queued.refresh_from_db()
    running.refresh_from_db()
    assert (queued.status, running.status, running.cancel_requested) == ("queued", "running", True)
    assert len(writers) >= 5 and set(writers) == {LIFECYCLE}, writers


def test_the_sweepers_ends_and_resends_are_written_by_lifecycle_and_the_attempt(settings, no_enqueue, django_capture_on_commit_callbacks):
    long_ago = timezone.now() - timedelta(seconds=settings.GARDEN_JOB_LEASE_SECONDS + settings.GARDEN_JOB_REQUEUE_AFTER_SECONDS + 60)
    waiting = small_job(enqueued_at=long_ago, created_at=long_ago)
    refused = small_job(send_failed=True)
    lost = small_job(status="running", attempts=1, worker="gone", heartbeat_at=long_ago, started_at=long_ago)
    with job_writes() as writers, django_capture_on_commit_callbacks(execute=True):
        assert sweeper.sweep_stale_jobs() == 3
    assert sorted(job_id for job_id, _queue in no_enqueue) == sorted(str(job.pk) for job in (waiting, refused, lost))
    assert set(GenerationJob.objects.values_list("status", "send_failed")) == {("queued", False)}
    assert sorted(writers) == [ATTEMPT, LIFECYCLE, LIFECYCLE], writers  # two re-sends; the lost attempt's end


def test_a_refused_send_is_marked_by_lifecycle(monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(enqueue, "enqueue_job", lambda **_kwargs: False)  # the broker refused it
    with job_writes() as writers, django_capture_on_commit_callbacks(execute=True):
        job = services.create_job(request=services.JobRequest(emotion="calm", width=64, height=64, steps=2, seed=3))
    job.refresh_from_db()
    assert (job.status, job.send_failed) == ("queued", True)
    assert writers == [LIFECYCLE, LIFECYCLE], writers  # the insert, the mark


def _cancel_by_hand(*, job):  # a service that writes the row itself: what the checks catch
    GenerationJob.objects.filter(pk=job.pk).update(status="cancelled", cancel_requested=True)
    job.refresh_from_db()
    return job


def test_a_web_cancel_that_writes_the_row_by_hand_is_caught(monkeypatch, staff_client, no_enqueue):
    job = small_job()
    monkeypatch.setattr(services, "cancel_job", _cancel_by_hand)  # as the views call it
    with job_writes() as writers:
        assert staff_client.post(f"/api/v1/jobs/{job.pk}/cancel").status_code == 200
    assert set(writers) - WRITERS == {"tests/generation/test_job_writes.py"}
    hand_line = f"{__name__}:{_cancel_by_hand.__code__.co_firstlineno + 1}: GenerationJob.objects.filter(pk=job.pk).update"
    assert hand_line in offences(inspect.getmodule(_cancel_by_hand))  # the source check finds it too


# --- the same rule read in the source: the apps' modules, and every registered kind's painting module --


def offences(module) -> list[str]:
    """Writes in ``module`` on the job's rows not made through an Attempt: a write verb on a chain
    rooted at ``GenerationJob``, or on the ``job`` a kind's run is handed (``job.save()``)."""
    return _writes(ast.parse(inspect.getsource(module)), module.__name__)


def _writes(tree: ast.AST, name: str) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WRITE_VERBS:
            root = node.func.value
            while isinstance(root, ast.Attribute | ast.Call | ast.Subscript):
                root = root.func if isinstance(root, ast.Call) else root.value
            if isinstance(root, ast.Name) and root.id in {"GenerationJob", "job"}:
                found.append(f"{name}:{node.lineno}: {ast.unparse(node.func)}")
    return found


def test_no_registered_kind_writes_its_job_rows_but_through_its_attempt():
    modules = {inspect.getmodule(kind.run) for kind in kinds.registered().values()}
    assert modules, "no kind is registered"
    assert {name: found for module in modules if (found := offences(module)) for name in [module.__name__]} == {}
    for kind in kinds.registered().values():  # each is handed its Attempt, never the rows
        assert "attempt" in inspect.signature(kind.run).parameters and "mine" not in inspect.signature(kind.run).parameters


def test_no_module_of_the_apps_writes_the_job_table_but_lifecycle_and_the_attempt():
    writers = {lifecycle.__name__, attempt.__name__}
    found = {}
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            if "migrations" in path.parts or name in writers:
                continue
            tree = ast.parse(path.read_text())
            if any(isinstance(node, ast.Name) and node.id == "GenerationJob" for node in ast.walk(tree)) and (hits := _writes(tree, name)):
                found[name] = hits
    assert found == {}
