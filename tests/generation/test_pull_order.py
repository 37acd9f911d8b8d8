"""The order a worker tries its queue's jobs in when a message reaches it (generation.dispatch.pull.pull_order):
a pure function, as a table. No database: what it is fed from the rows is tested in test_pull_claim.py."""

import pytest

from generation.dispatch.pull import Queued, pull_order


def queued(pk, model, waited, background=False, *other_names, here=True):
    return Queued(id=pk, names=frozenset({model, *other_names}), background=background, waited=waited, here=here)


# (case, queued jobs, the worker's models, any present worker's models (held or loading), the order tried)
TABLE = [
    ("oldest first", [queued(1, "a", 5), queued(2, "b", 9)], set(), set(), [2, 1]),
    ("its own model before an older job", [queued(1, "a", 5), queued(2, "b", 9)], {"a"}, {"a", "b"}, [1, 2]),
    ("its own models oldest first", [queued(1, "a", 5), queued(2, "b", 9), queued(3, "a", 7)], {"a"}, {"a", "b"}, [3, 1, 2]),
    ("known by another name: still its own", [queued(1, "b", 9), queued(2, "lib-a", 1, False, "/m/a")], {"/m/a"}, {"/m/a", "b"}, [2, 1]),
    ("a cold job young: warm work first", [queued(1, "a", 5), queued(2, "c", 20)], {"a"}, {"a"}, [1, 2]),
    ("a cold job past the age limit: first", [queued(1, "a", 50), queued(2, "c", 31)], {"a"}, {"a"}, [2, 1]),
    ("cold jobs past the limit: oldest first", [queued(1, "c", 31), queued(2, "d", 40), queued(3, "a", 90)], {"a"}, {"a"}, [2, 1, 3]),
    ("a job warm elsewhere is not cold, however old", [queued(1, "a", 5), queued(2, "b", 90)], {"a"}, {"a", "b"}, [1, 2]),
    ("background after foreground", [queued(1, "a", 90, background=True), queued(2, "b", 1)], {"a"}, {"a"}, [2, 1]),
    ("a cold background job past the limit: still after foreground", [queued(1, "c", 90, True), queued(2, "a", 1)], {"a"}, {"a"}, [2, 1]),
    ("background: its own model first among them", [queued(1, "b", 9, True), queued(2, "a", 1, True)], {"a"}, {"a", "b"}, [2, 1]),
    ("nothing queued", [], {"a"}, {"a"}, []),
    ("files only on another present host: never here", [queued(1, "a", 90, here=False), queued(2, "b", 1)], {"a"}, {"a"}, [2]),
    ("only such jobs: none", [queued(1, "c", 90, here=False)], set(), set(), []),
]


@pytest.mark.parametrize(("jobs", "mine", "anyone", "order"), [row[1:] for row in TABLE], ids=[row[0] for row in TABLE])
def test_the_order_a_worker_tries_jobs_in(jobs, mine, anyone, order):
    assert pull_order(jobs, mine=frozenset(mine), anyone=frozenset(anyone), age_limit=30) == order
