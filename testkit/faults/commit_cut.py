"""The cut-COMMIT scenario: a like's database connection is lost at its COMMIT (the commit is done,
its answer never reaches the web process), the kiosk retries with the like's event id, and every
like must be stored exactly once (infra.idempotency keeps the key in the like's own transaction)."""

from __future__ import annotations

import time

from testkit.faults.kiosk import Ledger, Outcome
from testkit.faults.stack import Stack
from testkit.faults.traffic import Call, post


def commit_cut(stack: Stack, *, likes: int = 8, retries: int = 10) -> Outcome:
    """``likes`` likes, each with its connection cut at the COMMIT, each retried with its eventId
    until answered 200 (honouring Retry-After, at most 2 s). Facts: rows per like, cuts made; the
    ledger judges each like by its last answer; recover_seconds: the slowest like's cut-to-200."""
    assert stack.db_proxy is not None, "the web processes must reach PostgreSQL through the proxy"
    outcome = Outcome("Connection lost at a like's COMMIT")
    began = time.monotonic()
    cuts_before = stack.db_proxy.cuts
    finals: dict[str, Call] = {}
    took: list[float] = []  # per like: from its first call to the end of its call answered 200
    for number in range(likes):
        visitor = f"commitcut-{number}-{int(began)}"
        body = {"id": visitor, "itemId": stack.keys[number % len(stack.keys)], "impression": stack.keys[:3],
                "eventId": f"{visitor}-like"}  # fmt: skip
        stack.db_proxy.arm()
        for _ in range(retries):
            call = post(stack.base, "/like", body, clock=began)
            outcome.calls.append(call)
            if call.ok:
                break
            time.sleep(min(2.0, float(call.headers.get("Retry-After") or 0.5)))
        finals[visitor] = call
        first = next(call for call in outcome.calls if call.payload["id"] == visitor)
        if call.ok:
            took.append(call.ended - first.started)
    query = "SELECT visitor_id, count(*) FROM recommend_interaction WHERE event_type = 'click' AND visitor_id = ANY(%s) GROUP BY 1"
    rows = dict(stack.sql(query, (list(finals),)))
    outcome.facts["rows_per_like"] = {visitor: rows.get(visitor, 0) for visitor in finals}
    outcome.facts["final_status"] = {visitor: call.status for visitor, call in finals.items()}
    outcome.facts["cuts"] = stack.db_proxy.cuts - cuts_before
    rows_of = outcome.facts["rows_per_like"]
    lost = [call for visitor, call in finals.items() if call.ok and not rows_of[visitor]]
    duplicated = [call for visitor, call in finals.items() if rows_of[visitor] > 1]
    outcome.ledger = Ledger(sum(1 for call in finals.values() if call.ok), lost, duplicated, 0)
    # Recovered: the slowest like, from its cut first call to its answer 200 (the kiosk's retry).
    outcome.recover_seconds = round(max(took), 1) if len(took) == likes else None
    outcome.outage = (0.0, time.monotonic() - began)
    return outcome
