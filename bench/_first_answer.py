"""Where a /garden first answer's time goes: ``bench/growth.py --stages`` on the garden loaded.

Each request is a first answer: the serving cache is emptied before it (the model stays loaded),
so it reads its search key's candidates and their counters from the database, as a process does
for every key after a serving change. Visitors and keys are drawn as bench/growth.py draws them
(visitors with events, so their history is read and ranked). Each stage is timed by wrapping the
function that does it, in this process: what the request spends in it, its statements included.

- context: recommend.selectors.garden_context (serving version, counters token, model, the
  visitor's labels and latest events: one statement);
- candidates: recommend.candidates.load_candidates (the key's newest serving pictures and their
  looks: one statement, then the arrays);
- counters: recommend.selectors.read_counts (everyone's and the segment's counters of ~500
  candidates: one statement);
- ranking, without the counters: the ranker's rank() less the counters' read (taste view, base
  order, the visitor's history, exploration slots);
- recommendation row: recommend.eventlog.write_recommendation (one INSERT);
- rendering: the answer's JSON from the candidates' rendered entries;
- the rest: the request less all of the above (Django's test client, middleware, DRF, the view).
"""

from __future__ import annotations

import functools
import json
import statistics
import time
from collections.abc import Callable


def stages(client, bodies: list[dict]) -> dict[str, float]:
    """p50 ms of each stage over first answers to ``bodies`` (after 10 warm-up requests)."""
    from recommend import eventlog, rankers, selectors, services, serving

    spent: dict[str, float] = {}

    def timed(owner, name: str, label: str) -> Callable[[], None]:
        original = getattr(owner, name)

        @functools.wraps(original)
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - started

        setattr(owner, name, wrapper)
        return lambda: setattr(owner, name, original)

    ranker = type(rankers.get_ranker())
    undo = [
        timed(selectors, "garden_context", "context"),
        timed(serving, "load_candidates", "candidates"),
        timed(selectors, "read_counts", "counters"),
        timed(ranker, "rank", "rank"),
        timed(eventlog, "write_recommendation", "recommendation row"),
        timed(services.Garden, "render", "rendering"),
    ]
    samples: dict[str, list[float]] = {}
    try:
        for n, body in enumerate(bodies[:10] + bodies):
            serving.cache._memo.clear()  # a first answer: nothing kept but the loaded model
            spent.clear()
            started = time.perf_counter()
            response = client.post("/garden", data=json.dumps(body), content_type="application/json")
            total = time.perf_counter() - started
            assert response.status_code == 200, response.content[:200]
            if n < 10:
                continue
            spent["ranking, without the counters"] = spent.pop("rank") - spent["counters"]
            spent["the rest"] = total - sum(spent.values())
            spent["whole request"] = total
            for label, seconds in spent.items():
                samples.setdefault(label, []).append(seconds)
    finally:
        for restore in undo:
            restore()
    return {label: round(statistics.median(values) * 1000, 2) for label, values in samples.items()}
