"""Work a finishing process runs instead of generation.worker.call_finishing.finish_call in a test (a
module-level function: a finishing process finds it by name)."""

import os


def die(items, description, timings):
    """The finishing process dies mid-call (killed, out of memory), after unpickling the call's pictures."""
    assert items and items[0].picture is not None and items[0].job.pk
    os._exit(3)
