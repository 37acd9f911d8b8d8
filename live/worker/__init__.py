"""The live worker (docs/live.md#the-live-worker): gather live requests into batches (``batching``),
paint each batch in one call (``run``), store its pictures beside the next call (``stage``, ``store``).

LiveConfig.ready() registers ``RUNNER`` with generation (generation.worker_api), whose
``execute_job`` hands it every claimed live job that may share its call.
"""

from generation.worker_api import LiveRunner
from live.worker.batching import takes_live_path
from live.worker.run import run_claimed

RUNNER = LiveRunner(takes=takes_live_path, run=run_claimed)

__all__ = ["RUNNER", "run_claimed", "takes_live_path"]
