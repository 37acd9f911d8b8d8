"""``python -m tests.generation.slow_worker <celery worker options>``: a real worker with a slow painter.

``GARDEN_TEST_PAINT_DELAY`` seconds per picture and ``GARDEN_TEST_LOAD_DELAY`` seconds for the first
``load()`` of each pool process (a model being loaded) stretch the procedural backend, so tests can
kill a worker mid-job and watch heartbeats during a long load. Everything else is the real worker.
"""

from __future__ import annotations

import os
import sys
import time


def _slow_down() -> None:
    import django

    django.setup()
    from generation.backends import procedural

    paint_delay = float(os.environ.get("GARDEN_TEST_PAINT_DELAY", "0"))
    load_delay = float(os.environ.get("GARDEN_TEST_LOAD_DELAY", "0"))
    paint = procedural.paint_recipe  # what the backend calls for every picture
    loaded: list[int] = []

    def slow_paint(*args, **kwargs):
        time.sleep(paint_delay)
        return paint(*args, **kwargs)

    def slow_load(self) -> None:
        if not loaded or loaded[0] != os.getpid():  # once per pool process, like a model
            time.sleep(load_delay)
            loaded[:] = [os.getpid()]

    procedural.paint_recipe = slow_paint
    procedural.ProceduralBackend.load = slow_load


if __name__ == "__main__":
    _slow_down()
    from celery.bin.celery import main

    sys.argv = ["celery", "-A", "config", "worker", *sys.argv[1:]]
    sys.exit(main())
