"""Driving one endpoint with wrk (Debian's ``wrk``) for bench/serving.py: POST bodies taken in turn
from a list by a Lua script, and the counts, rate and latency percentiles it reports."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from bench._split_cores import taskset

LUA = """
local bodies = {%(bodies)s}
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("POST", "%(path)s", {["Content-Type"] = "application/json"%(headers)s}, bodies[(counter %% #bodies) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests": %%d, "duration_us": %%d, "non2xx": %%d, "socket_errors": %%d, ' ..
    '"p50_us": %%d, "p99_us": %%d}\\n', summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


def run_wrk(
    *,
    port: int,
    path: str,
    bodies: list[str],
    duration: float,
    connections: int,
    threads: int,
    work: Path,
    cores: frozenset[int] | None = None,
    close: bool = False,
) -> dict:
    """``close``: every request on a new connection (``Connection: close``), so that each goes to
    whichever web process accepts it, not to the one its kept-alive connection belongs to."""
    script = work / f"{path.strip('/').replace('/', '_') or 'root'}.lua"
    quoted = ",".join(f"[==[{body}]==]" for body in bodies)
    script.write_text(LUA % {"bodies": quoted, "path": path, "headers": ', ["Connection"] = "close"' if close else ""})
    command = [
        *taskset(cores),
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
    ]
    output = subprocess.run([*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    raw = json.loads(line.removeprefix("RESULT "))
    seconds = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "rps": round(raw["requests"] / seconds, 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "non2xx": raw["non2xx"],
        "socket_errors": raw["socket_errors"],
        "answered_2xx": raw["requests"] - raw["non2xx"],
    }
