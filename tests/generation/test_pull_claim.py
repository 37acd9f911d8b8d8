"""The job a worker claims when a message reaches it (generation.worker.claim.claim_next), against the
database: the message is a wake-up call for one job of its queue, and every queued job is claimed
exactly once whichever message claims it. The order itself is a table in test_pull_order.py."""

from datetime import timedelta

import pytest
from django.utils import timezone

from generation import backends, services
from generation.dispatch import pull
from generation.models import GenerationJob, WorkerPresence
from generation.worker import claim as claiming
from generation.worker import lifecycle, runner

pytestmark = pytest.mark.django_db

Status = GenerationJob.Status


def job(model: str, age: float = 10, **fields) -> GenerationJob:
    values = {"emotion": "calm", "prompt": "p", "width": 64, "height": 64, "steps": 2, "guidance": 0.0, "seed": 1}
    values |= {"backend": "diffusers", "timestr": "t", "model": model, "model_id": f"/models/{model}", "queue": "gpu"}
    made = GenerationJob.objects.create(**(values | fields))
    GenerationJob.objects.filter(pk=made.pk).update(created_at=timezone.now() - timedelta(seconds=age))
    return made


@pytest.fixture
def holding(monkeypatch):
    """The models this (painting) process holds: what backends.loaded_pipelines says."""
    held: set[str] = set()
    monkeypatch.setattr(backends.loaded_pipelines, "loaded_names", lambda: sorted(held))
    return held


def worker_present(name: str, *, host="", loaded=(), loading="", queues=("gpu",)):
    WorkerPresence.objects.create(
        name=name, host=host or name, queues=list(queues), models_loaded=list(loaded), model_loading=loading, seen_at=timezone.now()
    )


def claim(message_job, worker="w0", message="m"):
    return claiming.claim_next(job_id=message_job.pk, worker=worker, message=message)


def test_each_message_claims_the_job_its_worker_paints_best_and_every_job_once(holding):
    jobs = [job(model, age=10 - n) for n, model in enumerate("abab")]
    job("a", cancel_requested=True)
    job("a", queue="live")
    worker_present("w1", loaded=["b"])

    holding |= {"b"}  # the message of the first job (model a) reaches the worker holding b: the oldest b
    assert claim(jobs[0], "w1").pk == jobs[1].pk
    holding.clear()  # nothing held: the oldest job
    assert claim(jobs[1]).pk == jobs[0].pk
    holding |= {"a"}
    assert claim(jobs[2]).pk == jobs[2].pk
    assert claim(jobs[3], "w1").pk == jobs[3].pk
    # Every gpu job claimed once; the one asked to cancel and the other queue's are left alone.
    assert GenerationJob.objects.filter(status=Status.RUNNING, attempts=1).count() == 4
    assert GenerationJob.objects.filter(status=Status.QUEUED).count() == 2
    assert claim(jobs[0], "w1") is None  # a message left over (a duplicate): nothing to do, nothing claimed twice
    assert GenerationJob.objects.filter(status=Status.RUNNING, attempts__gt=1).count() == 0


def test_of_two_workers_claiming_at_once_each_gets_a_job_of_its_own(holding, monkeypatch):
    """Worker w0 reads the queue, then w1 claims the job w0 was about to take: w0's claim finds it
    taken (one conditional UPDATE) and w0 claims the next job, not nothing and not the same one."""
    first, second = job("a", age=20), job("a", age=10)
    real_claim = lifecycle.claim_job
    raced = []

    def claim_after_the_other_worker(*, job_id, worker, message=""):
        if not raced:
            raced.append(real_claim(job_id=job_id, worker="w1", message="m1"))
        return real_claim(job_id=job_id, worker=worker, message=message)

    monkeypatch.setattr(claiming, "claim_job", claim_after_the_other_worker)
    mine = claim(second, "w0", "m0")
    assert (raced[0].pk, mine.pk) == (first.pk, second.pk)
    rows = dict(GenerationJob.objects.values_list("pk", "worker"))
    assert rows == {first.pk: "w1", second.pk: "w0"}
    assert set(GenerationJob.objects.values_list("attempts", flat=True)) == {1}


def test_a_cold_job_past_the_age_limit_goes_before_warm_work(holding, settings):
    settings.GARDEN_PULL_AGE_LIMIT_SECONDS = 30
    holding |= {"a"}
    worker_present("w0", loaded=["a"])
    warm = job("a", age=100)
    young_cold = job("c", age=5)
    assert claim(young_cold).pk == warm.pk  # the cold job is young: warm work first
    old_cold = job("c", age=40)
    job("a", age=200)
    assert claim(old_cold).pk == old_cold.pk  # waited past the limit: first, before an older warm job
    assert GenerationJob.objects.get(pk=young_cold.pk).status == Status.QUEUED


def test_a_model_held_or_loading_on_another_present_worker_is_not_cold(holding, settings):
    settings.GARDEN_PULL_AGE_LIMIT_SECONDS = 30
    holding |= {"a"}
    worker_present("w1", loading="b")
    warm = job("a", age=10)
    loading_elsewhere = job("b", age=90)
    assert claim(loading_elsewhere).pk == warm.pk
    WorkerPresence.objects.all().delete()  # the worker loading it is gone: the job is cold now
    job("a", age=5)
    assert claim(loading_elsewhere).pk == loading_elsewhere.pk


def test_background_jobs_come_after_every_foreground_job(holding):
    holding |= {"a"}
    gardeners = [job("a", age=500 + n, background=True) for n in range(60)]  # more than one look reads
    staff = job("b", age=1)
    assert claim(gardeners[0]).pk == staff.pk
    assert claim(gardeners[0]).pk == gardeners[-1].pk  # then the oldest background job


def test_cancelled_jobs_are_never_claimed(holding):
    asked = job("a", age=30, cancel_requested=True)
    cancelled = job("a", age=20, status=Status.CANCELLED)
    waiting = job("a", age=10)
    assert claim(asked).pk == waiting.pk
    assert claim(cancelled) is None
    assert GenerationJob.objects.get(pk=asked.pk).status == Status.QUEUED  # the cancel ends it, not a worker


def test_a_message_whose_job_lost_its_lease_resumes_that_job(holding, settings):
    stale = timezone.now() - timedelta(seconds=settings.GARDEN_JOB_LEASE_SECONDS + 5)
    running = job("a", age=50, status=Status.RUNNING, attempts=1, worker="gone", heartbeat_at=stale)
    job("a", age=60)
    resumed = claim(running, "w0", "m2")
    assert (resumed.pk, resumed.attempts, resumed.worker) == (running.pk, 2, "w0")


def test_the_job_a_message_claimed_is_found_by_the_message(holding):
    named, older = job("a", age=5), job("a", age=50)
    assert claim(named, "w0", "message-1").pk == older.pk
    assert claiming.job_of_message("message-1") == older.pk
    assert claiming.job_of_message("message-2") is None and claiming.job_of_message("") is None


def test_a_worker_runs_the_job_its_message_claimed(holding, settings):
    """execute_job with a message (as a worker runs it) paints the claimed job, not the named one."""
    settings.GARDEN_GENERATOR_BACKEND = "procedural"
    named = services.create_job(request=services.JobRequest(emotion="calm", width=64, height=64, steps=2, seed=1), enqueue=False)
    older = services.create_job(request=services.JobRequest(emotion="calm", width=64, height=64, steps=2, seed=2), enqueue=False)
    GenerationJob.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(seconds=60))
    ran = runner.execute_job(job_id=named.pk, worker="w0", message="message-3")
    assert (ran.pk, ran.status) == (older.pk, Status.SUCCEEDED)
    assert GenerationJob.objects.get(pk=named.pk).status == Status.QUEUED
    assert runner.execute_job(job_id=named.pk, worker="w0").status == Status.SUCCEEDED  # no message: the named job


class Library:
    """The library as the pull reads it: which hosts hold each entry's files, and whether the store does."""

    def __init__(self, monkeypatch):
        self.copies: dict[str, set[str]] = {}
        self.stored: set[str] = set()
        monkeypatch.setattr(pull.library, "resolve_model", self.resolve)
        monkeypatch.setattr(pull.library, "resolve_lora", self.resolve)
        monkeypatch.setattr(pull.library, "hosts_with_copy", lambda name: self.copies[name])
        monkeypatch.setattr(pull.library, "fetchable", lambda entry: entry.pk in self.stored)

    def resolve(self, name):
        if name not in self.copies:
            raise pull.library.UnknownEntry("pipeline", name, [])
        return type("Entry", (), {"pk": name})()


def test_a_job_whose_files_only_another_present_host_holds_is_left_to_it(holding, monkeypatch, settings):
    settings.GARDEN_HOST_NAME = "b"
    library = Library(monkeypatch)
    library.copies |= {"only-on-a": {"a"}, "on-both": {"a", "b"}, "ink": {"a"}}
    worker_present("gpu@a", host="a", loaded=["x"])
    worker_present("gpu@b", host="b")
    theirs = job("only-on-a", age=90)
    with_lora = job("on-both", age=80, loras=[{"name": "ink", "weight": 0.5}])
    ours = job("on-both", age=10)
    assert claim(theirs).pk == ours.pk
    assert claim(theirs) is None  # the rest is host a's: left queued (the worker's task sends its message on)
    assert GenerationJob.objects.get(pk=with_lora.pk).status == Status.QUEUED
    library.stored |= {"only-on-a"}  # in the venue's store: any host fetches it
    assert claim(theirs).pk == theirs.pk
    WorkerPresence.objects.filter(host="a").delete()  # no present host has the LoRA: claimed (and failed with its reason there)
    assert claim(with_lora).pk == with_lora.pk


# --- a gathered run's next leader: the same picker (generation.worker.claim.claim_next_leader) ------


def gatherable_job(model: str, age: float, **fields) -> GenerationJob:
    return job(model, age=age, live=True, count=1, **fields)


def next_leader(worker="w0", skip=frozenset()):
    return claiming.claim_next_leader(queue="gpu", worker=worker, skip=skip)


def test_a_gathered_runs_next_leader_is_picked_as_a_messages_job_is(holding, monkeypatch, settings):
    settings.GARDEN_HOST_NAME = "b"
    library = Library(monkeypatch)
    library.copies |= {"only-on-a": {"a"}, "on-both": {"a", "b"}}
    worker_present("gpu@a", host="a")
    worker_present("gpu@b", host="b")
    theirs = gatherable_job("only-on-a", age=300)  # oldest, but its files are on host a only
    background = gatherable_job("on-both", age=200, background=True)  # older than the foreground job
    not_gatherable = job("on-both", age=150, count=2)  # two pictures: its own call, never a leader
    foreground = gatherable_job("on-both", age=100)
    skipped = gatherable_job("on-both", age=50)
    assert next_leader(skip={foreground.pk}).pk == skipped.pk  # a job the run requeued is left to its message
    assert next_leader().pk == foreground.pk  # foreground first, files here
    assert next_leader().pk == background.pk
    assert next_leader() is None  # host a's job is left to it; the two-picture job to its own message
    assert {GenerationJob.objects.get(pk=pk).status for pk in (theirs.pk, not_gatherable.pk)} == {Status.QUEUED}
