#!/usr/bin/env python3
"""The ComfyUI door against the A1111 API: time to a picture for the same job, and the door's CPU per ``/history`` poll.

    .venv/bin/python bench/comfy_door.py                 # 8 pairs, the tiny test pipeline on CPU
    .venv/bin/python bench/comfy_door.py --smoke         # 2 pairs, 20 polls: the whole path in seconds
    .venv/bin/python bench/comfy_door.py --beside-serving 3   # the kiosk's serving figures, door off / on

One process serves both doors over real HTTP on loopback: the Django application (the A1111 API,
wsgiref, one thread per request) and the ComfyUI door (comfy.door on aiohttp). One worker process
paints every job they queue (generation.worker.runner.execute_job, the tiny pipeline, 64x64, --steps),
so the two paths differ only in their doors. Pairs alternate (A1111 first, then the door, then
the other way round): the A1111 call is ``POST /sdapi/v1/txt2img`` answered once the job is done; the
door's is Open WebUI's (its websocket open, ``POST /prompt``, the wait for ``executing`` with node
null, ``GET /history/{id}``, ``GET /view``). The ratio is the mean of the pairs' ratios with its
standard error.

``/history`` CPU: a separate process polls the whole ``/history`` every 100 ms as SillyTavern does
(no credentials, a trusted address) while the history holds the pairs' prompts; the CPU time of the
door's two serving threads (its event loop and its database thread, read in each with
time.thread_time) over the polls, less the same time idle. The whole process's CPU is printed
beside it: it also counts the A1111 server's threads and the door's followers, which the polls do not touch.

``--beside-serving N``: the kiosk's serving bench (bench/serving.py: gunicorn, PostgreSQL, Redis, wrk;
``--images 20000 --duration 5 --only garden like`` on its own database ``garden_bench_serving_comfy``
and Redis database 14) run 2N times, the door off and on alternating (off-on, then on-off), "on"
being ``manage.py comfy_door`` (the Procfile's line) on the same database and cache, polled for the
whole ``/history`` every 100 ms as SillyTavern polls it. Each endpoint's throughput is taken as its
ratio to the floor measured in the same run; printed per run, with the median of on ÷ off per round.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

POLLER = """
import sys, time, urllib.request
url, count = sys.argv[1], int(sys.argv[2])
for _ in range(count):
    urllib.request.urlopen(url, timeout=10).read()
    time.sleep(0.1)
"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--polls", type=int, default=100)
    parser.add_argument("--steps", type=int, default=2, help="sampler steps of each picture (more: a longer job, the doors' share smaller)")
    parser.add_argument("--smoke", action="store_true", help="2 pairs and 20 polls (bench/_smoke.py)")
    parser.add_argument("--beside-serving", type=int, metavar="ROUNDS", help="the kiosk's serving bench, door off and on (above)")
    args = parser.parse_args()
    if args.smoke:
        args.pairs, args.polls = 2, 20
    return args


def setup(work: Path) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}",
            "GARDEN_VAR_DIR": str(work / "var"),
            "GARDEN_MEDIA_ROOT": str(work / "media"),
            "CELERY_BROKER_URL": "filesystem://",
            "GARDEN_A1111_TRUSTED_CLIENTS": "127.0.0.1",
            "GARDEN_LOG_LEVEL": "WARNING",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "GARDEN_HF_OFFLINE": "true",
        }
    )
    from testkit.tiny_pipeline import save_tiny_pipeline

    os.environ.update(
        {
            "GARDEN_GENERATOR_BACKEND": "diffusers",
            "GARDEN_DIFFUSION_MODEL": str(save_tiny_pipeline(work / "model")),
            "GARDEN_DIFFUSION_DEVICE": "cpu",
            "GARDEN_DIFFUSION_SCHEDULER": "default",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--no-input", "-v", "0")


WORKER = """
import sys, time
sys.path.insert(0, sys.argv[1])
import django
django.setup()
from django.conf import settings
from generation.dispatch.beacon import record_presence
from generation.models import GenerationJob
from generation.worker import runner
beat = 0.0
while True:
    if time.monotonic() - beat > 5:  # present, as a worker's beacon says: the A1111 wait answers 503 without one
        record_presence(name="gpu@bench", queues=[settings.GARDEN_GPU_QUEUE])
        beat = time.monotonic()
    queued = GenerationJob.objects.queued().order_by("created_at").values_list("pk", flat=True).first()
    if queued is None:
        time.sleep(0.005)
        continue
    runner.execute_job(job_id=str(queued), worker="bench", heartbeat=False, message="")
"""


def start_worker() -> subprocess.Popen:
    """A worker process of its own (as on a GPU host) that paints the queued jobs in order, found by
    polling the table every 5 ms (the same delay for both doors); no broker: jobs are not sent."""
    from generation.dispatch import enqueue

    enqueue.enqueue_job = lambda *, job_id, queue, background=False: True
    return subprocess.Popen([sys.executable, "-c", WORKER, str(ROOT)], env=os.environ.copy())


def serve_django(port: int) -> None:
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    from config.wsgi import application

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args) -> None:
            pass

    class Threaded(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    server = make_server("127.0.0.1", port, application, server_class=Threaded, handler_class=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()


def serve_door(port: int) -> asyncio.AbstractEventLoop:
    """The door on ``port`` in a thread of its own; its event loop (door_cpu reads its threads' CPU through it)."""
    from aiohttp import web

    from comfy import door

    ready = threading.Event()
    loop = asyncio.new_event_loop()

    def run() -> None:
        runner = web.AppRunner(door.application(), access_log=None)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        ready.set()
        loop.run_forever()

    threading.Thread(target=run, daemon=True).start()
    ready.wait(30)
    return loop


def door_cpu(loop: asyncio.AbstractEventLoop) -> float:
    """CPU seconds spent so far by the door's two serving threads: its event loop and its database
    thread (comfy.door.db: asgiref's one thread), each read with time.thread_time in that thread."""
    from comfy.door import db

    async def both() -> float:
        return time.thread_time() + await db(time.thread_time)()

    return asyncio.run_coroutine_threadsafe(both(), loop).result(30)


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=300) as answer:
        return json.loads(answer.read())


def a1111_picture(base: str, seed: int, steps: int) -> float:
    started = time.perf_counter()
    answer = post(f"{base}/sdapi/v1/txt2img", {"prompt": "a moss garden", "steps": steps, "width": 64, "height": 64, "seed": seed,
                                               "sampler_name": "Euler", "cfg_scale": 7})  # fmt: skip
    assert answer["images"], answer
    return time.perf_counter() - started


async def _door_picture(base: str, graph: dict) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.ws_connect(base.replace("http", "ws") + "/ws?clientId=bench") as ws:
        async with session.post(f"{base}/prompt", json={"prompt": graph, "client_id": "bench"}) as answer:
            prompt_id = (await answer.json())["prompt_id"]
        async for message in ws:
            data = json.loads(message.data)
            if data["type"] == "executing" and data["data"]["node"] is None and data["data"]["prompt_id"] == prompt_id:
                break
        async with session.get(f"{base}/history/{prompt_id}") as answer:
            images = (await answer.json())[prompt_id]["outputs"]["9"]["images"]
        async with session.get(f"{base}/view", params=images[0]) as answer:
            assert answer.content_type.startswith("image/") and await answer.read()


def door_picture(base: str, model: str, seed: int, steps: int) -> float:
    from testkit.comfy_workflows import open_webui

    graph = open_webui(prompt="a moss garden", model=model, width=64, height=64, steps=steps, seed=seed)
    graph["3"]["inputs"]["cfg"] = 7
    started = time.perf_counter()
    asyncio.run(_door_picture(base, graph))
    return time.perf_counter() - started


def main() -> None:
    args = parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-comfy-"))
    setup(work)
    from testkit.servers import free_port

    worker = start_worker()
    from generation.dispatch import presence

    while not presence.present_workers():  # the worker process has loaded and said it is there
        time.sleep(0.2)
    django_port, door_port = free_port(), free_port()
    serve_django(django_port)
    door_loop = serve_door(door_port)
    a1111, comfy = f"http://127.0.0.1:{django_port}", f"http://127.0.0.1:{door_port}"
    with urllib.request.urlopen(f"{comfy}/object_info/CheckpointLoaderSimple", timeout=30) as answer:
        model = json.loads(answer.read())["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0][0]
    a1111_picture(a1111, 1, args.steps)  # the pipeline loaded and both paths warm before anything is timed
    door_picture(comfy, model, 1, args.steps)
    ratios, times = [], {"a1111": [], "door": []}
    for pair in range(args.pairs):
        seed = 100 + pair
        order = ("a1111", "door") if pair % 2 == 0 else ("door", "a1111")
        took = {}
        for way in order:
            took[way] = a1111_picture(a1111, seed, args.steps) if way == "a1111" else door_picture(comfy, model, seed, args.steps)
        for way, seconds in took.items():
            times[way].append(seconds)
        ratios.append(took["door"] / took["a1111"])
    mean = statistics.mean(ratios)
    error = statistics.stdev(ratios) / len(ratios) ** 0.5 if len(ratios) > 1 else float("nan")
    print(f"time to a picture (64x64, {args.steps} steps, tiny pipeline, {args.pairs} alternating pairs):")
    print(f"  A1111 txt2img  median {statistics.median(times['a1111']) * 1000:.0f} ms")
    print(f"  ComfyUI door   median {statistics.median(times['door']) * 1000:.0f} ms")
    print(f"  door / A1111   {mean:.3f} ± {error:.3f} (mean of paired ratios ± standard error; aim <= 1.10)")

    cpu, threads, wall = time.process_time(), door_cpu(door_loop), time.perf_counter()
    subprocess.run([sys.executable, "-c", POLLER, f"{comfy}/history", str(args.polls)], check=True)
    spent, threads, wall = time.process_time() - cpu, door_cpu(door_loop) - threads, time.perf_counter() - wall
    cpu, idle_threads = time.process_time(), door_cpu(door_loop)
    time.sleep(wall)  # the same time idle: what this process's own threads cost without polls (listeners, servers)
    idle, idle_threads = time.process_time() - cpu, door_cpu(door_loop) - idle_threads
    per_poll = (threads - idle_threads) / args.polls * 1000
    print(f"/history every 100 ms ({args.polls} polls, {len(ratios) + 1} entries): {per_poll:.2f} ms of the door's CPU per poll (aim <= 2)")
    print(f"  (its event loop and database threads: {threads * 1000:.0f} ms while polled, {idle_threads * 1000:.0f} ms idle for as long;")
    whole = (spent - idle) / args.polls * 1000
    print(f"  the whole process: {spent * 1000:.0f} ms while polled, {idle * 1000:.0f} ms idle, {whole:.2f} ms a poll)")
    worker.terminate()


SERVING_DATABASE = "postgres://postgres@127.0.0.1:5432/garden_bench_serving_comfy"
SERVING_CACHE = "redis://127.0.0.1:6379/14"
SERVING_ARGS = ["--images", "20000", "--interactions", "40000", "--duration", "5", "--only", "garden", "like"]
ENDPOINTS = ("garden", "like")


@contextlib.contextmanager
def door_polled(env: dict):
    """The Procfile's door on the serving bench's database, its whole /history polled every 100 ms."""
    from testkit.servers import free_port

    base = f"http://127.0.0.1:{free_port()}"
    door_env = {**env, "DATABASE_URL": env["BENCH_SERVING_DATABASE_URL"], "CACHE_URL": env["BENCH_SERVING_CACHE_URL"],
                "GARDEN_A1111_TRUSTED_CLIENTS": "127.0.0.1", "GARDEN_LOG_LEVEL": "WARNING"}  # fmt: skip
    door = subprocess.Popen([sys.executable, "manage.py", "comfy_door", "--bind", base.removeprefix("http://")], cwd=ROOT, env=door_env)
    poller = None
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/system_stats", timeout=5).read()
                break
            except OSError:
                if time.monotonic() > deadline or door.poll() is not None:
                    raise RuntimeError("the door did not start") from None
                time.sleep(0.5)
        poller = subprocess.Popen([sys.executable, "-c", POLLER, f"{base}/history", "100000"])
        yield
    finally:
        for process in (poller, door):
            if process is not None:
                process.terminate()
                process.wait(30)


def beside_serving(rounds: int) -> None:
    env = {**os.environ, "BENCH_SERVING_DATABASE_URL": SERVING_DATABASE, "BENCH_SERVING_CACHE_URL": SERVING_CACHE}
    results = ROOT / "bench" / "results" / "serving.json"
    per_round = []
    for number in range(rounds):
        figures = {}
        for door_on in (False, True) if number % 2 == 0 else (True, False):
            load = os.getloadavg()[0]
            with door_polled(env) if door_on else contextlib.nullcontext():
                command = [sys.executable, "bench/serving.py", *SERVING_ARGS]
                subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
            run = json.loads(results.read_text())
            figures[door_on] = {name: run[name]["ratio_to_floor"] for name in ENDPOINTS}
            shown = ", ".join(f"{name} {run[name]['rps']:.0f} req/s = {run[name]['ratio_to_floor']:.3f} x floor" for name in ENDPOINTS)
            state = "on " if door_on else "off"
            print(f"round {number + 1}, door {state} (load {load:.1f}): floor {run['floor']['rps']:.0f} req/s; {shown}")
        per_round.append({name: figures[True][name] / figures[False][name] for name in ENDPOINTS})
    for name in ENDPOINTS:
        ratios = [round_[name] for round_ in per_round]
        print(f"{name}: door on / off, x floor: {', '.join(f'{r:.3f}' for r in ratios)}; median {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.beside_serving:
        beside_serving(arguments.beside_serving)
    else:
        main()
