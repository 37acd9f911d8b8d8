"""A kiosk's requests as the fault suite sends them: one call and what came back (``Call``, ``post``),
and the serving keys a kiosk cuts out of the answers."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from testkit.faults.processes import HarnessError

SEARCHES = ["happy/spring,sunny,day", "calm", "sad/autumn,rainy,sunset", "fear", "surprised/summer,sunny,day"]


@dataclass
class Call:
    """One request and what came back, as the client saw it (status None: no answer at all)."""

    started: float
    ended: float
    endpoint: str
    payload: dict
    status: int | None
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 200

    def describe(self) -> str:
        what = self.error or self.body[:160].decode(errors="replace")
        return f"{self.endpoint} {self.status} at {self.started:.1f}s: {what!r} {self.headers}"


def post(base: str, path: str, payload: dict, *, timeout: float = 30, clock: float = 0.0) -> Call:
    request = urllib.request.Request(base + path, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "text/plain;charset=UTF-8"})  # fmt: skip # as old kiosk pages post
    started = time.monotonic() - clock
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, body, headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, body, headers = error.code, error.read(), error.headers
    except OSError as error:
        return Call(started, time.monotonic() - clock, path, payload, None, error=f"{type(error).__name__}: {error}")
    kept = {name: headers[name] for name in ("Content-Type", "Retry-After", "X-Recommendation-Id") if headers.get(name)}
    return Call(started, time.monotonic() - clock, path, payload, status, body, kept)


def urls_to_keys(listing: dict) -> list[str]:
    return [item["url"][item["url"].rindex("emotions") :] for item in listing.get("landscape", []) + listing.get("portrait", [])]


def serving_keys(base: str) -> list[str]:
    """Keys of serving images, as kiosks cut them out of /gardenfromDB's URLs."""
    keys = []
    for search in SEARCHES:
        call = post(base, "/gardenfromDB", {"emotion": search})
        if call.status != 200:
            raise HarnessError(f"/gardenfromDB answered {call.status}: {call.body[:300]!r}")
        keys += urls_to_keys(json.loads(call.body))
    if len(keys) < 6:
        raise HarnessError(f"the demo garden serves only {len(keys)} images")
    return keys
