"""Interrupt as webuiapi 0.9.17 drives it (issue 96): its own ``interrupt()`` (webuiapi.py:
``POST {baseurl}/interrupt``) while its own blocking ``txt2img()`` waits in another thread; the waiting
call answers 200 with the pictures painted before the interrupt, as A1111's does (webuiapi raises on
any other status), and the job ends cancelled with those pictures kept.

The worker runs in the test's thread once the request waits (SQLite's shared in-memory test
database: the request's thread only reads meanwhile), one picture per call, so the interrupt falls
between the first picture, stored, and the second."""

from __future__ import annotations

import threading

import pytest
import webuiapi
from django.utils import timezone

from generation import changes
from generation.models import GenerationJob, WorkerPresence
from generation.worker import runner

pytestmark = pytest.mark.django_db(transaction=True)
USER, PASSWORD = "gimp", "pw-gimp-secret"


@pytest.fixture
def waiting_api(live_server, django_user_model, settings, media_dir, no_enqueue) -> webuiapi.WebUIApi:
    settings.GARDEN_GENERATOR_BACKEND = "procedural"  # the demo paints txt2img
    settings.GARDEN_DIFFUSION_BATCH_SIZE = 1  # one picture per call: the interrupt falls between two
    WorkerPresence.objects.create(name="test@gpu", queues=["gpu"], gpu=True, seen_at=timezone.now() + timezone.timedelta(hours=1))
    django_user_model.objects.create_user(USER, password=PASSWORD, is_staff=True)
    return webuiapi.WebUIApi(baseurl=f"{live_server.url}/sdapi/v1", username=USER, password=PASSWORD, steps=2)


def test_webuiapis_interrupt_answers_its_waiting_txt2img_200_with_what_was_painted(waiting_api, monkeypatch):
    waiting = threading.Event()
    wait = changes.Watch.wait

    def said_waiting(watch, seconds):
        waiting.set()
        return wait(watch, seconds)

    monkeypatch.setattr(changes.Watch, "wait", said_waiting)
    answer: dict = {}

    def txt2img() -> None:
        try:
            answer["result"] = waiting_api.txt2img(prompt="a calm garden", seed=11, width=64, height=64, n_iter=3, alwayson_scripts={})
        except Exception as exc:  # webuiapi raises on an error status: the test says which
            answer["error"] = exc

    thread = threading.Thread(target=txt2img)
    thread.start()
    assert waiting.wait(timeout=60), "the txt2img never waited"

    # The worker's step callback: before the second call's first step the client interrupts.
    interrupted, reporter = [], runner.StepReporter

    def watched(mine, *, base, steps, **options):
        on_step = reporter(mine, base=base, steps=steps, **options)

        def step(done: int) -> None:
            if base and not interrupted:
                interrupted.append(webuiapi.WebUIApi(baseurl=waiting_api.baseurl, username=USER, password=PASSWORD).interrupt())
            on_step(done)

        return step

    monkeypatch.setattr(runner, "StepReporter", watched)
    job = runner.execute_job(job_id=GenerationJob.objects.get().pk, worker="test@gpu")
    thread.join(timeout=60)

    assert interrupted == [{}]  # A1111's interrupt answers an empty object
    assert "error" not in answer, answer
    result = answer["result"]
    assert len(result.images) == 1 and result.image.size == (64, 64)  # the first picture, painted before the interrupt
    assert result.info["warnings"] == ["interrupted: 1 of 3 pictures painted."]
    assert job.status == GenerationJob.Status.CANCELLED and job.images.count() == 1
