#!/usr/bin/env python3
"""The first live picture after a fresh start, as `make run` starts the app: bin/garden-up run with
this venv's Python (what the Makefile's `run` does after installing), on a fresh var folder and a
free port, the embedded defaults (SQLite, the filesystem broker, the procedural painter).

    .venv/bin/python bench/first_picture.py            # one fresh start
    .venv/bin/python bench/first_picture.py --starts 3 # three, each on a new var folder
    .venv/bin/python bench/first_picture.py --smoke    # migrate, then the Procfile's processes (honcho) only: seconds

For each start: seconds until the web answers, until POST /live stops answering 503 ``no_worker``
(the live worker says ready: its finishing process started, the painter warmed), then the first
picture: POST /live → GET /live/<job>?wait=10 until its ``image.url`` (aim ≤ 1.5 s), and the second.
Then Ctrl-C (SIGINT to honcho, as a terminal sends it) and the processes of the stack still alive
5 s later (aim 0).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--starts", type=int, default=1)
    parser.add_argument(
        "--smoke", action="store_true", help="One start of the Procfile's processes after a bare migrate (no demo garden, no gardener)"
    )
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def call(method: str, url: str, body: dict | None = None, timeout: float = 30) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def picture(base: str, visitor: str) -> float:
    """Seconds from POST /live to the picture's URL seen through the kiosk's long poll."""
    started = time.perf_counter()
    status, body = call("POST", f"{base}/live", {"id": visitor, "emotion": "calm/autumn,rainy,sunset"})
    assert status == 202, (status, body)
    while True:
        _status, answer = call("GET", f"{body['statusUrl']}?wait=10")
        if answer.get("image"):
            return time.perf_counter() - started
        assert answer["status"] in ("queued", "running"), answer
        assert time.perf_counter() - started < 60, answer


def one_start(smoke: bool) -> dict:
    figures: dict = {}
    with tempfile.TemporaryDirectory(prefix="garden-first-picture-") as work:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "CACHE_URL", "CELERY_BROKER_URL")}
        env |= {"GARDEN_VAR_DIR": work, "GARDEN_BIND": f"127.0.0.1:{port}", "DJANGO_SETTINGS_MODULE": "config.settings"}
        env |= {"GARDEN_LIVE_RATE": "1000/minute", "PYTHONUNBUFFERED": "1"}
        log = open(Path(work) / "garden-up.log", "w")  # noqa: SIM115
        command = [sys.executable, "bin/garden-up"]
        if smoke:  # what garden-up hands over to, after a bare migrate (its demo garden and gardener's run take minutes)
            subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True)
            env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
            env["PROMETHEUS_MULTIPROC_DIR"] = f"{work}/prometheus"
            Path(work, "prometheus").mkdir()
            command = [str(Path(sys.executable).parent / "honcho"), "-f", str(ROOT / "Procfile"), "start"]
        started = time.perf_counter()
        stack = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            while True:  # the web answers
                try:
                    status, _ = call("GET", f"{base}/healthz", timeout=2)
                    if status == 200:
                        break
                except OSError:
                    pass
                assert stack.poll() is None and time.perf_counter() - started < 900, (Path(work) / "garden-up.log").read_text()[-3000:]
                time.sleep(0.2)
            figures["web answers"] = time.perf_counter() - started
            while True:  # the live worker is ready
                status, body = call("POST", f"{base}/live", {"id": "probe", "emotion": "calm"})
                if status == 202:
                    call("DELETE", body["statusUrl"])
                    break
                assert body.get("reason") == "no_worker" and time.perf_counter() - started < 900, (status, body)
                time.sleep(0.1)
            figures["live worker ready"] = time.perf_counter() - started
            figures["first picture"] = picture(base, "first")
            figures["second picture"] = picture(base, "second")
        finally:
            tree = [psutil.Process(stack.pid), *psutil.Process(stack.pid).children(recursive=True)]
            stack.send_signal(signal.SIGINT)
            try:
                stack.wait(timeout=30)
            except subprocess.TimeoutExpired:
                stack.kill()
            _gone, alive = psutil.wait_procs(tree, timeout=5)
            figures["processes left 5 s after Ctrl-C"] = [f"{p.pid} {p.name()}" for p in alive if p.status() != psutil.STATUS_ZOMBIE]
            for process in alive:
                process.kill()
            log.close()
    return figures


def main() -> int:
    args = parse_args()
    print(f"load average {' '.join(f'{value:.2f}' for value in os.getloadavg())}; cores {len(os.sched_getaffinity(0))}")
    for number in range(1 if args.smoke else args.starts):
        figures = one_start(args.smoke)
        shown = ", ".join(f"{name} {value:.2f} s" if isinstance(value, float) else f"{name}: {value}" for name, value in figures.items())
        print(f"start {number + 1}: {shown}")
    print(f"load average at the end {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
