"""The Celery app of the hung-job scenario's worker: the project's own (config.celery), with a
procedural painter that hangs. Nothing of this is in the app: the worker is started with
``celery -A testkit.faults.hanging_worker worker``, and only the fault suite starts it.

From the second pipeline call of this process on (the first batch is stored, so the job is
mid-way), ``generate`` blocks while the file GARDEN_FAULTS_HANG_FILE exists: no step is reported,
so the job's progress stops, while the attempt's heartbeat thread goes on writing, as a GPU call
that never returns would leave it. The file's name + ".reached" says the call has blocked.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from config.celery import app
from generation.backends import procedural

HANG_FILE = Path(os.environ["GARDEN_FAULTS_HANG_FILE"])
REACHED = HANG_FILE.with_name(HANG_FILE.name + ".reached")  # written once the call blocks
_generate = procedural.ProceduralBackend.generate
_calls = 0


def hanging_generate(self, batch, *, on_step=None):
    global _calls
    _calls += 1
    if _calls >= 2 and HANG_FILE.exists():
        REACHED.touch()
        while HANG_FILE.exists():
            time.sleep(0.2)
    return _generate(self, batch, on_step=on_step)


procedural.ProceduralBackend.generate = hanging_generate  # type: ignore[method-assign]

__all__ = ["app"]
