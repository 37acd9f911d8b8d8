"""gunicorn settings of the web server, wherever it runs: the Procfile's ``web`` line (``make run``),
the image's ``web`` role (deploy/entrypoint.py), the benches and the tests' servers.

The worker (the command lines say ``--worker-class config.web_threads.Worker``) is gunicorn's gthread
worker on ``config.wsgi`` with a pool of GARDEN_WEB_THREADS threads, and one more for each live
picture's long poll while it waits (at most GARDEN_LIVE_WAIT_SLOTS a process), so that waiting
kiosks never take a thread from other requests (docs/live.md#get-liveuuid, docs/deploy.md#the-web-server).
"""

import os
import sys
from pathlib import Path

import environ

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the settings' declarations, from any folder

from config import conf as core


def _declared(settings, name: str) -> int:
    """A setting's value as Django will read it (the same variable, the same default)."""
    return next(setting for setting in settings if setting.name == name).read(environ.Env(), {})


threads = _declared(core.SETTINGS, "GARDEN_WEB_THREADS")

# Heartbeat files in memory, not on the (read-only or slow) container disk.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
# No control socket: its default lives under $HOME, which is read-only in the container.
control_socket_disable = True


def child_exit(server, worker):
    """Prometheus multiprocess mode: a dead worker's live gauges stop counting."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
