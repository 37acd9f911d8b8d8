"""Once claimed, a job's row is written only through its Attempt (generation.worker.attempt): every
painting path and every job kind an app above registers (generation.kinds) gets one, never the rows.

Each statement that writes the job table is attributed to the code that issued it (the innermost
frame outside Django); a run whose writes come from anywhere but the claim (lifecycle) and the
Attempt fails. A kind planted here that writes the rows by hand is caught, so the check can fail.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import re
import traceback
from collections.abc import Iterator
from pathlib import Path

import django
import pytest
from django.db import connection

from generation import kinds, services
from generation.models import GenerationJob
from generation.worker import runner
from tests.retouch.retouch_support import encoded, mask_png, noise, upload

pytestmark = pytest.mark.django_db

TABLE = GenerationJob._meta.db_table
DJANGO = str(Path(django.__file__).parent)
HERE = __file__
# The modules that may write a claimed job's row: the claim, and the Attempt.
WRITERS = frozenset({"generation/worker/lifecycle.py", "generation/worker/attempt.py"})
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


# --- the same rule read in the source of every registered kind's painting module -----------------


def offences(module) -> list[str]:
    """Writes in ``module`` on the job's rows not made through an Attempt: a write verb on a chain
    rooted at ``GenerationJob``, or on the ``job`` a kind's run is handed (``job.save()``)."""
    tree = ast.parse(inspect.getsource(module))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WRITE_VERBS:
            root = node.func.value
            while isinstance(root, ast.Attribute | ast.Call | ast.Subscript):
                root = root.func if isinstance(root, ast.Call) else root.value
            if isinstance(root, ast.Name) and root.id in {"GenerationJob", "job"}:
                found.append(f"{module.__name__}:{node.lineno}: {ast.unparse(node.func)}")
    return found


def test_no_registered_kind_writes_its_job_rows_but_through_its_attempt():
    modules = {inspect.getmodule(kind.run) for kind in kinds.registered().values()}
    assert modules, "no kind is registered"
    assert {name: found for module in modules if (found := offences(module)) for name in [module.__name__]} == {}
    for kind in kinds.registered().values():  # each is handed its Attempt, never the rows
        assert "attempt" in inspect.signature(kind.run).parameters and "mine" not in inspect.signature(kind.run).parameters
