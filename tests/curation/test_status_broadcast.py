"""System status asks the workers one broadcast (generation.selectors.answering_workers): it ends once
every worker present has answered, not after its whole timeout (issue 85: the page took 1.2 s, the
broadcast's 1 s timeout every time). A real worker on Redis; the broadcast is timed from a second
process of the same installation."""

import json

import pytest

from testkit.local_services import reachable, redis_url
from tests.generation.test_worker import Garden

# Its own installation (SQLite, the default Redis): the same whatever the run's settings.
pytestmark = [pytest.mark.slow, pytest.mark.backend_free]

ASK = """
import json, time
from generation.dispatch import presence
from generation.selectors import answering_workers
for _ in range(240):
    if presence.present_rows().exists():
        break
    time.sleep(0.25)
start = time.monotonic()
answer = answering_workers(timeout=20)
print(json.dumps({"seconds": time.monotonic() - start, "answer": answer}))
"""


def test_the_broadcast_ends_when_every_present_worker_has_answered(tmp_path, tiny_model_dir):
    url = redis_url()
    if not reachable(url):
        pytest.skip(f"Redis is not reachable at {url} (CI provides it)")
    garden = Garden(tmp_path, url, tiny_model_dir)
    garden.manage("migrate", "--no-input", "-v", "0")
    try:
        garden.start_worker()
        asked = json.loads(garden.manage("shell", "-c", ASK, timeout=120).stdout.strip().splitlines()[-1])
    finally:
        garden.stop_worker()
    workers = asked["answer"]["workers"]
    assert len(workers) == 1 and workers[0]["queues"], (asked, garden.worker_log())
    # The whole timeout is 20 s; ending at the one present worker's reply takes well under it.
    assert asked["seconds"] < 10, (asked, garden.worker_log())
