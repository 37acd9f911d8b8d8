"""CELERY_BROKER_TRANSPORT_OPTIONS as config/settings.py sets them for the broker in use."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def transport_options(broker_url: str, var_dir: Path, timeout_seconds: float, job_time_limit: int) -> dict[str, Any] | None:
    if broker_url.startswith("filesystem://"):
        # The default broker: kombu's filesystem transport under var/, so `make run` needs no server.
        folder = var_dir / "broker"
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        return {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
            # kombu looks at the folder once a second by default: a live picture waited up to that.
            "polling_interval": 0.1,
        }
    if broker_url.startswith(("redis://", "rediss://")):
        return {
            "socket_connect_timeout": timeout_seconds,
            # A broker that accepts connections but never answers (frozen, half-open) must not hold a
            # publish forever; above kombu's 1 s BRPOP wait, so consuming is unaffected.
            "socket_timeout": max(3.0, 2 * timeout_seconds),
            # An unacknowledged message (acks_late) comes back after this long: longer than any job may
            # run, so a live job is never delivered twice. Dead workers' jobs are resumed by the sweeper.
            "visibility_timeout": job_time_limit + 300,
        }
    return None
