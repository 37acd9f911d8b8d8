"""The router's pure choice as a table (generation.dispatch.routing.choose): plain hosts, a job's
needs, the model's lease and a seeded chance stream in, a route out; no database, no settings.
What the hosts are made of (presence rows, job counts, the lease row) is tested in test_routing.py."""

import random

import pytest

from generation.dispatch.routing import Host, Rules, Wanted, choose, lora_key

RULES = Rules(wait=1.0, spill_backlog=2)
M1 = Wanted(key="m1", names=frozenset({"m1", "/models/m1"}))
INK = Wanted(key="m1", names=M1.names, loras=("ink",))


def host(name, *, held=(), loading=(), running=0, waiting=0, workers=1, models=None):
    held = frozenset(held)
    return Host(
        name=name,
        workers=workers,
        held=held,
        loading=frozenset(loading),
        models=len(held) if models is None else models,
        running=running,
        waiting=waiting,
    )


# (case, job, hosts, lease, waited, host chosen, its why starts so, it loads the model)
TABLE = [
    ("one host: the shared queue", M1, [host("a", held=["m1"])], "", False, "", "fewer than two", False),
    ("warm model preferred", M1, [host("a"), host("b", held=["m1"]), host("c")], "", False, "b", "warm", False),
    ("matched by its path too", M1, [host("a"), host("b", held=["/models/m1"])], "", False, "b", "warm", False),
    ("warm beats loading", M1, [host("a", loading=["m1"]), host("b", held=["m1"])], "", False, "b", "warm", False),
    ("a loading host is warm enough", M1, [host("a", loading=["m1"]), host("b")], "", False, "a", "loading", False),
    ("one load per model: the lease holder gets its jobs", M1, [host("a"), host("b", running=1)], "b", False, "b", "warm host busy", False),
    ("lease holder free: it loads, nobody else", M1, [host("a"), host("b")], "b", False, "b", "loading", False),
    (
        "LoRA-warm preferred",
        INK,
        [host("a", held=["m1"]), host("b", held=["m1", lora_key("m1", "ink")]), host("c")],
        "",
        False,
        "b",
        "warm",
        False,
    ),
    (
        "LoRA-warm busy: a warm model loads a LoRA",
        INK,
        [host("a", held=["m1"]), host("b", held=["m1", lora_key("m1", "ink")], running=1)],
        "",
        False,
        "a",
        "warm",
        False,
    ),
    (
        "busy warm host, another free: a short wait",
        M1,
        [host("a", held=["m1"], running=1), host("b")],
        "",
        False,
        "a",
        "warm host busy, waiting",
        False,
    ),
    (
        "cold model not starved: the wait over, a free host loads it",
        M1,
        [host("a", held=["m1"], running=1), host("b")],
        "",
        True,
        "b",
        "waited",
        True,
    ),
    (
        "queue pressure: a free host loads it at once",
        M1,
        [host("a", held=["m1"], running=1, waiting=2), host("b")],
        "",
        False,
        "b",
        "pressure",
        True,
    ),
    (
        "lease respected: a copy loading elsewhere, no second spill",
        M1,
        [host("a", held=["m1"], running=1), host("b", running=1), host("c")],
        "b",
        True,
        "a",
        "warm host busy, waiting",
        False,
    ),
    (
        "every host busy: it waits at the warm one, no timer",
        M1,
        [host("a", held=["m1"], running=1, waiting=5), host("b", held=["m2"], running=1)],
        "",
        True,
        "a",
        "warm host busy, every host busy",
        False,
    ),
    (
        "cold model: on disk first",
        Wanted(key="m9", names=frozenset({"m9"}), on_disk=frozenset({"b"})),
        [host("a"), host("b", running=1, workers=2), host("c")],
        "",
        False,
        "b",
        "on disk",
        True,
    ),
    (
        "cold model with LoRAs: model and LoRAs on disk",
        Wanted(key="m9", names=frozenset({"m9"}), loras=("ink",), on_disk=frozenset({"b", "c"}), loras_on_disk=frozenset({"c", "d"})),
        [host("a"), host("b"), host("c"), host("d")],
        "",
        False,
        "c",
        "on disk",
        True,
    ),
    (
        "cold stored model: the free host, not the busy one with the files",
        Wanted(key="m2", names=frozenset({"m2"}), on_disk=frozenset({"a"}), stored=True),
        [host("a", held=["m1"], running=1), host("b")],
        "",
        False,
        "b",
        "least loaded",
        True,
    ),
    (
        "cold model not stored: only the host with its file",
        Wanted(key="m2", names=frozenset({"m2"}), on_disk=frozenset({"a"})),
        [host("a", held=["m1"], running=1), host("b")],
        "",
        False,
        "a",
        "on disk",
        True,
    ),
    (
        "frozen host (not present, so not among the hosts): its model loads on a present one",
        M1,
        [host("b", running=1), host("c")],
        "",
        False,
        "c",
        "least loaded",
        True,
    ),
]


@pytest.mark.parametrize(
    ("job", "hosts", "lease", "waited", "chosen", "why", "loads"), [row[1:] for row in TABLE], ids=[row[0] for row in TABLE]
)
def test_the_route(job, hosts, lease, waited, chosen, why, loads):
    route = choose(job, hosts, queue="gpu", lease=lease, chance=random.Random(0), rules=RULES, waited=waited)
    assert (route.host, route.queue) == (chosen, f"gpu.{chosen}" if chosen else "gpu")
    assert route.why.startswith(why)
    assert route.loads is loads


def test_ties_are_broken_by_the_chance_seed():
    hosts = [host("a"), host("b"), host("c")]
    cold = Wanted(key="m9", names=frozenset({"m9"}))

    def chosen(seed: int) -> str:
        return choose(cold, hosts, queue="gpu", lease="", chance=random.Random(seed), rules=RULES).host

    assert [chosen(seed) for seed in range(30)] == [chosen(seed) for seed in range(30)]  # one seed, one choice
    assert {chosen(seed) for seed in range(30)} == {"a", "b", "c"}  # the chance, not the order, breaks the tie
    assert [chosen(seed) for seed in range(30)] == [  # the hosts' order as read does not matter
        choose(cold, list(reversed(hosts)), queue="gpu", lease="", chance=random.Random(seed), rules=RULES).host for seed in range(30)
    ]


def test_the_wait_at_a_busy_warm_host_is_drawn_between_one_and_two_waits():
    hosts = [host("a", held=["m1"], running=1), host("b")]
    waits = [choose(M1, hosts, queue="gpu", lease="", chance=random.Random(seed), rules=RULES).wait for seed in range(20)]
    assert all(1.0 <= wait <= 2.0 for wait in waits)
    assert len(set(waits)) > 10  # randomised, so jobs sent together do not all move at once
