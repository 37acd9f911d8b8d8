"""The GPU script's kiosks section (bench/gpu_proof.py): the live model marked live, the live worker
and the web server started as the Procfile starts them (``celery … --pool solo`` on the live queue;
gunicorn's gthread worker on config.wsgi, config/web_threads.py), 1, 4 and 16 kiosks asking at once as the kiosk asks
(HTTP: POST /live, then GET <statusUrl>?wait=10 asked again at once, garden/static/kiosk/live.js),
then 16 for the sustained round, with the GPU's SM busy % over each round and the worker's GPU memory."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shlex
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from bench import _gpu_direct
from bench._gpu_report import FIGURES, Report
from testkit.local_services import redis_url

ROOT = Path(__file__).resolve().parent.parent
LIVE_MODEL = "sd-turbo"  # the folder name makes the library call it a turbo model (1 step, no guidance)


def save_live_model(args, models: Path) -> Path:
    if args.smoke:
        from testkit.tiny_models import save_sensitive_pipeline

        return save_sensitive_pipeline(models / f"tiny-{LIVE_MODEL}")
    from testkit.random_sd import save_random_pipeline

    return save_random_pipeline("sd-turbo", models / LIVE_MODEL)


def kiosks_section(report: Report, args, work: Path, device: str, budget_s: float) -> None:
    deadline_at = time.monotonic() + budget_s
    models = work / "models"
    live_model = save_live_model(args, models)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"sqlite:///{work / 'kiosks.sqlite3'}",
            "GARDEN_VAR_DIR": str(work / "var"),
            "GARDEN_MEDIA_ROOT": str(work / "media"),
            "CELERY_BROKER_URL": redis_url(),
            "GARDEN_MODELS_DIR": str(models),
            "GARDEN_GENERATOR_BACKEND": "diffusers",
            "GARDEN_DIFFUSION_DEVICE": device,
            "GARDEN_DIFFUSION_MAX_LOADED": "1",
            "GARDEN_LIVE_QUEUE": "live",
            "GARDEN_LIVE_SIZE": "64" if args.smoke else "512",
            "GARDEN_LIVE_MAX_QUEUED": "100",
            "GARDEN_KIOSK_RATE": "100000/minute",
            "GARDEN_LIVE_RATE": "100000/minute",
            "GARDEN_LOG_LEVEL": "WARNING",
        }
    )
    (work / "kiosks.sqlite3").unlink(missing_ok=True)
    import django

    django.setup()
    from django.core.management import call_command

    from library.services import entries as library
    from live import selectors

    call_command("migrate", "--no-input", verbosity=0)
    library.scan()
    library.set_live(live_model.name)
    port = free_port()
    env = {**os.environ, "GARDEN_BIND": f"127.0.0.1:{port}", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    worker_log, web_log = open(work / "kiosks-worker.log", "w"), open(work / "kiosks-web.log", "w")  # noqa: SIM115
    worker = subprocess.Popen(procfile_argv("live", env), cwd=ROOT, env=env, stdout=worker_log, stderr=subprocess.STDOUT)
    web = subprocess.Popen(procfile_argv("web", env), cwd=ROOT, env=env, stdout=web_log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    report.add("kiosks: HTTP clients of the web server as the Procfile runs it (gthread, config/web_threads.py), asking as")
    report.add("  garden/static/kiosk/live.js asks: POST /live, then GET <statusUrl>?wait=10 again at once until the picture's URL")
    try:
        deadline = time.monotonic() + 600  # the live worker warms the live model (CUDA graphs) before it says ready
        while not selectors.live_worker_present():
            if time.monotonic() > deadline or worker.poll() is not None:
                raise SystemExit(f"the live worker did not say ready; see {work / 'kiosks-worker.log'}")
            time.sleep(0.2)
        waited = 600 - (deadline - time.monotonic())
        report.add(f"the live worker ready (its finishing process started, the live model warmed) after {waited:.1f} s")
        started = time.perf_counter()
        ask_for_picture(base, "warm-up", timeout=600)
        report.add(f"the worker's first picture: {time.perf_counter() - started:.2f} s")
        for kiosks in args.kiosks:
            if time.monotonic() > deadline_at - 15:
                report.add(f"{kiosks} kiosk(s): not run (the section's time budget)")
                continue
            kiosk_round(report, args, kiosks, device, base)
        if args.sustain > 0 and time.monotonic() < deadline_at - args.sustain - 10:
            kiosk_round(report, args, max(args.kiosks), device, base, sustain=args.sustain)
        elif args.sustain > 0:
            report.add("sustained round: not run (the section's time budget)")
        report.add(worker_gpu_memory(worker.pid))
    finally:
        for process in (web, worker):
            process.terminate()
        for process in (web, worker):
            process.wait(timeout=60)
        worker_log.close()
        web_log.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def procfile_argv(name: str, env: dict) -> list[str]:
    """The Procfile's ``name`` line as an argv (``${VAR:-default}`` from ``env``)."""
    line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith(f"{name}:"))
    return shlex.split(re.sub(r"\$\{(\w+):-([^}]*)\}", lambda match: env.get(match[1], match[2]), line.split(":", 1)[1]))


def kiosk_round(report: Report, args, kiosks: int, device: str, base: str, *, sustain: float = 0.0) -> None:
    """``kiosks`` kiosks asking at once, each for ``args.pictures`` pictures one after another (or,
    ``sustain`` > 0, asking again and again for that many seconds); the GPU's SM busy % meanwhile."""
    from generation.models import GenerationJob

    results: list[tuple[float, str]] = []
    errors: list[str] = []
    stop_at = time.perf_counter() + sustain

    def kiosk(number: int) -> None:
        try:
            picture = 0
            while (picture < args.pictures) if not sustain else (time.perf_counter() < stop_at):
                results.append(ask_for_picture(base, f"kiosk-{kiosks}-{number}-{sustain:g}-visitor-{picture}", timeout=120))
                picture += 1
        except Exception as exc:  # reported with the figures, never lost in a thread
            errors.append(f"kiosk {number}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=kiosk, args=(number,)) for number in range(kiosks)]
    started = time.perf_counter()
    with _gpu_direct.SmBusy() if device.startswith("cuda") else contextlib.nullcontext() as busy:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    seconds = time.perf_counter() - started
    seen = sorted(seconds for seconds, _ in results)
    rows = GenerationJob.objects.filter(pk__in=[job for _, job in results]).values_list("created_at", "finished_at")
    ready = sorted((finished - created).total_seconds() for created, finished in rows)
    what = f"{kiosks} kiosk(s) asking for {sustain:.0f} s" if sustain else f"{kiosks} kiosk(s) at once"
    if seen:
        report.add(
            f"{what}, {len(seen)} live pictures in {seconds:.1f} s ({len(seen) / seconds:.2f}/s): create → picture"
            f" stored and checked (the job's rows) {quantiles(ready)}; POST → picture URL seen by the kiosk's long poll {quantiles(seen)}"
        )
        key = (
            f"{kiosks} kiosk(s){' sustained ' + format(sustain, '.0f') + ' s' if sustain else ''}: POST → URL seen (long poll); pictures/s"
        )
        FIGURES[key] = f"{quantiles(seen)}; {len(seen) / seconds:.2f}/s"
    if busy is not None:
        report.add(f"  {busy.summary()}")
        FIGURES[f"SM busy, {what}"] = busy.summary().split(": ", 1)[-1]
    for error in errors:
        report.add("ERROR " + error)


def quantiles(values: list[float]) -> str:
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    return f"p50 {statistics.median(values):.3f} s, p95 {p95:.3f} s, max {values[-1]:.3f} s"


def ask_for_picture(base: str, visitor: str, *, timeout: float) -> tuple[float, str]:
    """As the kiosk asks (garden/static/kiosk/live.js): POST /live, then GET <statusUrl>?wait=10 asked
    again as soon as it answers, until it gives the picture's URL: (seconds, job id)."""
    address = urlsplit(base)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    started = time.perf_counter()
    try:
        body = json.dumps({"id": visitor, "emotion": "happy/spring,sunny,day"})
        connection.request("POST", "/live", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        asked = json.loads(response.read() or b"{}")
        if response.status != 202:
            raise RuntimeError(f"POST /live answered {response.status}: {asked}")
        path = urlsplit(asked["statusUrl"]).path
        while time.perf_counter() - started < timeout:
            connection.request("GET", f"{path}?wait=10")
            status = json.loads(connection.getresponse().read())
            if status.get("image") and status["image"].get("url"):
                return time.perf_counter() - started, asked["job"]
            if status["status"] in ("failed", "cancelled") or status.get("withheld"):
                raise RuntimeError(f"live job ended without a picture: {status}")
    finally:
        connection.close()
    raise RuntimeError(f"no live picture after {timeout} s")


def worker_gpu_memory(pid: int) -> str:
    """The live worker's GPU memory (its process and its finishing process) as nvidia-smi reads it."""
    import psutil

    pids = {pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))}
    try:
        listed = subprocess.run(
            ["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "the worker's GPU memory: nvidia-smi is not there"
    used = [int(memory) for line in listed.splitlines() if line.strip() for process, memory in [line.split(",")] if int(process) in pids]
    return (
        f"the live worker's GPU memory (live model and classifier loaded, nvidia-smi): {sum(used)} MiB"
        if used
        else "no GPU memory listed for the worker"
    )
