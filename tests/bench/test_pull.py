"""Pull dispatch, the prototype measured against routing (bench._pull): the order a
worker tries its queue's jobs in (a table, no database), and the claim made from it (exactly one
worker gets each job)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bench import _pull as pull
from bench._pull import Queued, pull_order
from generation.models import GenerationJob, WorkerPresence
from generation.worker.lifecycle import claim_job


def queued(pk, model, waited, background=False):
    return Queued(id=pk, names=frozenset({model}), background=background, waited=waited)


# (case, queued jobs, the worker's models, any present worker's models, the order tried)
TABLE = [
    ("oldest first", [queued(1, "a", 5), queued(2, "b", 9)], set(), set(), [2, 1]),
    ("its own model before an older job", [queued(1, "a", 5), queued(2, "b", 9)], {"a"}, {"a", "b"}, [1, 2]),
    ("a cold job young: warm work first", [queued(1, "a", 5), queued(2, "c", 20)], {"a"}, {"a"}, [1, 2]),
    ("a cold job past the age limit: first", [queued(1, "a", 50), queued(2, "c", 31)], {"a"}, {"a"}, [2, 1]),
    ("a job warm elsewhere is not cold, however old", [queued(1, "a", 5), queued(2, "b", 90)], {"a"}, {"a", "b"}, [1, 2]),
    ("background after foreground", [queued(1, "a", 90, background=True), queued(2, "b", 1)], {"a"}, {"a"}, [2, 1]),
]


@pytest.mark.parametrize(("jobs", "mine", "anyone", "order"), [row[1:] for row in TABLE], ids=[row[0] for row in TABLE])
def test_the_order_a_worker_tries_jobs_in(jobs, mine, anyone, order):
    assert pull_order(jobs, mine=frozenset(mine), anyone=frozenset(anyone), age_limit=30) == order


def job(model: str, **fields) -> GenerationJob:
    values = {"emotion": "calm", "prompt": "p", "width": 64, "height": 64, "steps": 2, "guidance": 0.0, "seed": 1}
    values |= {"backend": "diffusers", "timestr": "t", "model": model, "model_id": f"/models/{model}", "queue": "gpu"}
    return GenerationJob.objects.create(**(values | fields))


@pytest.mark.django_db
def test_each_message_claims_the_job_its_worker_paints_best_and_every_job_once():
    now = timezone.now()
    jobs = [job(model, created_at=now - timedelta(seconds=10 - n)) for n, model in enumerate("abab")]
    job("a", cancel_requested=True)
    job("a", queue="live")
    WorkerPresence.objects.create(name="w1", host="h1", queues=["gpu"], models_loaded=["b"], seen_at=now)

    def next_for(message, worker, mine):
        return pull.claim_next(job_id=message.pk, worker=worker, mine=frozenset(mine), claim=claim_job, age_limit=30)

    # The message of the first job (model a) reaches the worker holding b: it paints the oldest b.
    assert next_for(jobs[0], "w1", {"b"}).pk == jobs[1].pk
    assert next_for(jobs[1], "w0", set()).pk == jobs[0].pk  # nothing held: the oldest job
    assert next_for(jobs[2], "w0", {"a"}).pk == jobs[2].pk
    assert next_for(jobs[3], "w1", {"b"}).pk == jobs[3].pk
    # Every gpu job claimed once; the cancelled one and the other queue's are left alone.
    assert GenerationJob.objects.filter(status=GenerationJob.Status.RUNNING, attempts=1).count() == 4
    assert GenerationJob.objects.filter(status=GenerationJob.Status.QUEUED).count() == 2
    # A message whose job is claimed already finds nothing to do: no second claim of anything.
    assert next_for(jobs[0], "w1", {"b"}) is None
