"""The cards a painting worker says it has (generation.cards, in its presence row's details): from
nvidia-smi in a prefork worker's main process (no CUDA before the fork), narrowed to
CUDA_VISIBLE_DEVICES as CUDA narrows them; nothing on a machine without NVIDIA's driver."""

from __future__ import annotations

import os
import stat
import time

import pytest

from generation import cards

# What nvidia-smi --query-gpu=index,uuid,name,memory.total --format=csv,noheader,nounits prints on a two-card machine.
CARD_0, CARD_1 = "GPU-1a2b3c4d-0000-1111-2222-333344445555", "GPU-9f8e7d6c-0000-1111-2222-333344445555"
TWO_CARDS = f"0, {CARD_0}, NVIDIA H200, 143771\n1, {CARD_1}, NVIDIA H200, 143771\n"
H200_GB = round(143771 * 2**20 / 1e9, 1)


def test_every_card_when_cuda_visible_devices_is_unset():
    assert cards.parse_nvidia_smi(TWO_CARDS, None) == [
        {"index": 0, "uuid": CARD_0, "name": "NVIDIA H200", "memory_gb": H200_GB},
        {"index": 1, "uuid": CARD_1, "name": "NVIDIA H200", "memory_gb": H200_GB},
    ]


@pytest.mark.parametrize(
    "visible,uuids",
    [
        ("1", ["GPU-9f8e"]),  # card 1 alone, which CUDA then calls 0
        ("1,0", ["GPU-9f8e", "GPU-1a2b"]),  # CUDA's order is the variable's
        ("GPU-1a2b", ["GPU-1a2b"]),  # a UUID prefix
        ("", []),
        ("-1", []),
        ("0,7,1", ["GPU-1a2b"]),  # CUDA stops at the first entry it cannot match
    ],
)
def test_cuda_visible_devices_narrows_and_renumbers_the_cards(visible, uuids):
    seen = cards.parse_nvidia_smi(TWO_CARDS, visible)
    assert [card["uuid"][:8] for card in seen] == uuids
    assert [card["index"] for card in seen] == list(range(len(uuids)))


def test_lines_that_are_not_cards_are_skipped():
    assert cards.parse_nvidia_smi("No devices were found\n", None) == []
    unknown_memory = cards.parse_nvidia_smi("0, GPU-x, Tesla T4, [N/A]\n", None)
    assert unknown_memory == [{"index": 0, "uuid": "GPU-x", "name": "Tesla T4", "memory_gb": None}]


def _nvidia_smi_on_path(tmp_path, monkeypatch, output: str) -> None:
    """An nvidia-smi executable that answers the query generation.cards asks, and only that one."""
    script = tmp_path / "nvidia-smi"
    expected = " ".join(cards.NVIDIA_SMI[1:])
    script.write_text(f'#!/bin/sh\n[ "$*" = "{expected}" ] || exit 9\nprintf "%s" "{output}"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")


def test_visible_cards_asks_nvidia_smi_as_this_process_sees_the_cards(tmp_path, monkeypatch):
    _nvidia_smi_on_path(tmp_path, monkeypatch, TWO_CARDS)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert [card["uuid"] for card in cards.visible_cards()] == [line.split(", ")[1] for line in TWO_CARDS.splitlines()]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    assert cards.visible_cards() == [{"index": 0, "uuid": CARD_1, "name": "NVIDIA H200", "memory_gb": H200_GB}]


def test_no_nvidia_driver_no_cards(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-smi anywhere
    assert cards.visible_cards() == []


def test_a_driver_that_fails_gives_no_cards_and_says_so(tmp_path, monkeypatch, caplog):
    script = tmp_path / "nvidia-smi"
    script.write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert cards.visible_cards() == []
    assert "could not list the GPU cards" in caplog.text


@pytest.mark.django_db
@pytest.mark.parametrize("queues,has_cards", [(["gpu"], True), (["live"], True), (["default"], False)])
def test_a_painting_workers_presence_says_its_cards(settings, monkeypatch, tmp_path, queues, has_cards):
    from celery.concurrency import prefork

    from generation.dispatch.beacon import PresenceBeacon
    from generation.worker.start import PresenceStep

    _nvidia_smi_on_path(tmp_path, monkeypatch, TWO_CARDS)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    monkeypatch.setattr(PresenceBeacon, "start", lambda self: None)  # the details are what matter here, not the thread
    monkeypatch.setattr(PresenceBeacon, "stop", lambda self: None)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.GARDEN_GPU_QUEUE, settings.GARDEN_LIVE_QUEUE = "gpu", "live"

    class Worker:
        hostname = "w@host"
        concurrency = 1
        pool_cls = prefork.TaskPool

        class app:  # noqa: N801 (the shape of a Celery app the step reads)
            class amqp:  # noqa: N801
                class queues:  # noqa: N801
                    consume_from = dict.fromkeys(queues)

    step = PresenceStep(Worker)
    step.start(Worker)
    try:
        if has_cards:
            assert [card["name"] for card in step.beacon.details["cards"]] == ["NVIDIA H200"]
        else:
            assert "cards" not in step.beacon.details  # a CPU worker asks no driver
    finally:
        step.stop(Worker)


def test_a_process_with_cuda_set_up_says_torchs_cards():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA card here")
    torch.cuda.init()
    seen = cards.visible_cards()
    assert [card["name"] for card in seen] == [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    assert all(card["memory_gb"] > 0 for card in seen)


@pytest.mark.slow
@pytest.mark.backend_free
def test_a_real_gpu_worker_started_on_card_1_says_its_host_queue_and_card(tmp_path, monkeypatch):
    """A Celery worker of the GPU queue started as compose.gpu-host.yaml starts card 1's (GARDEN_HOST_NAME
    b-gpu1; the card CUDA_VISIBLE_DEVICES=1 leaves it): its presence row, what the System status page
    reads, names its host, its queue and the one card it sees."""
    import json
    import sqlite3

    from tests.generation.test_worker import Garden

    (tmp_path / "bin").mkdir()
    _nvidia_smi_on_path(tmp_path / "bin", monkeypatch, TWO_CARDS)
    garden = Garden(tmp_path, "filesystem://", tmp_path, GARDEN_GENERATOR_BACKEND="procedural", GARDEN_HOST_NAME="b-gpu1",
                    CUDA_VISIBLE_DEVICES="1", PATH=os.environ["PATH"], GARDEN_WORKER_PRESENCE_SECONDS="1")  # fmt: skip
    garden.env.pop("CACHE_URL", None)
    garden.manage("migrate", "--no-input", "-v", "0")
    garden.start_worker()
    row = None
    try:
        deadline = time.monotonic() + 90
        while row is None and time.monotonic() < deadline:
            time.sleep(0.5)
            with sqlite3.connect(garden.db, timeout=20) as connection:
                query = "SELECT host, queues, details FROM generation_workerpresence WHERE details LIKE '%ready%'"
                row = connection.execute(query).fetchone()
    finally:
        garden.stop_worker()
    assert row is not None, garden.worker_log()
    host, queues, details = row[0], json.loads(row[1]), json.loads(row[2])
    assert host == "b-gpu1"
    assert queues == [garden.queue]
    assert details["cards"] == [{"index": 0, "uuid": CARD_1, "name": "NVIDIA H200", "memory_gb": H200_GB}]
