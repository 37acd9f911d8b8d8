"""The System status page's hosts: a second machine joined when its cards' hosts are listed, with
their workers, the queues they take (their own host queues included) and the cards they see, from the
workers' presence rows (generation.dispatch.presence.present_hosts)."""

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.utils import timezone

from generation.dispatch.beacon import record_presence
from generation.dispatch.presence import WorkerModels, present_hosts, shown_models
from generation.models import WorkerPresence
from library.models import LibraryEntry
from tests.curation.test_system_status import STATUS, staff_client, workers  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

H200 = {"name": "NVIDIA H200", "memory_gb": 150.8}


class HostsTable(HTMLParser):
    """#status-hosts as {host: (the row's data- attributes, [each cell's text])}, and all its text."""

    def __init__(self, page: bytes):
        super().__init__(convert_charrefs=True)
        self.rows: dict[str, tuple[dict, list[str]]] = {}
        self.text = ""
        self._depth = 0  # inside the table: its nesting depth
        self._row: str | None = None
        self._cell: list[str] | None = None
        self.feed(page.decode())

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id") == "status-hosts":
            self._depth = 1
        elif self._depth and tag == "tr" and "data-host" in attrs:
            self._row = attrs["data-host"]
            self.rows[self._row] = (attrs, [])
        elif self._row and tag == "td":
            self._cell = []
        elif self._cell is not None and tag == "br":
            self._cell.append(" ")

    def handle_endtag(self, tag):
        if self._depth and tag == "table":
            self._depth = 0
        elif self._cell is not None and tag == "td":
            self.rows[self._row][1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._depth:
            self.text += data
        if self._cell is not None:
            self._cell.append(data)


def present(settings, host, name, queues, *, cards=(), models=None, state="ready"):
    settings.GARDEN_HOST_NAME = host
    return record_presence(name=name, queues=queues, details={"state": state, "cards": list(cards)}, models=models)


@pytest.fixture
def two_machines(settings):
    settings.GARDEN_GPU_QUEUE, settings.GARDEN_LIVE_QUEUE = "gpu", "live"
    card0 = {"index": 0, "uuid": "GPU-aaaa", **H200}
    card1 = {"index": 0, "uuid": "GPU-bbbb", **H200}  # card 1 of machine B, which its worker sees as 0
    present(settings, "a", "celery@a-worker", ["default"])
    present(settings, "b-gpu0", "celery@b-gpu", ["gpu", "gpu.b-gpu0"], cards=[card0], models=["sd-turbo"])
    present(settings, "b-gpu0", "celery@b-live", ["live", "live.b-gpu0"], cards=[card0], state="warming")
    present(settings, "b-gpu1", "celery@b-gpu-1", ["gpu", "gpu.b-gpu1"], cards=[card1])
    gone = present(settings, "c-gpu0", "celery@c-gpu", ["gpu", "gpu.c-gpu0"], cards=[{"index": 0, "uuid": "GPU-cccc", **H200}])
    WorkerPresence.objects.filter(pk=gone.pk).update(seen_at=timezone.now() - timedelta(hours=1))


def test_present_hosts_groups_workers_by_host_with_each_card_once(two_machines):
    hosts = {host.name: host for host in present_hosts()}
    assert list(hosts) == ["a", "b-gpu0", "b-gpu1"]  # c-gpu0 stopped beating an hour ago
    assert [worker.name for worker in hosts["b-gpu0"].workers] == ["celery@b-gpu", "celery@b-live"]
    assert hosts["b-gpu0"].queues == ["gpu", "gpu.b-gpu0", "live", "live.b-gpu0"]
    assert [card["uuid"] for card in hosts["b-gpu0"].cards] == ["GPU-aaaa"]  # two workers, one card
    assert [card["uuid"] for card in hosts["b-gpu1"].cards] == ["GPU-bbbb"]
    assert hosts["b-gpu0"].models == [WorkerModels("celery@b-gpu", ["sd-turbo"])] and hosts["a"].cards == []


def test_the_status_page_lists_hosts_their_queues_and_their_cards(staff_client, monkeypatch, two_machines):  # noqa: F811
    workers(monkeypatch)
    page = staff_client.get(STATUS)
    assert page.status_code == 200
    rows = HostsTable(page.content).rows
    assert list(rows) == ["a", "b-gpu0", "b-gpu1"]
    attributes, cells = rows["b-gpu0"]
    assert attributes["data-workers"] == "2" and attributes["data-cards"] == "1"
    assert cells[0] == "celery@b-gpu celery@b-live (starting)"
    assert cells[1] == "gpu, gpu.b-gpu0, live, live.b-gpu0"
    assert cells[2] == "0: NVIDIA H200 (150.8 GB)"
    assert cells[3] == "celery@b-gpu: sd-turbo"  # two workers on the host: whose memory it is in
    assert rows["a"][1][2] == "none" and rows["b-gpu1"][1][2] == "0: NVIDIA H200 (150.8 GB)"


def test_no_worker_up_says_so(staff_client, monkeypatch):  # noqa: F811
    workers(monkeypatch)
    table = HostsTable(staff_client.get(STATUS).content)
    assert table.rows == {} and "No worker has said it is up" in table.text


# What a worker advertises for two library models in memory, one with a LoRA: each by its path on
# that host, its library name and (the LoRA) each of those joined (generation.backends.LoadedPipelines.loaded_names).
ADVERTISED = [
    "/srv/b/models/checkpoints/dreamy-v2.safetensors",
    "/srv/b/models/checkpoints/dreamy-v2.safetensors+lora:ink",
    "/srv/b/models/folders/sdxl-base",
    "dreamy",
    "dreamy+lora:ink",
    "sdxl",
]


def test_each_model_in_memory_is_listed_once_by_its_library_name():
    library = {"checkpoints/dreamy-v2.safetensors": "dreamy", "folders/sdxl-base": "sdxl"}
    assert shown_models(ADVERTISED, library) == ["dreamy", "dreamy + ink", "sdxl"]
    # Outside the library (GARDEN_DIFFUSION_MODEL): a hub id as it is, a path by its folder's name.
    assert shown_models(["stabilityai/sd-turbo", "/opt/sd-local/", "/opt/sd-local"], {}) == ["sd-local", "stabilityai/sd-turbo"]


def test_the_status_page_lists_each_model_once_per_worker(staff_client, monkeypatch, settings):  # noqa: F811
    workers(monkeypatch)
    LibraryEntry.objects.create(kind="pipeline", name="dreamy", path="checkpoints/dreamy-v2.safetensors", family="sd1")
    LibraryEntry.objects.create(kind="pipeline", name="sdxl", path="folders/sdxl-base", family="sdxl")
    present(settings, "b", "celery@b-gpu", ["gpu"], models=ADVERTISED)
    present(settings, "b", "celery@b-live", ["live"], models=["/srv/b/models/folders/sdxl-base", "sdxl"])
    present(settings, "c", "celery@c-gpu", ["gpu"], models=ADVERTISED[2:3])
    rows = HostsTable(staff_client.get(STATUS).content).rows
    assert rows["b"][1][3] == "celery@b-gpu: dreamy, dreamy + ink, sdxl celery@b-live: sdxl"
    assert rows["c"][1][3] == "sdxl"  # one worker: no name needed
