"""The router's choice on facts read from the database (generation.dispatch.rerouting.place; the
pure choice's own table: test_routing_table.py): warm > loading > on disk > least loaded, a bounded
jittered wait at a busy warm host, one load per model at a time (the lease row), and the re-router
moving a job whose host stopped answering or whose wait is over."""

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from generation.dispatch import rerouting, route_facts, routing
from generation.models import GenerationJob, RouteLease, WorkerPresence

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _routing(settings):
    settings.GARDEN_ROUTING = True
    settings.GARDEN_GPU_QUEUE = "gpu"
    settings.GARDEN_ROUTE_WAIT_SECONDS = 1.0
    settings.GARDEN_ROUTE_SPILL_BACKLOG = 2
    settings.GARDEN_ROUTE_EXPIRES_SECONDS = 300.0


def worker(host: str, *, loaded=(), loading="", seen=0.0, state="ready") -> WorkerPresence:
    return WorkerPresence.objects.create(
        name=f"gpu@{host}",
        host=host,
        queues=["gpu", f"gpu.{host}"],
        gpu=True,
        details={"state": state},
        models_loaded=list(loaded),
        model_loading=loading,
        seen_at=timezone.now() - timedelta(seconds=seen),
    )


def job(model: str = "m1", **fields) -> GenerationJob:
    values = {
        "emotion": "calm",
        "prompt": "a calm garden",
        "width": 64,
        "height": 64,
        "steps": 2,
        "guidance": 0.0,
        "seed": 1,
        "backend": "diffusers",
        "timestr": "t",
        "model": model,
        "model_id": f"/models/{model}",
        "queue": "gpu",
    }
    return GenerationJob.objects.create(**(values | fields))


def running_on(host: str, model: str = "other") -> GenerationJob:
    return job(model, status=GenerationJob.Status.RUNNING, worker=f"gpu@{host}")


def none(_model: str) -> set[str]:
    return set()


def choose(j, **kwargs):
    return rerouting.place(j, "gpu", copies=kwargs.pop("copies", none), draws=random.Random(kwargs.pop("seed", 0)), **kwargs)


def test_one_host_routes_nothing():
    worker("a", loaded=["m1"])
    route = choose(job())
    assert (route.host, route.queue) == ("", "gpu")


def test_routing_off_or_another_queue_routes_nothing(settings):
    worker("a", loaded=["m1"])
    worker("b")
    assert rerouting.place(job(queue="default"), "default").host == ""
    settings.GARDEN_ROUTING = False
    assert choose(job()).host == ""


def test_warm_beats_loading_beats_on_disk_beats_least_loaded():
    worker("a")
    worker("b", loaded=["m1"])
    worker("c", loading="m1")
    worker("d")
    assert choose(job()).host == "b"
    WorkerPresence.objects.filter(host="b").update(models_loaded=[])
    assert choose(job()).host == "c"
    WorkerPresence.objects.filter(host="c").update(model_loading="")
    RouteLease.objects.all().delete()
    assert choose(job("m2"), copies=lambda model: {"d"}).host == "d"
    running_on("a")
    running_on("d")
    assert choose(job("m3")).host in {"b", "c"}  # nobody holds m3: the least loaded


def test_the_model_is_matched_by_its_path_too():
    worker("a")
    worker("b", loaded=["/models/m1"])
    assert choose(job()).host == "b"


def test_a_stale_or_warming_worker_is_not_chosen():
    worker("a", loaded=["m1"], seen=120)
    worker("b", loaded=["m1"], state="warming")
    worker("c")
    worker("d")
    assert choose(job()).host in {"c", "d"}


def test_a_busy_warm_host_keeps_the_job_for_a_jittered_wait_while_another_is_free():
    worker("a", loaded=["m1"])
    worker("b")
    running_on("a", "m1")
    waits = []
    for seed in range(20):
        route = choose(job(), seed=seed)
        assert route.host == "a"
        waits.append(route.wait)
        GenerationJob.objects.filter(routed_to="a").delete()  # no backlog builds: the wait rule alone
    assert all(1.0 <= wait <= 2.0 for wait in waits)
    assert len(set(waits)) > 10  # randomised, not one fixed delay
    spilled = choose(job(), waited=True)
    assert spilled.host == "b" and "waited" in spilled.why


def test_queue_pressure_loads_a_hot_model_on_a_free_host_at_once():
    worker("a", loaded=["m1"])
    worker("b")
    running_on("a", "m1")
    job(routed_to="a")
    job(routed_to="a")  # GARDEN_ROUTE_SPILL_BACKLOG jobs wait at the warm worker
    route = choose(job())
    assert route.host == "b" and "pressure" in route.why


def test_no_spill_while_every_host_is_busy():
    worker("a", loaded=["m1"])
    worker("b", loaded=["m2"])
    running_on("a", "m1")
    running_on("b", "m2")
    for _ in range(5):
        job(routed_to="a")
    route = choose(job(), waited=True)
    assert route.host == "a" and route.wait is None


def test_one_load_per_model_at_a_time():
    worker("a")
    worker("b")
    first = choose(job())
    running_on(first.host)  # the chosen host is now the busier one
    job(routed_to=first.host)
    second = choose(job())
    assert second.host == first.host
    assert RouteLease.objects.get(model="m1").host == first.host


def test_a_second_copy_waits_for_the_first_spill_to_load():
    worker("a", loaded=["m1"])
    worker("b")
    worker("c")
    running_on("a", "m1")
    one = choose(job(), waited=True)
    assert one.host in {"b", "c"}
    job(routed_to=one.host, status=GenerationJob.Status.QUEUED)
    running_on(one.host, "m1")
    two = choose(job(), waited=True)
    assert two.host == "a" and two.wait is not None  # the other free host does not load it too: it waits at the warm one


def test_route_job_records_where_and_when_to_look_again(settings):
    worker("a", loaded=["m1"])
    worker("b")
    queued = job()
    route = rerouting.route_job(job_id=queued.pk, queue="gpu")
    queued.refresh_from_db()
    assert (route.host, queued.routed_to) == ("a", "a")
    assert queued.route_expires_at > timezone.now() + timedelta(seconds=250)


@pytest.fixture
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr(rerouting.broker, "enqueue_job", lambda **kwargs: calls.append(kwargs))
    return calls


def test_a_job_routed_to_a_host_that_stopped_answering_goes_elsewhere(sent):
    worker("a", loaded=["m1"])
    worker("b")
    worker("c")
    stranded = job(routed_to="a", route_expires_at=timezone.now() + timedelta(seconds=300))
    WorkerPresence.objects.filter(host="a").update(seen_at=timezone.now() - timedelta(seconds=120))
    assert rerouting.reroute_jobs() == 1
    stranded.refresh_from_db()
    assert stranded.routed_to in {"b", "c"}
    assert [call["route"].host for call in sent] == [stranded.routed_to]
    assert rerouting.reroute_jobs() == 0  # once


def test_with_one_host_left_a_stranded_job_goes_back_to_the_shared_queue(sent):
    worker("a", loaded=["m1"], seen=120)
    worker("b")
    stranded = job(routed_to="a", route_expires_at=timezone.now() + timedelta(seconds=300))
    assert rerouting.reroute_jobs() == 1
    stranded.refresh_from_db()
    assert (stranded.routed_to, stranded.route_expires_at) == ("", None)
    assert sent[0]["route"].queue == "gpu"


def test_a_wait_over_at_a_still_best_host_sends_nothing_again(sent):
    worker("a", loaded=["m1"])
    worker("b", loaded=["m2"])
    running_on("a", "m1")
    running_on("b", "m2")
    waiting = job(routed_to="a", route_expires_at=timezone.now() - timedelta(seconds=1))
    assert rerouting.reroute_jobs() == 0
    waiting.refresh_from_db()
    assert waiting.routed_to == "a" and waiting.route_expires_at > timezone.now()
    assert sent == []


def test_cancelled_and_running_jobs_are_left_alone(sent):
    worker("b")
    job(routed_to="a", status=GenerationJob.Status.CANCELLED)
    job(routed_to="a", status=GenerationJob.Status.RUNNING, worker="gpu@a")
    job(routed_to="a", cancel_requested=True)
    assert rerouting.reroute_jobs() == 0 and sent == []


def test_an_expired_message_gets_its_job_a_new_one(sent, monkeypatch):
    worker("a", loaded=["m1"])
    worker("b", loaded=["m2"])
    running_on("a", "m1")
    running_on("b", "m2")
    queued = job(routed_to="a", route_expires_at=timezone.now() + timedelta(seconds=300))
    assert rerouting.route_again(job_id=queued.pk)
    queued.refresh_from_db()
    assert queued.resends == 1 and queued.route_expires_at > timezone.now()
    assert [call["job_id"] for call in sent] == [queued.pk]  # a new message, though the warm host is still the best
    assert not rerouting.route_again(job_id=job().pk)  # a shared-queue job: nothing to do


def test_a_job_with_a_lora_goes_where_the_model_and_its_lora_are_warm():
    worker("a", loaded=["m1"])
    worker("b", loaded=["m1", routing.lora_key("m1", "ink")])
    worker("c")
    with_lora = job(loras=[{"name": "ink", "weight": 0.6}])
    for seed in range(8):  # whatever the chance: b holds the model with the LoRA loaded
        assert choose(with_lora, seed=seed, lora_copies=lambda names: set()).host == "b"
    # Without the LoRA, a and b are both warm: the model's rule alone.
    assert {choose(job(), seed=seed).host for seed in range(16)} <= {"a", "b"}
    # Busy b: the job still goes to a warm host with the model (a loads a LoRA, not a model).
    running_on("b")
    assert choose(with_lora, lora_copies=lambda names: set()).host == "a"


def test_a_cold_model_with_loras_goes_where_the_model_and_its_loras_are_on_disk():
    for host in "abcd":
        worker(host)
    route = choose(job("m9", loras=[{"name": "ink", "weight": 1.0}]), copies=lambda model: {"b", "c"}, lora_copies=lambda names: {"c", "d"})
    assert route.host == "c" and route.why == "on disk"


def test_hosts_with_loras_needs_every_lora_on_the_host(monkeypatch):
    from library import selectors as library_selectors

    found = {"ink": {"a", "b"}, "soft": {"b", "c"}}
    monkeypatch.setattr(library_selectors, "resolve_lora", lambda name: type("Entry", (), {"pk": name})())
    monkeypatch.setattr(library_selectors, "hosts_with_copy", lambda pk: found[pk])
    assert route_facts.hosts_with_loras([]) is None
    assert route_facts.hosts_with_loras(["ink", "soft"]) == {"b"}


def test_a_worker_advertises_the_loras_loaded_on_its_models():
    from generation.backends import loras

    class Pipeline:
        def __init__(self):
            self.unet = type("Unet", (), {})()

        def load_lora_weights(self, path, adapter_name):
            pass

        def enable_lora(self):
            pass

        def disable_lora(self):
            pass

        def set_adapters(self, names, adapter_weights):
            pass

    pipeline = Pipeline()
    assert loras.loaded_loras(pipeline) == []
    with loras.adapters_for(pipeline, "m1").active(pipeline, [("ink", 0.6)], {"ink": "/models/loras/ink.safetensors"}):
        pass
    assert loras.loaded_loras(pipeline) == ["ink"]
    assert routing.lora_key("m1", "ink") == "m1+lora:ink"


def test_a_cold_stored_model_goes_to_a_free_host_without_it_rather_than_swap_the_busy_one():
    """Host a has every file and paints m1; host b has none, but the store holds m2: b fetches it
    and loads it, instead of a swapping m1 for m2 on every other job (bench/library_routing.py --folders)."""
    worker("a", loaded=["m1"])
    worker("b")
    running_on("a", "m1")
    on_a = lambda model: {"a"}  # noqa: E731
    assert choose(job("m2"), copies=on_a, fetchable=lambda model: True).host == "b"
    RouteLease.objects.all().delete()
    assert choose(job("m2"), copies=on_a, fetchable=lambda model: False).host == "a"  # not stored: only a can paint it


def test_a_lease_lost_to_another_router_at_the_same_moment_sends_the_job_to_its_holder(monkeypatch):
    """Two routers read "no lease" at once: the one whose take_lease loses chooses again with the
    holder (one load per model, whoever wins the row)."""
    worker("a")
    worker("b")
    running_on("b")  # b is the busier: a alone would be chosen to load m1
    RouteLease.objects.create(model="m1", host="b", until=timezone.now() + timedelta(seconds=60))
    monkeypatch.setattr(rerouting.route_facts, "lease_holder", lambda key, hosts: "")  # read before the other router wrote it
    route = choose(job())
    assert (route.host, route.loads) == ("b", False)
    assert RouteLease.objects.get(model="m1").host == "b"
