"""gunicorn settings the image's `web` role adds to its command line (deploy/entrypoint.py)."""

import os

# Heartbeat files in memory, not on the (read-only or slow) container disk.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
# No control socket: its default lives under $HOME, which is read-only in the container.
control_socket_disable = True


def child_exit(server, worker):
    """Prometheus multiprocess mode: a dead worker's live gauges stop counting."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
