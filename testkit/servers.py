"""A real gunicorn server over the project, for tests that need concurrency (load, starvation).

The server runs on a database of its own, a copy of the migrated template (config/test_databases.py):
an SQLite file under its var folder (the embedded default), or a throw-away PostgreSQL clone when
DATABASE_URL points at PostgreSQL (as in CI).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from config import test_databases

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def procfile_line(name: str) -> str:
    """The Procfile's command for ``name`` (``web``, ``worker`` …), as honcho runs it (through sh)."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise LookupError(f"no {name!r} line in the Procfile")


def procfile_web(*, port: int, workers: int, threads: int) -> list[str]:
    """The Procfile's ``web`` line on ``port``, ``workers`` processes of ``threads`` request threads:
    the command ``make run`` starts, and deploy's ``web`` role with the same flags."""
    settings = f"GARDEN_BIND=127.0.0.1:{port} GARDEN_WEB_WORKERS={workers} GARDEN_WEB_THREADS={threads}"
    return ["sh", "-c", f"export {settings}; exec {procfile_line('web')}"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def own_database(var_dir: Path, name: str) -> contextlib.AbstractContextManager[str]:
    """The DATABASE_URL of a migrated database of the server's own: a copy of the template (config/test_databases.py)."""
    return test_databases.server_database(var_dir, name)


@dataclass
class Server:
    base: str
    env: dict
    var_dir: Path
    command: list[str] = field(default_factory=list)
    process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start gunicorn (again, on the same port after ``stop``) and wait until it answers."""
        with open(self.var_dir / "gunicorn.log", "ab") as log:
            self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        _wait_until_up(self, self.process)

    def stop(self) -> None:
        """Stop gunicorn, as a restart or an outage does (its port stays the server's)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:  # a client's kept-alive connection holds a worker
                self.process.kill()
                self.process.wait(timeout=10)

    def manage(self, *args: str, timeout: float = 300) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True, capture_output=True, text=True, timeout=timeout
        )
        return result.stdout

    def call(self, path: str, body: bytes, headers: dict | None = None, timeout: float = 30) -> tuple[int, bytes, float]:
        """(status, body, seconds) of a POST."""
        request = urllib.request.Request(self.base + path, data=body, headers=headers or {}, method="POST")
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read(), time.perf_counter() - started
        except urllib.error.HTTPError as error:
            return error.code, error.read(), time.perf_counter() - started


def scrape_metrics(base: str) -> str:
    """A real server's /metrics (from loopback, which GARDEN_METRICS_ALLOWED_IPS allows), or "" while it is down."""
    try:
        with urllib.request.urlopen(base + "/metrics", timeout=5) as response:
            return response.read().decode()
    except OSError:
        return ""


# collectstatic with the manifest (hashed names) but without whitenoise's compression: seconds
# instead of minutes on a loaded machine (the fault suite collects the same way).
COLLECT_UNCOMPRESSED = (
    "from django.conf import settings; from django.core.management import call_command; "
    "from django.test.utils import override_settings; "
    "plain = {'BACKEND': 'django.contrib.staticfiles.storage.ManifestStaticFilesStorage'}; "
    "override_settings(STORAGES={**settings.STORAGES, 'staticfiles': plain})(call_command)('collectstatic', '--no-input', '-v', '0')"
)


@contextlib.contextmanager
def gunicorn(
    var_dir: Path,
    *,
    workers: int = 2,
    threads: int = 4,
    seed: bool = True,
    compress_static: bool = True,
    settings_module: str = "",
    procfile: bool = False,
    **settings: str,
) -> Iterator[Server]:
    """On a copy of the migrated template (and a small demo garden seeded), serve on a free loopback port until the block ends.

    ``compress_static=False`` skips the compressed copies of the static files (pages load the same);
    ``settings_module``: another DJANGO_SETTINGS_MODULE than config.settings (bin/fuzz-api's);
    ``procfile``: the Procfile's own ``web`` line (``threads`` request threads, and the long polls'
    threads besides: deploy/gunicorn.conf.py), not a plain gthread gunicorn on config.wsgi."""
    with own_database(var_dir, "garden_server") as database_url:
        env = {
            **os.environ,
            "GARDEN_VAR_DIR": str(var_dir),
            "GARDEN_STATIC_ROOT": str(var_dir / "static"),  # concurrent servers collect apart
            "DATABASE_URL": database_url,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "PYTHONUNBUFFERED": "1",
            **settings,
        }
        env.pop("DJANGO_SETTINGS_MODULE", None)
        if settings_module:
            env["DJANGO_SETTINGS_MODULE"] = settings_module
        server = Server(base="", env=env, var_dir=var_dir)
        # As in production (bin/garden-up): the manifest storage refuses {% static %} without it.
        if compress_static:
            server.manage("collectstatic", "--no-input", "-v", "0")
        else:
            server.manage("shell", "-c", COLLECT_UNCOMPRESSED)
        if seed:
            server.manage("seed_demo_garden", "--per-key", "1", "-v", "0")
        port = free_port()
        server.base = f"http://127.0.0.1:{port}"
        if procfile:  # gunicorn by name, from this virtualenv, as bin/garden-up runs it
            server.env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
            server.command = procfile_web(port=port, workers=workers, threads=threads)
        else:
            server.command = [str(BIN / "gunicorn"), "config.wsgi", "--threads", str(threads), "--workers", str(workers)]
            server.command += ["--bind", f"127.0.0.1:{port}", "--timeout", "60"]
        try:
            server.start()
            yield server
        finally:
            server.stop()


def _wait_until_up(server: Server, process: subprocess.Popen) -> None:
    """Until /healthz answers (the liveness probe: no schema built, no database), then one request
    through the URL resolver, so that a test's first call does not pay for importing every view."""
    for _ in range(150):
        try:
            urllib.request.urlopen(server.base + "/healthz", timeout=2).close()
            with contextlib.suppress(urllib.error.HTTPError):  # its 404: the URLconf is loaded
                urllib.request.urlopen(server.base + "/testkit-warm-up", timeout=30).close()
            return
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {(server.var_dir / 'gunicorn.log').read_text()[-2000:]}") from None
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start in 30 s")
